"""`register_many` and `aregister_many`: many registrations at once, within the client's rate limit.

Threads for the sync client, tasks for the async one; results come back as each finishes, with
``result.index`` the patron's position in the input. One patron's failure never stops the batch,
and a batch can be re-run: patrons already registered come back ``already_registered``. A journal
that cannot be written stops it: no new patron is started, the results of those under way come
back, then `JournalError` says how many were not started.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import date
from typing import TYPE_CHECKING

from alma_onelink.engine import JournalError, JournalLike, journal_for
from alma_onelink.errors import AlmaError, InputError
from alma_onelink.policy import EligibilityIssue, Patron, Policy, PolicyError

from ._register import check_patron
from .register import aregister_patron, prepare, register_patron
from .result import Outcome, RegistrationResult

if TYPE_CHECKING:
    from alma_onelink import AlmaClient, AsyncAlmaClient

__all__ = ["aregister_many", "register_many"]

log = logging.getLogger("alma_onelink")

MAX_CONCURRENCY = 64
_CAUSE = re.compile(r"could not be written \((.+?)\)[:,]")


def _check_concurrency(concurrency: int) -> int:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InputError(f"concurrency must be a whole number from 1 to {MAX_CONCURRENCY}; got {concurrency!r}")
    return concurrency


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
    reason = f"{type(exc).__name__}: {exc}" if error is not None else f"unexpected {type(exc).__name__}: {exc}"
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


def _entries(
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
            check_patron(policy, patron)
        except InputError as exc:
            yield index, patron, _settle(policy, patron, index, dry_run, exc)
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


class _Stop:
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


def _not_sent(policy: Policy, patron: Patron, index: int, dry_run: bool, exc: JournalError) -> RegistrationResult:
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


def _settle(policy: Policy, patron: Patron, index: int, dry_run: bool, exc: Exception) -> RegistrationResult:
    if isinstance(exc, InputError):
        issue = EligibilityIssue.block("invalid_application", str(exc), "Correct the application and run it again.")
        return _refused(policy, patron, index, issue, dry_run)
    if not isinstance(exc, AlmaError):
        log.exception("Registration of %s failed unexpectedly", patron.onelink_id, exc_info=exc)
    return _failed(policy, patron, index, exc, dry_run)


def register_many(
    alma: AlmaClient,
    policy: Policy,
    patrons: Iterable[Patron],
    *,
    concurrency: int = 8,
    journal: JournalLike = None,
    today: date | None = None,
    dry_run: bool = False,
    staff: str | None = None,
) -> Iterator[RegistrationResult]:
    """Register every patron, ``concurrency`` at a time on threads; yields each result as it finishes.

    All threads share ``alma``'s rate limiter, so the batch stays under Alma's threshold. Each
    result's ``index`` is the patron's position in ``patrons`` (read lazily). A OneLink ID that
    appears twice is registered once; the second comes back ``blocked`` (``duplicate_in_batch``).
    An application the policy cannot register comes back ``blocked`` (``invalid_application``);
    an error comes back ``failed``; the batch goes on. Every registration is dated ``today``
    (default: today in the policy's time zone, fixed when the batch starts) and journaled in one journal.

    A journal that cannot be written (a full disk, no permission) stops the batch: no new patron
    is started; the results of the patrons already started are yielded as usual (a write Alma
    accepted says what Alma holds, and ``journal_error`` what the journal lacks; a patron stopped at
    its first journal line comes back ``failed``, nothing sent); then `JournalError` is raised, its
    message saying how many patrons were not started.

    Raises:
        InputError: a bad argument, or an item of ``patrons`` that is not a `Patron` (when reached).
        JournalError: the journal could not be written; raised after the results of the patrons started.
    """
    day, who = prepare(policy, today, staff)
    workers = _check_concurrency(concurrency)
    opened = journal_for(journal, dry_run=dry_run)
    stop = _Stop()

    def one(index: int, patron: Patron) -> RegistrationResult | None:
        if stop.stopped:
            return None  # queued before the journal failed: not started
        try:
            result = register_patron(alma, policy, patron, dry_run=dry_run, today=day, journal=opened, staff=who)
        except JournalError as exc:
            stop.note(exc)
            return _not_sent(policy, patron, index, dry_run, exc)
        except Exception as exc:
            return _settle(policy, patron, index, dry_run, exc)
        result.index = index
        return stop.check(result)

    items = iter(patrons)
    not_started = 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="alma-onelink-register") as pool:
        running: set[Future[RegistrationResult | None]] = set()
        for index, patron, decided in _entries(policy, items, dry_run):
            if stop.stopped:
                not_started += 1
                break
            if decided is not None:
                yield decided
                continue
            if len(running) >= workers:
                finished, running = _wait(running)
                for future in finished:
                    if (result := future.result()) is not None:
                        yield result
                    else:
                        not_started += 1
                if stop.stopped:
                    not_started += 1
                    break
            running.add(pool.submit(one, index, patron))
        while running:
            finished, running = _wait(running)
            for future in finished:
                if (result := future.result()) is not None:
                    yield result
                else:
                    not_started += 1
    stop.raise_for(not_started + _count(items, stop))


def _count(items: Iterator[Patron], stop: _Stop) -> int:
    """How many items are left, once the batch stopped (each is read; none is registered)."""
    return sum(1 for _ in items) if stop.stopped else 0


def _wait(
    running: set[Future[RegistrationResult | None]],
) -> tuple[set[Future[RegistrationResult | None]], set[Future[RegistrationResult | None]]]:
    done, pending = wait(running, return_when=FIRST_COMPLETED)
    return done, pending


async def aregister_many(
    alma: AsyncAlmaClient,
    policy: Policy,
    patrons: Iterable[Patron],
    *,
    concurrency: int = 8,
    journal: JournalLike = None,
    today: date | None = None,
    dry_run: bool = False,
    staff: str | None = None,
) -> AsyncIterator[RegistrationResult]:
    """`register_many` for `AsyncAlmaClient`: ``concurrency`` tasks; ``async for result in aregister_many(...)``.

    The same results, order and journal contract: a journal that cannot be written stops the batch,
    the results of the patrons started come back, then `JournalError` says how many were not started.
    """
    day, who = prepare(policy, today, staff)
    workers = _check_concurrency(concurrency)
    opened = journal_for(journal, dry_run=dry_run)
    stop = _Stop()

    async def one(index: int, patron: Patron) -> RegistrationResult | None:
        if stop.stopped:
            return None  # created before the journal failed, not started yet: not started
        try:
            result = await aregister_patron(alma, policy, patron, dry_run=dry_run, today=day, journal=opened, staff=who)
        except JournalError as exc:
            stop.note(exc)
            return _not_sent(policy, patron, index, dry_run, exc)
        except Exception as exc:
            return _settle(policy, patron, index, dry_run, exc)
        result.index = index
        return stop.check(result)

    items = iter(patrons)
    not_started = 0
    running: set[asyncio.Task[RegistrationResult | None]] = set()
    try:
        for index, patron, decided in _entries(policy, items, dry_run):
            if stop.stopped:
                not_started += 1
                break
            if decided is not None:
                yield decided
                continue
            if len(running) >= workers:
                finished, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    if (result := task.result()) is not None:
                        yield result
                    else:
                        not_started += 1
                if stop.stopped:
                    not_started += 1
                    break
            running.add(asyncio.create_task(one(index, patron)))
        while running:
            finished, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                if (result := task.result()) is not None:
                    yield result
                else:
                    not_started += 1
        stop.raise_for(not_started + _count(items, stop))
    finally:
        # The caller stopped early: let the registrations under way finish (a cancelled one could be
        # cut between two writes), as the thread pool does for the sync batch.
        if running:
            await asyncio.gather(*running, return_exceptions=True)
