"""An asyncio event loop on virtual time: ``asyncio.sleep`` advances a clock instead of waiting.

When every task is asleep, the loop jumps its clock to the earliest wake-up, so a simulation of a
minute of traffic runs in milliseconds and gives the same answer on any machine. Only for code that
waits on timers: a task waiting on a socket or a thread would stall the simulation (it raises).
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class VirtualClock:
    """Seconds since the simulation started; moved only by the loop."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _AdvancingSelector(selectors.DefaultSelector):
    def __init__(self, clock: VirtualClock) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise RuntimeError("every task waits on something other than a timer: the simulation cannot go on")
        if timeout > 0:
            self._clock.now += timeout
        return super().select(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` is a `VirtualClock` it advances itself."""

    def __init__(self) -> None:
        self.clock = VirtualClock()
        super().__init__(selector=_AdvancingSelector(self.clock))

    def time(self) -> float:
        return self.clock.now


def run_virtual(main: Coroutine[Any, Any, T]) -> tuple[T, VirtualClock]:
    """Run ``main`` on a fresh `VirtualTimeLoop`; its result and the clock (``clock.now`` = virtual seconds)."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main), loop.clock
    finally:
        loop.close()


def max_in_any_window(times: list[float], window: float = 1.0) -> int:
    """The most of ``times`` that fit in one *closed* window of ``window`` seconds, wherever it is placed."""
    ordered = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] > window:
            start += 1
        most = max(most, end - start + 1)
    return most
