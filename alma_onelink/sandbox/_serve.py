"""The sandbox served over real HTTP on loopback, in a background thread: for tests and benchmarks."""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import TYPE_CHECKING

import uvicorn

if TYPE_CHECKING:
    from ._sandbox import Sandbox

__all__ = ["ServedSandbox"]


class _ThreadServer(uvicorn.Server):
    """uvicorn off the main thread (no signal handlers), telling which port the OS gave for port 0."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self.port = 0

    def install_signal_handlers(self) -> None:  # not the main thread: the caller stops it with stop()
        return None

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            super().run(sockets=sockets)
        except SystemExit:  # uvicorn exits when it cannot bind: the caller sees port 0 and says so
            pass
        finally:
            self.ready.set()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.servers:
            self.port = self.servers[0].sockets[0].getsockname()[1]
        self.ready.set()


class ServedSandbox:
    """A `Sandbox` served on ``http://127.0.0.1:<port>`` in a background thread; ``origin`` is its base URL.

    Build it with ``sandbox.serve_in_thread()``; stop it with `stop` or a ``with`` block. The port is
    the one the OS gave (port 0 unless you ask for another). Raises ``RuntimeError`` if the server
    does not start within ``start_timeout`` seconds (the port is taken, for instance).
    """

    def __init__(
        self, sandbox: Sandbox, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning",
        start_timeout: float = 10.0,
    ) -> None:  # fmt: skip
        config = uvicorn.Config(
            sandbox.asgi_app(), host=host, port=port, http="h11", lifespan="off", log_level=log_level, access_log=False
        )
        self._server = _ThreadServer(config)
        self._thread = threading.Thread(target=self._server.run, name="alma-onelink-sandbox", daemon=True)
        self._thread.start()
        if not self._server.ready.wait(start_timeout) or not self._server.port:
            self.stop()
            raise RuntimeError(f"the sandbox server did not start on {host}:{port} within {start_timeout:g} s")
        self.host = host
        self.port = self._server.port
        self.origin = f"http://{host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait (up to ``timeout`` seconds) for the thread to end."""
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> ServedSandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<ServedSandbox {self.origin}>"
