"""The engine registration, merge and every later job run on: plans of reads and writes, run by drivers.

A procedure is a generator of operations (`alma_onelink.engine._ops`: Alma calls and journal lines as
plain data); `drive` runs it with `AlmaClient`, `drive_async` with `AsyncAlmaClient`, and those two
loops are the only I/O. Every write goes through one helper (journal the intent, write, read back what
was lost, journal how it ended), the `Journal` keeps every write ahead of it (an update with the record
it sends), `settle` reads Alma to know how a write ended when a crash kept its line from the journal
(and names a registration a crash left half-done), and `restore` undoes one.

Nothing here knows of registration or merging: `alma_onelink.onelink` and `alma_onelink.merge` sit on
top of this package, beside each other.
"""

from typing import TYPE_CHECKING

from alma_onelink._lazy import lazy_names

if TYPE_CHECKING:
    from ._driver import Procedure, drive, drive_async
    from ._inputs import JournalLike, check_staff, check_today, journal_for, open_journal
    from ._settle import Open, Settled, Unfinished, afind_unfinished, asettle, find_unfinished, settle
    from ._trace import ApiCall, Step, Trace
    from .journal import Intent, Journal, JournalEntry, JournalError, default_journal_path
    from .restore import Restored, RestoreError, RestoreResult, arestore, comparable, restore
else:
    __getattr__, __dir__ = lazy_names(
        __name__,
        {
            "._driver": ("Procedure", "drive", "drive_async"),
            "._inputs": ("JournalLike", "check_staff", "check_today", "journal_for", "open_journal"),
            "._settle": ("Open", "Settled", "Unfinished", "afind_unfinished", "asettle", "find_unfinished", "settle"),
            "._trace": ("ApiCall", "Step", "Trace"),
            ".journal": ("Intent", "Journal", "JournalEntry", "JournalError", "default_journal_path"),
            ".restore": ("Restored", "RestoreError", "RestoreResult", "arestore", "comparable", "restore"),
        },
    )

__all__ = [
    "ApiCall",
    "Intent",
    "Journal",
    "JournalEntry",
    "JournalError",
    "JournalLike",
    "Open",
    "Procedure",
    "RestoreError",
    "RestoreResult",
    "Restored",
    "Settled",
    "Step",
    "Trace",
    "Unfinished",
    "afind_unfinished",
    "arestore",
    "asettle",
    "check_staff",
    "check_today",
    "comparable",
    "default_journal_path",
    "drive",
    "drive_async",
    "find_unfinished",
    "journal_for",
    "open_journal",
    "restore",
    "settle",
]
