"""The rate limiter: Alma's window held exactly, bursts, pauses and recovery, shared by threads, tasks and copies.

Every test runs on a fake clock; the simulation of many tasks with random 429s is in
``tests/test_ratelimit_sim.py``.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from alma_onelink import RateLimiter, TokenBucket
from alma_onelink._ratelimit import DEFAULT_EDGE_MARGIN, paced_by_limiter
from alma_onelink.errors import error_for_response
from tests.client.conftest import (
    AsyncSleeps,
    FakeClock,
    Script,
    Sleeps,
    daily,
    make_async_client,
    make_client,
    ok,
    per_second,
    user_json,
)
from tests.virtual_time import max_in_any_window

USER = user_json("jdoe")
SPAN = 1 + DEFAULT_EDGE_MARGIN  # a send and the one 25 places later are at least this far apart


class Advancing(Sleeps):
    """A ``sleep=`` that moves the fake clock by what it is asked (thread-safe)."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)
            self.clock.advance(seconds)


class Recording(RateLimiter):
    """A limiter that keeps the time it let each request through (on its own clock)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.admitted: list[float] = []

    def acquire(self, sleep: Callable[[float], object] = lambda s: None, *, retry: bool = False) -> float:
        at = super().acquire(sleep, retry=retry)
        self.admitted.append(at)
        return at

    async def acquire_async(self, sleep: Any, *, retry: bool = False) -> float:
        at = await super().acquire_async(sleep, retry=retry)
        self.admitted.append(at)
        return at


def admit(limiter: RateLimiter, count: int, sleep: Callable[[float], None]) -> list[float]:
    return [limiter.acquire(sleep) for _ in range(count)]


# --- the window ----------------------------------------------------------------------------------------


def test_token_bucket_is_the_old_name_of_the_limiter() -> None:
    assert TokenBucket is RateLimiter


def test_a_quiet_limiter_lets_a_whole_window_go_at_once() -> None:
    clock = FakeClock()
    sleeps = Advancing(clock)
    times = admit(RateLimiter(25, clock=clock), 26, sleeps)
    assert times[:25] == [1000.0] * 25
    assert sleeps.waits == [pytest.approx(SPAN)]  # the 26th waits until the first leaves the window
    assert times[25] == pytest.approx(1000 + SPAN)


def test_any_one_second_window_holds_at_most_the_rate() -> None:
    clock = FakeClock()
    times = admit(RateLimiter(25, clock=clock), 400, Advancing(clock))
    assert max_in_any_window(times) == 25
    # ...and no fewer: 400 requests in 16 windows, the first one starting at once.
    assert times[-1] - times[0] == pytest.approx(15 * SPAN)


def test_requests_at_the_rate_never_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(25, clock=clock)
    sleeps = Sleeps()
    for _ in range(100):
        limiter.acquire(sleeps)
        clock.advance(0.041)
    assert sleeps.waits == []


def test_burst_one_spaces_every_request_evenly_and_never_puts_26_in_a_window() -> None:
    clock = FakeClock()
    times = admit(RateLimiter(25, burst=1, clock=clock), 100, Advancing(clock))
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) == pytest.approx(0.04)
    assert max_in_any_window(times) == 25  # a closed window, too: the 26th is the edge margin later


def test_a_small_burst_then_the_rest_at_the_rate() -> None:
    clock = FakeClock()
    times = admit(RateLimiter(25, burst=5, clock=clock), 10, Advancing(clock))
    assert [round(t - 1000, 3) for t in times] == [0, 0, 0, 0, 0, 0.2, 0.2, 0.2, 0.2, 0.2]
    assert max_in_any_window(admit(RateLimiter(25, burst=5, clock=clock), 300, Advancing(clock))) == 25


@pytest.mark.parametrize(("rate", "per_window", "window"), [(10, 10, 1.0), (2.5, 2, 1.0), (0.5, 1, 2.0)])
def test_odd_rates_keep_to_the_rate_in_every_window(rate: float, per_window: int, window: float) -> None:
    clock = FakeClock()
    times = admit(RateLimiter(rate, clock=clock), 40, Advancing(clock))
    assert max_in_any_window(times, window) == per_window
    assert max_in_any_window(times, 1.0) <= max(rate, 1)


@pytest.mark.parametrize(
    "options",
    [
        {"rate": 0},
        {"rate": -1},
        {"rate": float("nan")},
        {"rate": float("inf")},
        {"burst": 0.5},
        {"pause": -1},
        {"edge_margin": 0},
        {"edge_margin": 1},
        {"edge_margin": float("nan")},
    ],
)
def test_bad_settings_are_rejected(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        RateLimiter(**options)


def test_a_frozen_clock_never_hangs_a_waiter() -> None:
    """The limiter trusts that a caller slept as told, so a test's frozen clock still moves it on."""
    sleeps = Sleeps()
    times = admit(RateLimiter(25, clock=FakeClock()), 60, sleeps)
    assert max_in_any_window(times) == 25
    assert sum(sleeps.waits) == pytest.approx(2 * SPAN)


# --- after a 429 ------------------------------------------------------------------------------------


def test_a_429_pauses_everyone_briefly_and_halves_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(25, clock=clock)
    sleeps = Advancing(clock)
    limiter.acquire(sleeps)
    limiter.slow_down()
    assert limiter.current_rate() == pytest.approx(12.5)
    times = admit(limiter, 40, sleeps)
    assert times[0] == pytest.approx(1000.1)  # the pause
    # At the end of the pause the rate has climbed to 13.75: 13 in that window, the first send included.
    assert sum(1 for t in times if t <= times[0]) == 12
    assert max_in_any_window([1000.0, *times]) <= 25


def test_the_rate_climbs_back_to_full_within_a_second() -> None:
    clock = FakeClock()
    limiter = RateLimiter(25, clock=clock)
    limiter.slow_down()
    clock.advance(0.5)
    assert limiter.current_rate() == pytest.approx(18.75)
    clock.advance(0.5)
    assert limiter.current_rate() == 25
    assert "current_rate=25.00" in repr(limiter)


def test_after_recovery_a_whole_window_goes_at_once_again() -> None:
    clock = FakeClock()
    limiter = RateLimiter(25, clock=clock)
    limiter.slow_down()
    clock.advance(5)
    sleeps = Sleeps()
    admit(limiter, 25, sleeps)
    assert sleeps.waits == []


def test_429s_for_requests_sent_before_the_cut_cut_once() -> None:
    """Requests in flight together are refused together: that is one signal, not one per request."""
    limiter = RateLimiter(25, clock=FakeClock())
    contexts = [contextvars.copy_context() for _ in range(5)]
    for context in contexts:
        context.run(limiter.acquire, Sleeps())
    for context in contexts:
        context.run(limiter.slow_down)
    assert limiter.current_rate() == pytest.approx(12.5)


def test_a_429_for_a_request_sent_after_the_cut_cuts_again() -> None:
    clock = FakeClock()
    limiter = RateLimiter(25, clock=clock)
    limiter.acquire(Sleeps())
    limiter.slow_down()
    limiter.acquire(Advancing(clock))
    limiter.slow_down()
    assert limiter.current_rate() < 12.5


def test_slow_down_never_goes_below_min_rate() -> None:
    limiter = RateLimiter(25, min_rate=2, clock=FakeClock())
    for _ in range(20):
        limiter.slow_down()
    assert limiter.current_rate() == 2


def test_only_a_per_second_429_without_retry_after_waits_for_the_limiter() -> None:
    def error(response: httpx.Response) -> Exception:
        return error_for_response(
            status_code=response.status_code,
            method="GET",
            path="/almaws/v1/users/x",
            content=response.content,
            headers=response.headers,
        )

    assert paced_by_limiter(error(per_second()))
    assert not paced_by_limiter(error(httpx.Response(429, headers={"Retry-After": "3"}, content=per_second().content)))
    assert not paced_by_limiter(error(daily()))
    assert not paced_by_limiter(error(httpx.Response(503)))
    assert not paced_by_limiter(None)


# --- the queue -----------------------------------------------------------------------------------------


async def test_retries_go_ahead_of_first_tries() -> None:
    clock = FakeClock()
    limiter = RateLimiter(25, burst=1, clock=clock)
    order: list[str] = []

    async def one(name: str, retry: bool) -> None:
        await limiter.acquire_async(AsyncSleeps(clock), retry=retry)
        order.append(name)

    limiter.acquire(Sleeps())  # the next one waits
    await asyncio.gather(*(one(f"first{i}", False) for i in range(5)), one("retry", True))
    assert order[0] == "retry"


async def test_a_cancelled_waiter_gives_its_place_up() -> None:
    limiter = RateLimiter(1, clock=FakeClock())
    limiter.acquire(Sleeps())
    started = asyncio.Event()

    async def blocked_sleep(seconds: float) -> None:
        started.set()
        await asyncio.Event().wait()  # never set: cancelled while waiting

    task = asyncio.ensure_future(limiter.acquire_async(blocked_sleep))
    await started.wait()
    assert limiter.waiting == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert limiter.waiting == 0


def test_an_interrupted_sleep_gives_the_place_up() -> None:
    limiter = RateLimiter(1, clock=FakeClock())
    limiter.acquire(Sleeps())

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        limiter.acquire(interrupted)
    assert limiter.waiting == 0


def test_threads_share_one_window() -> None:
    clock = FakeClock()
    limiter = Recording(25, clock=clock)
    sleeps = Advancing(clock)
    barrier = threading.Barrier(8)

    def take(_: int) -> None:
        barrier.wait()
        for _ in range(50):
            limiter.acquire(sleeps)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(take, range(8)))
    assert len(limiter.admitted) == 400
    assert max_in_any_window(limiter.admitted) == 25


# --- in the clients -------------------------------------------------------------------------------------


def test_client_shares_its_limiter_across_threads() -> None:
    clock = FakeClock()
    limiter = Recording(25, clock=clock)
    script = Script(default=ok(USER))
    alma = make_client(script, rate_limiter=limiter, sleep=Advancing(clock))
    with ThreadPoolExecutor(max_workers=8) as pool:
        users = list(pool.map(lambda i: alma.users.get(f"u{i}"), range(80)))
    assert len(users) == len(script.requests) == len(limiter.admitted) == 80
    assert max_in_any_window(limiter.admitted) == 25


def test_rate_limit_option_sets_the_rate() -> None:
    alma = make_client(Script(), rate_limit=10)
    assert alma.rate_limiter is not None
    assert alma.rate_limiter.rate == 10


def test_copies_and_other_clients_share_one_limiter() -> None:
    clock = FakeClock()
    limiter = Recording(2, clock=clock)
    sleeps = Advancing(clock)
    alma = make_client(Script(default=ok(USER)), rate_limiter=limiter, sleep=sleeps)
    other = make_client(Script(default=ok(USER)), rate_limiter=limiter, sleep=sleeps)
    for client in (alma, alma.with_options(max_retries=0), other, alma):
        client.users.get("a")
    assert max_in_any_window(limiter.admitted) == 2
    assert sleeps.waits == [pytest.approx(SPAN)]


def test_rate_limit_none_never_waits() -> None:
    sleeps = Sleeps()
    script = Script(default=ok(USER))
    alma = make_client(script, rate_limit=None, sleep=sleeps)
    assert alma.rate_limiter is None
    for _ in range(60):
        alma.users.get("jdoe")
    assert len(script.requests) == 60
    assert sleeps.waits == []


def test_a_per_second_429_is_retried_after_the_pause_not_a_backoff() -> None:
    clock = FakeClock()
    sleeps = Advancing(clock)
    script = Script(per_second(), per_second(), ok(USER))
    alma = make_client(script, rate_limiter=RateLimiter(25, clock=clock), sleep=sleeps)
    alma.users.get("jdoe")
    assert len(script.requests) == 3
    assert clock.now - 1000 < 0.5  # two brief pauses, where backing off would take 0.375 s + 0.75 s at least


def test_a_429_with_retry_after_still_waits_as_told() -> None:
    clock = FakeClock()
    sleeps = Advancing(clock)
    refused = httpx.Response(429, headers={"Retry-After": "3"}, content=per_second().content)
    alma = make_client(Script(refused, ok(USER)), rate_limiter=RateLimiter(25, clock=clock), sleep=sleeps)
    alma.users.get("jdoe")
    assert 3.0 in sleeps.waits


def test_other_retries_still_back_off_then_queue_ahead() -> None:
    clock = FakeClock()
    sleeps = Advancing(clock)
    script = Script(httpx.Response(503), ok(USER))
    alma = make_client(script, rate_limiter=RateLimiter(25, clock=clock), sleep=sleeps)
    alma.users.get("jdoe")
    assert 0.375 <= sleeps.waits[0] <= 0.5


# --- async ---------------------------------------------------------------------------------------------


async def test_async_tasks_share_one_window() -> None:
    clock = FakeClock()
    limiter = Recording(25, clock=clock)
    script = Script(default=ok(USER))
    alma = make_async_client(script, rate_limiter=limiter, sleep=AsyncSleeps(clock))
    users = await asyncio.gather(*(alma.users.get(f"u{i}") for i in range(120)))
    assert len(users) == len(script.requests) == 120
    assert max_in_any_window(limiter.admitted) == 25
    assert max(limiter.admitted) - min(limiter.admitted) == pytest.approx(4 * SPAN)  # 5 windows, no slack
    await alma.close()


async def test_async_rate_limit_none_never_waits() -> None:
    sleeps = AsyncSleeps()
    alma = make_async_client(Script(default=ok(USER)), rate_limit=None, sleep=sleeps)
    await asyncio.gather(*(alma.users.get("jdoe") for _ in range(30)))
    assert sleeps.waits == []
    await alma.close()
