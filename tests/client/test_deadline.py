"""A response's bounds: ``timeout`` is a deadline for the whole response, and a body has a size cap.

The deadline runs against a real loopback server that drips its body one byte at a time (what a broken
proxy did to a staff command for more than 100 s); it answers in a background thread and waits on an
event between bytes, and the tests assert the error type and that the call ended long before the drip
would have. The size cap runs on ``httpx.MockTransport`` bodies that count how much of them was read.
"""

from __future__ import annotations

import gzip
import http.server
import socketserver
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from alma_onelink import AlmaClient, AsyncAlmaClient, InputError
from alma_onelink.errors import APIResponseValidationError, APITimeoutError, ResponseTooLargeError
from tests.client.conftest import KEY, Script, Sleeps, make_async_client, make_client, ok, user_json

DEADLINE = 0.3
DRIP_BYTES = 100
DRIP_EVERY = 0.1  # the whole drip: 10 s
WELL_BEFORE = 5.0  # the call must have ended by then: half the drip, over 15 times the deadline


@dataclass
class Drip:
    """A loopback server answering 200 and then one byte every `DRIP_EVERY` s (``silent``: one byte, then nothing)."""

    silent: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    requests: int = 0
    origin: str = ""


@pytest.fixture
def drip() -> Iterator[Drip]:
    state = Drip()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def do_GET(self) -> None:
            state.requests += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(DRIP_BYTES))
            self.end_headers()
            for _ in range(1 if state.silent else DRIP_BYTES):
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:  # the client gave up and closed: stop dripping
                    return
                if state.stop.wait(DRIP_EVERY):
                    return
            state.stop.wait(DRIP_BYTES * DRIP_EVERY)

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.origin = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        state.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize("silent", [False, True], ids=["drip", "silent after one byte"])
def test_a_slow_body_is_cut_off_at_the_deadline(drip: Drip, silent: bool) -> None:
    drip.silent = silent
    alma = AlmaClient(api_key=KEY, base_url=drip.origin, timeout=DEADLINE, max_retries=0, rate_limit=None)
    began = time.monotonic()
    with alma, pytest.raises(APITimeoutError) as cut:
        alma.users.get("0123456")
    assert time.monotonic() - began < WELL_BEFORE
    assert "a deadline for the whole response" in str(cut.value)
    assert cut.value.request_sent is True


async def test_the_async_client_holds_the_deadline_too(drip: Drip) -> None:
    alma = AsyncAlmaClient(api_key=KEY, base_url=drip.origin, timeout=DEADLINE, max_retries=0, rate_limit=None)
    began = time.monotonic()
    async with alma:
        with pytest.raises(APITimeoutError, match="a deadline for the whole response"):
            await alma.users.get("0123456")
    assert time.monotonic() - began < WELL_BEFORE


def test_each_retry_gets_the_deadline_again(drip: Drip) -> None:
    sleeps = Sleeps()
    alma = AlmaClient(api_key=KEY, base_url=drip.origin, timeout=DEADLINE, max_retries=2, rate_limit=None, sleep=sleeps)
    began = time.monotonic()
    with alma, pytest.raises(APITimeoutError):
        alma.users.get("0123456")  # a read: a timeout is safe to retry
    assert time.monotonic() - began < 2 * WELL_BEFORE
    assert drip.requests == 3
    assert len(sleeps.waits) == 2


# --- the size cap ----------------------------------------------------------------------------------------


class Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body of ``chunks`` chunks of ``size`` bytes that counts how many were read."""

    def __init__(self, chunks: int, size: int = 1024) -> None:
        self.chunks, self.size, self.read = chunks, size, 0

    def _next(self) -> bytes:
        self.read += 1
        return b" " * self.size

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(self.chunks):
            yield self._next()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            yield self._next()


def test_a_declared_length_past_the_cap_is_refused_before_reading() -> None:
    body = Body(chunks=10)
    script = Script(httpx.Response(200, headers={"Content-Length": "10240"}, stream=body))
    with pytest.raises(ResponseTooLargeError) as refused:
        make_client(script, max_response_bytes=4096).users.get("jdoe")
    assert body.read == 0
    assert refused.value.limit == 4096
    assert refused.value.status_code == 200
    assert "is 10,240 bytes (its Content-Length)" in str(refused.value)
    assert "the call itself was carried out" in str(refused.value)
    assert isinstance(refused.value, APIResponseValidationError)  # handled wherever a bad body is


def test_a_body_without_a_length_is_read_only_up_to_the_cap() -> None:
    body = Body(chunks=1000)
    with pytest.raises(ResponseTooLargeError, match="ran past 4,096 bytes"):
        make_client(Script(httpx.Response(200, stream=body)), max_response_bytes=4096).users.get("jdoe")
    assert body.read == 5  # the fifth chunk crossed the cap; the other 995 stayed unread


def test_the_cap_counts_the_decoded_body() -> None:
    bomb = gzip.compress(b" " * 200_000)  # a few hundred bytes on the wire
    response = httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=bomb)
    with pytest.raises(ResponseTooLargeError):
        make_client(Script(response), max_response_bytes=100_000).users.get("jdoe")


def test_an_error_body_past_the_cap_says_the_status_only() -> None:
    script = Script(httpx.Response(400, stream=Body(chunks=10)))
    with pytest.raises(ResponseTooLargeError) as refused:
        make_client(script, max_response_bytes=1000, max_retries=0).users.get("jdoe")
    assert refused.value.status_code == 400
    assert "carried out" not in str(refused.value)


def test_a_body_within_the_cap_is_read_whole() -> None:
    user = make_client(Script(ok(user_json("jdoe"))), max_response_bytes=10_000).users.get("jdoe")
    assert user.primary_id == "jdoe"


def test_with_options_changes_the_cap_and_bad_caps_are_refused() -> None:
    script = Script(ok(user_json("jdoe")), ok(user_json("jdoe")))
    alma = make_client(script)
    with pytest.raises(ResponseTooLargeError):
        alma.with_options(max_response_bytes=10).users.get("jdoe")
    assert alma.users.get("jdoe").primary_id == "jdoe"  # the original keeps the default 50 MiB
    for bad in (0, -1, 1.5, True, "10"):
        with pytest.raises(InputError, match="max_response_bytes"):
            make_client(Script(), max_response_bytes=bad)


async def test_the_async_client_keeps_the_cap() -> None:
    body = Body(chunks=1000)
    async with make_async_client(Script(httpx.Response(200, stream=body)), max_response_bytes=4096) as alma:
        with pytest.raises(ResponseTooLargeError):
            await alma.users.get("jdoe")
    assert body.read == 5


def test_a_too_large_answer_is_not_retried() -> None:
    sleeps = Sleeps()
    script = Script(httpx.Response(200, stream=Body(chunks=10)))
    with pytest.raises(ResponseTooLargeError):
        make_client(script, sleep=sleeps, max_response_bytes=100, max_retries=3).users.get("jdoe")
    assert (len(script.requests), sleeps.waits) == (1, [])
