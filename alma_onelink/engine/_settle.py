"""Settling a write whose outcome the journal does not know (pending after a crash, or unknown) by reading Alma.

The intent holds the record as it was before the write, so one read tells: a create took effect if
the account exists, a delete if it is gone, an update if the record is no longer as it was before.
The read is the record before of the next write on the same account, when one was journaled (later
writes may have changed the account since), else the account now.
The settlement is journaled as a line of its own (`Journal.settle`); nothing is rewritten.
Registration, `restore` and `undo_merge` settle what concerns them before deciding; `settle` (and
`asettle`) settle any entry, or every one, on request.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import TYPE_CHECKING, Any, Literal

from alma_onelink.errors import InputError, NotFoundError
from alma_onelink.models import User

from ._compare import comparable
from ._driver import drive, drive_async
from ._inputs import JournalLike, open_journal
from ._ops import GetUser, NextWrite, Op, SettleWrite
from ._trace import Trace
from .journal import Journal, JournalEntry

if TYPE_CHECKING:
    from alma_onelink import AlmaClient, AsyncAlmaClient

__all__ = ["SETTLED_BY_READING", "asettle", "decide", "settle", "settling"]

SETTLED_BY_READING = "settled by reading Alma"
"""How every settlement note starts."""


def _was(entry: JournalEntry) -> str:
    if entry.result == "unknown":
        return "its outcome was unknown"
    return "the run had stopped before its completion line"


def decide(
    entry: JournalEntry, found: User | None, *, where: str = "by reading Alma"
) -> tuple[Literal["done", "failed"], User | None, str] | None:
    """What Alma holds says of ``entry``: ``(result, record then, note)``, or None if it cannot tell.

    ``found`` is the record whose primary id is the entry's target, None if there is none; ``where``
    says where it was read, for the note. An update of an account that is gone cannot be told from
    its record before: None.
    """
    target, action, was = entry.target, entry.action, _was(entry)
    how = f"settled {where}"
    if action == "create":
        if found is not None:
            return "done", found, f"{how}: {target} exists, so the create took effect ({was})"
        return "failed", None, f"{how}: there is no account {target}, so the create did not happen ({was})"
    if action == "delete":
        if found is None:
            return "done", None, f"{how}: {target} is gone, so the delete took effect ({was})"
        return "failed", found, f"{how}: {target} still exists, so the delete did not happen ({was})"
    if found is None:
        return None
    if comparable(found.to_alma()) == comparable(entry.before or {}):
        return "failed", found, f"{how}: {target} is as it was before, so the update did not happen ({was})"
    return "done", found, f"{how}: {target} is no longer as it was before, so the update took effect ({was})"


def settling(entries: Iterable[JournalEntry], *, write: bool = True) -> Generator[Op, Any, list[JournalEntry]]:
    """Settle each unsettled entry by reading its account; returns the entries, settled where Alma could tell.

    When a later write on the same account was journaled, its record before (read from Alma just
    before it) says how this write left the account; otherwise the account is read now. Each
    settlement is journaled (`SettleWrite`); with ``write=False`` (a dry run) it is made in memory
    only. An entry Alma cannot tell about (an update of an account that is gone) is returned as it was.
    A read that fails raises the SDK's error into the caller, before anything is journaled for it.
    """
    done: list[JournalEntry] = []
    for entry in entries:
        if not entry.is_unsettled:
            done.append(entry)
            continue
        decided = None
        following: JournalEntry | None = yield NextWrite(entry)
        if following is not None and following.before is not None and entry.action != "delete":
            # A later write on the account read it first: that record is how this write left it, whatever
            # the later writes did to it since.
            then = User.from_alma(following.before)
            where = f"by reading Alma before the next write on {entry.target} (journal entry {following.id})"
            decided = decide(entry, then, where=where)
        if decided is None:
            try:
                found: User | None = yield GetUser(entry.target)
            except NotFoundError:
                found = None
            if found is not None and (found.primary_id or "").casefold() != entry.target.casefold():
                found = None  # the id finds another account through an identifier: the target itself is not there
            decided = decide(entry, found)
        if decided is None:
            done.append(entry)
            continue
        result, now, note = decided
        after = now.to_alma() if now is not None and result == "done" else None
        error = None if result == "done" else note
        if write:
            settled: JournalEntry = yield SettleWrite(entry, result, note, after=after, error=error)
        else:
            settled = entry.model_copy(update={"result": result, "after": after, "error": error, "note": note})
        done.append(settled)
    return done


def _entries(entry: JournalEntry | str | None, journal: Journal) -> list[JournalEntry]:
    if entry is None:
        return journal.unsettled()
    if isinstance(entry, str):
        return [journal.get(entry)]
    if isinstance(entry, JournalEntry):
        return [entry]
    raise InputError(f"entry must be a JournalEntry, its id or None (every unsettled one); got {type(entry).__name__}")


def settle(
    alma: AlmaClient, entry: JournalEntry | str | None = None, *, journal: JournalLike = None
) -> list[JournalEntry]:
    """Settle journal entries whose outcome is not known (pending, unknown) by reading Alma; nothing is written to Alma.

    ``entry`` is one entry, its id (or a unique prefix of 6+ characters), or None for every pending or
    unknown entry of ``journal`` (default: the default journal). Each is read in Alma and a settlement
    line appended: a create is done if the account exists, a delete if it is gone, an update if the
    record is no longer as it was before. Returns the entries, settled (``done``/``failed``, with a
    ``note``), or as they were when Alma cannot tell (an update of an account that is gone), or when
    they were settled already.

    Raises:
        InputError: no such entry in the journal, or a bad argument.
        JournalError: the journal could not be written.
        AlmaError: Alma could not be read (the entries read before it are settled).
    """
    opened = open_journal(journal)
    return drive(settling(_entries(entry, opened)), alma, journal=opened, trace=Trace())


async def asettle(
    alma: AsyncAlmaClient, entry: JournalEntry | str | None = None, *, journal: JournalLike = None
) -> list[JournalEntry]:
    """`settle` for `AsyncAlmaClient`."""
    opened = open_journal(journal)
    return await drive_async(settling(_entries(entry, opened)), alma, journal=opened, trace=Trace())
