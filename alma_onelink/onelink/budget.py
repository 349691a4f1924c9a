"""Alma's daily quota: what a batch costs, what Alma says is left, the reserve kept for the other tools.

Every call to Alma's API counts against the institution's daily quota (1,000 calls per named-user
licence, the Alma sandbox's calls included; it resets at midnight), and every answer says in
``X-Exl-Api-Remaining`` how many calls are left (`AlmaClient.remaining_daily_calls`). `register_many`
reads it as it goes and starts a registration only if the most calls it can make, with the most the
registrations under way can still make, leave at least ``reserve`` calls for the library's other
tools; a patron not started comes back ``deferred``. `estimate_quota` says beforehand what a batch
will cost and what is left:

```python
from alma_onelink import AlmaClient
from alma_onelink.onelink.budget import estimate_quota
from alma_onelink.policy import load_policy

with AlmaClient.sandbox() as alma:
    print(estimate_quota(alma, load_policy("duke"), 248))
    # About 1,240 calls for 248 patrons (5 for each new one); Alma says 99,999 calls are left today …
```

The calls per patron come from one place, `registration_calls`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from alma_onelink.engine._inputs import check_client
from alma_onelink.errors import AlmaError, DailyThresholdExceeded, InputError
from alma_onelink.policy import Policy

from ._calls import RegistrationCalls, check_policy, registration_calls

if TYPE_CHECKING:
    from alma_onelink import AlmaClient, AsyncAlmaClient

__all__ = [
    "DEFAULT_RESERVE",
    "QuotaEstimate",
    "RegistrationCalls",
    "aestimate_quota",
    "estimate_quota",
    "read_remaining",
    "aread_remaining",
    "registration_calls",
]

log = logging.getLogger("alma_onelink")

DEFAULT_RESERVE: Final = 2_000
"""Calls a batch leaves for the library's other tools by default: a fifth of the quota of an institution with
10 named-user licences (10,000 a day), a fiftieth of one with 100; an institution sets its own (``reserve=``)."""


def check_reserve(reserve: int | None) -> int | None:
    """``reserve`` if it is ``None`` (no budget) or a whole number of calls >= 0; else `InputError`."""
    if reserve is not None and (isinstance(reserve, bool) or not isinstance(reserve, int) or reserve < 0):
        raise InputError(
            f"reserve must be a whole number of calls >= 0 (or None to run without the daily budget); got {reserve!r}"
        )
    return reserve


@dataclass(frozen=True, slots=True)
class QuotaEstimate:
    """What a batch will cost in Alma calls, against what Alma says is left today. Every figure counts calls.

    ``remaining`` is Alma's last ``X-Exl-Api-Remaining`` (``None``: Alma sent none, so the batch runs
    without the budget); ``reserve`` is what the batch leaves for other tools (``None``: no budget).
    """

    patrons: int
    calls_per_patron: RegistrationCalls
    remaining: int | None
    reserve: int | None
    dry_run: bool = False

    @property
    def per_patron(self) -> int:
        """Calls for one new patron (a dry run: its reads)."""
        calls = self.calls_per_patron
        return calls.new_patron_reads if self.dry_run else calls.new_patron

    @property
    def calls(self) -> int:
        """About what the batch costs if every patron is new (one already registered costs 1)."""
        return self.patrons * self.per_patron

    @property
    def usable(self) -> int | None:
        """Calls the batch may use today: what is left less the reserve; ``None`` without a budget."""
        if self.remaining is None or self.reserve is None:
            return None
        return max(self.remaining - self.reserve, 0)

    @property
    def fits(self) -> bool | None:
        """Whether the batch fits in `usable` if every patron is new; ``None`` without a budget."""
        usable = self.usable
        return None if usable is None else self.calls <= usable

    @property
    def new_patrons_that_fit(self) -> int | None:
        """About how many new patrons `usable` pays for; ``None`` without a budget."""
        usable = self.usable
        return None if usable is None else usable // self.per_patron

    def __str__(self) -> str:
        """``About 1,240 calls for 248 patrons (5 for each new one); Alma says 3,900 calls are left today, …``."""
        what = "reads" if self.dry_run else "calls"
        text = (
            f"About {self.calls:,} {what} for {self.patrons:,} patron{'s' if self.patrons != 1 else ''} "
            f"({self.per_patron} for each new one, 1 for one already registered)"
        )
        if self.reserve is None:
            return text + "; the daily budget is off."
        if self.remaining is None:
            return (
                text + "; Alma did not say how many calls are left today (no X-Exl-Api-Remaining in its answer), "
                "so the batch runs without the daily budget."
            )
        text += f"; Alma says {self.remaining:,} calls are left today and {self.reserve:,} are kept in reserve"
        if self.fits:
            return text + ": the batch fits."
        return (
            text + f": about {self.new_patrons_that_fit or 0:,} new patrons fit today; the others are deferred, "
            "to be run again after Alma's daily reset."
        )


def read_remaining(alma: AlmaClient, *, fresh: bool = False) -> int | None:
    """Calls Alma says are left today: the client's last reading, else (or ``fresh``) one cheap read.

    The read is ``GET /users?limit=1`` (1 call). ``None`` if Alma sends no ``X-Exl-Api-Remaining`` (or
    the read failed for another reason than the quota: it is logged); 0 if Alma answers that the
    quota is used up.

    Raises:
        InputError: ``alma`` is not an `AlmaClient` (for an `AsyncAlmaClient`: `aread_remaining`), or it
            is closed. Nothing else: a failed read is ``None``.
    """
    check_client(alma, asynchronous=False, call="read_remaining")
    _check_fresh(fresh)
    if alma.remaining_daily_calls is not None and not fresh:
        return alma.remaining_daily_calls
    try:
        alma.users.list(limit=1)
    except DailyThresholdExceeded:
        return 0
    except InputError:  # the call could not be made (a closed client): the caller's to fix
        raise
    except AlmaError as exc:
        log.warning("Could not read Alma's remaining daily calls: %s", exc)
    return alma.remaining_daily_calls


async def aread_remaining(alma: AsyncAlmaClient, *, fresh: bool = False) -> int | None:
    """`read_remaining` for `AsyncAlmaClient`.

    Raises:
        InputError: ``alma`` is not an `AsyncAlmaClient` (for an `AlmaClient`: `read_remaining`), or it is closed.
    """
    check_client(alma, asynchronous=True, call="aread_remaining")
    _check_fresh(fresh)
    if alma.remaining_daily_calls is not None and not fresh:
        return alma.remaining_daily_calls
    try:
        await alma.users.list(limit=1)
    except DailyThresholdExceeded:
        return 0
    except InputError:  # the call could not be made (a closed client): the caller's to fix
        raise
    except AlmaError as exc:
        log.warning("Could not read Alma's remaining daily calls: %s", exc)
    return alma.remaining_daily_calls


def estimate_quota(
    alma: AlmaClient, policy: Policy, patrons: int, *, reserve: int | None = DEFAULT_RESERVE, dry_run: bool = False
) -> QuotaEstimate:
    """What registering ``patrons`` patrons costs, against what Alma says is left (`QuotaEstimate`).

    Without a reading yet (`AlmaClient.remaining_daily_calls` is ``None``) and with a budget, one cheap
    read is made first (`read_remaining`: 1 call).

    Raises:
        InputError: ``alma`` is not an `AlmaClient` (for an `AsyncAlmaClient`: `aestimate_quota`), ``policy``
            is not a `Policy`, a bad ``reserve`` or ``patrons`` (a whole number >= 0).
    """
    check_client(alma, asynchronous=False, call="estimate_quota")
    check_policy(policy)
    _check_patrons(patrons)
    if not isinstance(dry_run, bool):
        raise InputError(f"dry_run must be True or False; got {dry_run!r:.40}")
    check_reserve(reserve)
    remaining = read_remaining(alma) if reserve is not None else alma.remaining_daily_calls
    return QuotaEstimate(patrons, registration_calls(policy), remaining, reserve, dry_run)


async def aestimate_quota(
    alma: AsyncAlmaClient,
    policy: Policy,
    patrons: int,
    *,
    reserve: int | None = DEFAULT_RESERVE,
    dry_run: bool = False,
) -> QuotaEstimate:
    """`estimate_quota` for `AsyncAlmaClient`: the same estimate, the same one cheap read when nothing is known.

    Raises:
        InputError: ``alma`` is not an `AsyncAlmaClient` (for an `AlmaClient`: `estimate_quota`), ``policy``
            is not a `Policy`, a bad ``reserve`` or ``patrons``.
    """
    check_client(alma, asynchronous=True, call="aestimate_quota")
    check_policy(policy)
    _check_patrons(patrons)
    if not isinstance(dry_run, bool):
        raise InputError(f"dry_run must be True or False; got {dry_run!r:.40}")
    check_reserve(reserve)
    remaining = await aread_remaining(alma) if reserve is not None else alma.remaining_daily_calls
    return QuotaEstimate(patrons, registration_calls(policy), remaining, reserve, dry_run)


def _check_fresh(fresh: bool) -> None:
    if not isinstance(fresh, bool):
        raise InputError(f"fresh must be True or False; got {fresh!r:.40}")


def _check_patrons(patrons: int) -> None:
    if isinstance(patrons, bool) or not isinstance(patrons, int) or patrons < 0:
        raise InputError(f"patrons is how many patrons the batch holds, a whole number >= 0; got {patrons!r}")


class _Reading(Protocol):
    """What `Budget` reads: a client's ``remaining_daily_calls``."""

    @property
    def remaining_daily_calls(self) -> int | None: ...


class Budget:
    """The daily budget of one batch, shared by its threads or tasks: which task may start.

    A task starts only if Alma's last reading, less what the tasks under way may still use
    (``per_task`` each, held until each ends), less ``per_task`` for it, leaves ``reserve``. When
    one cannot start, the batch waits for the tasks under way; when it still cannot with nothing
    under way, it reads Alma once more if a call is left above the reserve (`stale`: a client's
    reading may be from before Alma's daily reset) and then gives up: the budget is `spent`, and
    every later task is deferred. Alma
    answering that the quota is used up spends it too. Without a reading (Alma sends no header) or
    a reserve, everything starts.
    """

    def __init__(
        self,
        reading: _Reading,
        reserve: int | None,
        per_task: int,
        *,
        known: int | None = None,
        refreshed: bool = False,
    ) -> None:
        self._reading = reading
        self.reserve = reserve
        self.per_task = per_task
        self._known = known  # what the batch's own read found: a used-up quota is 0 even without a header
        self._held = 0
        self._lock = threading.Lock()
        self._refreshed = refreshed
        self.spent = False

    def remaining(self) -> int | None:
        """Calls left: Alma's last reading (``X-Exl-Api-Remaining``), or less if the batch's own read found less."""
        values = [v for v in (self._reading.remaining_daily_calls, self._known) if v is not None]
        return min(values) if values else None

    def fits(self) -> bool:
        """Whether one more task fits now (without holding anything)."""
        if self.spent:
            return False
        left = self.remaining()
        if left is None or self.reserve is None:
            return True
        with self._lock:
            return left - self._held - self.per_task >= self.reserve

    def stale(self) -> bool:
        """Whether to read Alma once more before giving up: once a batch, with nothing under way, and only
        with a call to spare above the reserve (the read itself never takes the institution below it)."""
        left = self.remaining()
        with self._lock:
            if self.spent or self._refreshed or self._held:
                return False
        return left is None or self.reserve is None or left > self.reserve

    def refreshed(self, remaining: int | None) -> None:
        """What the read `stale` asked for found (`read_remaining` with ``fresh=True``)."""
        self._refreshed = True
        self._known = remaining

    def hold(self) -> None:
        """A task starts: hold its calls until `release`."""
        with self._lock:
            self._held += self.per_task

    def release(self) -> None:
        """A task ended: its calls are in Alma's reading now."""
        with self._lock:
            self._held -= self.per_task

    def saw(self, error: BaseException | None) -> None:
        """A task ended with ``error``: a used-up quota spends the budget (nothing more can be done today)."""
        if isinstance(error, DailyThresholdExceeded):
            self.spent = True


def _opened(alma: _Reading, remaining: int | None, reserve: int | None, per_task: int, *, fresh: bool) -> Budget:
    if remaining is None and reserve is not None:
        log.warning(
            "Alma did not say how many calls are left today (no X-Exl-Api-Remaining): the batch runs without "
            "the daily budget"
        )
    return Budget(alma, reserve, per_task, known=remaining, refreshed=fresh)


def _needs_fresh(alma: _Reading, reserve: int | None, per_task: int) -> bool:
    """A last reading that leaves no room for one task may be from before Alma's daily reset: read again."""
    last = alma.remaining_daily_calls
    return reserve is not None and last is not None and last - per_task < reserve


def open_budget(alma: AlmaClient, reserve: int | None, per_task: int) -> Budget:
    """The budget of a batch on ``alma`` whose tasks make at most ``per_task`` calls each.

    Alma is read first (1 call) when the client has no reading yet, or when its last reading leaves
    no room for one task (it may be from before the daily reset); otherwise the last reading serves.
    """
    if reserve is None:
        return _opened(alma, None, None, per_task, fresh=False)
    fresh = _needs_fresh(alma, reserve, per_task)
    return _opened(alma, read_remaining(alma, fresh=fresh), reserve, per_task, fresh=fresh)


async def aopen_budget(alma: AsyncAlmaClient, reserve: int | None, per_task: int) -> Budget:
    """`open_budget` for `AsyncAlmaClient`."""
    if reserve is None:
        return _opened(alma, None, None, per_task, fresh=False)
    fresh = _needs_fresh(alma, reserve, per_task)
    return _opened(alma, await aread_remaining(alma, fresh=fresh), reserve, per_task, fresh=fresh)


def may_start(budget: Budget, alma: AlmaClient) -> bool:
    """Whether the next task may start; with nothing under way and no room, Alma is read once more first."""
    if not budget.fits() and budget.stale():
        budget.refreshed(read_remaining(alma, fresh=True))
    return budget.fits()


async def amay_start(budget: Budget, alma: AsyncAlmaClient) -> bool:
    """`may_start` for `AsyncAlmaClient`."""
    if not budget.fits() and budget.stale():
        budget.refreshed(await aread_remaining(alma, fresh=True))
    return budget.fits()
