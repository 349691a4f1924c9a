"""Undoing an applied merge from the journal: settle what it left unknown, then restore what it did, newest first.

A merge killed mid-apply (or whose answer was lost) leaves writes whose outcome the journal does not
know. Each is settled by reading Alma first (journaled as a settlement); then the writes that took
effect, less those a roll-back or an earlier undo already put back, are restored newest first, as
`restore` does each one.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from alma_onelink.engine import JournalEntry, JournalError, Restored, RestoreError, RestoreResult
from alma_onelink.engine._ops import GetUser, Op
from alma_onelink.engine._settle import Open, settling
from alma_onelink.engine._write import journal_advice, nothing_sent
from alma_onelink.engine.restore import restoring
from alma_onelink.errors import NotFoundError
from alma_onelink.models import User

from ._apply import changed_fields

__all__ = ["AlreadyUndone", "undoing"]


class AlreadyUndone(RestoreError):
    """The merge was undone already: each write of it that took effect was restored (``restores``, oldest first).

    A `RestoreError` (there is nothing to undo) that says the merge's state is the one asked for: the
    command says so and exits 0, as a plan applied again does.
    """

    def __init__(self, merge_id: str, restores: list[JournalEntry]) -> None:
        self.merge_id = merge_id
        self.restores = tuple(restores)
        last = restores[-1] if restores else None
        when = f" on {last.time:%Y-%m-%d %H:%M} UTC" if last is not None else ""
        by = f" by {last.staff}" if last is not None and last.staff else ""
        ids = ", ".join(r.id[:12] for r in restores)
        super().__init__(
            f"Merge {merge_id} was undone already{when}{by}: each of its writes was restored (journal entries {ids})."
        )


def _same(a: str, b: str) -> bool:
    return a.casefold() == b.casefold()


def standing_writes(merge_id: str, entries: list[JournalEntry], restores: list[JournalEntry]) -> list[JournalEntry]:
    """The merge's writes that took effect and stand: not put back by its roll-back nor by an earlier undo."""
    standing = [e for e in entries if e.operation == "merge" and e.result == "done"]
    rolled_back = False
    for back in (e for e in entries if e.operation == "merge_rollback" and e.result == "done"):
        rolled_back = True  # the roll-back puts the writes back newest first, one a write
        for position in range(len(standing) - 1, -1, -1):
            if _same(standing[position].target, back.target):
                del standing[position]
                break
    done_restores = [r for r in restores if r.result == "done"]
    undone = {r.registration for r in done_restores}
    restored = [e for e in standing if e.id in undone]
    standing = [e for e in standing if e.id not in undone]
    if standing:
        return standing
    if rolled_back:
        raise RestoreError(f"Merge {merge_id} was rolled back when it failed: there is nothing to undo.")
    if restored:
        ids = {e.id for e in restored}
        raise AlreadyUndone(merge_id, sorted((r for r in done_restores if r.registration in ids), key=lambda r: r.time))
    raise RestoreError(f"Merge {merge_id} wrote nothing: there is nothing to undo.")


def undoing(
    merge_id: str, entries: list[JournalEntry], restores: list[JournalEntry], *, staff: str | None
) -> Generator[Op, Any, list[RestoreResult]]:
    """Undo a merge: settle its unknown writes by reading Alma, then restore those that stand, newest first.

    ``entries`` are every journal entry of the merge (its writes and roll-backs), oldest first;
    ``restores`` the journal's restore entries of them (an earlier undo, maybe cut short). Raises
    `RestoreError` before any write to Alma if an account changed since the merge (or a deleted
    From exists again), if there is nothing to undo, or if a write's outcome cannot be told;
    `JournalError` if the journal cannot be written, saying what was restored before it failed.
    """
    unsettled = [e for e in [*entries, *restores] if e.is_unsettled]
    if unsettled:
        left_open: list[Open] = []
        try:
            settled = {e.id: e for e in (yield from settling(unsettled, left_open=left_open))}
        except JournalError as exc:
            raise nothing_sent(exc) from exc
        entries = [settled.get(e.id, e) for e in entries]
        restores = [settled.get(e.id, e) for e in restores]
        if left_open:
            raise RestoreError(
                f"Merge {merge_id} cannot be undone: whether "
                + "; ".join(f"the {o.entry.action} of {o.entry.target} (journal entry {o.entry.id})" for o in left_open)
                + " took effect cannot be told. Nothing was written to Alma. "
                + " ".join(f"{o.entry.target}: {o.why}. {o.what_to_do}." for o in left_open)
            )
    standing = standing_writes(merge_id, entries, restores)
    standing = yield from _check_unchanged(merge_id, standing)
    results: list[RestoreResult] = []
    for entry in reversed(standing):
        try:
            restored = yield from restoring(entry, staff=staff, force=False)
        except JournalError as exc:
            done = "; ".join(str(r) for r in results) or "nothing"
            raise JournalError(
                f"The journal {exc.path} could not be written ({exc.cause}), so the undo of merge {merge_id} "
                f"stopped before putting {entry.target} back as journal entry {entry.id} found it. Restored "
                f"before that: {done}. {journal_advice(exc)}; then run `alma-onelink merge undo {merge_id}` again.",
                path=exc.path,
                cause=exc.cause,
            ) from exc
        results.append(restored)
        if restored.outcome is Restored.FAILED:
            break
    return results


def _check_unchanged(merge_id: str, standing: list[JournalEntry]) -> Generator[Op, Any, list[JournalEntry]]:
    """The writes still to restore: those on accounts not already back as they were. Reads only.

    Raises `RestoreError` if an account changed since the merge's last write on it (or a deleted
    From exists again), or if both are already as they were before the merge (put back without a
    journal line, when the journal could not be written).
    """
    latest: dict[str, JournalEntry] = {}
    oldest: dict[str, JournalEntry] = {}
    for entry in standing:
        latest[entry.target.casefold()] = entry
        oldest.setdefault(entry.target.casefold(), entry)
    problems: list[str] = []
    back: set[str] = set()
    for key, entry in latest.items():
        try:
            current: User | None = yield GetUser(entry.target)
        except NotFoundError:
            current = None
        if current is not None and not _same(current.primary_id or "", entry.target):
            current = None  # the id finds another account through an identifier
        original = oldest[key]
        if entry.action == "delete":
            if (
                current is not None
                and original.before is not None
                and not changed_fields(current.to_alma(), original.before)
            ):
                back.add(key)
            elif current is not None:
                problems.append(f"{entry.target} exists again since the merge deleted it")
        elif current is None:
            problems.append(f"{entry.target} does not exist any more")
        elif changed := changed_fields(current.to_alma(), entry.after or {}):
            if original.before is not None and not changed_fields(current.to_alma(), original.before):
                back.add(key)  # already as it was before the merge
            else:
                problems.append(f"{entry.target} changed since the merge ({', '.join(changed)})")
    if problems:
        commands = "; ".join(f"`alma-onelink journal restore {e.id} --force`" for e in reversed(standing))
        raise RestoreError(
            f"Merge {merge_id} cannot be undone: {'; '.join(problems)}. Undoing would overwrite those changes; "
            f"if that is really wanted, restore its journal entries one by one, newest first: {commands}."
        )
    if back == set(latest):
        raise RestoreError(
            f"Merge {merge_id}: {' and '.join(e.target for e in latest.values())} "
            f"{'is' if len(latest) == 1 else 'are'} already as before the merge (undone or rolled back already): "
            "there is nothing to undo."
        )
    return [e for e in standing if e.target.casefold() not in back]
