"""The rate limiter's gate at the moment a request leaves (mixed into `RateLimiter`).

Alma counts arrivals, and a request let through may leave later than the next one: a client's first
burst waits for its connections to open, while the burst a second later goes out at once on open
connections. So each request also passes a *gate* at the moment it leaves (the clients call
`clear_to_send` from httpx's ``trace`` request extension, just before the request's headers are
written): it waits there until it cannot put more than ``limit`` sends in any window, counting every
other request from when it left (or from when it was let through, for one that has not left yet or
whose transport does not say). The queue keeps pacing by when requests were let through, so the time
a request spends between the two (building it, finding a connection, a busy event loop) is not added
to every later window; the gate waits out only what opening connections held back. At the gate,
requests leave in the order they were let through: one whose connection took seconds to open is
not kept waiting by those let through after it. The queue lets nobody through while a window's worth
of requests wait at the gate (`SendGate._backlog_clears`): on an event loop that is a little late at
every window's edge, the queue would otherwise run further ahead of the sends every second, and a
retry or a pause would reach the sends only after the pile-up at the gate.
"""

from __future__ import annotations

import contextvars
import math
import threading
import time
from collections.abc import Awaitable, Callable

__all__ = ["SendGate", "admission"]

# The limiter and the number of the caller's last admission: the gate finds the request by it, and a
# 429 for a request sent before the last cut does not cut again. A context variable follows the
# request in its own thread or task.
admission: contextvars.ContextVar[tuple[object, int] | None] = contextvars.ContextVar(
    "alma_onelink_admission", default=None
)


class SendGate:
    """The gate's state and methods; `RateLimiter` sets the attributes and the clock."""

    limit: int
    _span: float  # a window and its edge margin
    _lock: threading.Lock
    _identity: object
    # Admission number -> when that request left the gate (when it was let through, until then).
    _sent: dict[int, float]
    _followed: set[int]  # followed to the gate (follow_send) and not left yet
    _waiting: dict[int, float]  # at the gate now -> when it was told to ask again
    _retried: set[int]  # retries not left yet: at the gate too, they go ahead of first tries

    def _ahead(self, number: int) -> tuple[bool, int]:
        """The order at the gate: retries first, then in the order they were let through."""
        return number not in self._retried, number

    def _now(self, due: float = -math.inf) -> float:
        raise NotImplementedError

    def _earliest(self, sent: list[float], not_before: float) -> float:
        """The earliest time at or after ``not_before`` that one more send after ``sent`` (oldest first)
        keeps every rule: the window, the burst, and after a 429 the pause and the slower pace."""
        raise NotImplementedError

    def _forget(self, now: float) -> None:
        """Drop the sends that can no longer hold anyone back: a window and its margin ago."""
        for number in [n for n, at in self._sent.items() if at + self._span <= now and n not in self._followed]:
            del self._sent[number]
            self._retried.discard(number)

    def _mine(self) -> int | None:
        mark = admission.get()
        return mark[1] if mark is not None and mark[0] is self._identity else None

    def _gate(self, number: int, due: float) -> tuple[float, float]:
        """Let request ``number`` leave now (``(0.0, now)``, recorded) or say how many seconds until it
        asks again, and the time it is then due."""
        with self._lock:
            now = self._now(due)
            log = []
            place = self._ahead(number)
            for other, at in self._sent.items():
                if other == number or (other in self._followed and self._ahead(other) > place):
                    continue  # itself, or one that goes after it and has not left yet
                # One that goes before it and waits at the gate too: it goes first, so it counts as now.
                when = now if other in self._waiting else at
                if when + self._span > now:
                    log.append(when)
            log.sort()
            # The queue's rules, on the sends: after a 429, its pause and slower pace hold back
            # those already let through as well.
            opens = self._earliest(log, now)
            if opens > now:
                self._waiting[number] = opens
                return opens - now, opens
            self._waiting.pop(number, None)
            self._followed.discard(number)
            self._retried.discard(number)
            self._sent[number] = now
            self._forget(now)
            return 0.0, now

    def _stop_waiting(self, number: int) -> None:
        with self._lock:
            self._waiting.pop(number, None)

    def _backlog_clears(self) -> float:
        """The earliest time fewer than ``limit`` requests wait at the gate (``-inf`` if fewer wait now).

        Counted from those waiting now and when each was told to ask again: more may come, and none
        leaves before its time, so the real moment is never earlier (a lower bound, as the queue needs).
        Called with the lock held.
        """
        if len(self._waiting) < self.limit:
            return -math.inf
        return sorted(self._waiting.values())[len(self._waiting) - self.limit]

    def follow_send(self) -> None:
        """The request this thread or task was just let through will call `clear_to_send` just before
        it leaves and `finished` after its exchange (the clients do both): requests let through
        after it then give it way at the gate. A no-op for a thread or task this limiter has not let
        through."""
        with self._lock:
            number = self._mine()
            if number is not None and number in self._sent:
                self._followed.add(number)

    def clear_to_send(self, sleep: Callable[[float], object] = time.sleep) -> None:
        """Wait (with ``sleep``) until the request this thread was let through may leave; record it as leaving now.

        Called just before the request's bytes go out (the clients call it from httpx's ``trace``
        extension). It waits only if leaving now would put more than ``limit`` sends in one window,
        counting the others from when they left (from when they were let through, until they leave),
        and ahead of it every request let through before it that waits at the gate too (and every
        retry: retries go first): a request whose connection took time to open goes a window after
        the others of its burst *left*, not a window after they were let through. After a 429 it
        also waits out the pause and keeps to the slower pace. A no-op for a thread this limiter has
        not let through.
        """
        number = self._mine()
        if number is None:
            return
        wait, due = self._gate(number, -math.inf)
        try:
            while wait > 0:
                sleep(wait)
                wait, due = self._gate(number, due)
        finally:
            if wait > 0:  # interrupted while waiting: it has not left
                self._stop_waiting(number)

    async def clear_to_send_async(self, sleep: Callable[[float], Awaitable[object]]) -> None:
        """`clear_to_send` for asyncio tasks: ``await limiter.clear_to_send_async(asyncio.sleep)``."""
        number = self._mine()
        if number is None:
            return
        wait, due = self._gate(number, -math.inf)
        try:
            while wait > 0:
                await sleep(wait)
                wait, due = self._gate(number, due)
        finally:
            if wait > 0:  # cancelled while waiting: it has not left
                self._stop_waiting(number)

    def sent(self) -> None:
        """The request this thread or task was let through has been written out: it counts from now
        (a pause between `clear_to_send` and the write does not shorten the next window). A no-op for
        a thread or task this limiter has not let through."""
        with self._lock:
            number = self._mine()
            if number is not None and number in self._sent and number not in self._followed:
                self._sent[number] = self._now()

    def finished(self) -> None:
        """The exchange of the request this thread or task was let through (and `follow_send`) is over.

        If it never left through the gate (its transport does not say when a request leaves, or it
        failed before leaving), it counts from when it was let through, and requests let through
        after it stop giving it way. A no-op otherwise.
        """
        with self._lock:
            number = self._mine()
            if number is not None:
                self._followed.discard(number)
                self._waiting.pop(number, None)
                self._retried.discard(number)
                self._forget(self._now())
