"""Test helpers for alma-onelink and for institutions' policy plugins.

Opt in from a ``conftest.py``::

    pytest_plugins = ["alma_onelink.testing"]

and use the fixtures ``alma_sandbox`` (a fresh, seeded in-memory Alma sandbox per test), ``alma``
(an ``AlmaClient`` on it) and ``async_alma`` (an ``AsyncAlmaClient`` on it); ``alma_journal``
(autouse) keeps the OneLink workflow's default journal in the test's temporary folder. Subclass
`PolicyContract` to check a policy plugin's hooks and return types.
"""

from ._journal import alma_journal
from ._policy_contract import PolicyContract
from ._sandbox_fixtures import alma, alma_sandbox, async_alma

__all__ = ["PolicyContract", "alma", "alma_journal", "alma_sandbox", "async_alma"]
