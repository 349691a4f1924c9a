"""Registration: the OneLink procedure for one patron or a batch, every write journaled.

```python
from alma_onelink import AlmaClient, Journal, Patron, register_patron
from alma_onelink.policy import load_policy

with AlmaClient.sandbox() as alma:
    result = register_patron(alma, load_policy("duke"), Patron(...), journal=Journal("journal.jsonl"))
    print(result)            # outcome, steps, what to tell the patron
```

The procedure is written once, as a generator of reads and writes (no I/O, ``_register``), and run by
the engine's drivers (`alma_onelink.engine`): `register_patron` with `AlmaClient`, `aregister_patron`
with `AsyncAlmaClient`. The journal and `restore` live in the engine and are re-exported here; the
merge is its own package, `alma_onelink.merge`. Alma's daily quota (`estimate_quota`, `DEFAULT_RESERVE`,
the ``deferred`` outcome) is `alma_onelink.onelink.budget`'s; past it, new accounts go to Alma in a SIS
import file (`alma_onelink.onelink.handoff`, on top of `alma_onelink.sis`).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from alma_onelink._lazy import lazy_names

if TYPE_CHECKING:
    from alma_onelink.engine import (
        ApiCall,
        Journal,
        JournalEntry,
        JournalError,
        Restored,
        RestoreError,
        RestoreResult,
        Step,
        arestore,
        default_journal_path,
        restore,
    )
    from alma_onelink.engine.journal import Archived

    from ._calls import RegistrationCalls, registration_calls
    from ._records import to_dataframe, to_records
    from .batch import aregister_many, register_many
    from .budget import DEFAULT_RESERVE, QuotaEstimate, aestimate_quota, aread_remaining, estimate_quota, read_remaining
    from .register import aregister_patron, register_patron
    from .result import DEFERRED_REASON, Candidate, Outcome, RegistrationResult

__all__ = [
    "DEFAULT_RESERVE",
    "DEFERRED_REASON",
    "ApiCall",
    "Archived",
    "Candidate",
    "Journal",
    "JournalEntry",
    "JournalError",
    "Outcome",
    "QuotaEstimate",
    "RegistrationCalls",
    "RegistrationResult",
    "RestoreError",
    "RestoreResult",
    "Restored",
    "Step",
    "aestimate_quota",
    "aread_remaining",
    "aregister_many",
    "aregister_patron",
    "arestore",
    "default_journal_path",
    "estimate_quota",
    "read_remaining",
    "register_many",
    "register_patron",
    "registration_calls",
    "restore",
    "to_dataframe",
    "to_records",
]

_MOVED_TO_MERGE = frozenset(
    {
        "ActivityItem", "MergeItem", "MergeOutcome", "MergePlan", "MergeRefused", "MergeResult",
        "aapply_merge", "aplan_merge", "apply_merge", "aundo_merge", "plan_merge", "undo_merge",
    }
)  # fmt: skip


def _moved_to_merge(name: str) -> Any:
    """The merge's names, which lived here before the merge had its own package: still found, with a warning."""
    if name in _MOVED_TO_MERGE:
        warnings.warn(
            f"alma_onelink.onelink.{name} moved: import it from alma_onelink.merge (or alma_onelink)",
            DeprecationWarning,
            stacklevel=3,
        )
        from alma_onelink import merge  # noqa: PLC0415  (only for code written before the move)

        return getattr(merge, name)
    raise AttributeError(f"module 'alma_onelink.onelink' has no attribute {name!r}")


if TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        """Names imported on first use, and the merge's old names (with a warning)."""

else:
    __getattr__, __dir__ = lazy_names(
        __name__,
        {
            "alma_onelink.engine": (
                "ApiCall", "Journal", "JournalEntry", "JournalError", "Restored", "RestoreError", "RestoreResult",
                "Step", "arestore", "default_journal_path", "restore",
            ),
            "alma_onelink.engine.journal": ("Archived",),
            "._calls": ("RegistrationCalls", "registration_calls"),
            "._records": ("to_dataframe", "to_records"),
            ".batch": ("aregister_many", "register_many"),
            ".budget": (
                "DEFAULT_RESERVE", "QuotaEstimate", "aestimate_quota", "aread_remaining", "estimate_quota",
                "read_remaining",
            ),
            ".register": ("aregister_patron", "register_patron"),
            ".result": ("DEFERRED_REASON", "Candidate", "Outcome", "RegistrationResult"),
        },
        fallback=_moved_to_merge,
    )  # fmt: skip
