"""Settling a write whose outcome the journal does not know (pending after a crash, or unknown) by reading Alma.

The intent holds the record as it was before the write and, for an update, the record it was to
send, so one read tells (`alma_onelink.engine._settle_decide.decide`): a create took effect if the
account exists, a delete if it is gone, an update if the account holds what it was to send; an
account changed by someone else since cannot be told, and the entry stays open saying why and what
to check. The read is the record before of the next write on the same account, when one was
journaled (later writes may have changed the account since), else the account now. The settlement
is journaled as a line of its own (`Journal.settle`); nothing is rewritten.
Registration, `restore` and `undo_merge` settle what concerns them before deciding; `settle` (and
`asettle`) settle any entry, or every one, on request, and name the registrations a crash left
half-done (`Unfinished`).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from alma_onelink.errors import InputError, NotFoundError

from ._driver import drive, drive_async
from ._inputs import JournalLike, open_journal
from ._ops import GetUser, NextWrite, Op, SettleWrite
from ._settle_decide import HANDED_OFF, SETTLED_BY_READING, Decision, decide, decide_by_following
from ._trace import Trace
from ._unfinished import Unfinished, finding_unfinished
from .journal import Journal, JournalEntry, JournalError

if TYPE_CHECKING:
    from alma_onelink import AlmaClient, AsyncAlmaClient

__all__ = [
    "HANDED_OFF",
    "SETTLED_BY_READING",
    "Open",
    "Settled",
    "Unfinished",
    "afind_unfinished",
    "asettle",
    "decide",
    "find_unfinished",
    "settle",
    "settling",
]


@dataclass(frozen=True, slots=True)
class Open:
    """An entry reading Alma could not settle: ``why``, and ``what_to_do`` (with the command to check it)."""

    entry: JournalEntry
    why: str
    what_to_do: str

    def __str__(self) -> str:
        return f"journal entry {self.entry.id} ({self.entry.action} {self.entry.target}): {self.why}. {self.what_to_do}"


@dataclass(frozen=True)
class Settled(Sequence[JournalEntry]):
    """What `settle` found: the entries (a sequence, as asked), those left open, and half-done registrations.

    Iterating, indexing and ``len`` give the entries, each settled (``done``/``failed``, with its
    ``note``), or as it was when Alma cannot tell (then ``note`` says why, in memory only) or when it
    was settled already. ``open`` says of each entry left open why and what to check;
    ``unfinished`` names each registration that took a OneLink ID off an old account and never
    created the account (the id is on no account), with the commands that finish or undo it.
    """

    entries: tuple[JournalEntry, ...]
    open: tuple[Open, ...] = ()
    unfinished: tuple[Unfinished, ...] = ()

    @property
    def all_settled(self) -> bool:
        """True when nothing is left open and no registration is half-done."""
        return not self.open and not self.unfinished

    @overload
    def __getitem__(self, index: int) -> JournalEntry: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[JournalEntry]: ...
    def __getitem__(self, index: int | slice) -> JournalEntry | Sequence[JournalEntry]:
        return self.entries[index]

    def __len__(self) -> int:
        return len(self.entries)


def _decided(entry: JournalEntry) -> Generator[Op, Any, Decision]:
    """How ``entry`` ended: by the next write on its account when that one read it, else by reading Alma now."""
    following: JournalEntry | None = yield NextWrite(entry)
    if following is not None:
        decided = decide_by_following(entry, following)
        if decided is not None:
            return decided  # cannot tell included: Alma now holds what the later writes made of it
    try:
        found = yield GetUser(entry.target)
    except NotFoundError:
        found = None
    if found is not None and (found.primary_id or "").casefold() != entry.target.casefold():
        found = None  # the id finds another account through an identifier: the target itself is not there
    return decide(entry, found.to_alma() if found is not None else None)


def settling(
    entries: Iterable[JournalEntry], *, write: bool = True, left_open: list[Open] | None = None
) -> Generator[Op, Any, list[JournalEntry]]:
    """Settle each unsettled entry by reading its account; returns the entries, settled where Alma could tell.

    Each settlement is journaled (`SettleWrite`); with ``write=False`` (a dry run) it is made in
    memory only. An entry Alma cannot tell about is returned unsettled, its ``note`` saying why (in
    memory only), and added to ``left_open`` when given. A read that fails raises the SDK's error
    into the caller, before anything is journaled for it; a settlement the journal cannot take
    raises `JournalError` naming the entry.
    """
    done: list[JournalEntry] = []
    for entry in entries:
        if not entry.is_unsettled:
            done.append(entry)
            continue
        decided = yield from _decided(entry)
        if decided.result is None:
            opened = Open(entry, decided.why, decided.what_to_do)
            if left_open is not None:
                left_open.append(opened)
            done.append(entry.model_copy(update={"note": f"not settled: {decided.why}. {decided.what_to_do}"}))
            continue
        after = decided.after if decided.result == "done" else None
        error = None if decided.result == "done" else decided.note
        if not write:
            update = {"result": decided.result, "after": after, "error": error, "note": decided.note}
            done.append(entry.model_copy(update=update))
            continue
        try:
            settled: JournalEntry = yield SettleWrite(entry, decided.result, decided.note, after=after, error=error)
        except JournalError as exc:
            raise exc.said_with(
                f": the settlement of journal entry {entry.id} ({entry.action} {entry.target}) was not written"
            ) from exc
        done.append(settled)
    return done


def _settling_all(entries: list[JournalEntry], *, scan: bool) -> Generator[Op, Any, Settled]:
    left_open: list[Open] = []
    settled = yield from settling(entries, left_open=left_open)
    registrations = [e.registration for e in settled if e.operation == "register" and e.registration]
    unfinished = yield from finding_unfinished(registrations, open_ones=scan)
    return Settled(tuple(settled), tuple(left_open), tuple(unfinished))


def _entries(entry: JournalEntry | str | None, journal: Journal) -> list[JournalEntry]:
    if entry is None:
        return journal.unsettled()
    if isinstance(entry, str):
        return [journal.get(entry)]
    if isinstance(entry, JournalEntry):
        return [entry]
    raise InputError(f"entry must be a JournalEntry, its id or None (every unsettled one); got {type(entry).__name__}")


def settle(alma: AlmaClient, entry: JournalEntry | str | None = None, *, journal: JournalLike = None) -> Settled:
    """Settle journal entries whose outcome is not known (pending, unknown) by reading Alma; nothing is written to Alma.

    ``entry`` is one entry, its id (or a unique prefix of 6+ characters), or None for every pending or
    unknown entry of ``journal`` (default: the default journal). Each is read in Alma and a settlement
    line appended: a create is done if the account exists, a delete if it is gone, an update if the
    account holds the record it was to send (failed if it is as it was before). An entry Alma cannot
    tell about stays open (an update of an account someone else changed since, or that is gone; an
    account handed off in a SIS file that Alma has not loaded yet). Registrations that took a OneLink
    ID off an old account and never created the account are named too (those of the entries
    settled; with None, also every one whose create did not happen), each confirmed by one read of Alma.

    Returns a `Settled`: the entries (iterate or index it), ``open`` (why each open entry stays open
    and what to check), ``unfinished`` (half-done registrations and the commands that finish or undo
    them).

    Raises:
        InputError: no such entry in the journal, or a bad argument.
        JournalError: the journal could not be written or read (the entries before it are settled).
        AlmaError: Alma could not be read (the entries read before it are settled).
    """
    opened = open_journal(journal)
    return drive(_settling_all(_entries(entry, opened), scan=entry is None), alma, journal=opened, trace=Trace())


async def asettle(
    alma: AsyncAlmaClient, entry: JournalEntry | str | None = None, *, journal: JournalLike = None
) -> Settled:
    """`settle` for `AsyncAlmaClient`."""
    opened = open_journal(journal)
    procedure = _settling_all(_entries(entry, opened), scan=entry is None)
    return await drive_async(procedure, alma, journal=opened, trace=Trace())


def find_unfinished(alma: AlmaClient, *, journal: JournalLike = None) -> list[Unfinished]:
    """Every registration of ``journal`` that took a OneLink ID off an old account and never created the account.

    Looks at the registrations whose create did not happen or is not known, or whose move is not
    known (the create's intent is journaled before the move's completion, so a run stopped between
    them always leaves one), then reads Alma once for each move standing without a create
    (``GET /users/{onelink_id}``: the id on no account confirms it). Nothing is written anywhere.
    `settle` with no entry includes these; this finds them alone.

    Raises:
        InputError: a bad argument.
        JournalError: the journal could not be read.
        AlmaError: Alma could not be read.
    """
    opened = open_journal(journal)
    return drive(finding_unfinished((), open_ones=True), alma, journal=opened, trace=Trace())


async def afind_unfinished(alma: AsyncAlmaClient, *, journal: JournalLike = None) -> list[Unfinished]:
    """`find_unfinished` for `AsyncAlmaClient`."""
    opened = open_journal(journal)
    return await drive_async(finding_unfinished((), open_ones=True), alma, journal=opened, trace=Trace())
