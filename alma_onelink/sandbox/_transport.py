"""httpx transports over the sandbox: in-process, no sockets, the same behaviour as over HTTP.

Faults surface as the exceptions a real network gives httpx:

- ``read_timeout``: the request is lost before Alma applies it; ``httpx.ReadTimeout``.
- ``connection_reset``: the connection is reset before the request is sent, so nothing is applied;
  ``httpx.ConnectError`` (safe to retry for any method).
- ``commit_then_fail``: Alma applies the request, then the response is lost; ``httpx.ReadTimeout``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from ._http import SandboxRequest, SandboxResponse

if TYPE_CHECKING:
    from ._sandbox import Sandbox

__all__ = ["async_transport", "sync_transport"]


def request_from_httpx(request: httpx.Request, body: bytes) -> SandboxRequest:
    """The sandbox's view of an httpx request; the raw path keeps percent-encoded ids intact."""
    path, _, query = request.url.raw_path.partition(b"?")
    origin = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
    return SandboxRequest(
        method=request.method,
        path=path.decode("ascii", "replace"),
        query=query.decode("ascii", "replace"),
        headers=dict(request.headers.items()),
        body=body,
        origin=origin,
    )


def _deliver(request: httpx.Request, response: SandboxResponse) -> httpx.Response:
    if response.fault == "connection_reset":
        raise httpx.ConnectError("[Errno 104] Connection reset by peer (sandbox fault)", request=request)
    if response.fault in ("read_timeout", "commit_then_fail"):
        raise httpx.ReadTimeout(f"The read operation timed out (sandbox fault: {response.fault})", request=request)
    return httpx.Response(response.status, headers=response.headers, content=response.body, request=request)


def sync_transport(sandbox: Sandbox) -> httpx.MockTransport:
    """A transport for ``httpx.Client``: latency is waited out with ``sandbox.sleep``."""

    def handler(request: httpx.Request) -> httpx.Response:
        response = sandbox.handle(request_from_httpx(request, request.read()))
        if response.delay > 0:
            sandbox.sleep(response.delay)
        return _deliver(request, response)

    return httpx.MockTransport(handler)


def async_transport(sandbox: Sandbox) -> httpx.MockTransport:
    """A transport for ``httpx.AsyncClient``: latency is waited out with ``sandbox.async_sleep``."""

    async def handler(request: httpx.Request) -> httpx.Response:
        response = sandbox.handle(request_from_httpx(request, await request.aread()))
        if response.delay > 0:
            await sandbox.async_sleep(response.delay)
        return _deliver(request, response)

    return httpx.MockTransport(handler)
