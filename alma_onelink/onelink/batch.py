"""`register_many` and `aregister_many`: many registrations at once, within the client's rate limit.

Threads for the sync client, tasks for the async one; results come back as each finishes, with
``result.index`` the patron's position in the input. One patron's failure never stops the batch,
and a batch can be re-run: patrons already registered come back ``already_registered``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import date
from typing import TYPE_CHECKING

from alma_onelink.engine import JournalLike, journal_for
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
            "and journal.pending() before registering again"
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
    policy: Policy, patrons: Iterable[Patron], today: date, dry_run: bool
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
            check_patron(policy, patron, today=today)
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

    Raises:
        InputError: a bad argument, or an item of ``patrons`` that is not a `Patron` (when reached).
    """
    day, who = prepare(policy, today, staff)
    workers = _check_concurrency(concurrency)
    opened = journal_for(journal, dry_run=dry_run)

    def one(index: int, patron: Patron) -> RegistrationResult:
        try:
            result = register_patron(alma, policy, patron, dry_run=dry_run, today=day, journal=opened, staff=who)
        except Exception as exc:
            return _settle(policy, patron, index, dry_run, exc)
        result.index = index
        return result

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="alma-onelink-register") as pool:
        running: set[Future[RegistrationResult]] = set()
        for index, patron, decided in _entries(policy, patrons, day, dry_run):
            if decided is not None:
                yield decided
                continue
            if len(running) >= workers:
                finished, running = _wait(running)
                yield from (future.result() for future in finished)
            running.add(pool.submit(one, index, patron))
        while running:
            finished, running = _wait(running)
            yield from (future.result() for future in finished)


def _wait(
    running: set[Future[RegistrationResult]],
) -> tuple[set[Future[RegistrationResult]], set[Future[RegistrationResult]]]:
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
    """`register_many` for `AsyncAlmaClient`: ``concurrency`` tasks; ``async for result in aregister_many(...)``."""
    day, who = prepare(policy, today, staff)
    workers = _check_concurrency(concurrency)
    opened = journal_for(journal, dry_run=dry_run)

    async def one(index: int, patron: Patron) -> RegistrationResult:
        try:
            result = await aregister_patron(alma, policy, patron, dry_run=dry_run, today=day, journal=opened, staff=who)
        except Exception as exc:
            return _settle(policy, patron, index, dry_run, exc)
        result.index = index
        return result

    running: set[asyncio.Task[RegistrationResult]] = set()
    try:
        for index, patron, decided in _entries(policy, patrons, day, dry_run):
            if decided is not None:
                yield decided
                continue
            if len(running) >= workers:
                finished, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    yield task.result()
            running.add(asyncio.create_task(one(index, patron)))
        while running:
            finished, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                yield task.result()
    finally:
        # The caller stopped early: let the registrations under way finish (a cancelled one could be
        # cut between two writes), as the thread pool does for the sync batch.
        if running:
            await asyncio.gather(*running, return_exceptions=True)
