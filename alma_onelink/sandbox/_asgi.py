"""The sandbox as a plain ASGI application, for real HTTP on loopback (``alma-onelink sandbox serve``).

Faults are acted out on the wire: ``read_timeout`` and ``commit_then_fail`` never answer (the client's
read timeout fires; the handler stops waiting when the client hangs up), and ``connection_reset``
drops the connection after the status line, which httpx reports as ``httpx.RemoteProtocolError``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from ._http import SandboxRequest
from ._log import mask_urls

if TYPE_CHECKING:
    from ._sandbox import Sandbox

__all__ = ["ASGIApp", "SandboxASGI"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# How long a "lost" response keeps the connection open if the client never gives up.
HANG_LIMIT_SECONDS = 300.0


class DropConnection(Exception):
    """Raised after the response started: the server closes the connection without finishing it."""


class _QuietDrops(logging.Filter):
    """Keeps the server log free of tracebacks for connections the sandbox drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DropConnection))


class _MaskKeys(logging.Filter):
    """Masks the API key (and any password) in the server's access log, as the request log does.

    A parameter is masked when its percent-decoded name is ``apikey`` or ``password`` in any case,
    so ``api%6Bey=…`` is masked too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(mask_urls(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif not record.args and isinstance(record.msg, str):
            record.msg = mask_urls(record.msg)
        return True


def _install_log_filters() -> None:
    for name, kind in (("uvicorn.error", _QuietDrops), ("uvicorn.access", _MaskKeys)):
        server_log = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in server_log.filters):
            server_log.addFilter(kind())


class SandboxASGI:
    """An ASGI 3 application answering every HTTP request with ``sandbox.handle``; supports lifespan."""

    def __init__(self, sandbox: Sandbox) -> None:
        """Serve ``sandbox``."""
        self.sandbox = sandbox
        _install_log_filters()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope (``http`` or ``lifespan``; websockets are refused)."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1003})
            return
        request = await self._read(scope, receive)
        if request is None:
            return  # the client hung up before sending its whole request: nothing to answer
        # The store may block on a lock or a disk write: keep the event loop free for other clients.
        response = await asyncio.to_thread(self.sandbox.handle, request)
        if response.delay > 0:
            await self.sandbox.async_sleep(response.delay)
        if response.fault in ("read_timeout", "commit_then_fail"):
            await self._hang(receive)
            return
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
        if response.fault == "connection_reset":
            await send({"type": "http.response.start", "status": 502, "headers": headers})
            raise DropConnection
        if response.status not in (204, 304):  # HTTP forbids a length on these
            headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    @staticmethod
    async def _read(scope: Scope, receive: Receive) -> SandboxRequest | None:
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        path = bytes(raw_path).split(b"?", 1)[0].decode("latin-1")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host") or "{}:{}".format(*(scope.get("server") or ("127.0.0.1", 80)))
        return SandboxRequest(
            method=scope["method"],
            path=path,
            query=bytes(scope.get("query_string", b"")).decode("latin-1"),
            headers=headers,
            body=b"".join(chunks),
            origin=f"{scope.get('scheme', 'http')}://{host}",
        )

    @staticmethod
    async def _hang(receive: Receive) -> None:
        """Never answer: wait until the client hangs up (or a generous limit), like a lost response."""

        async def until_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        try:
            await asyncio.wait_for(until_disconnect(), HANG_LIMIT_SECONDS)
        except TimeoutError:
            raise DropConnection from None
