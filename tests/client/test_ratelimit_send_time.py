"""The rate limiter's gate: a request leaves a window after the others *left*, not after they were let through.

Alma counts arrivals: a request let through while its connection still opens (a client's first
burst) leaves later than a request let through after it on a warm connection. The clients hold each
request at the limiter's gate just before its headers are written (httpx's ``trace`` extension);
here with httpcore's own connection pool on a network whose connections take 0.3 s to open (fake
clock, no sockets).
"""

from __future__ import annotations

import contextvars
import json
import typing
from collections.abc import Callable

import httpcore
import httpx
import pytest

from alma_onelink import AlmaClient, AsyncAlmaClient, RateLimiter
from alma_onelink._ratelimit import DEFAULT_EDGE_MARGIN
from tests.client.conftest import KEY, ORIGIN, AsyncSleeps, FakeClock, Sleeps, user_json
from tests.client.test_ratelimit import Advancing, Recording

SPAN = 1 + DEFAULT_EDGE_MARGIN
CONNECT = 0.3  # seconds to open a connection


# --- the gate ------------------------------------------------------------------------------------------


def _let_through(limiter: RateLimiter, sleep: Callable[[float], None] | None = None) -> contextvars.Context:
    """A context (a task's or thread's own) in which ``limiter`` let one request through."""
    context = contextvars.copy_context()
    context.run(limiter.acquire, sleep or Sleeps())
    return context


def test_a_request_that_left_late_holds_the_next_one_from_when_it_left() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, clock=clock)  # one a window: the second request waits for the first
    first = _following(limiter)
    clock.advance(CONNECT)  # its connection opens
    first.run(limiter.clear_to_send, Sleeps())
    sleeps = Advancing(clock)
    second = _following(limiter, sleeps)  # let through a window after the first was (the queue paces by that)...
    assert clock.now == pytest.approx(1000 + SPAN)
    second.run(limiter.clear_to_send, sleeps)  # ...it waits at the gate until a window after the first left
    assert clock.now == pytest.approx(1000 + CONNECT + SPAN)


def _following(limiter: RateLimiter, sleep: Callable[[float], None] | None = None) -> contextvars.Context:
    """A context in which ``limiter`` let one request through, followed to the gate (as the clients do)."""
    context = contextvars.copy_context()
    context.run(limiter.acquire, sleep or Sleeps())
    context.run(limiter.follow_send)
    return context


class GaveWay(Exception):
    """Raised by a test's sleep: the request was told to wait."""


def test_a_request_waiting_at_the_gate_goes_before_those_let_through_after_it() -> None:
    """Its connection took 1.5 s to open (a lost SYN): those let through later give it way, so it is not starved."""
    clock = FakeClock()
    limiter = RateLimiter(1, clock=clock)  # one a window
    first = _following(limiter)
    second = _following(limiter, Advancing(clock))
    second.run(limiter.clear_to_send, Sleeps())  # leaves at 1001.02: the first is still connecting
    clock.now = 1001.5  # the first's connection is open: it waits at the gate for a window after the second
    told: list[float] = []

    def third_sleep(seconds: float) -> None:
        told.append(seconds)
        raise GaveWay

    def first_sleep(seconds: float) -> None:
        # While the first waits, a third is let through (at 1002.04) and comes to the gate.
        third = _following(limiter, Advancing(clock))
        with pytest.raises(GaveWay):
            third.run(limiter.clear_to_send, third_sleep)
        clock.now = max(clock.now, 1001.5 + seconds)

    first.run(limiter.clear_to_send, first_sleep)
    assert clock.now == pytest.approx(1000 + 2 * SPAN)  # the first left when the window opened...
    assert told == [pytest.approx(SPAN)]  # ...and the third was told to wait a window after it


def test_a_request_that_passes_no_gate_counts_from_when_it_was_let_through() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, clock=clock)
    first = _following(limiter)
    clock.advance(0.3)
    first.run(limiter.finished)  # its transport never said when it left
    second = _following(limiter, Advancing(clock))
    second.run(limiter.clear_to_send, Sleeps())
    assert clock.now == pytest.approx(1000 + SPAN)  # a window after the first was let through, not 1000.3


def test_a_request_counts_from_when_it_was_written_out() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, clock=clock)
    first = _following(limiter)
    first.run(limiter.clear_to_send, Sleeps())
    clock.advance(0.05)  # a pause between the gate and the write
    first.run(limiter.sent)
    sleeps = Advancing(clock)
    second = _following(limiter, sleeps)
    second.run(limiter.clear_to_send, sleeps)
    assert clock.now == pytest.approx(1000.05 + SPAN)


def test_a_burst_leaves_a_window_after_the_burst_before_left_place_by_place() -> None:
    clock = FakeClock()
    limiter = RateLimiter(25, clock=clock)
    firsts = [_following(limiter) for _ in range(25)]
    for number, context in enumerate(firsts):
        clock.now = 1000.1 + number * 0.001  # connections open one after another
        context.run(limiter.clear_to_send, Sleeps())
    sleeps = Advancing(clock)
    seconds = [_following(limiter, sleeps) for _ in range(25)]
    left = []
    for context in seconds:
        context.run(limiter.clear_to_send, sleeps)
        left.append(clock.now)
    # Each goes a window after the one of the burst before in its place, not after the last of them.
    assert left == [pytest.approx(1000.1 + number * 0.001 + SPAN) for number in range(25)]


def test_the_gate_ignores_a_thread_or_task_it_did_not_let_through() -> None:
    clock = FakeClock()
    limiter, other = RateLimiter(1, clock=clock), RateLimiter(1, clock=clock)
    limiter.acquire(Sleeps())
    elsewhere = _let_through(other)
    never = Sleeps()
    for context in (elsewhere, contextvars.Context()):
        context.run(limiter.follow_send)
        context.run(limiter.clear_to_send, never)
        context.run(limiter.sent)
        context.run(limiter.finished)
    assert never.waits == []
    assert limiter.acquire(Advancing(clock)) == pytest.approx(1000 + SPAN)


def test_a_429_holds_back_at_the_gate_what_was_let_through_before_it() -> None:
    """The pause after a per-second 429, and the halved pace, reach requests already let through."""
    clock = FakeClock()
    limiter = RateLimiter(4, clock=clock)
    burst = [_following(limiter) for _ in range(4)]
    clock.advance(0.2)  # their connections are still opening when another request draws a 429
    limiter.slow_down()
    sleeps = Advancing(clock)
    left = []
    for context in burst:
        context.run(limiter.clear_to_send, sleeps)
        left.append(clock.now)
    # The pause first (0.1 s), then the pace of the halved rate (2 a window) as it climbs back:
    # a third when it reaches 3 a second (0.5 s after the cut), a fourth at 4 (1 s after).
    assert left == [pytest.approx(at) for at in (1000.3, 1000.3, 1000.7, 1001.2)]


def test_the_edge_margin_is_a_setting() -> None:
    clock = FakeClock()
    limiter = RateLimiter(25, edge_margin=0.05, clock=clock)
    times = [limiter.acquire(Advancing(clock)) for _ in range(26)]
    assert times[25] - times[0] == pytest.approx(1.05)
    assert "edge_margin=0.05" in repr(limiter)


# --- through httpx and httpcore ---------------------------------------------------------------------------


def _answers(count: int) -> list[bytes]:
    body = json.dumps(user_json("jdoe")).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return [head.encode() + body] * count


class Stream(httpcore.MockStream):
    """httpcore's mock connection, noting when each request is written (the fake clock's time)."""

    def __init__(self, answers: list[bytes], clock: FakeClock, written: list[float]) -> None:
        super().__init__(answers)
        self.clock, self.written = clock, written

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer.startswith(b"GET "):
            self.written.append(self.clock.now)


class AsyncStream(httpcore.AsyncMockStream):
    """`Stream` for the async pool."""

    def __init__(self, answers: list[bytes], clock: FakeClock, written: list[float]) -> None:
        super().__init__(answers)
        self.clock, self.written = clock, written

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer.startswith(b"GET "):
            self.written.append(self.clock.now)


class SlowNetwork(httpcore.MockBackend):
    """httpcore's mock network, whose connections take ``CONNECT`` seconds of the fake clock to open."""

    def __init__(self, clock: FakeClock, answers: list[bytes]) -> None:
        super().__init__(answers)
        self.clock = clock
        self.opened = 0
        self.written: list[float] = []

    def connect_tcp(self, host: str, port: int, *args: typing.Any, **kwargs: typing.Any) -> httpcore.NetworkStream:
        self.opened += 1
        self.clock.advance(CONNECT)
        return Stream(list(self._buffer), self.clock, self.written)


class AsyncSlowNetwork(httpcore.AsyncMockBackend):
    """`SlowNetwork` for the async pool."""

    def __init__(self, clock: FakeClock, answers: list[bytes]) -> None:
        super().__init__(answers)
        self.clock = clock
        self.opened = 0
        self.written: list[float] = []

    async def connect_tcp(
        self, host: str, port: int, *args: typing.Any, **kwargs: typing.Any
    ) -> httpcore.AsyncNetworkStream:
        self.opened += 1
        self.clock.advance(CONNECT)
        return AsyncStream(list(self._buffer), self.clock, self.written)


def test_the_sync_client_counts_a_request_from_when_it_left() -> None:
    clock = FakeClock()
    limiter = Recording(1, clock=clock)
    network = SlowNetwork(clock, _answers(2))
    transport = httpx.HTTPTransport()
    transport._pool = httpcore.ConnectionPool(network_backend=network)
    with AlmaClient(
        api_key=KEY, base_url=ORIGIN, transport=transport, rate_limiter=limiter, sleep=Advancing(clock)
    ) as alma:
        alma.users.get("jdoe")
        alma.users.get("jdoe")  # on the same connection, already open
    assert network.opened == 1
    # Let through at 1000.0 and 1001.02; out at 1000.3 (the connection opened), then a window and its
    # margin later, not at 1001.02.
    assert limiter.admitted == [1000.0, pytest.approx(1000 + SPAN)]
    assert network.written == [pytest.approx(1000 + CONNECT), pytest.approx(1000 + CONNECT + SPAN)]


async def test_the_async_client_counts_a_request_from_when_it_left() -> None:
    clock = FakeClock()
    limiter = Recording(1, clock=clock)
    network = AsyncSlowNetwork(clock, _answers(2))
    transport = httpx.AsyncHTTPTransport()
    transport._pool = httpcore.AsyncConnectionPool(network_backend=network)
    async with AsyncAlmaClient(
        api_key=KEY, base_url=ORIGIN, transport=transport, rate_limiter=limiter, sleep=AsyncSleeps(clock)
    ) as alma:
        await alma.users.get("jdoe")
        await alma.users.get("jdoe")
    assert network.opened == 1
    assert limiter.admitted == [1000.0, pytest.approx(1000 + SPAN)]
    assert network.written == [pytest.approx(1000 + CONNECT), pytest.approx(1000 + CONNECT + SPAN)]


def test_a_transport_that_reports_nothing_counts_the_request_when_it_was_let_through() -> None:
    clock = FakeClock()
    limiter = Recording(1, clock=clock)
    written: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        written.append(clock.now)
        clock.advance(CONNECT)  # slow, but it says nothing about when the request left
        return httpx.Response(200, json=user_json("jdoe"))

    with AlmaClient(
        api_key=KEY,
        base_url=ORIGIN,
        transport=httpx.MockTransport(answer),
        rate_limiter=limiter,
        sleep=Advancing(clock),
    ) as alma:
        alma.users.get("jdoe")
        alma.users.get("jdoe")
    assert limiter.admitted == [1000.0, pytest.approx(1000 + SPAN)]
    assert written == [1000.0, pytest.approx(1000 + SPAN)]  # no gate: out when let through
