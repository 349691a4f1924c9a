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

from alma_onelink.sandbox import DUKE_SCENARIOS

STARTUP_LIMIT_SECONDS = 10.0


def _wait_for_address(server: subprocess.Popen[bytes], out: Path) -> tuple[int, str]:
    """The port (``--port 0``: the one bound) and key the server printed, once it answers on loopback."""
    deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the server exited early: {out.read_text(encoding='utf-8')}"
        text = out.read_text(encoding="utf-8")
        printed = re.search(r"API key \(read/write\): (\S+)", text)
        bound = re.search(r"Alma sandbox: http://127\.0\.0\.1:(\d+)/", text)
        if printed and bound:
            port = int(bound.group(1))
            with socket.socket() as probe:
                probe.settimeout(0.2)
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return port, printed.group(1)
        time.sleep(0.05)
    raise AssertionError(f"the server did not answer within {STARTUP_LIMIT_SECONDS} s")


def test_sandbox_serve_answers_on_loopback_and_never_logs_the_key(tmp_path: Path) -> None:
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    command = [sys.executable, "-m", "alma_onelink.cli", "sandbox", "serve", "--memory", "--port", "0",
               "--patrons", "5"]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "XDG_DATA_HOME": str(tmp_path / "xdg")}
    with out.open("wb") as stdout, err.open("wb") as stderr:
        server = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env)
    try:
        port, key = _wait_for_address(server, out)
        origin = f"http://127.0.0.1:{port}/almaws/v1"
        json_please = {"Accept": "application/json"}  # Alma (and the sandbox) answer XML unless asked
        with httpx.Client(base_url=origin, trust_env=False, timeout=5.0, headers=json_please) as client:
            by_header = client.get("/users", headers={"Authorization": f"apikey {key}"})
            by_query = client.get("/users?limit=2&apikey=" + key)
            by_encoded_name = client.get("/users?api%6Bey=" + key + "&limit=1")
        assert [r.status_code for r in (by_header, by_query, by_encoded_name)] == [200, 200, 200]
        assert by_header.json()["total_record_count"] == 5 + len(DUKE_SCENARIOS) - 1  # patrons + Duke scenarios
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
