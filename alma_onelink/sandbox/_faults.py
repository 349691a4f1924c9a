"""Knobs for tests and benchmarks: latency, Alma's thresholds, injected faults. Deterministic with a seed.

The per-second threshold is a token bucket of ``per_second_limit`` tokens refilled at that many per
second, shared by every key (Alma counts per institution). The daily quota counts calls per UTC day of
the sandbox's ``now``. Both count only requests Alma processed: a call the gateway refuses is never
counted, and one lost to an injected ``429`` or ``connection_reset`` is given back (`refund`).
Random choices (jitter, which request fails) come from their own ``random.Random`` streams seeded from
the sandbox's seed, so one knob never shifts another's sequence.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from alma_onelink.errors import DAILY_THRESHOLD, PER_SECOND_THRESHOLD

__all__ = ["FAULT_KINDS", "Faults", "Knobs", "ManualClock"]

FAULT_KINDS = ("429", "500", "503", "read_timeout", "connection_reset", "commit_then_fail")
"""Every fault the sandbox can inject.

Faults are drawn only for requests the gateway accepts (right key, under both thresholds).
``429``/``500``/``503`` are Alma-shaped error responses (the request is not applied);
``read_timeout`` loses the request after it reached Alma, before it is applied;
``connection_reset`` resets the connection before the request is sent;
``commit_then_fail`` loses the response of a request that succeeded (a write is applied first). If
Alma refuses that request (any error), the refusal is answered as normal.
"""

UNSUPPORTED_QUERY_ANSWERS = ("402119", "-1")
"""How the sandbox can answer a search it cannot run (the ``unsupported_query`` knob)."""

_NO_FAULT = frozenset({"", "ok", "none", "-"})


def _fault_kind(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in _NO_FAULT:
        return None
    if text not in FAULT_KINDS:
        raise ValueError(f"unknown fault {value!r}; expected one of {', '.join(FAULT_KINDS)} (or 'ok')")
    return text


@dataclass
class Faults:
    """Which requests fail, and how: by probability (``rate`` over ``kinds``), or by a script.

    A script is consumed one entry per request the gateway accepts, in order (``None`` or ``"ok"``
    means no fault); when it runs out, ``rate`` applies. Each sandbox keeps its own copy, so one
    ``Faults`` can configure several sandboxes. Raises ``ValueError`` for an unknown kind or a rate
    outside 0 to 1.
    """

    rate: float = 0.0
    kinds: Sequence[str] = ("500", "503")
    script: Sequence[str | None] = ()
    _pending: deque[str | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be a probability between 0 and 1, got {self.rate!r}")
        kinds = tuple(k for k in (_fault_kind(kind) for kind in self.kinds) if k is not None)
        if self.rate and not kinds:
            raise ValueError("a fault rate needs at least one fault kind")
        self.kinds = kinds
        self.script = tuple(_fault_kind(entry) for entry in self.script)
        self._pending = deque(self.script)

    @classmethod
    def coerce(cls, value: Faults | Iterable[str | None] | None) -> Faults:
        """A new `Faults` from a ``Faults`` (copied, with its whole script still to come), ``None``
        (no faults) or a script list."""
        if value is None:
            return cls()
        if isinstance(value, Faults):
            return cls(rate=value.rate, kinds=tuple(value.kinds), script=tuple(value.script))
        if isinstance(value, str):
            raise TypeError("faults must be a Faults object or a list of fault kinds, not a string")
        return cls(script=tuple(value))

    @property
    def remaining_script(self) -> int:
        """How many scripted entries are still to come."""
        return len(self._pending)

    def draw(self, rng: random.Random) -> str | None:
        """The fault for the next request (consumes one script entry if any are left)."""
        if self._pending:
            return self._pending.popleft()
        if self.rate and rng.random() < self.rate:
            return rng.choice(self.kinds)
        return None


@dataclass
class Knobs:
    """The sandbox's adjustable behaviour. Change any field at run time; values are checked on assignment.

    (``clock``, ``sleep``, ``async_sleep`` and ``now`` are not knobs: they are fixed when the
    `Sandbox` is built.)

    Attributes:
        latency: Seconds added to every response.
        jitter: Up to this many extra seconds, drawn uniformly per response.
        per_second_limit: Alma's per-second threshold per institution; ``None`` turns it off.
        daily_quota: Calls allowed per day before ``DAILY_THRESHOLD``.
        faults: Injected failures (a `Faults`, copied on assignment, or a script list).
        overstate_total: Added to every ``total_record_count``, as Alma sometimes overstates it.
        unsupported_query: How a search ``q`` Alma cannot run is answered: ``"402119"`` (a 400 with
            Alma's "General error.") or ``"-1"`` (a 200 with ``{"total_record_count": -1}`` and no
            users, as Alma answers some rejected queries).
    """

    latency: float = 0.0
    jitter: float = 0.0
    per_second_limit: int | None = 25
    daily_quota: int = 100_000
    faults: Faults = field(default_factory=Faults)
    overstate_total: int = 0
    unsupported_query: str = "402119"

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("latency", "jitter") and (not isinstance(value, int | float) or value < 0):
            raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
        if name == "per_second_limit" and value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError(f"per_second_limit must be a positive integer or None, got {value!r}")
        if name in ("daily_quota", "overstate_total") and (not isinstance(value, int) or value < 0):
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        if name == "faults":
            value = Faults.coerce(value)
        if name == "unsupported_query":
            value = str(value).strip()
            if value not in UNSUPPORTED_QUERY_ANSWERS:
                raise ValueError(
                    f"unsupported_query must be one of {', '.join(UNSUPPORTED_QUERY_ANSWERS)}, got {value!r}"
                )
        super().__setattr__(name, value)


class ManualClock:
    """A clock that moves only when told: a monotonic ``clock()`` plus ``sleep``/``async_sleep`` that advance it.

    Pass it as ``Sandbox(clock=c, sleep=c.sleep, async_sleep=c.async_sleep)`` to test thresholds
    and latency without waiting. ``sleeps`` records every sleep asked for.
    """

    def __init__(self, start: float = 0.0) -> None:
        """A clock reading ``start`` seconds."""
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward; raises ``ValueError`` for a negative step."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        """Record the sleep and advance the clock instead of waiting."""
        self.sleeps.append(seconds)
        self.advance(seconds)

    async def async_sleep(self, seconds: float) -> None:
        """The async twin of `sleep`."""
        self.sleep(seconds)

    def __repr__(self) -> str:
        return f"ManualClock({self():.3f})"


class Governor:
    """Alma's gateway counters plus the sandbox's random draws; one instance per sandbox, thread-safe."""

    def __init__(
        self,
        knobs: Knobs,
        *,
        seed: int,
        clock: Callable[[], float],
        now: Callable[[], datetime],
    ) -> None:
        self.knobs = knobs
        self._clock = clock
        self._now = now
        self._lock = threading.Lock()
        # Reproducible draws are the point here; nothing secret comes from these generators.
        self._fault_rng = random.Random(f"{seed}:faults")  # noqa: S311
        self._latency_rng = random.Random(f"{seed}:latency")  # noqa: S311
        self._tracking_rng = random.Random(f"{seed}:tracking")  # noqa: S311
        self._tokens: float | None = None
        self._last: float = 0.0
        self._day: date | None = None
        self._used = 0

    def _roll_day(self) -> None:
        today = self._now().date()
        if today != self._day:
            self._day = today
            self._used = 0

    def remaining(self) -> int:
        """Calls left today, as ``X-Exl-Api-Remaining`` reports."""
        with self._lock:
            self._roll_day()
            return max(self.knobs.daily_quota - self._used, 0)

    def admit(self) -> str | None:
        """Count one call: ``None`` if accepted, else the threshold code it hit (then nothing is counted)."""
        with self._lock:
            self._roll_day()
            if self._used >= self.knobs.daily_quota:
                return DAILY_THRESHOLD
            limit = self.knobs.per_second_limit
            if limit is not None:
                now = self._clock()
                tokens = float(limit) if self._tokens is None else self._tokens
                tokens = min(float(limit), tokens + (now - self._last) * limit)
                self._last = now
                if tokens < 1.0:
                    self._tokens = tokens
                    return PER_SECOND_THRESHOLD
                self._tokens = tokens - 1.0
            self._used += 1
            return None

    def refund(self) -> None:
        """Give back one admitted call (daily count and per-second token): Alma did not process it."""
        with self._lock:
            self._used = max(self._used - 1, 0)
            limit = self.knobs.per_second_limit
            if limit is not None and self._tokens is not None:
                self._tokens = min(float(limit), self._tokens + 1.0)

    def fault(self) -> str | None:
        """The fault to inject into this request, if any."""
        with self._lock:
            return self.knobs.faults.draw(self._fault_rng)

    def delay(self) -> float:
        """Seconds of latency for this response: fixed plus uniform jitter."""
        with self._lock:
            jitter = self.knobs.jitter
            extra = self._latency_rng.uniform(0.0, jitter) if jitter else 0.0
            return float(self.knobs.latency) + extra

    def tracking_id(self) -> str:
        """An Alma-style tracking id (``E01-0804072350-LLRHA-AWAE790016211``), deterministic per seed."""
        with self._lock:
            rng = self._tracking_rng
            stamp = self._now().strftime("%d%m%H%M%S")
            letters = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(5))
            return f"E01-{stamp}-{letters}-AWAE{rng.randrange(10**8, 10**9)}"
