"""Harness for the sandbox tests: every contract test runs through the three ways in.

``inprocess``: an ``httpx.Client`` on ``Sandbox.transport()`` (no sockets). ``async``: an
``httpx.AsyncClient`` on ``Sandbox.async_transport()``, behind a sync facade (one ``asyncio.run`` per
request). ``http``: the sandbox's ASGI app served by uvicorn on 127.0.0.1 (a free port, one server per
session in a background thread; each test points it at its own fresh sandbox). Nothing here sleeps for
real or leaves loopback.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn

from alma_onelink.errors import parse_error_details
from alma_onelink.sandbox import ManualClock, Sandbox
from alma_onelink.sandbox._asgi import ASGIApp, Message, Receive, Scope, Send
from alma_onelink.testing._sandbox_fixtures import alma, alma_sandbox, async_alma

__all__ = ["alma", "alma_sandbox", "async_alma"]  # the plugin's fixtures, for test_sandbox_fixtures

WAYS = ("inprocess", "async", "http")
JSON_ACCEPT = {"Accept": "application/json"}
NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)


class _SwitchableApp:
    """One server for the session; each test plugs its own sandbox's app in."""

    def __init__(self) -> None:
        self.target: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message: Message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert self.target is not None, "no sandbox plugged into the test server"
        await self.target(scope, receive, send)


class _ThreadedServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self.port = 0

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        # Port 0 asked the OS for a free port: read back which one it gave.
        self.port = self.servers[0].sockets[0].getsockname()[1]
        self.ready.set()


@dataclass
class LiveServer:
    """The session's uvicorn server on loopback."""

    app: _SwitchableApp
    origin: str


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    """uvicorn on 127.0.0.1 and a free port, in a background thread, for the whole session."""
    app = _SwitchableApp()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, http="h11", lifespan="on", log_level="warning", access_log=False
    )
    server = _ThreadedServer(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert server.ready.wait(10), "the test server did not start"
    try:
        yield LiveServer(app=app, origin=f"http://127.0.0.1:{server.port}")
    finally:
        server.should_exit = True
        thread.join(10)


class AsyncFacade(httpx.BaseTransport):
    """A sync transport that sends each request with an ``httpx.AsyncClient`` on the async transport.

    Each request runs in its own ``asyncio.run``, so sync tests drive the async way in unchanged;
    the async transport's exceptions (``ReadTimeout``, ``ConnectError``) come through as they are.
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self.transport = sandbox.async_transport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def send() -> httpx.Response:
            async with httpx.AsyncClient(transport=self.transport, trust_env=False) as client:
                response = await client.send(request)
                await response.aread()
                return response

        answer = asyncio.run(send())
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content, request=request)


@dataclass
class Api:
    """One way in to one sandbox: ``client`` is an ``httpx.Client`` rooted at ``…/almaws/v1``."""

    sandbox: Sandbox
    way: str
    origin: str
    client: httpx.Client = field(init=False)

    def anonymous(self, **options: Any) -> httpx.Client:
        """A client on the same way in, without the API key, asking for JSON."""
        return self._client(headers=dict(JSON_ACCEPT), **options)

    def with_key(self, key: str, **options: Any) -> httpx.Client:
        """A client on the same way in, sending ``key`` and asking for JSON (Alma's default is XML)."""
        return self._client(headers={"Authorization": f"apikey {key}", **JSON_ACCEPT}, **options)

    def _client(self, **options: Any) -> httpx.Client:
        if self.way == "http":
            # Plain HTTP on loopback: skip building a TLS context (slow) and ignore proxy settings.
            return httpx.Client(base_url=self.origin + "/almaws/v1", trust_env=False, verify=False, **options)
        transport = AsyncFacade(self.sandbox) if self.way == "async" else self.sandbox.transport()
        return httpx.Client(base_url=self.origin + "/almaws/v1", transport=transport, **options)


MakeApi = Callable[..., Api]


@pytest.fixture(params=WAYS)
def way(request: pytest.FixtureRequest) -> str:
    """``inprocess``, ``async`` or ``http``."""
    return str(request.param)


@pytest.fixture
def make_api(way: str, request: pytest.FixtureRequest) -> Iterator[MakeApi]:
    """Build a sandbox with the given options (clock frozen at NOW by default) and a client on it."""
    made: list[tuple[Sandbox, httpx.Client]] = []

    def make(read_timeout: float = 5.0, **options: Any) -> Api:
        options.setdefault("now", lambda: NOW)
        options.setdefault("per_second_limit", None)
        sandbox = Sandbox(**options)
        if way == "http":
            server: LiveServer = request.getfixturevalue("live_server")
            server.app.target = sandbox.asgi_app()
            origin = server.origin
        else:
            origin = sandbox.base_url
        api = Api(sandbox=sandbox, way=way, origin=origin)
        api.client = api.with_key(sandbox.api_key, timeout=httpx.Timeout(5.0, read=read_timeout))
        made.append((sandbox, api.client))
        return api

    yield make
    for sandbox, client in made:
        client.close()
        sandbox.close()


@pytest.fixture
def api(make_api: MakeApi) -> Api:
    """A fresh empty sandbox (code tables only) behind one way in."""
    return make_api()


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when a test (or an injected sleep) moves it."""
    return ManualClock(1000.0)


def user_body(primary_id: str = "ada01", **fields: Any) -> dict[str, Any]:
    """A minimal valid POST /users body."""
    body: dict[str, Any] = {
        "record_type": {"value": "PUBLIC"},
        "primary_id": primary_id,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "user_group": {"value": "PUBLIC"},
        "account_type": {"value": "INTERNAL"},
    }
    body.update(fields)
    return body


def error_code(response: httpx.Response) -> str:
    """Alma's error code from a JSON or XML error body."""
    details = parse_error_details(response.content)
    assert details, f"not an Alma error body: {response.text[:200]}"
    return details[0].code
