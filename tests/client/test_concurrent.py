"""`thread_map`: results in order, bounded threads and read-ahead, errors in order, early stops, the limiter shared."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import pytest

from alma_onelink import RateLimiter
from alma_onelink.concurrent import thread_map
from tests.client.conftest import FakeClock, Script, make_client, ok, user_json
from tests.virtual_time import max_in_any_window


def test_results_come_back_in_input_order() -> None:
    release = threading.Event()

    def slow_first(n: int) -> int:
        if n == 0:
            release.wait(5)
        elif n == 5:
            release.set()
        return n * n

    assert list(thread_map(slow_first, range(20), concurrency=4)) == [n * n for n in range(20)]


def test_no_more_than_concurrency_calls_at_once() -> None:
    running, most = 0, 0
    lock = threading.Lock()
    barrier = threading.Barrier(3)

    def call(n: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        if n < 3:
            barrier.wait(5)  # the first three meet: three really run together
        with lock:
            running -= 1
        return n

    assert list(thread_map(call, range(30), concurrency=3)) == list(range(30))
    assert most == 3


def test_items_are_read_lazily() -> None:
    pulled = itertools.count()

    def items() -> Iterator[int]:
        for n in itertools.count():
            next(pulled)
            yield n

    results = thread_map(lambda n: n, items(), concurrency=2)
    assert [next(results) for _ in range(5)] == [0, 1, 2, 3, 4]
    results.close()
    assert next(pulled) <= 5 + 2 * 2 + 1  # a few ahead of the results, never the whole (endless) input


def test_the_first_error_in_order_is_raised_and_later_calls_are_dropped() -> None:
    started: list[int] = []
    lock = threading.Lock()

    def call(n: int) -> int:
        with lock:
            started.append(n)
        if n in (3, 7):
            raise LookupError(f"no {n}")
        return n

    results = thread_map(call, range(1000), concurrency=2)
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(LookupError, match="no 3"):
        next(results)
    assert len(started) < 20


def test_stopping_early_starts_no_more_calls() -> None:
    started = itertools.count()
    results = thread_map(lambda n: next(started), range(1000), concurrency=4)
    for _ in results:
        break
    results.close()
    assert next(started) <= 9


@pytest.mark.parametrize("concurrency", [0, 65, 2.5, True])
def test_bad_concurrency_is_refused(concurrency: object) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        thread_map(str, [], concurrency=concurrency)  # type: ignore[arg-type]


def test_threads_share_the_clients_rate_limiter() -> None:
    clock = FakeClock()
    admitted: list[float] = []

    class Recording(RateLimiter):
        def acquire(self, sleep: object = None, *, retry: bool = False) -> float:
            at = super().acquire(clock.advance, retry=retry)
            admitted.append(at)
            return at

    script = Script(default=lambda request: ok(user_json(request.url.path.rsplit("/", 1)[-1])))
    alma = make_client(script, rate_limiter=Recording(25, clock=clock))
    users = list(thread_map(alma.users.get, [f"u{i}" for i in range(100)], concurrency=8))
    assert [u.primary_id for u in users] == [f"u{i}" for i in range(100)]
    assert max_in_any_window(admitted) == 25
