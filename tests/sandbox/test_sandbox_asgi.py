"""The ASGI app on its own: lifespan, non-HTTP scopes, raw paths, and a server log free of keys and noise."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from alma_onelink.sandbox import Sandbox
from alma_onelink.sandbox._asgi import DropConnection, Message
from tests.sandbox.conftest import NOW


class _Wire:
    """Feeds an ASGI app scripted messages and records what it sends."""

    def __init__(self, *incoming: Message) -> None:
        self.incoming = list(incoming)
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        return self.incoming.pop(0) if self.incoming else {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)


def _http_scope(path: bytes, query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": path.decode(),
        "raw_path": path,
        "query_string": query,
        "headers": headers or [(b"host", b"alma.test:8000")],
        "scheme": "http",
    }


async def test_lifespan_start_and_stop() -> None:
    wire = _Wire({"type": "lifespan.startup"}, {"type": "lifespan.shutdown"})
    await Sandbox().asgi_app()({"type": "lifespan"}, wire.receive, wire.send)
    assert [m["type"] for m in wire.sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_websockets_are_refused() -> None:
    wire = _Wire()
    await Sandbox().asgi_app()({"type": "websocket"}, wire.receive, wire.send)
    assert wire.sent == [{"type": "websocket.close", "code": 1003}]


async def test_raw_path_keeps_encoded_slashes_and_links_use_the_host_header() -> None:
    sandbox = Sandbox(now=lambda: NOW)
    sandbox.users.create(
        {
            "record_type": "PUBLIC",
            "primary_id": "a/b",
            "last_name": "X",
            "account_type": "INTERNAL",
            "user_group": "PUBLIC",
        }
    )
    wire = _Wire({"type": "http.request", "body": b""})
    scope = _http_scope(b"/almaws/v1/users", f"q=primary_id~a/b&format=json&apikey={sandbox.api_key}".encode())
    await sandbox.asgi_app()(scope, wire.receive, wire.send)
    start, body = wire.sent
    assert start["status"] == 200
    assert b'"link":"http://alma.test:8000/almaws/v1/users/a%2Fb"' in body["body"]
    wire = _Wire({"type": "http.request", "body": b""})
    await sandbox.asgi_app()(
        _http_scope(b"/almaws/v1/users/a%2Fb", f"apikey={sandbox.api_key}".encode()), wire.receive, wire.send
    )
    assert wire.sent[0]["status"] == 200


async def test_a_client_that_hangs_up_mid_request_gets_nothing_and_nothing_is_done() -> None:
    sandbox = Sandbox()
    wire = _Wire({"type": "http.request", "body": b"{", "more_body": True}, {"type": "http.disconnect"})
    await sandbox.asgi_app()(_http_scope(b"/almaws/v1/users"), wire.receive, wire.send)
    assert wire.sent == []
    assert sandbox.request_log == []


@pytest.mark.parametrize(
    ("path", "masked"),
    [
        ("/x?apikey=l7xxsecret&a=1", "/x?apikey=***&a=1"),
        ("/x?a=1&api%6Bey=l7xxsecret", "/x?a=1&api%6Bey=***"),
        ("/x?API%4BEY=l7xxsecret&password=l7xxsecret", "/x?API%4BEY=***&password=***"),
        ("/x?apikeys=1&my_apikey=2", "/x?apikeys=1&my_apikey=2"),
    ],
)
def test_server_access_log_masks_keys_by_their_decoded_name(path: str, masked: str) -> None:
    Sandbox().asgi_app()  # installs the filters
    access = logging.getLogger("uvicorn.access")
    line = '%s - "%s %s HTTP/%s" %d'
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, line, ("127.0.0.1:1", "GET", path, "1.1", 200), None
    )
    assert access.filter(record)
    assert record.getMessage() == f'127.0.0.1:1 - "GET {masked} HTTP/1.1" 200'


def test_server_log_hides_deliberate_drops() -> None:
    Sandbox().asgi_app()  # installs the filters
    error_log = logging.getLogger("uvicorn.error")
    dropped = logging.LogRecord(
        "uvicorn.error",
        logging.ERROR,
        __file__,
        1,
        "Exception in ASGI application",
        None,
        (DropConnection, DropConnection(), None),
    )
    assert not error_log.filter(dropped)
