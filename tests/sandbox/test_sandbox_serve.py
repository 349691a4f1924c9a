"""``alma-onelink sandbox serve`` for real: a subprocess on 127.0.0.1, called over HTTP, then stopped.

The printed output and the server's access log must never show the API key in a URL.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

STARTUP_LIMIT_SECONDS = 10.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_key(server: subprocess.Popen[bytes], out: Path, port: int) -> str:
    """The key the server printed, once it answers on loopback (at most ``STARTUP_LIMIT_SECONDS``)."""
    deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the server exited early: {out.read_text(encoding='utf-8')}"
        printed = re.search(r"API key \(read/write\): (\S+)", out.read_text(encoding="utf-8"))
        if printed:
            with socket.socket() as probe:
                probe.settimeout(0.2)
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return printed.group(1)
        time.sleep(0.05)
    raise AssertionError(f"the server did not answer within {STARTUP_LIMIT_SECONDS} s")


def test_sandbox_serve_answers_on_loopback_and_never_logs_the_key(tmp_path: Path) -> None:
    port = _free_port()
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    command = [sys.executable, "-m", "alma_onelink.cli", "sandbox", "serve", "--memory", "--port", str(port),
               "--patrons", "5"]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "XDG_DATA_HOME": str(tmp_path / "xdg")}
    with out.open("wb") as stdout, err.open("wb") as stderr:
        server = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env)
    try:
        key = _wait_for_key(server, out, port)
        origin = f"http://127.0.0.1:{port}/almaws/v1"
        with httpx.Client(base_url=origin, trust_env=False, timeout=5.0) as client:
            by_header = client.get("/users", headers={"Authorization": f"apikey {key}"})
            by_query = client.get("/users?limit=2&apikey=" + key)
            by_encoded_name = client.get("/users?api%6Bey=" + key + "&limit=1")
        assert [r.status_code for r in (by_header, by_query, by_encoded_name)] == [200, 200, 200]
        assert by_header.json()["total_record_count"] == 5 + 5  # the patrons and the Duke scenarios
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
    printed = out.read_text(encoding="utf-8") + err.read_text(encoding="utf-8")
    access = [line for line in printed.splitlines() if "GET /almaws/v1/users" in line]
    assert len(access) == 3, printed
    assert all(key not in line for line in access)
    assert "api%6Bey=***" in printed
    urls = re.findall(r"(?:https?://|GET |POST )\S+", printed)
    assert urls
    assert all(key not in url for url in urls)
