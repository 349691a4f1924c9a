"""``Sandbox.serve_in_thread()``: the sandbox over real HTTP on loopback, on a port the OS chose."""

from __future__ import annotations

import socket

import httpx
import pytest

from alma_onelink import AlmaClient
from alma_onelink.sandbox import Sandbox


def test_a_served_sandbox_answers_over_http_and_stops() -> None:
    with Sandbox.demo(patrons=0) as sandbox, sandbox.serve_in_thread() as served:
        assert served.origin == f"http://127.0.0.1:{served.port}"
        assert served.port > 0
        with AlmaClient(api_key=sandbox.api_key, base_url=served.origin) as alma:
            assert alma.users.get("jd123").last_name == "Doe"
    with pytest.raises(httpx.ConnectError):
        httpx.get(served.origin + "/almaws/v1/users/jd123", timeout=2)


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with Sandbox() as sandbox, pytest.raises(RuntimeError, match="did not start"):
            sandbox.serve_in_thread(port=port, log_level="critical")
