"""Shared helpers for the client tests: a scripted ``httpx.MockTransport``, fake sleeps and clocks.

Nothing here touches the network or sleeps for real. A :class:`Script` answers requests from a
queue of replies (responses, exceptions to raise, or callables) and records every request it saw.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Mapping
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs

import httpx
import pytest

from alma_onelink import AlmaClient, AsyncAlmaClient

EXAMPLES = Path("/work/shared/alma-reference/examples")
KEY = "l7xx" + "0123456789abcdef0123456789abcdef"
ORIGIN = "https://api-na.hosted.exlibrisgroup.com"
API_ROOT = ORIGIN + "/almaws/v1"

Answer = httpx.Response | Coroutine[Any, Any, httpx.Response]
Reply = httpx.Response | BaseException | Callable[[httpx.Request], Answer]


@pytest.fixture(autouse=True)
def _clean_alma_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may pick up a developer's real ALMA_* settings."""
    for name in ("ALMA_API_KEY", "ALMA_REGION", "ALMA_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client built without a fake ``sleep=`` that really waits fails the test instead of slowing it."""
    real_async_sleep = asyncio.sleep

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"real time.sleep({seconds!r}) in a client test")

    async def no_async_sleep(seconds: float, result: Any = None) -> Any:
        if seconds > 0:
            raise AssertionError(f"real asyncio.sleep({seconds!r}) in a client test")
        return await real_async_sleep(0, result)

    monkeypatch.setattr(time, "sleep", no_sleep)
    monkeypatch.setattr(asyncio, "sleep", no_async_sleep)


# --- data ------------------------------------------------------------------------------------------


def example(name: str) -> Any:
    """A JSON example from the Alma reference material."""
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def example_bytes(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def user_json(primary_id: str, first_name: str = "Ada", last_name: str = "Lovelace", **extra: Any) -> dict[str, Any]:
    """A small but valid full user record."""
    return {
        "primary_id": primary_id,
        "first_name": first_name,
        "last_name": last_name,
        "record_type": {"value": "PUBLIC", "desc": "Public"},
        "account_type": {"value": "INTERNAL", "desc": "Internal"},
        "user_group": {"value": "ALUM", "desc": "Alumni"},
        "status": {"value": "ACTIVE", "desc": "Active"},
        **extra,
    }


def brief_user(primary_id: str) -> dict[str, Any]:
    """A brief search record, shaped like Alma's (``scriptotek_users_response.json``)."""
    return {
        "primary_id": primary_id,
        "first_name": "First",
        "last_name": primary_id.upper(),
        "status": {"value": "ACTIVE", "desc": "Active"},
        "link": f"{API_ROOT}/users/{primary_id}",
    }


# --- responses ---------------------------------------------------------------------------------------


def ok(
    body: Any = None, *, status: int = 200, remaining: int | None = None, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    extra = dict(headers or {})
    if remaining is not None:
        extra["X-Exl-Api-Remaining"] = str(remaining)
    if body is None:
        return httpx.Response(status, headers=extra)
    return httpx.Response(status, json=body, headers=extra)


def error_json(
    code: str, message: str = "Something went wrong.", tracking_id: str | None = "E01-TRACK-1"
) -> dict[str, Any]:
    """Alma's JSON error envelope (the shape of ``error_400_pulibrary.json``)."""
    body: dict[str, Any] = example("error_400_pulibrary.json")
    error = body["errorList"]["error"][0]
    error.update(errorCode=code, errorMessage=message)
    if tracking_id is None:
        del error["trackingId"]
    else:
        error["trackingId"] = tracking_id
    return body


def alma_error(
    status: int,
    code: str,
    message: str = "Something went wrong.",
    tracking_id: str | None = "E01-TRACK-1",
    **headers: str,
) -> httpx.Response:
    return httpx.Response(status, json=error_json(code, message, tracking_id), headers=headers)


def xml_error(status: int, code: str, message: str = "Something went wrong.") -> httpx.Response:
    """Alma's XML error (the real pulibrary file: XML declaration, then indented, leading whitespace)."""
    text = example_bytes("error_400_pulibrary.xml").decode()
    text = text.replace("402203", code).replace("Input parameters mmsId 1234 is not valid.", message)
    return httpx.Response(status, content=text.encode(), headers={"Content-Type": "application/xml"})


def not_found(user_id: str = "jdoe") -> httpx.Response:
    return alma_error(400, "401861", f"User with identifier {user_id} was not found.")


def per_second() -> httpx.Response:
    return httpx.Response(429, content=example_bytes("error_429_per_second_threshold_pulibrary.json"))


def daily() -> httpx.Response:
    return alma_error(429, "DAILY_THRESHOLD", "Daily threshold reached.")


# --- the scripted transport -------------------------------------------------------------------------


class Script:
    """Replies to requests in order and records them. Runs out → the test fails loudly.

    A reply is an ``httpx.Response``, an exception (raised, as a real transport would), or a
    callable taking the request. ``default`` answers every request after the queue is empty.
    """

    def __init__(self, *replies: Reply, default: Reply | None = None) -> None:
        self.replies: deque[Reply] = deque(replies)
        self.default = default
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> Answer:
        request.read()
        self.requests.append(request)
        if self.replies:
            reply = self.replies.popleft()
        elif self.default is not None:
            reply = self.default
        else:
            raise AssertionError(f"unexpected request: {request.method} {request.url}")
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        return reply(request)

    def add(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    @property
    def transport(self) -> httpx.MockTransport:
        # MockTransport awaits what the handler returns when it is a coroutine (async handlers).
        return httpx.MockTransport(cast("Callable[[httpx.Request], httpx.Response]", self))

    @property
    def methods(self) -> list[str]:
        return [r.method for r in self.requests]

    @property
    def calls(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request, the path without ``/almaws/v1``."""
        return [(r.method, r.url.path.removeprefix("/almaws/v1")) for r in self.requests]

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def params_of(request: httpx.Request) -> dict[str, str]:
    """The query of a request as a flat dict (every test parameter appears once)."""
    return {k: v[0] for k, v in parse_qs(request.url.query.decode(), keep_blank_values=True).items()}


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def path_of(request: httpx.Request) -> bytes:
    """The raw (still percent-encoded) path, without the query."""
    return request.url.raw_path.split(b"?", 1)[0]


# --- fake time ----------------------------------------------------------------------------------------


class Sleeps:
    """A ``sleep=`` for the sync client that only records how long it was asked to wait.

    (Not a ``list`` subclass: an empty list is falsy, and ``sleep or time.sleep`` would then sleep for real.)
    """

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class AsyncSleeps:
    """A ``sleep=`` for the async client: records the wait and yields to the loop once."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.waits: list[float] = []
        self.clock = clock

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.clock is not None:
            target = self.clock.now + seconds
            await asyncio.sleep(0)
            self.clock.now = max(self.clock.now, target)
        else:
            await asyncio.sleep(0)


class FakeClock:
    """A monotonic clock that only moves when the test moves it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# --- clients ------------------------------------------------------------------------------------------


def make_client(script: Script, *, sleep: Sleeps | None = None, **options: Any) -> AlmaClient:
    """A client on ``script`` with the rate limiter off (unless given) and a recording sleep."""
    options.setdefault("rate_limit", None)
    options.setdefault("api_key", KEY)
    return AlmaClient(transport=script.transport, sleep=sleep if sleep is not None else Sleeps(), **options)


def make_async_client(script: Script, *, sleep: AsyncSleeps | None = None, **options: Any) -> AsyncAlmaClient:
    options.setdefault("rate_limit", None)
    options.setdefault("api_key", KEY)
    return AsyncAlmaClient(transport=script.transport, sleep=sleep if sleep is not None else AsyncSleeps(), **options)


# --- an Alma directory that pages ---------------------------------------------------------------------


class Directory:
    """Answers ``GET /users`` like Alma: ``offset``/``limit`` over a list of users.

    ``total`` overrides the ``total_record_count`` Alma reports (``None`` = the true count,
    ``False`` = leave the key out). ``before_page`` may change ``ids`` between pages.
    """

    def __init__(
        self,
        count: int,
        *,
        total: int | bool | None = None,
        before_page: Callable[[Directory, int], None] | None = None,
    ) -> None:
        self.ids = [f"u{i:04d}" for i in range(count)]
        self.total = total
        self.before_page = before_page
        self.offsets: list[int] = []
        self.limits: list[int] = []

    def envelope(self, request: httpx.Request) -> dict[str, Any]:
        params = params_of(request)
        offset, limit = int(params.get("offset", "0")), int(params.get("limit", "10"))
        if self.before_page is not None:
            self.before_page(self, len(self.offsets))
        self.offsets.append(offset)
        self.limits.append(limit)
        chunk = self.ids[offset : offset + limit]
        body: dict[str, Any] = {}
        if chunk:
            body["user"] = [brief_user(i) for i in chunk]
        if self.total is None:
            body["total_record_count"] = len(self.ids)
        elif self.total is not False:
            body["total_record_count"] = self.total
        return body

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "GET"
        assert request.url.path == "/almaws/v1/users"
        return httpx.Response(200, json=self.envelope(request))


def ids_of(users: Iterable[Any]) -> list[str]:
    return [u.primary_id for u in users]
