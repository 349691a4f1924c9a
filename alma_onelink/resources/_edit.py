"""``users.edit``: what its PUT overrides, whether Alma took every change, and how it is journaled.

Decided once here for `UserEdit` and `AsyncUserEdit`.

Alma keeps the fields it protects on external users (``user_group``, ``job_category``…) unless the
PUT names them in ``override``; an edit that changed one without naming it would get two 200s and
lose the change. So an edit of an external user overrides exactly the protected fields the caller
changed. After the PUT, the record Alma returned is compared with the one asked for: any field Alma
did not take is reported (``edit.not_taken``, logged as a warning; an `EditNotTakenError` when strict).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ..errors import EditNotTakenError
from ..models import User
from ._compare import changed_protected, differences
from ._writes import outcome_unknown

__all__ = [
    "EditJournal",
    "edit_override",
    "journal_edit_done",
    "journal_edit_intent",
    "not_taken",
    "report_not_taken",
]

log = logging.getLogger("alma_onelink")


def edit_override(before: User, after: User, given: Iterable[str]) -> list[str]:
    """The ``override`` of an edit's PUT: what the caller gave, plus, for an external user, every
    protected field the edit changed."""
    external = before.account_type is not None and before.account_type.matches("EXTERNAL")
    changed = changed_protected(before, after) if external else []
    return sorted({*given, *changed})


def not_taken(asked: User, saved: User) -> list[str]:
    """The fields of ``asked`` that the record Alma saved does not hold as asked."""
    return differences(asked, saved, mode="update")


def report_not_taken(user_id: str, fields: list[str], saved: User, *, strict: bool) -> None:
    """Log the fields Alma did not take; with ``strict``, raise `EditNotTakenError`."""
    if not fields:
        return
    message = (
        f"Alma saved {user_id} but did not take the change to {', '.join(fields)}: the record it returned "
        "holds other values there (a field Alma protects or normalises, or one it does not store)"
    )
    log.warning("%s", message)
    if strict:
        raise EditNotTakenError(message, user_id=user_id, fields=fields, user=saved)


class EditJournal(Protocol):
    """What ``users.edit(..., journal=...)`` needs of a journal (``alma_onelink.onelink.Journal`` has it)."""

    def intend(
        self,
        *,
        action: Any,
        target: str,
        before: Mapping[str, Any] | None,
        sending: Mapping[str, Any] | None = None,
        staff: str | None = None,
        registration: str | None = None,
        operation: str | None = None,
        reason: str | None = None,
    ) -> Any: ...

    def complete(
        self, entry: Any, *, result: Any, after: Mapping[str, Any] | None = None, error: str | None = None
    ) -> Any: ...


def journal_edit_intent(
    journal: EditJournal,
    before: dict[str, Any],
    *,
    sending: dict[str, Any] | None,
    staff: str | None,
    reason: str | None,
) -> Any:
    """Journal the PUT of an edit ahead of it; returns the pending entry.

    ``before`` is the record before (the backup), ``sending`` the record the PUT sends (Alma JSON), so a
    run that stops before knowing the answer can be settled by reading Alma.
    """
    target = str(before.get("primary_id") or "")
    return journal.intend(
        action="update",
        target=target,
        before=before,
        sending=sending,
        staff=staff,
        operation="edit",
        reason=reason or "users.edit",
    )


def journal_edit_done(journal: EditJournal, entry: Any, saved: User | None, error: Exception | None) -> None:
    """Journal how the PUT of an edit ended: done (Alma's answer), failed, or unknown (its answer was lost)."""
    if error is None:
        journal.complete(entry, result="done", after=saved.to_alma() if saved is not None else None)
        return
    unknown = outcome_unknown(error)
    journal.complete(
        entry,
        result="unknown" if unknown else "failed",
        error=f"{type(error).__name__}: {error}".replace("\n", " "),
    )
