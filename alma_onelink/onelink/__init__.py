"""The OneLink procedure: register patrons, journal every write, undo from the journal.

```python
from alma_onelink import AlmaClient, Patron
from alma_onelink.onelink import Journal, register_patron
from alma_onelink.policy import load_policy

with AlmaClient.sandbox() as alma:
    result = register_patron(alma, load_policy("duke"), Patron(...), journal=Journal("journal.jsonl"))
    print(result)            # outcome, steps, what to tell the patron
```

Each procedure is written once, as a generator of reads and writes (no I/O); `register_patron`
runs it with `AlmaClient`, `aregister_patron` with `AsyncAlmaClient`.
"""

from ._records import to_dataframe, to_records
from ._trace import ApiCall, Step
from .batch import aregister_many, register_many
from .journal import Journal, JournalEntry, JournalError, default_journal_path
from .merge import (
    ActivityItem,
    MergeItem,
    MergeOutcome,
    MergePlan,
    MergeRefused,
    MergeResult,
    aapply_merge,
    aplan_merge,
    apply_merge,
    aundo_merge,
    plan_merge,
    undo_merge,
)
from .register import aregister_patron, register_patron
from .restore import Restored, RestoreError, RestoreResult, arestore, restore
from .result import Candidate, Outcome, RegistrationResult

__all__ = [
    "ActivityItem",
    "ApiCall",
    "Candidate",
    "Journal",
    "JournalEntry",
    "JournalError",
    "MergeItem",
    "MergeOutcome",
    "MergePlan",
    "MergeRefused",
    "MergeResult",
    "Outcome",
    "RegistrationResult",
    "RestoreError",
    "RestoreResult",
    "Restored",
    "Step",
    "aapply_merge",
    "aplan_merge",
    "apply_merge",
    "aundo_merge",
    "aregister_many",
    "aregister_patron",
    "arestore",
    "default_journal_path",
    "plan_merge",
    "register_many",
    "register_patron",
    "restore",
    "to_dataframe",
    "to_records",
    "undo_merge",
]
