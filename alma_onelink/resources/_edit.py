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

from ..errors import AlmaError, EditNotTakenError, InputError
from ..models import User
from ._compare import changed_protected, differences
from ._writes import outcome_unknown

__all__ = [
    "EditJournal",
    "edit_override",
    "journal_edit_done",
    "journal_edit_intent",
    "journal_trouble",
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


def journal_trouble(error: AlmaError, user_id: str, *, saved: User | None, put_error: Exception | None) -> AlmaError:
    """The journal's error (``error``, raised by the `EditJournal`) made to say what Alma holds; returns it to raise.

    Called when an edit's journal line could not be written. Before the PUT (``saved`` and
    ``put_error`` None, nothing sent): its message says nothing was sent and ``nothing_sent`` is set.
    After a PUT Alma accepted (``saved``): its message says the change IS saved in Alma and that the
    journal lacks its completion, and ``saved`` is set to the record Alma holds (Alma JSON). After a
    PUT that failed (``put_error``): it says what Alma answered. An `InputError` is returned as it is.
    """
    if isinstance(error, InputError):
        return error
    settle = "run `alma-onelink journal settle` to record it there"
    if saved is not None:
        said = (
            f"; the change IS saved in Alma ({user_id} holds it), but the journal lacks its completion: {settle} "
            "(until then `alma-onelink journal pending` lists it)"
        )
    elif put_error is not None:
        answer = f"{type(put_error).__name__}: {put_error}".replace("\n", " ")
        if outcome_unknown(put_error):
            said = f"; whether Alma saved the change to {user_id} is not known ({answer}): {settle}"
        else:
            said = (
                f"; the change to {user_id} was NOT saved in Alma ({answer}), and the journal lacks that answer: "
                f"{settle}"
            )
    else:
        said = f"; nothing was sent to Alma: {user_id} is unchanged"
    error.args = (f"{error}{said}",)
    if saved is None and put_error is None and hasattr(error, "nothing_sent"):
        setattr(error, "nothing_sent", True)  # noqa: B010 - the journal's error type lives above this layer
    if saved is not None:
        setattr(error, "saved", saved.to_alma())  # noqa: B010 - the journal's error type lives above this layer
    return error
