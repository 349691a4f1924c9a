"""What the journal remembers of a OneLink ID: old accounts still to be merged, and writes still to settle."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._journal_data import held_values
from ._settle_decide import HANDED_OFF, accepted_create
from .journal import Journal, JournalEntry

__all__ = ["entries_of", "half_done", "holds", "moved_off", "next_write", "taken_off", "unsettled_for"]

Overlay = dict[str, JournalEntry]
"""Entries settled in memory only (a dry run), by id: read over the journal's."""


def holds(record: dict[str, Any] | None, onelink_id: str) -> bool:
    """Whether the Alma JSON ``record`` holds ``onelink_id`` as one of its identifiers (ignoring case)."""
    return onelink_id.casefold() in held_values(record)


def _is_move(entry: JournalEntry, onelink_id: str) -> bool:
    return (
        entry.operation == "register"
        and entry.action == "update"
        and entry.result == "done"
        and holds(entry.before, onelink_id)
        and not holds(entry.after, onelink_id)
    )


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _select(journal: Journal | None, overlay: Overlay, **conditions: Any) -> list[tuple[int, JournalEntry]]:
    """The journal's entries matching ``conditions`` (indexed look-ups: see `Journal.entries`), overlay applied."""
    if journal is None:
        return []
    found = journal._select(**conditions)  # the engine's own journal: each look-up reads only the lines it needs
    return [(seq, overlay.get(entry.id, entry)) for seq, entry in found] if overlay else found


def moved_off(journal: Journal | None, onelink_id: str, settled: Iterable[JournalEntry] = ()) -> list[str]:
    """Primary ids of old accounts a registration took ``onelink_id`` off, not put back nor merged since, oldest first.

    A move counts once it is done, whether its completion line was written or a later run settled it
    by reading Alma; ``settled`` are entries settled in memory only (a dry run), read over the
    journal's. A move stops counting when a later done write on that account holds the id again (the
    identifier put back, the move restored) or a merge of that account stands.
    """
    overlay = {entry.id: entry for entry in settled}
    old: list[str] = []
    for seq, entry in _select(journal, overlay, held=onelink_id, operation="register", action="update"):
        if not _is_move(entry, onelink_id) or any(_same(entry.target, known) for known in old):
            continue
        later = _select(journal, overlay, target=entry.target, after=seq)
        if any(e.result == "done" and holds(e.after, onelink_id) for _, e in later):
            continue  # put back since: the old account holds the id again
        if not _merged(journal, overlay, entry.target):
            old.append(entry.target)
    return old


def _merged(journal: Journal | None, overlay: Overlay, target: str) -> bool:
    """Whether a merge of ``target`` into another account stands: its mark or delete of ``target`` done, the
    merge neither rolled back nor undone."""
    for _, entry in _select(journal, overlay, target=target, operation="merge"):
        if entry.result != "done" or entry.registration is None or not _marks(entry):
            continue
        writes = [w for _, w in _select(journal, overlay, registration=entry.registration)]
        if any(w.operation == "merge_rollback" for w in writes):
            continue  # rolled back part-way: both accounts are as they were
        ids = frozenset(w.id for w in writes)
        restores = _select(journal, overlay, registrations=ids, operation="restore")
        if not any(r.result == "done" for _, r in restores):
            return True
    return False


def _marks(entry: JournalEntry) -> bool:
    """Whether a merge's write is its last word on From: the delete, or the mark (From made INACTIVE)."""
    if entry.action == "delete":
        return True
    status = (entry.after or {}).get("status")
    value = status.get("value") if isinstance(status, dict) else status
    return str(value or "").upper() == "INACTIVE"


def unsettled_for(journal: Journal | None, onelink_id: str) -> list[JournalEntry]:
    """Entries whose outcome is not known (pending, unknown) that concern ``onelink_id``, oldest first.

    The unsettled entries of every registration, merge or restore that wrote the id's account or
    took the id off an old account (its target is the id, or its record before holds it), and of the
    restores of those writes: a merge's write on the old account comes with its write on the OneLink
    account.
    """
    unsettled = [e for _, e in _select(journal, {}, results=("pending", "unknown"))]
    if not unsettled:
        return []  # the usual case, found in one look-up
    runs = frozenset({e.registration for e in unsettled if e.registration is not None} | {e.id for e in unsettled})
    related = dict(_select(journal, {}, registrations=runs)) | dict(_select(journal, {}, ids=runs))
    concerned = [e for e in related.values() if _same(e.target, onelink_id) or holds(e.before, onelink_id)]
    wanted = {e.registration for e in concerned if e.registration is not None} | {e.id for e in concerned}
    return [e for e in unsettled if e.id in wanted or e.registration in wanted]


def next_write(journal: Journal | None, entry: JournalEntry) -> JournalEntry | None:
    """The first write after ``entry`` on the same account (its intent written later), or None.

    For an account handed off in a SIS file, the first later create of it that Alma's API accepted
    (its own completion says done), or None: only that says anything of a hand-off (it supersedes it).
    """
    found = _select(journal, {}, ids=frozenset({entry.id}))
    if not found:
        return None
    if entry.operation == HANDED_OFF:
        creates = _select(journal, {}, target=entry.target, action="create", results=("done",), after=found[0][0])
        return next((e for _, e in creates if accepted_create(e)), None)
    later = _select(journal, {}, target=entry.target, after=found[0][0], limit=1)
    return later[0][1] if later else None


def entries_of(journal: Journal | None, registration: str, operation: str | None = None) -> list[JournalEntry]:
    """The entries journaled under ``registration`` (of ``operation`` only, if given), oldest first."""
    conditions: dict[str, Any] = {"registration": registration}
    if operation is not None:
        conditions["operation"] = operation
    return [entry for _, entry in _select(journal, {}, **conditions)]


def taken_off(entry: JournalEntry) -> set[str]:
    """The identifier values an update took off its account: held before, not after (or not in what it sent)."""
    left = entry.after if entry.after is not None else entry.sending
    if left is None:
        return set()
    gone = held_values(entry.before) - held_values(left)
    identifiers = (entry.before or {}).get("user_identifier") or []
    if isinstance(identifiers, dict):
        identifiers = [identifiers]
    values = (str(i.get("value") or "") for i in identifiers if isinstance(i, dict))
    return {value for value in values if value.casefold() in gone}


def half_done(
    journal: Journal | None, registrations: Iterable[str], *, open_ones: bool = False
) -> list[tuple[JournalEntry, str, JournalEntry | None]]:
    """Registrations that took a OneLink ID off an old account and did not create its account, per the journal.

    Each is ``(move, onelink_id, create)``: the ``register`` update that took the id off its target
    (done, or not known: only Alma tells), the id as the old account held it, and the registration's
    create of it if its intent was written. A move put back since (a later done write on the old
    account holds the id again) does not count, nor one followed by a create of the id that is done.
    ``registrations`` are those to look at; ``open_ones`` adds every registration with a move and no
    done create of the id after it, whether or not any of its entries is open (so a half-done
    registration is found as long as it is half-done, after its move is settled too), and every one
    whose create did not happen or is not known, or whose move is not known (each look-up is one
    indexed query).
    The create of a registration is journaled before its move's completion, so a run stopped
    between the two always leaves one of these.
    """
    wanted = set(registrations)
    if open_ones and journal is not None:
        wanted |= journal._moves_without_create()  # one indexed query: moves with no done create of the id after
        for _, entry in _select(journal, {}, operation="register", results=("failed", "pending", "unknown")):
            if entry.registration is not None and entry.action in ("create", "update"):
                wanted.add(entry.registration)
    if not wanted:
        return []
    results = ("done", "pending", "unknown")
    moves = _select(
        journal, {}, registrations=frozenset(wanted), operation="register", action="update", results=results
    )
    found: list[tuple[JournalEntry, str, JournalEntry | None]] = []
    for seq, move in moves:
        for onelink_id in sorted(taken_off(move)):
            later = _select(journal, {}, target=move.target, after=seq)
            if any(e.result == "done" and holds(e.after, onelink_id) for _, e in later):
                continue  # put back since: the old account holds the id again
            creates = [entry for _, entry in _select(journal, {}, target=onelink_id, action="create", after=seq)]
            if any(entry.result == "done" for entry in creates):
                continue
            own = next((entry for entry in creates if entry.registration == move.registration), None)
            found.append((move, onelink_id, own))
    return found
