"""One journaled write whose outcome is known before the procedure goes on, or said to be unknown."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Literal

from alma_onelink.errors import AlmaError, NotFoundError, OutcomeUnknownError
from alma_onelink.models import User

from ._ops import CompleteWrite, CreateUser, DeleteUser, GetUser, IntendWrite, Op, UpdateUser

__all__ = ["Write", "describe", "write"]


@dataclass(slots=True)
class Write:
    """How a journaled write ended: ``done``, ``failed`` (did not happen) or ``unknown``; Alma's record after."""

    result: Literal["done", "failed", "unknown"]
    user: User | None = None
    error: AlmaError | None = None
    entry_id: str = ""


def describe(exc: AlmaError) -> str:
    """The error on one line, class name first."""
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")


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
) -> Generator[Op, Any, Write]:
    """Journal the intent, make the write, journal how it ended; returns how it ended.

    The client reads back every write whose answer was lost and answers truly: the record, an error
    (the write is not there), or ``OutcomeUnknownError`` when its own read-back failed. Only then is
    the record read once more, later, and ``took_effect(record)`` (``None`` when there is no such
    record) decides; if that read fails too, the outcome is ``unknown``, and the journal says why.
    """
    action: Literal["create", "update", "delete"] = (
        "create" if isinstance(op, CreateUser) else "delete" if isinstance(op, DeleteUser) else "update"
    )
    entry = yield IntendWrite(
        action=action,
        target=target,
        before=before.to_alma() if before is not None else None,
        reason=reason,
        operation=operation,
        registration=registration,
        staff=staff,
    )
    entries.append(entry.id)
    try:
        saved: User | None = yield op
    except AlmaError as exc:
        if not isinstance(exc, OutcomeUnknownError):
            # The client already read back any write whose answer was lost (resources/_writes.py): any
            # other error means the write is not there.
            yield CompleteWrite(entry, "failed", error=describe(exc))
            return Write("failed", error=exc, entry_id=entry.id)
        found: User | None = None
        try:
            found = yield GetUser(target)
        except NotFoundError:
            found = None
        except AlmaError as check_exc:
            note = f"{describe(exc)}; reading {target} back to check also failed: {describe(check_exc)}"
            yield CompleteWrite(entry, "unknown", error=note)
            return Write("unknown", error=exc, entry_id=entry.id)
        if took_effect(found):
            yield CompleteWrite(entry, "done", after=found.to_alma() if found is not None else None)
            return Write("done", user=found, entry_id=entry.id)
        yield CompleteWrite(entry, "failed", error=f"{describe(exc)}; read back: the {action} is not there")
        return Write("failed", error=exc, entry_id=entry.id)
    yield CompleteWrite(entry, "done", after=saved.to_alma() if saved is not None else None)
    return Write("done", user=saved, entry_id=entry.id)
