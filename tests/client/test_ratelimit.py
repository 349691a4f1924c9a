"""The token bucket: even spacing at 25/s, bursts, sharing across threads, tasks and client copies."""

from __future__ import annotations

import asyncio
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from alma_onelink import TokenBucket
from tests.client.conftest import (
    AsyncSleeps,
    FakeClock,
    Script,
    Sleeps,
    make_async_client,
    make_client,
    ok,
    user_json,
)

USER = user_json("jdoe")


def test_25_per_second_spaces_reservations_40ms_apart() -> None:
    bucket = TokenBucket(25, clock=FakeClock())
    waits = [bucket.reserve() for _ in range(6)]
    assert waits == pytest.approx([0.0, 0.04, 0.08, 0.12, 0.16, 0.20])


def test_requests_at_the_rate_never_wait() -> None:
    clock = FakeClock()
    bucket = TokenBucket(25, clock=clock)
    for _ in range(50):
        assert bucket.reserve() == pytest.approx(0.0, abs=1e-9)
        clock.advance(0.04)


def test_any_one_second_window_holds_at_most_the_rate() -> None:
    bucket = TokenBucket(25, clock=FakeClock())
    starts = sorted(bucket.reserve() for _ in range(200))
    for i in range(len(starts) - 25):
        assert starts[i + 25] - starts[i] >= 1.0 - 1e-9


def test_burst_lets_that_many_go_at_once_then_spaces_the_rest() -> None:
    bucket = TokenBucket(25, burst=5, clock=FakeClock())
    waits = [bucket.reserve() for _ in range(8)]
    assert waits == pytest.approx([0, 0, 0, 0, 0, 0.04, 0.08, 0.12])


def test_quiet_spell_refills_only_up_to_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(25, burst=3, clock=clock)
    for _ in range(10):
        bucket.reserve()
    clock.advance(3600)
    waits = [bucket.reserve() for _ in range(5)]
    assert waits == pytest.approx([0, 0, 0, 0.04, 0.08])


def test_slow_down_halves_and_recovers_linearly() -> None:
    clock = FakeClock()
    bucket = TokenBucket(20, recovery_seconds=10, clock=clock)
    bucket.slow_down()
    assert bucket.current_rate() == pytest.approx(10)
    clock.advance(5)
    assert bucket.current_rate() == pytest.approx(20 / 2 + 5 * 2)
    clock.advance(1)
    assert bucket.current_rate() == 20


def test_slow_down_never_goes_below_min_rate() -> None:
    bucket = TokenBucket(25, min_rate=2, clock=FakeClock())
    for _ in range(20):
        bucket.slow_down()
    assert bucket.current_rate() == 2


def test_slowed_bucket_spaces_wider() -> None:
    bucket = TokenBucket(25, clock=FakeClock())
    bucket.slow_down()
    waits = [bucket.reserve() for _ in range(3)]
    assert waits == pytest.approx([0, 0.08, 0.16])


@pytest.mark.parametrize(("rate", "burst"), [(0, 1.0), (-1, 1.0), (25, 0.5)])
def test_bad_bucket_settings_are_rejected(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        TokenBucket(rate, burst=burst)


def test_reservations_from_many_threads_form_one_schedule() -> None:
    bucket = TokenBucket(25, clock=FakeClock())
    barrier = threading.Barrier(8)

    def take(_: int) -> list[float]:
        barrier.wait()
        return [bucket.reserve() for _ in range(50)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        waits = [w for chunk in pool.map(take, range(8)) for w in chunk]
    assert sorted(waits) == pytest.approx([i * 0.04 for i in range(400)])


def test_client_shares_its_bucket_across_threads() -> None:
    bucket = TokenBucket(25, clock=FakeClock())
    sleeps = Sleeps()
    script = Script(default=ok(USER))
    alma = make_client(script, rate_limiter=bucket, sleep=sleeps)
    with ThreadPoolExecutor(max_workers=8) as pool:
        users = list(pool.map(lambda i: alma.users.get(f"u{i}"), range(40)))
    assert len(users) == 40
    assert len(script.requests) == 40
    assert sorted(sleeps.waits) == pytest.approx([i * 0.04 for i in range(1, 40)])


def test_client_sleeps_what_the_bucket_says_before_sending() -> None:
    sleeps = Sleeps()
    alma = make_client(Script(default=ok(USER)), rate_limiter=TokenBucket(25, clock=FakeClock()), sleep=sleeps)
    for _ in range(4):
        alma.users.get("jdoe")
    assert sleeps.waits == pytest.approx([0.04, 0.08, 0.12])


def test_rate_limit_option_sets_the_rate() -> None:
    alma = make_client(Script(), rate_limit=10)
    assert alma.rate_limiter is not None
    assert alma.rate_limiter.rate == 10


def test_copies_share_one_bucket() -> None:
    sleeps = Sleeps()
    alma = make_client(Script(default=ok(USER)), rate_limiter=TokenBucket(25, clock=FakeClock()), sleep=sleeps)
    copy = alma.with_options(max_retries=0)
    alma.users.get("a")
    copy.users.get("b")
    alma.users.get("c")
    copy.users.get("d")
    assert sleeps.waits == pytest.approx([0.04, 0.08, 0.12])


def test_two_clients_can_share_a_bucket() -> None:
    bucket = TokenBucket(25, clock=FakeClock())
    sleeps = Sleeps()
    one = make_client(Script(default=ok(USER)), rate_limiter=bucket, sleep=sleeps)
    two = make_client(Script(default=ok(USER)), rate_limiter=bucket, sleep=sleeps)
    one.users.get("a")
    two.users.get("b")
    assert sleeps.waits == pytest.approx([0.04])


def test_rate_limit_none_never_waits() -> None:
    sleeps = Sleeps()
    script = Script(default=ok(USER))
    alma = make_client(script, rate_limit=None, sleep=sleeps)
    assert alma.rate_limiter is None
    for _ in range(60):
        alma.users.get("jdoe")
    assert len(script.requests) == 60
    assert sleeps.waits == []


def test_retries_wait_their_turn_at_the_bucket_too() -> None:
    sleeps = Sleeps()
    script = Script(httpx.Response(503), ok(USER))
    alma = make_client(script, rate_limiter=TokenBucket(25, clock=FakeClock()), sleep=sleeps)
    alma.users.get("jdoe")
    # the backoff, then the retry's place in the (frozen-clock) schedule
    assert len(sleeps.waits) == 2
    assert 0.375 <= sleeps.waits[0] <= 0.5
    assert sleeps.waits[1] == pytest.approx(0.04)


# --- async -------------------------------------------------------------------------------------------


async def test_async_tasks_share_one_bucket() -> None:
    clock = FakeClock()
    sleeps = AsyncSleeps()  # the clock stays put: every wait is a distinct place in one schedule
    script = Script(default=ok(USER))
    alma = make_async_client(script, rate_limiter=TokenBucket(25, clock=clock), sleep=sleeps)
    users = await asyncio.gather(*(alma.users.get(f"u{i}") for i in range(30)))
    assert len(users) == 30
    assert sorted(sleeps.waits) == pytest.approx([i * 0.04 for i in range(1, 30)])
    await alma.close()


async def test_async_sends_are_spaced_on_the_fake_clock() -> None:
    clock = FakeClock()
    sent_at: list[float] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock())
        return ok(USER)

    alma = make_async_client(
        Script(default=record), rate_limiter=TokenBucket(25, clock=clock), sleep=AsyncSleeps(clock)
    )
    await asyncio.gather(*(alma.users.get(f"u{i}") for i in range(20)))
    sent_at.sort()
    assert len(sent_at) == 20
    for earlier, later in itertools.pairwise(sent_at):
        assert later - earlier >= 0.04 - 1e-9
    assert sent_at[-1] - sent_at[0] == pytest.approx(19 * 0.04)
    await alma.close()


async def test_async_rate_limit_none_never_waits() -> None:
    sleeps = AsyncSleeps()
    alma = make_async_client(Script(default=ok(USER)), rate_limit=None, sleep=sleeps)
    await asyncio.gather(*(alma.users.get("jdoe") for _ in range(30)))
    assert sleeps.waits == []
    await alma.close()
