"""Undo one journaled write: `restore` puts a record back as it was before that entry (async: `arestore`).

An update is undone by a PUT of the record before it, a delete by creating the record again, a
create by deleting the account, but only while it is exactly as the create left it and holds no
loans, requests or fees. An entry whose outcome is not known (pending after a crash, or unknown) is
settled first by reading Alma (`Journal.settle`), so it leaves ``journal pending``; so is every
earlier restore of the same entry a stopped run left open, so that one write is never claimed twice.
Restoring is itself journaled (operation ``"restore"``, the restored entry's id as its registration),
and refuses rather than overwrite a change someone made since: the record after an update (its
completion's, or a settlement's: the record it sent when someone changed the account since) is what
the account must still hold.
"""

from __future__ import annotations

import enum
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alma_onelink.errors import AlmaError, InputError, NotFoundError
from alma_onelink.models import User

from ._compare import comparable
from ._driver import drive, drive_async
from ._inputs import JournalLike, open_journal
from ._ops import CountActivity, CreateUser, DeleteUser, FindEntries, GetUser, Op, UpdateUser
from ._settle import Open, settling
from ._trace import Trace
from ._write import Write, describe, journal_advice, nothing_sent, write
from .journal import Journal, JournalEntry, JournalError

if TYPE_CHECKING:
    from alma_onelink import AlmaClient, AsyncAlmaClient

__all__ = ["RestoreError", "RestoreResult", "Restored", "arestore", "comparable", "restore", "restoring"]


def _differences(now: dict[str, Any], then: dict[str, Any]) -> list[str]:
    a, b = comparable(now), comparable(then)
    return sorted(key for key in set(a) | set(b) if a.get(key) != b.get(key))


class RestoreError(AlmaError, ValueError):
    """The entry cannot be restored safely: the record changed since, or still has activity; the message says which."""


class Restored(enum.StrEnum):
    """What `restore` did."""

    PUT_BACK = "put_back"
    """The record before the entry was written back (the entry was an update)."""
    RECREATED = "recreated"
    """The deleted record was created again (the entry was a delete)."""
    DELETED = "deleted"
    """The account the entry created was deleted (the entry was a create)."""
    NOTHING_TO_DO = "nothing_to_do"
    """The record is already as it was before the entry."""
    FAILED = "failed"
    """Alma refused or could not be reached; ``reason`` says what happened."""


@dataclass(slots=True)
class RestoreResult:
    """What `restore` did for one journal entry, and the journal entries it wrote.

    ``entry`` is the entry as restored: settled by reading Alma first when it was pending or
    unknown (then ``settled`` is True and ``entry.note`` says what was found).
    """

    entry: JournalEntry
    outcome: Restored
    reason: str
    user: User | None = None
    journal_entries: list[str] = field(default_factory=list)
    error: AlmaError | None = None
    settled: bool = False
    journal_error: str | None = None
    """Set when the restore's write was made but its journal line could not be written: what to do."""
    earlier: list[JournalEntry] = field(default_factory=list)

    def __str__(self) -> str:
        entry = self.entry
        settled = f"; settled first: {entry.result}" if self.settled else ""
        text = (
            f"restore of {entry.action} {entry.target} ({entry.id[:8]}{settled}): {self.outcome.value} — {self.reason}"
        )
        return f"{text} [journal: {self.journal_error}]" if self.journal_error else text


def restoring(entry: JournalEntry, *, staff: str | None, force: bool) -> Generator[Op, Any, RestoreResult]:
    """Restore ``entry`` (settling it, and earlier restores of it, first). Raises `RestoreError` before any write."""
    target = entry.target
    written: list[str] = []
    settled = entry.is_unsettled
    attempts: list[JournalEntry] = yield FindEntries(entry.id, "restore")
    earlier = [attempt for attempt in attempts if attempt.is_unsettled]
    left_open: list[Open] = []
    if settled or earlier:
        try:
            found = yield from settling([*([entry] if settled else []), *earlier], left_open=left_open)
        except JournalError as exc:
            raise nothing_sent(exc) from exc
        by_id = {e.id: e for e in found}
        entry, earlier = by_id.get(entry.id, entry), [by_id[e.id] for e in earlier]
        attempts = [by_id.get(attempt.id, attempt) for attempt in attempts]
    already = [attempt for attempt in attempts if attempt.result == "done"]
    since = (
        f"; restored already by journal entr{'ies' if len(already) > 1 else 'y'} {', '.join(a.id for a in already)}"
        if already
        else ""
    )
    opened = next((o for o in left_open if o.entry.id == entry.id), None)
    if entry.is_unsettled and not (force and entry.action == "update"):
        why = f"{opened.why}. {opened.what_to_do}" if opened is not None else "reading Alma could not tell"
        raise RestoreError(
            f"journal entry {entry.id} ({entry.action} {target}) is {entry.result}: whether it took effect cannot be "
            f"told, so there is nothing known to undo. {why}"
        )
    if entry.result == "failed":  # settled just now: a failed entry is refused before (`restore`)
        return RestoreResult(
            entry, Restored.NOTHING_TO_DO, f"the {entry.action} of {target} did not happen ({entry.note})", None,
            written, None, settled=settled, earlier=earlier,
        )  # fmt: skip
    try:
        current: User | None = yield GetUser(target)
    except NotFoundError:
        current = None
    if current is not None and not _same_record(current, target):
        current = None  # the id now finds another account through an identifier: the target itself is gone
    trouble: list[str] = []

    def result(
        outcome: Restored, reason: str, user: User | None = None, error: AlmaError | None = None
    ) -> RestoreResult:
        return RestoreResult(
            entry, outcome, reason + (since if outcome is Restored.NOTHING_TO_DO else ""), user, written, error,
            settled=settled, journal_error="; ".join(trouble) or None, earlier=earlier,
        )  # fmt: skip

    def journaled(
        op: CreateUser | UpdateUser | DeleteUser, before: User | None, wanted: Any
    ) -> Generator[Op, Any, Write]:
        done = yield from write(
            op,
            target=target,
            before=before,
            reason=f"restore {target} as it was before journal entry {entry.id} ({entry.action})",
            operation="restore",
            registration=entry.id,
            staff=staff,
            took_effect=wanted,
            entries=written,
        )
        if done.journal_error is not None:
            trouble.append(
                f"{done.journal_error}: the completion of journal entry {done.entry_id} (this restore's "
                f"{op.method} of {target}) is missing. {journal_advice(done.journal_error)}"
            )
        return done

    if entry.action == "create":
        if current is None:
            return result(Restored.NOTHING_TO_DO, f"{target} does not exist any more")
        if entry.after is not None:
            changed = _differences(current.to_alma(), entry.after)
            if changed:
                raise RestoreError(
                    f"{target} changed since journal entry {entry.id} created it ({', '.join(changed)}); deleting it "
                    "would lose that. Delete it in Alma by hand if that is really wanted."
                )
        for kind in ("loans", "requests", "fees"):
            items = yield CountActivity(target, kind)
            if items:
                raise RestoreError(
                    f"{target} has {len(items)} active {kind}: an account with activity is not deleted. "
                    "Merge it or settle the activity first."
                )
        done = yield from journaled(DeleteUser(target), current, lambda user: user is None)
        if done.result != "done":
            return result(Restored.FAILED, f"the delete of {target} {_how(done)}", current, done.error)
        return result(Restored.DELETED, f"deleted {target}, created by journal entry {entry.id}")

    before = User.from_alma(entry.before) if entry.before is not None else None
    if before is None:
        raise RestoreError(f"journal entry {entry.id} holds no record before the {entry.action}: nothing to put back")
    if entry.action == "delete":
        if current is not None:
            return result(Restored.NOTHING_TO_DO, f"{target} exists again", current)
        done = yield from journaled(CreateUser(before), None, lambda user: user is not None)
        if done.result != "done":
            return result(Restored.FAILED, f"re-creating {target} {_how(done)}", None, done.error)
        return result(Restored.RECREATED, f"re-created {target} as journal entry {entry.id} found it", done.user)

    # an update
    if current is None:
        raise RestoreError(
            f"{target} does not exist any more: nothing to put back (its record before is in the journal)"
        )
    if not _differences(current.to_alma(), entry.before or {}):
        return result(Restored.NOTHING_TO_DO, f"{target} is already as it was before entry {entry.id}", current)
    if not force:
        if entry.after is None:  # pragma: no cover - an update done always has its record after
            raise RestoreError(
                f"journal entry {entry.id} is {entry.result}: it holds no record after the update, so a later "
                f"change to {target} cannot be told from it. Compare {target} with the record before in the "
                f"journal, then run `alma-onelink journal restore {entry.id} --force` to put that record back."
            )
        changed = _differences(current.to_alma(), entry.after)
        if changed:
            raise RestoreError(
                f"{target} changed since journal entry {entry.id} ({', '.join(changed)}): putting the old record "
                f"back would undo those changes too. `alma-onelink journal restore {entry.id} --force` puts it "
                "back anyway."
            )
    wanted = comparable(entry.before)
    done = yield from journaled(
        UpdateUser(target, before), current, lambda user: user is not None and comparable(user.to_alma()) == wanted
    )
    if done.result != "done":
        return result(Restored.FAILED, f"putting {target} back {_how(done)}", current, done.error)
    return result(Restored.PUT_BACK, f"{target} is back as it was before entry {entry.id}", done.user)


def _same_record(user: User, target: str) -> bool:
    return (user.primary_id or "").casefold() == target.casefold()


def _how(done: Write) -> str:
    error = describe(done.error) if done.error is not None else "no error recorded"
    if done.result == "unknown":
        return (
            f"may or may not have happened ({error}); `alma-onelink journal restore {done.entry_id}` settles it by "
            "reading Alma once Alma answers"
        )
    return f"was refused: {error}"


def _entry(entry: JournalEntry | str, journal: Journal) -> JournalEntry:
    if isinstance(entry, JournalEntry):
        return entry
    if isinstance(entry, str):
        return journal.get(entry)
    raise InputError(f"entry must be a JournalEntry or its id; got {type(entry).__name__}")


def _check(entry: JournalEntry) -> None:
    if entry.result == "failed":
        raise RestoreError(
            f"journal entry {entry.id} failed: the {entry.action} did not happen, so there is nothing to undo"
        )


def restore(
    alma: AlmaClient,
    entry: JournalEntry | str,
    *,
    journal: JournalLike = None,
    staff: str | None = None,
    force: bool = False,
) -> RestoreResult:
    """Put the record of ``entry`` back as it was before that write; the restore is journaled too.

    ``entry`` is a `JournalEntry` or its id (or a unique prefix of 6+ characters) in ``journal``.
    An entry whose outcome is not known (``pending`` after a crash, or ``unknown``) is settled first
    by reading Alma, journaled as a settlement: one the write did not take effect for comes back
    ``nothing_to_do``; either way it leaves `Journal.pending`. So are earlier restores of the same
    entry that a stopped run left open: one that took effect makes this one ``nothing_to_do``
    (``result.earlier`` lists them), so a write is never made, nor claimed, twice. An update is
    undone by a PUT of the record before it (refused if the record changed since, unless
    ``force=True``); a delete by re-creating the record; a create by deleting the account, only if it
    is unchanged since and has no active loans, requests or fees.

    Raises:
        RestoreError: undoing would lose a later change, the account has activity, the entry failed,
            or reading Alma cannot tell whether it took effect (the message says why and what to
            check; ``force=True`` puts the record before of such an update back all the same).
        InputError: no such entry in the journal.
        JournalError: the journal could not be written before anything was sent to Alma. Once the
            restore's write is made, a journal failure is reported in ``result.journal_error`` instead.
        AlmaError: Alma could not be read before anything was written.
    """
    opened = open_journal(journal)
    found = _entry(entry, opened)
    _check(found)
    return drive(restoring(found, staff=staff, force=force), alma, journal=opened, trace=Trace())


async def arestore(
    alma: AsyncAlmaClient,
    entry: JournalEntry | str,
    *,
    journal: JournalLike = None,
    staff: str | None = None,
    force: bool = False,
) -> RestoreResult:
    """`restore` for `AsyncAlmaClient`."""
    opened = open_journal(journal)
    found = _entry(entry, opened)
    _check(found)
    return await drive_async(restoring(found, staff=staff, force=force), alma, journal=opened, trace=Trace())
