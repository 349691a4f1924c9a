"""The Duke University Libraries policy for alma-onelink: ``load_policy("duke")``.

It turns DUL's procedure for Alma accounts of people without an active NetID (Duke OneLink) into
hooks. Codes and dates come from ``duke.toml``; point ``ALMA_ONELINK_DUKE_CONFIG`` at a file of your
own to override them.
"""

from .config import CONFIG_ENV, AffiliationConfig, DukeConfig, DukeConfigError, Institution, load_config
from .policy import DukePolicy

__all__ = [
    "CONFIG_ENV",
    "AffiliationConfig",
    "DukeConfig",
    "DukeConfigError",
    "DukePolicy",
    "Institution",
    "load_config",
]
