"""What the journal remembers of identifier moves: which old accounts still wait to be merged."""

from __future__ import annotations

from typing import Any

from .journal import Journal, JournalEntry

__all__ = ["moved_off"]


def _holds(record: dict[str, Any] | None, onelink_id: str) -> bool:
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
        and _holds(entry.before, onelink_id)
        and not _holds(entry.after, onelink_id)
    )


def moved_off(journal: Journal | None, onelink_id: str) -> list[str]:
    """Primary ids of old accounts a registration took ``onelink_id`` off, not merged since, oldest first."""
    if journal is None or not journal.path.exists():
        return []
    old: list[str] = []
    for created in journal.entries(target=onelink_id):
        if created.action != "create" or created.result != "done" or created.registration is None:
            continue
        for entry in journal.entries(registration=created.registration):
            if _is_move(entry, onelink_id) and entry.target not in old:
                old.append(entry.target)
    return [target for target in old if not _merged(journal, target)]


def _merged(journal: Journal, target: str) -> bool:
    """Whether a merge of ``target`` completed and stands: not rolled back, none of its writes undone."""
    for entry in journal.entries(target=target):
        if entry.operation != "merge" or entry.result != "done" or entry.registration is None:
            continue
        writes = journal.entries(registration=entry.registration)
        if any(w.operation == "merge_rollback" for w in writes):
            continue  # rolled back part-way: both accounts are as they were
        undone = any(
            r.operation == "restore" and r.result == "done" for w in writes for r in journal.entries(registration=w.id)
        )
        if not undone:
            return True
    return False
