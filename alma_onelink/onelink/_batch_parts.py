"""The parts of a batch that are not its loop: results decided without Alma, the journal's stop, the patrons' order.

`register_many` and `aregister_many` (``batch``) run the same parts with threads or tasks.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import AsyncIterable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from alma_onelink.engine import JournalError
from alma_onelink.errors import AlmaError, InputError
from alma_onelink.policy import EligibilityIssue, Patron, Policy, PolicyError

from ._register import check_patron
from .register import check_plain_text
from .result import DEFERRED_REASON, Outcome, RegistrationResult

if TYPE_CHECKING:
    from .budget import Budget

__all__ = [
    "MAX_CONCURRENCY",
    "Stop",
    "check_concurrency",
    "check_patrons",
    "deferred",
    "entries",
    "not_sent",
    "settled",
]

log = logging.getLogger("alma_onelink")

MAX_CONCURRENCY = 64
_CAUSE = re.compile(r"could not be written \((.+?)\)[:,]")


def check_concurrency(concurrency: int) -> int:
    """``concurrency`` if it is a whole number from 1 to `MAX_CONCURRENCY`. Raises ``InputError``."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InputError(f"concurrency must be a whole number from 1 to {MAX_CONCURRENCY}; got {concurrency!r}")
    return concurrency


def check_patrons(patrons: object, *, call: str) -> None:
    """Raises ``InputError`` unless ``patrons`` is an iterable of patrons ``call`` can read (its items are checked
    as they are reached): not ``None``, a number, text, a mapping, a single `Patron` or an async iterable."""
    if isinstance(patrons, Patron):
        raise InputError(
            f"patrons must be an iterable of Patron, like [patron]; got one Patron: for one patron use "
            f"{'aregister_patron' if call.startswith('a') else 'register_patron'}"
        )
    if isinstance(patrons, str | bytes | bytearray | Mapping) or not isinstance(patrons, Iterable):
        also = " (collect an async iterable into a list first)" if isinstance(patrons, AsyncIterable) else ""
        raise InputError(
            f"patrons must be an iterable of Patron, like a list or a generator of Patron(...), for {call}; "
            f"got {type(patrons).__name__}{also}"
        )


def _refused(policy: Policy, patron: Patron, index: int, issue: EligibilityIssue, dry_run: bool) -> RegistrationResult:
    result = RegistrationResult(
        outcome=Outcome.BLOCKED,
        patron=patron,
        reason=issue.message,
        issues=[issue],
        links=policy.links(),
        dry_run=dry_run,
        index=index,
    )
    result.instructions = [issue.hint or issue.message]
    return result


def _failed(policy: Policy, patron: Patron, index: int, exc: Exception, dry_run: bool) -> RegistrationResult:
    error = exc if isinstance(exc, AlmaError) else None
    # The error's own words first; its Python class only as an aside (staff read the reason).
    reason = f"{exc} (Python: {type(exc).__name__})" if error is not None else f"unexpected {type(exc).__name__}: {exc}"
    if not isinstance(exc, PolicyError):  # a policy fails before any write; anything else may strike between two
        reason += (
            f"; a write to Alma may have been made before it: check the account {patron.onelink_id} in Alma "
            "and `alma-onelink journal pending` before registering again"
        )
    result = RegistrationResult(
        outcome=Outcome.FAILED,
        patron=patron,
        reason=reason,
        links=policy.links(),
        dry_run=dry_run,
        index=index,
        error=error,
    )
    result.instructions = [f"Check the account in Alma before telling the patron anything: {reason}."]
    return result


def entries(
    policy: Policy, patrons: Iterable[Patron], dry_run: bool
) -> Iterator[tuple[int, Patron, RegistrationResult | None]]:
    """Each patron with its index, and a result already decided for an invalid application or a repeated ID.

    Applications are checked (no I/O) before their OneLink ID counts as taken, so a corrected
    application after an invalid one with the same ID is still registered.
    """
    first_seen: dict[str, int] = {}
    for index, patron in enumerate(patrons):
        if not isinstance(patron, Patron):
            raise InputError(
                f"patrons[{index}] is a {type(patron).__name__}, not a Patron; build each with Patron(...)"
            )
        try:
            check_plain_text(patron)
            check_patron(policy, patron)
        except InputError as exc:
            yield index, patron, settled(policy, patron, index, dry_run, exc)
            continue
        key = patron.onelink_id.strip().casefold()
        if key in first_seen:
            issue = EligibilityIssue.block(
                "duplicate_in_batch",
                f"OneLink ID {patron.onelink_id} appears again in this batch (item {index + 1}; first as item "
                f"{first_seen[key] + 1}, counting from 1); it is registered once.",
                f"Check items {first_seen[key] + 1} and {index + 1}: the same person twice, or a mistyped OneLink ID.",
            )
            yield index, patron, _refused(policy, patron, index, issue, dry_run)
            continue
        first_seen[key] = index
        yield index, patron, None


class Stop:
    """A batch's journal trouble: the first failure, shared by every thread or task of the batch."""

    def __init__(self) -> None:
        self.error: JournalError | None = None
        self.cause = ""
        self._lock = threading.Lock()

    def note(self, error: JournalError) -> None:
        with self._lock:
            if self.error is None:
                self.error = error

    def check(self, result: RegistrationResult) -> RegistrationResult:
        if result.journal_error is not None and self.error is None and result.journal_path is not None:
            cause = _CAUSE.search(result.journal_error)
            self.note(JournalError(result.journal_error, path=result.journal_path, cause=cause[1] if cause else ""))
        return result

    @property
    def stopped(self) -> bool:
        return self.error is not None

    def raise_for(self, not_started: int) -> None:
        error = self.error
        if error is None:
            return
        cause = f" ({error.cause})" if error.cause else ""
        raise JournalError(
            f"The journal {error.path} could not be written{cause}, so the batch stopped: {not_started} "
            f"{'patron was' if not_started == 1 else 'patrons were'} not started (nothing was sent to Alma for "
            "them); the results of the patrons already started came first. Free space on the journal's disk or fix "
            "its permissions (or give another journal with --journal), then run the same batch again: patrons "
            "already registered come back already registered, and the writes the journal lacks are settled by "
            "reading Alma.",
            path=error.path,
            cause=error.cause,
        )


def not_sent(policy: Policy, patron: Patron, index: int, dry_run: bool, exc: JournalError) -> RegistrationResult:
    """A patron whose registration stopped at its first journal line: nothing was sent to Alma for them."""
    result = RegistrationResult(
        outcome=Outcome.FAILED,
        patron=patron,
        reason="the journal could not be written, so nothing was sent to Alma for this patron",
        links=policy.links(),
        dry_run=dry_run,
        index=index,
        error=exc,
        journal_error=str(exc),
    )
    result.instructions = [f"Nothing is ready for the patron yet: {result.reason}."]
    return result


def ended(
    outcome: RegistrationResult | Exception,
    *,
    policy: Policy,
    patron: Patron,
    index: int,
    dry_run: bool,
    stop: Stop,
    budget: Budget,
) -> RegistrationResult:
    """What one patron's registration comes to in a batch: ``outcome`` is its result or the exception it raised.

    A journal that could not be written stops the batch (`Stop`); any other exception is the patron's
    result (`settled`); a result is numbered ``index`` and its answer told to the daily ``budget``.
    """
    if isinstance(outcome, JournalError):
        stop.note(outcome)
        return not_sent(policy, patron, index, dry_run, outcome)
    if isinstance(outcome, Exception):
        return settled(policy, patron, index, dry_run, outcome)
    outcome.index = index
    budget.saw(outcome.error)
    return stop.check(outcome)


def settled(policy: Policy, patron: Patron, index: int, dry_run: bool, exc: Exception) -> RegistrationResult:
    if isinstance(exc, InputError):
        issue = EligibilityIssue.block("invalid_application", str(exc), "Correct the application and run it again.")
        return _refused(policy, patron, index, issue, dry_run)
    if not isinstance(exc, AlmaError):
        log.exception("Registration of %s failed unexpectedly", patron.onelink_id, exc_info=exc)
    return _failed(policy, patron, index, exc, dry_run)


def deferred(policy: Policy, patron: Patron, index: int, dry_run: bool) -> RegistrationResult:
    """A patron not started, to keep Alma's daily quota: no call made, nothing journaled."""
    result = RegistrationResult(
        outcome=Outcome.DEFERRED,
        patron=patron,
        reason=DEFERRED_REASON,
        links=policy.links(),
        dry_run=dry_run,
        index=index,
    )
    result.instructions = [
        "Nothing was done for this patron yet: run the same batch again after Alma's daily reset (patrons "
        "already registered come back already registered, at 1 call each)."
    ]
    return result
