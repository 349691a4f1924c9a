"""What the journal remembers of a OneLink ID: old accounts still to be merged, and writes still to settle."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .journal import Journal, JournalEntry

__all__ = ["holds", "moved_off", "next_write", "unsettled_for"]


def holds(record: dict[str, Any] | None, onelink_id: str) -> bool:
    """Whether the Alma JSON ``record`` holds ``onelink_id`` as one of its identifiers (ignoring case)."""
    identifiers = (record or {}).get("user_identifier") or []
    if isinstance(identifiers, dict):  # a lone identifier, as Alma sometimes writes it
        identifiers = [identifiers]
    wanted = onelink_id.casefold()
    return any(isinstance(i, dict) and str(i.get("value") or "").casefold() == wanted for i in identifiers)


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


def _read(journal: Journal | None, settled: Iterable[JournalEntry] = ()) -> list[JournalEntry]:
    if journal is None or not journal.path.exists():
        return []
    entries = journal._snapshot()  # the engine's own journal, read without copying every record
    overlay = {entry.id: entry for entry in settled}
    return [overlay.get(entry.id, entry) for entry in entries] if overlay else entries


def moved_off(journal: Journal | None, onelink_id: str, settled: Iterable[JournalEntry] = ()) -> list[str]:
    """Primary ids of old accounts a registration took ``onelink_id`` off, not put back nor merged since, oldest first.

    A move counts once it is done, whether its completion line was written or a later run settled it
    by reading Alma; ``settled`` are entries settled in memory only (a dry run), read over the
    journal's. A move stops counting when a later done write on that account holds the id again (the
    identifier put back, the move restored) or a merge of that account stands.
    """
    entries = _read(journal, settled)
    old: list[str] = []
    for position, entry in enumerate(entries):
        if entry.operation != "register" or entry.action != "update":
            continue  # the cheap tests first: a journal holds thousands of entries, and is read per patron
        if not _is_move(entry, onelink_id) or any(_same(entry.target, known) for known in old):
            continue
        later = [e for e in entries[position + 1 :] if _same(e.target, entry.target) and e.result == "done"]
        if any(holds(e.after, onelink_id) for e in later):
            continue  # put back since: the old account holds the id again
        if not _merged(entries, entry.target):
            old.append(entry.target)
    return old


def _merged(entries: list[JournalEntry], target: str) -> bool:
    """Whether a merge of ``target`` into another account stands: its mark or delete of ``target`` done, the
    merge neither rolled back nor undone."""
    for entry in entries:
        if not _same(entry.target, target) or entry.operation != "merge" or entry.result != "done":
            continue
        if entry.registration is None or not _marks(entry):
            continue
        writes = [e for e in entries if e.registration == entry.registration]
        if any(w.operation == "merge_rollback" for w in writes):
            continue  # rolled back part-way: both accounts are as they were
        ids = {w.id for w in writes}
        undone = any(r.operation == "restore" and r.result == "done" and r.registration in ids for r in entries)
        if not undone:
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
    entries = _read(journal)
    unsettled = [e for e in entries if e.is_unsettled]
    if not unsettled:
        return []  # the usual case, found in one pass
    runs = {e.registration for e in unsettled if e.registration is not None} | {e.id for e in unsettled}
    related = [e for e in entries if e.registration in runs or e.id in runs]
    concerned = [e for e in related if _same(e.target, onelink_id) or holds(e.before, onelink_id)]
    wanted = {e.registration for e in concerned if e.registration is not None} | {e.id for e in concerned}
    return [e for e in unsettled if e.id in wanted or e.registration in wanted]


def next_write(journal: Journal | None, entry: JournalEntry) -> JournalEntry | None:
    """The first write after ``entry`` on the same account (its intent written later), or None."""
    entries = _read(journal)
    ids = [e.id for e in entries]
    if entry.id not in ids:
        return None
    later = entries[ids.index(entry.id) + 1 :]
    return next((e for e in later if _same(e.target, entry.target)), None)
