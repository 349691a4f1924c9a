"""`register_many` and `aregister_many`: many registrations at once, within the rate limit and Alma's daily quota.

Threads for the sync client, tasks for the async one; results come back as each finishes, with
``result.index`` the patron's position in the input. One patron's failure never stops the batch,
and a batch can be re-run: patrons already registered come back ``already_registered``.

The daily budget (``reserve``, `alma_onelink.onelink.budget`): a registration starts only if the most
calls it can make, with what the registrations under way may still make, leave ``reserve`` calls of
what Alma says is left today; the others come back ``deferred``, and the next run registers them.

A journal that cannot be written stops the batch: no new patron is started, the results of those
under way come back, then `JournalError` says how many were not started. Ctrl-C does the same for the
sync batch: the results of those under way come back, then `BatchInterrupted`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sized
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import date
from typing import TYPE_CHECKING

from alma_onelink.engine import JournalLike, journal_for
from alma_onelink.policy import Patron, Policy

from ._batch_parts import (
    MAX_CONCURRENCY,
    Stop,
    check_concurrency,
    check_patrons,
    deferred,
    ended,
    entries,
)
from ._calls import registration_calls
from .budget import DEFAULT_RESERVE, amay_start, aopen_budget, check_reserve, may_start, open_budget
from .register import aregister_patron, prepare, register_patron
from .result import RegistrationResult

if TYPE_CHECKING:
    from alma_onelink import AlmaClient, AsyncAlmaClient

__all__ = ["MAX_CONCURRENCY", "BatchInterrupted", "aregister_many", "register_many"]


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped `register_many`: no patron was started after it, and the results of the registrations
    under way when it came were all yielded before this was raised (a `KeyboardInterrupt`, so a caller that
    does not look for it stops as on any Ctrl-C). A plain `KeyboardInterrupt` instead means a second Ctrl-C
    cut that wait short: a registration under way may or may not have reached Alma (its journal says)."""


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
    reserve: int | None = DEFAULT_RESERVE,
) -> Iterator[RegistrationResult]:
    """Register every patron, ``concurrency`` at a time on threads; yields each result as it finishes.

    All threads share ``alma``'s rate limiter, so the batch stays under Alma's threshold. Each
    result's ``index`` is the patron's position in ``patrons`` (read lazily). A OneLink ID that
    appears twice is registered once; the second comes back ``blocked`` (``duplicate_in_batch``).
    An application the policy cannot register comes back ``blocked`` (``invalid_application``);
    an error comes back ``failed``; the batch goes on. Every registration is dated ``today``
    (default: today in the policy's time zone, fixed when the batch starts) and journaled in one journal.

    Alma's daily quota: ``reserve`` calls (default `DEFAULT_RESERVE`, 2,000) are left for the
    library's other tools. Before the first patron, if the client has no reading of Alma's
    ``X-Exl-Api-Remaining`` yet, or its last one leaves no room, one cheap read (1 call) gets one.
    A registration starts only if the most calls it can make (`registration_calls`; a dry run: its
    reads) plus the most the registrations under way may still make leave ``reserve`` calls of Alma's last reading; the
    batch waits for those under way before it gives up. A patron not started comes back
    ``deferred`` (no call, no journal line), and so does every patron after it, as does every one
    after Alma answers that the quota is used up. Alma sending no reading runs the batch without
    the budget (logged as a warning); ``reserve=None`` turns the budget off.

    Ctrl-C (a `KeyboardInterrupt` while the batch waits, or one thrown into it at a ``yield``) stops
    the batch: no new patron is started, the results of the registrations under way are yielded as
    they end (none is cut between two writes), then `BatchInterrupted` is raised; a second Ctrl-C
    during that wait ends it with a plain `KeyboardInterrupt`.

    A journal that cannot be written (a full disk, no permission) stops the batch: no new patron
    is started; the results of the patrons already started are yielded as usual (a write Alma
    accepted says what Alma holds, and ``journal_error`` what the journal lacks; a patron stopped at
    its first journal line comes back ``failed``, nothing sent); then `JournalError` is raised, its
    message saying how many patrons were not started.

    An application holding a control character in any of its texts (`check_plain_text`) comes back
    ``blocked`` (``invalid_application``) too, naming the field.

    Raises:
        InputError: when the first result is asked for, before any request: a bad argument
            (``alma`` not an `AlmaClient`, ``patrons`` not an iterable of `Patron`, such as ``None``,
            a single `Patron` or a mapping); or, when it is reached, an item of ``patrons`` that is
            not a `Patron`.
        JournalError: the journal could not be written; raised after the results of the patrons started.
        BatchInterrupted: Ctrl-C; raised after the results of the patrons started.
    """
    day, who = prepare(alma, policy, today, staff, call="register_many")
    check_patrons(patrons, call="register_many")
    workers = check_concurrency(concurrency)
    check_reserve(reserve)
    opened = journal_for(journal, dry_run=dry_run)
    stop = Stop()
    budget = open_budget(alma, _reserve_for(patrons, reserve), registration_calls(policy).most_for(dry_run=dry_run))

    interrupted = False

    def one(index: int, patron: Patron) -> RegistrationResult | None:
        try:
            if stop.stopped or interrupted:
                return None  # queued before the journal failed or Ctrl-C: not started
            outcome: RegistrationResult | Exception
            try:
                outcome = register_patron(alma, policy, patron, dry_run=dry_run, today=day, journal=opened, staff=who)
            except Exception as exc:
                outcome = exc
            return ended(outcome, policy=policy, patron=patron, index=index, dry_run=dry_run, stop=stop, budget=budget)
        finally:
            budget.release()

    items = iter(patrons)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="alma-onelink-register") as pool:
        running = _Threads(pool)
        try:
            for index, patron, decided in entries(policy, items, dry_run):
                if stop.stopped:
                    running.not_started += 1
                    break
                if decided is not None:
                    yield decided
                    continue
                if len(running) >= workers:
                    yield from running.next_done()
                while not stop.stopped and not budget.spent and not budget.fits() and running:
                    yield from running.next_done()  # the calls they hold come back once each ends
                if stop.stopped:
                    running.not_started += 1
                    break
                if not may_start(budget, alma):
                    budget.spent = True  # nothing under way and still no room: no later reading will make some
                    yield deferred(policy, patron, index, dry_run)
                    continue
                budget.hold()
                running.start(one, index, patron)
            while running:
                yield from running.next_done()
        except KeyboardInterrupt:
            # Ctrl-C: start nothing more; the registrations under way end anyway (the pool waits for them), so
            # their results are given, not lost. A second Ctrl-C here leaves as a plain KeyboardInterrupt.
            interrupted = True
            while running:
                yield from running.next_done()
            raise BatchInterrupted from None
    stop.raise_for(running.not_started + _count(items, stop))


class _Threads:
    """The registrations under way on the batch's threads."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool
        self._running: set[Future[RegistrationResult | None]] = set()
        self.not_started = 0

    def __len__(self) -> int:
        return len(self._running)

    def start(self, one: Callable[[int, Patron], RegistrationResult | None], index: int, patron: Patron) -> None:
        self._running.add(self._pool.submit(one, index, patron))

    def next_done(self) -> list[RegistrationResult]:
        """Wait for one (or more) to end: their results; those that did not start are counted."""
        done, self._running = wait(self._running, return_when=FIRST_COMPLETED)
        return _finished([future.result() for future in done], self)


class _Tasks:
    """The registrations under way as tasks."""

    def __init__(self) -> None:
        self.running: set[asyncio.Task[RegistrationResult | None]] = set()
        self.not_started = 0

    def __len__(self) -> int:
        return len(self.running)

    async def next_done(self) -> list[RegistrationResult]:
        """Wait for one (or more) to end: their results; those that did not start are counted."""
        done, self.running = await asyncio.wait(self.running, return_when=asyncio.FIRST_COMPLETED)
        return _finished([task.result() for task in done], self)


def _finished(results: list[RegistrationResult | None], counter: _Threads | _Tasks) -> list[RegistrationResult]:
    counter.not_started += sum(1 for result in results if result is None)
    return [result for result in results if result is not None]


def _reserve_for(patrons: Iterable[Patron], reserve: int | None) -> int | None:
    """No budget (and no read for one) for a batch known to be empty."""
    return None if isinstance(patrons, Sized) and not len(patrons) else reserve


def _count(items: Iterator[Patron], stop: Stop) -> int:
    """How many items are left, once the batch stopped (each is read; none is registered)."""
    return sum(1 for _ in items) if stop.stopped else 0


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
    reserve: int | None = DEFAULT_RESERVE,
) -> AsyncIterator[RegistrationResult]:
    """`register_many` for `AsyncAlmaClient`: ``concurrency`` tasks; ``async for result in aregister_many(...)``.

    The same results, order, daily budget (``reserve``, ``deferred``) and journal contract: a journal
    that cannot be written stops the batch, the results of the patrons started come back, then
    `JournalError` says how many were not started.
    """
    day, who = prepare(alma, policy, today, staff, call="aregister_many")
    check_patrons(patrons, call="aregister_many")
    workers = check_concurrency(concurrency)
    check_reserve(reserve)
    opened = journal_for(journal, dry_run=dry_run)
    stop = Stop()
    budget = await aopen_budget(
        alma, _reserve_for(patrons, reserve), registration_calls(policy).most_for(dry_run=dry_run)
    )

    async def one(index: int, patron: Patron) -> RegistrationResult | None:
        try:
            if stop.stopped:
                return None  # created before the journal failed, not started yet: not started
            outcome: RegistrationResult | Exception
            try:
                outcome = await aregister_patron(
                    alma, policy, patron, dry_run=dry_run, today=day, journal=opened, staff=who
                )
            except Exception as exc:
                outcome = exc
            return ended(outcome, policy=policy, patron=patron, index=index, dry_run=dry_run, stop=stop, budget=budget)
        finally:
            budget.release()

    items = iter(patrons)
    running = _Tasks()
    try:
        for index, patron, decided in entries(policy, items, dry_run):
            if stop.stopped:
                running.not_started += 1
                break
            if decided is not None:
                yield decided
                continue
            if len(running) >= workers:
                for result in await running.next_done():
                    yield result
            while not stop.stopped and not budget.spent and not budget.fits() and running:
                for result in await running.next_done():
                    yield result
            if stop.stopped:
                running.not_started += 1
                break
            if not await amay_start(budget, alma):
                budget.spent = True
                yield deferred(policy, patron, index, dry_run)
                continue
            budget.hold()
            running.running.add(asyncio.create_task(one(index, patron)))
        while running:
            for result in await running.next_done():
                yield result
        stop.raise_for(running.not_started + _count(items, stop))
    finally:
        # The caller stopped early: let the registrations under way finish (a cancelled one could be
        # cut between two writes), as the thread pool does for the sync batch.
        if running.running:
            await asyncio.gather(*running.running, return_exceptions=True)
