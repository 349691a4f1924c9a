"""A client-side token bucket that keeps a client under Alma's per-second threshold.

Alma allows 25 calls a second per institution and answers 429 ``PER_SECOND_THRESHOLD`` past it.
The bucket hands out *reservations*: each request takes a token and learns how long to wait before
sending, so one lock (held for microseconds) serves threads and asyncio tasks alike, and the wait
itself happens outside the lock in whichever way the caller sleeps.

After a 429 the bucket halves its rate and climbs back to the configured rate over
``recovery_seconds`` (additive increase, multiplicative decrease).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["TokenBucket"]


class TokenBucket:
    """Rate limiter shared by every thread or task of a client (and of its ``with_options`` copies).

    Args:
        rate: requests per second at full speed.
        burst: how many requests may start back to back after a quiet spell. The default of 1
            spaces requests evenly, which keeps any one-second window at the threshold.
        recovery_seconds: how long the rate takes to climb back to ``rate`` after a slowdown.
        min_rate: the floor a run of slowdowns cannot go below.
        clock: a monotonic clock in seconds (injectable for tests).
    """

    def __init__(
        self,
        rate: float = 25.0,
        *,
        burst: float = 1.0,
        recovery_seconds: float = 10.0,
        min_rate: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst!r}")
        self.rate = float(rate)
        self.burst = float(burst)
        self.recovery_seconds = recovery_seconds
        self.min_rate = min(min_rate, self.rate)
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._last = clock()
        self._reduced_rate: float | None = None
        self._slowed_at = 0.0

    def current_rate(self) -> float:
        """The rate in force now: ``rate``, or less while recovering from a slowdown."""
        with self._lock:
            return self._rate_at(self._clock())

    def _rate_at(self, now: float) -> float:
        if self._reduced_rate is None:
            return self.rate
        climbed = self._reduced_rate + (now - self._slowed_at) * (self.rate / self.recovery_seconds)
        if climbed >= self.rate:
            self._reduced_rate = None
            return self.rate
        return climbed

    def reserve(self) -> float:
        """Take a token; return how many seconds to wait before sending (0.0 to go now)."""
        with self._lock:
            now = self._clock()
            rate = self._rate_at(now)
            self._tokens = min(self.burst, self._tokens + (now - self._last) * rate)
            self._last = now
            self._tokens -= 1.0
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / rate

    def slow_down(self) -> None:
        """Halve the rate after Alma said we were too fast; it recovers by itself."""
        with self._lock:
            now = self._clock()
            self._reduced_rate = max(self.min_rate, self._rate_at(now) / 2)
            self._slowed_at = now

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate}, burst={self.burst}, current_rate={self.current_rate():.2f})"
