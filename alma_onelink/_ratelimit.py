"""The client-side rate limiter that keeps a client at Alma's per-second threshold, and no further.

Alma allows 25 calls a second per institution and answers 429 ``PER_SECOND_THRESHOLD`` past it.
`RateLimiter` keeps a log of the last ``limit`` requests it let through and lets one more through only
when that cannot put more than ``limit`` in any one-second window (a sliding-window log), so a quiet
client may send a whole window's worth at once and a busy one never draws a 429 of its own making.

Alma counts arrivals, and a request let through may leave later than the next one (its connection
still opening): each request also passes a *gate* at the moment it leaves (``_sendgate``), which
counts the others from when they left.

Sends ``limit`` places apart are at least ``window + edge_margin`` apart (20 ms of margin by
default), so that the jitter between two bursts on the way to Alma (the first burst's packets, or
the gateway's counting of them, a little later than the second's) does not put them in one window.

Waiting requests hold a *place in a queue*, not a reserved time: each one sleeps until the earliest
moment its place could go, then asks again, so a change of pace (a 429, a cancelled waiter) reaches
every waiter at its next wake-up. Nobody is let through while a window's worth of requests still
wait at the gate, so the queue never runs more than a window ahead of the sends. Retries queue ahead
of first tries. One lock, held for microseconds, serves threads and asyncio tasks alike; the
sleeping happens outside it, in whichever way the caller sleeps.

After a per-second 429 the limiter pauses every request briefly, halves its rate and climbs back to
the full rate within ``recovery_seconds`` (additive increase, multiplicative decrease). Several 429s
for requests sent before that cut count as one.

Own code rather than pyrate-limiter: its sliding window serves sync and async, but it has no pause,
no recovery and no queue places for retries, which are most of what this module does.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

from ._config import MAX_RATE_LIMIT
from ._retry import retry_after_seconds
from ._sendgate import SendGate, admission
from .errors import DailyThresholdExceeded, InputError, RateLimitError

__all__ = ["DEFAULT_EDGE_MARGIN", "RateLimiter", "TokenBucket", "paced_by_limiter"]

WINDOW = 1.0
"""Alma counts calls per second."""

DEFAULT_EDGE_MARGIN = 0.02
"""Seconds added to the window between a send and the one ``limit`` sends later (see `RateLimiter`)."""

# How far ahead a waiter's wake-up is simulated exactly; further back, a lower bound is enough.
_SIMULATED_WINDOWS = 2


class _Ticket:
    """A waiter's place in the queue; ``due`` is when it was told to ask again."""

    __slots__ = ("admitted_at", "due", "queued", "retry")

    def __init__(self, retry: bool, due: float) -> None:
        self.retry = retry
        self.due = due
        self.queued = True
        self.admitted_at = 0.0


def _number(
    name: str,
    value: object,
    *,
    unit: str,
    above: float | None = None,
    at_least: float | None = None,
    below: float | None = None,
    at_most: float | None = None,
) -> float:
    """``value`` as a float if it is a real number (not a bool) in range; else `InputError` saying what it takes."""
    bounds = [
        f"more than {above:g}" if above is not None else "",
        f"at least {at_least:g}" if at_least is not None else "",
        f"less than {below:g}" if below is not None else "",
        f"at most {at_most:,g}" if at_most is not None else "",
    ]
    wanted = f"{name} must be a number of {unit}, {' and '.join(b for b in bounds if b)}; got {value!r}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(wanted)
    in_range = (
        (above is None or value > above)
        and (at_least is None or value >= at_least)
        and (below is None or value < below)
        and (at_most is None or value <= at_most)  # compared before float(): a huge int cannot be one
    )
    if not in_range or (isinstance(value, float) and not math.isfinite(value)):
        raise InputError(wanted)
    return float(value)


class RateLimiter(SendGate):
    """Rate limiter shared by every thread and task of a client, its ``with_options`` copies, and any
    client it is passed to.

    Never more than ``rate`` sends in any one-second window (at most ``floor(rate)`` of them, or
    one per ``1/rate`` seconds below one a second), whatever mix of threads and tasks asks: counted
    when the requests were let through (`acquire`), and again when they leave (`clear_to_send`,
    which the clients call when their transport says the request is about to be written).

    Args:
        rate: requests per second at full speed (Alma's threshold is 25).
        burst: how many requests may go back to back; the default, the whole window, lets a quiet
            client send ``rate`` requests at once. ``1`` spaces every request ``1/rate`` apart.
        pause: seconds every request waits after a per-second 429.
        recovery_seconds: after a 429 halves the rate, it climbs back by ``rate / recovery_seconds``
            each second: from half to full in half that time.
        min_rate: the floor a run of 429s cannot push the rate below.
        edge_margin: seconds added to the window at its edge: the send ``limit`` places after another
            goes at least ``1 + edge_margin`` seconds after it (default 0.02 s). It keeps two bursts
            apart at Alma's end when the network (or Alma's gateway) delays the first a little more
            than the second, and keeps even a *closed* one-second window within the limit; it costs
            ``edge_margin / (1 + edge_margin)`` of the rate (2 % by default).
        clock: a monotonic clock in seconds (tests pass a fake one).

    Raises:
        ValueError: a rate that is not positive, a burst below 1, a negative pause or recovery time,
            or an ``edge_margin`` that is not between 0 (excluded) and 1 second.
    """

    def __init__(
        self,
        rate: float = 25.0,
        *,
        burst: float | None = None,
        pause: float = 0.1,
        recovery_seconds: float = 2.0,
        min_rate: float = 1.0,
        edge_margin: float = DEFAULT_EDGE_MARGIN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        rate = _number("rate", rate, above=0, at_most=MAX_RATE_LIMIT, unit="requests a second")
        if burst is not None:
            burst = _number("burst", burst, at_least=1, at_most=rate, unit="requests")
        pause = _number("pause", pause, at_least=0, at_most=3600, unit="seconds")
        recovery_seconds = _number("recovery_seconds", recovery_seconds, above=0, at_most=86_400, unit="seconds")
        min_rate = _number("min_rate", min_rate, above=0, at_most=MAX_RATE_LIMIT, unit="requests a second")
        edge_margin = _number("edge_margin", edge_margin, above=0, below=1, unit="seconds")
        if not callable(clock):
            raise InputError(f"clock must be a function returning seconds (like time.monotonic); got {clock!r}")
        self.rate = float(rate)
        # Below one a second, "one per 1/rate seconds" is the window instead of one second.
        self.limit = max(1, math.floor(self.rate))
        self.window = max(WINDOW, 1.0 / self.rate)
        self.burst = min(self.limit, math.floor(burst)) if burst is not None else self.limit
        self.pause = float(pause)
        self.recovery_seconds = float(recovery_seconds)
        self.min_rate = min(float(min_rate), self.rate)
        self.edge_margin = float(edge_margin)
        self._span = self.window + self.edge_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._admissions: deque[float] = deque(maxlen=self.limit)  # the last `limit` let through, oldest first
        self._sent = {}  # the gate's (SendGate)
        self._followed = set()
        self._waiting = {}
        self._retried = set()
        self._retries: deque[_Ticket] = deque()
        self._firsts: deque[_Ticket] = deque()
        self._latest = clock()  # the limiter's time never runs backwards, nor behind a waiter's due time
        self._paused_until = -math.inf
        self._reduced: float | None = None
        self._slowed_at = 0.0
        self._admitted = 0
        self._cut_after = -1  # admissions up to this number went out before the last cut
        self._identity = object()

    # --- time and pace -----------------------------------------------------------------------------

    def _now(self, due: float = -math.inf) -> float:
        # A waiter that slept as long as it was told is due, even on a clock that did not move (a
        # test's frozen clock): the limiter trusts the caller's sleep.
        self._latest = max(self._latest, self._clock(), due)
        return self._latest

    def _rate_at(self, when: float) -> float:
        if self._reduced is None:
            return self.rate
        climbed = self._reduced + max(0.0, when - self._slowed_at) * self.rate / self.recovery_seconds
        return min(self.rate, climbed)

    def current_rate(self) -> float:
        """The rate in force now: ``rate``, or less while recovering from a 429."""
        with self._lock:
            now = self._now()
            rate = self._rate_at(now)
            if rate >= self.rate:
                self._reduced = None
            return rate

    def _capacity(self, when: float) -> int:
        """How many sends the window ending at ``when`` may hold: ``limit``, fewer while recovering."""
        rate = self._rate_at(when)
        return self.limit if rate >= self.rate else max(1, math.floor(rate * self.window))

    def _earliest(self, sent: list[float], not_before: float) -> float:
        """The earliest time at or after ``not_before`` that one more send keeps every rule."""
        at = max(not_before, self._paused_until)
        if self.burst < self.limit and len(sent) >= self.burst:
            at = max(at, sent[-self.burst] + self.burst / self.rate)
        span = self._span
        if self._capacity(at) >= self.limit:
            if len(sent) >= self.limit:
                at = max(at, sent[-self.limit] + span)
            return at
        # Recovering: fewer sends per window, as many as the climbing rate allows; wait for the
        # oldest send in the window to leave it, or for the rate to climb, whichever comes first.
        while True:
            inside = 0
            while inside < len(sent) and sent[-inside - 1] + span > at:
                inside += 1
            if inside < self._capacity(at):
                return at
            expiry = sent[-inside] + span
            assert self._reduced is not None  # capacity < limit only while recovering
            needed = (inside + 1) / self.window
            climbed = self._slowed_at + (needed - self._reduced) * self.recovery_seconds / self.rate
            at = min(expiry, climbed) if climbed > at else expiry

    def _slot(self, place: int, now: float) -> float:
        """When the waiter at ``place`` (0 = next) could go if everyone ahead went as early as allowed.

        Exact for the first few windows' worth of places; further back a lower bound (each send at
        least one window after the one ``limit`` places before it), so nobody sleeps past their turn.
        """
        simulated = min(place + 1, _SIMULATED_WINDOWS * self.limit)
        sent = list(self._admissions)
        slots = []
        # Nobody goes while a window's worth still waits at the gate: the queue stays within a window of the sends.
        not_before = max(now, self._backlog_clears())
        for _ in range(simulated):
            at = self._earliest(sent, not_before)
            sent.append(at)
            slots.append(at)
        extra_windows, index = 0, place
        while index >= simulated:
            index -= self.limit
            extra_windows += 1
        return slots[index] + extra_windows * self._span

    # --- the queue ---------------------------------------------------------------------------------

    def _place(self, ticket: _Ticket) -> int:
        if ticket.retry:
            return self._retries.index(ticket)
        return len(self._retries) + self._firsts.index(ticket)

    def _enter(self, retry: bool) -> _Ticket:
        with self._lock:
            ticket = _Ticket(retry, self._now())
            (self._retries if retry else self._firsts).append(ticket)
            return ticket

    def _poll(self, ticket: _Ticket) -> float:
        """Admit ``ticket`` now (0.0) or say how many seconds until it should ask again."""
        with self._lock:
            now = self._now(ticket.due)
            slot = self._slot(self._place(ticket), now)
            if slot > now:
                ticket.due = slot
                return slot - now
            self._leave_queue(ticket)
            self._admissions.append(now)
            self._admitted += 1
            self._sent[self._admitted] = now
            if ticket.retry:
                self._retried.add(self._admitted)
            self._forget(now)
            ticket.admitted_at = now
            admission.set((self._identity, self._admitted))
            return 0.0

    def _leave_queue(self, ticket: _Ticket) -> None:
        if ticket.queued:
            ticket.queued = False
            (self._retries if ticket.retry else self._firsts).remove(ticket)

    def _leave(self, ticket: _Ticket) -> None:
        if ticket.queued:  # cancelled or interrupted while waiting: give the place up
            with self._lock:
                self._leave_queue(ticket)

    def acquire(self, sleep: Callable[[float], object] = time.sleep, *, retry: bool = False) -> float:
        """Wait (with ``sleep``) until one request may be sent; return the time it was let through.

        ``retry=True`` queues ahead of first tries: a retried request does not wait behind the
        backlog. An exception raised by ``sleep`` (``KeyboardInterrupt``…) gives the place up.
        """
        ticket = self._enter(retry)
        try:
            while (wait := self._poll(ticket)) > 0:
                sleep(wait)
            return ticket.admitted_at
        finally:
            self._leave(ticket)

    async def acquire_async(self, sleep: Callable[[float], Awaitable[object]], *, retry: bool = False) -> float:
        """`acquire` for asyncio tasks: ``await limiter.acquire_async(asyncio.sleep)``; a cancelled
        task gives its place up."""
        ticket = self._enter(retry)
        try:
            while (wait := self._poll(ticket)) > 0:
                await sleep(wait)
            return ticket.admitted_at
        finally:
            self._leave(ticket)

    @property
    def waiting(self) -> int:
        """How many requests are waiting for their turn."""
        with self._lock:
            return len(self._retries) + len(self._firsts)

    # --- after a 429 -------------------------------------------------------------------------------

    def slow_down(self) -> None:
        """Alma said the institution is too fast: pause every request briefly and halve the rate.

        The rate climbs back by itself. A 429 for a request that went out before the last cut
        (several requests in flight at once, all refused) pauses again but does not cut again.
        """
        with self._lock:
            now = self._now()
            self._paused_until = max(self._paused_until, now + self.pause)
            mark = admission.get()
            if mark is not None and mark[0] is self._identity and mark[1] <= self._cut_after:
                return
            self._reduced = max(self.min_rate, self._rate_at(now) / 2)
            self._slowed_at = now
            self._cut_after = self._admitted

    def __repr__(self) -> str:
        return (
            f"RateLimiter(rate={self.rate:g}, burst={self.burst}, edge_margin={self.edge_margin:g}, "
            f"current_rate={self.current_rate():.2f})"
        )


TokenBucket = RateLimiter
"""The limiter's earlier name, kept so existing code (``rate_limiter=TokenBucket(25)``) still works."""


def paced_by_limiter(exc: BaseException | None) -> bool:
    """Whether a retry after ``exc`` should wait for the rate limiter rather than back off.

    True for a per-second 429 without ``Retry-After``: the limiter has paused and slowed every
    request sharing it. A daily-threshold 429 is never retried; a ``Retry-After`` is obeyed.
    """
    return (
        isinstance(exc, RateLimitError)
        and not isinstance(exc, DailyThresholdExceeded)
        and retry_after_seconds(exc.headers) is None
    )
