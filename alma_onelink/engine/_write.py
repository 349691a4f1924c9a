"""One journaled write whose outcome is known before the procedure goes on, or said to be unknown."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Literal

from alma_onelink.errors import AlmaError, NotFoundError, OutcomeUnknownError
from alma_onelink.models import User

from ._ops import CompleteWrite, CreateUser, DeleteUser, GetUser, IntendWrite, Op, UpdateUser
from .journal import JournalEntry, JournalError

__all__ = ["JournalTrouble", "Write", "describe", "intent_for", "journal_advice", "nothing_sent", "write"]


@dataclass(slots=True)
class Write:
    """How a journaled write ended: ``done``, ``failed`` (did not happen) or ``unknown``; Alma's record after.

    ``journal_error`` is set when a journal line of this write could not be written: with ``sent``
    False the intent failed and nothing was sent (``result`` is ``failed``); with ``sent`` True the
    write was made and ``result`` says what Alma holds, but its completion line is missing (or, for
    a put-back, the write was made without a journal line: ``entry_id`` is then empty).
    """

    result: Literal["done", "failed", "unknown"]
    user: User | None = None
    error: AlmaError | None = None
    entry_id: str = ""
    journal_error: JournalError | None = None
    sent: bool = True
    then: JournalEntry | JournalError | None = None
    """The intent of the next write (``then=``), journaled before this write's completion, or why it could not be."""


def describe(exc: AlmaError) -> str:
    """The error on one line, class name first."""
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")


def journal_advice(exc: JournalError) -> str:
    """What to do about a journal that cannot be written, in the command's words."""
    return (
        f"Free space on the disk of {exc.path} or fix its permissions (or give another journal with --journal); "
        "then `alma-onelink journal settle` settles the writes it lacks a line for by reading Alma "
        "(`alma-onelink journal pending` lists them)"
    )


def nothing_sent(exc: JournalError) -> JournalError:
    """``exc`` as raised by a call that sent nothing to Alma: saying so, and what to do (once)."""
    if exc.nothing_sent:
        return exc
    message = f"{exc}, so nothing was sent to Alma. {journal_advice(exc)}."
    raised = JournalError(message, path=exc.path, cause=exc.cause, nothing_sent=True)
    raised.__cause__ = exc
    return raised


@dataclass(slots=True)
class JournalTrouble:
    """What a procedure's journal could not hold: one phrase a write, and the first failure (path, cause)."""

    first: JournalError | None = None
    phrases: list[str] = field(default_factory=list)

    def note(self, done: Write, what: str) -> None:
        """Note ``done`` (``what`` names it: ``"the create of 0345678"``) if a journal line of it failed."""
        trouble = done.journal_error
        if trouble is None:
            return
        self.first = self.first or trouble
        if not done.sent:
            self.phrases.append(f"{what} was not sent to Alma")
        elif not done.entry_id:
            self.phrases.append(f"{what}, which puts a record back, was made without a journal line")
        else:
            self.phrases.append(f"{what} has no completion line (journal entry {done.entry_id})")

    def text(self, then: str) -> str | None:
        """One paragraph for staff: what the journal lacks, and what to do (``then``: the command to run after)."""
        if self.first is None:
            return None
        return (
            f"The journal {self.first.path} could not be written ({self.first.cause}): {'; '.join(self.phrases)}. "
            f"Alma holds what this result says. Free space on that disk or fix the journal's permissions (or give "
            f"another journal with --journal), then {then}."
        )


def intent_for(
    op: CreateUser | UpdateUser | DeleteUser,
    *,
    target: str,
    before: User | None,
    reason: str,
    operation: str,
    registration: str | None,
    staff: str | None,
) -> IntendWrite:
    """The intent of ``op``: the record before and, for an update, the record it sends."""
    action: Literal["create", "update", "delete"] = (
        "create" if isinstance(op, CreateUser) else "delete" if isinstance(op, DeleteUser) else "update"
    )
    return IntendWrite(
        action=action,
        target=target,
        before=before.to_alma() if before is not None else None,
        sending=op.user.to_alma() if isinstance(op, UpdateUser) else None,
        reason=reason,
        operation=operation,
        registration=registration,
        staff=staff,
    )


def write(
    op: CreateUser | UpdateUser | DeleteUser,
    *,
    target: str,
    before: User | None,
    reason: str,
    operation: str,
    registration: str | None,
    staff: str | None,
    took_effect: Callable[[User | None], bool],
    entries: list[str],
    put_back: bool = False,
    then: IntendWrite | None = None,
    intended: JournalEntry | JournalError | None = None,
) -> Generator[Op, Any, Write]:
    """Journal the intent, make the write, journal how it ended; returns how it ended.

    The client reads back every write whose answer was lost and answers truly: the record, an error
    (the write is not there), or ``OutcomeUnknownError`` when its own read-back failed. Only then is
    the record read once more, later, and ``took_effect(record)`` (``None`` when there is no such
    record) decides; if that read fails too, the outcome is ``unknown``, and the journal says why.

    A journal line that cannot be written (`JournalError`, thrown in by the driver):

    - the intent, with ``entries`` empty (this procedure has written nothing to Alma): raised, and
      nothing is sent;
    - the intent of a later write: not sent; ``Write("failed", sent=False, journal_error=…)``;
    - the intent of a ``put_back`` (a write that puts a record back as the journal already holds it,
      undoing this procedure's own earlier write): sent anyway, without a journal line, since a
      record left half-changed is worse than a write the journal already knows the result of;
    - the completion: the write's outcome as Alma answered, with ``journal_error`` set.

    ``then`` is the intent of the write to come once this one is done (`intent_for`): journaled
    before this write's completion, so a run stopped between the two writes leaves one of them
    pending, never both ended with the second not begun; it comes back as ``Write.then``, for the
    next write's ``intended`` (its intent already journaled, or the `JournalError` that kept it out).
    """
    intent = intent_for(
        op, target=target, before=before, reason=reason, operation=operation, registration=registration, staff=staff
    )
    try:
        if isinstance(intended, JournalError):
            raise intended
        entry: JournalEntry = intended if intended is not None else (yield intent)
    except JournalError as exc:
        if put_back:
            return (yield from _unjournaled(op, target, took_effect, exc))
        if not entries:
            raise nothing_sent(exc) from exc
        return Write("failed", error=exc, journal_error=exc, sent=False)
    entries.append(entry.id)
    sent = yield from _send(op, target, took_effect)
    after = sent.user.to_alma() if sent.user is not None and sent.result == "done" else None
    following: JournalEntry | JournalError | None = None
    if then is not None and sent.result == "done":
        try:
            following = yield then
        except JournalError as exc:
            following = exc
    try:
        yield CompleteWrite(entry, sent.result, after=after, error=sent.note)
    except JournalError as exc:
        return Write(sent.result, sent.user, sent.error, entry.id, journal_error=exc, then=following)
    return Write(sent.result, user=sent.user, error=sent.error, entry_id=entry.id, then=following)


@dataclass(frozen=True, slots=True)
class _Sent:
    result: Literal["done", "failed", "unknown"]
    user: User | None = None
    error: AlmaError | None = None
    note: str | None = None
    """What the journal's completion says of a write that did not take effect, or may not have."""


def _send(
    op: CreateUser | UpdateUser | DeleteUser, target: str, took_effect: Callable[[User | None], bool]
) -> Generator[Op, Any, _Sent]:
    """Send the write; after a lost answer the SDK could not read back, read it back once more."""
    action = "create" if isinstance(op, CreateUser) else "delete" if isinstance(op, DeleteUser) else "update"
    try:
        saved: User | None = yield op
    except AlmaError as exc:
        if not isinstance(exc, OutcomeUnknownError):
            # The client already read back any write whose answer was lost (resources/_writes.py): any
            # other error means the write is not there.
            return _Sent("failed", error=exc, note=describe(exc))
        found: User | None = None
        try:
            found = yield GetUser(target)
        except NotFoundError:
            found = None
        except AlmaError as check_exc:
            note = f"{describe(exc)}; reading {target} back to check also failed: {describe(check_exc)}"
            return _Sent("unknown", error=exc, note=note)
        if took_effect(found):
            return _Sent("done", user=found)
        return _Sent("failed", error=exc, note=f"{describe(exc)}; read back: the {action} is not there")
    return _Sent("done", user=saved)


def _unjournaled(
    op: CreateUser | UpdateUser | DeleteUser,
    target: str,
    took_effect: Callable[[User | None], bool],
    journal_error: JournalError,
) -> Generator[Op, Any, Write]:
    sent = yield from _send(op, target, took_effect)
    return Write(sent.result, user=sent.user, error=sent.error, journal_error=journal_error)
