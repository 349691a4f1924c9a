"""One registration while it runs: its state, its journaled write, its result, and the small words it uses.

Every step of the procedure (``_find``, ``_renew``, ``_create``, ``_verify``) works on a `Run`;
``_register`` starts one and walks the steps in the procedure's order.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from alma_onelink.engine import JournalEntry, JournalError, Trace
from alma_onelink.engine._compare import same_name, same_value
from alma_onelink.engine._ops import CreateUser, IntendWrite, Op, UpdateUser
from alma_onelink.engine._write import JournalTrouble, Write, write
from alma_onelink.models import Code, User
from alma_onelink.policy import EligibilityIssue, Patron, Policy

from ._instructions import telling
from .result import Candidate, Outcome, RegistrationResult

__all__ = ["Procedure", "Run", "day", "is_external", "is_patron", "same_code", "unhappened"]

Procedure = Generator[Op, Any, RegistrationResult]
"""A step of the procedure that ends the registration: yields `Op`s, returns the result."""


@dataclass(slots=True)
class Run:
    """The state of one registration while it runs."""

    policy: Policy
    patron: Patron
    today: date
    dry_run: bool
    staff: str | None
    registration_id: str
    trace: Trace
    record: User = field(default_factory=User)
    """The record to create, built by the policy once the patron is eligible."""
    candidates: list[Candidate] = field(default_factory=list)
    issues: list[EligibilityIssue] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)
    settled: list[JournalEntry] = field(default_factory=list)
    """Entries of earlier runs whose outcome was not known, settled by reading Alma before deciding."""
    moved_from: str | None = None
    """The old account the journal shows an earlier registration took the OneLink ID off, still to merge."""
    journal: JournalTrouble = field(default_factory=JournalTrouble)

    def result(self, outcome: Outcome, reason: str, **fields: Any) -> RegistrationResult:
        """The registration's result, with what to tell the patron and the notes for staff."""
        links = self.policy.links()
        result = RegistrationResult(
            outcome=outcome,
            patron=self.patron,
            reason=reason,
            candidates=self.candidates,
            issues=self.issues,
            steps=self.trace.steps,
            calls=self.trace.calls,
            links=links,
            dry_run=self.dry_run,
            registration_id=self.registration_id,
            journal_entries=self.entries,
            journal_error=self.journal.text(
                "run the same registration again: it settles this patron's entries that `alma-onelink journal "
                "pending` lists by reading Alma"
            ),
            **fields,
        )
        result.instructions, result.staff_notes = telling(result, self.policy, links)
        return result

    def write(
        self,
        op: CreateUser | UpdateUser,
        *,
        target: str,
        before: User | None,
        reason: str,
        took_effect: Callable[[User | None], bool],
        put_back: bool = False,
        then: IntendWrite | None = None,
        intended: JournalEntry | JournalError | None = None,
    ) -> Generator[Op, Any, Write]:
        """One journaled write (`write`); a journal line it could not write is noted for ``journal_error``.

        ``then`` journals the next write's intent ahead of this one's completion (its entry, or the
        error, is in the returned `Write`); ``intended`` is this write's intent when an earlier write
        journaled it so.
        """
        done = yield from write(
            op,
            target=target,
            before=before,
            reason=reason,
            operation="register",
            registration=self.registration_id,
            staff=self.staff,
            took_effect=took_effect,
            entries=self.entries,
            put_back=put_back,
            then=then,
            intended=intended,
        )
        self.journal.note(done, f"the {'create' if isinstance(op, CreateUser) else 'update'} of {target}")
        return done


def is_patron(user: User, patron: Patron) -> bool:
    """Whether ``user`` carries the patron's name (the procedure's test that an account is theirs)."""
    return same_name(user, patron.first_name, patron.last_name)


def day(value: date | None) -> str:
    """A date as staff read it: ISO, or ``never``."""
    return value.isoformat() if value is not None else "never"


def same_code(a: Code | None, b: Code | None) -> bool:
    """Whether two Alma codes are the same value (case and blanks aside)."""
    return same_value(a.value if a is not None else None, b.value if b is not None else None)


def is_external(user: User) -> bool:
    """Whether the account is loaded from an external system (a later load may rewrite it)."""
    return user.account_type is not None and user.account_type.matches("EXTERNAL")


def unhappened(done: Write) -> str:
    """Why a write is not known to have taken effect, in words for staff."""
    if not done.sent:
        return "was not sent: the journal could not be written"
    if done.result == "unknown":
        return f"may or may not have happened (Alma's answer was lost: {done.error}); journal entry {done.entry_id}"
    return f"was refused: {done.error}"
