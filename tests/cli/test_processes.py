"""``alma-onelink`` as a real process: the demo, ``| head``, Ctrl-C, and ``serve`` + ``register --base-url``.

Each waits on the process for a bounded time only (never a fixed sleep); ports come from ``--port 0``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.conftest import ENV_VARS, TODAY

LIMIT_SECONDS = 20.0
COMMAND = [sys.executable, "-m", "alma_onelink.cli"]


def environment(tmp_path: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in ENV_VARS}
    return {**env, "PYTHONUNBUFFERED": "1", "XDG_DATA_HOME": str(tmp_path / "xdg"), "COLUMNS": "200"}


@dataclass
class Server:
    process: subprocess.Popen[str]
    origin: str
    key: str
    err: Path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """``alma-onelink sandbox serve --memory --port 0``, its origin and key read from what it printed."""
    err = tmp_path / "serve.err"
    with err.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [*COMMAND, "sandbox", "serve", "--memory", "--port", "0", "--patrons", "3"],
            stdout=subprocess.PIPE, stderr=stderr, text=True, env=environment(tmp_path),
        )  # fmt: skip
    try:
        assert process.stdout is not None
        printed = ""
        deadline = time.monotonic() + LIMIT_SECONDS
        while "API key" not in printed and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            printed += line
        found = re.search(r"Alma sandbox: (http://127\.0\.0\.1:(\d+))/almaws/v1", printed)
        key = re.search(r"API key \(read/write\): (\S+)", printed)
        assert found, f"serve printed: {printed!r}; stderr: {err.read_text(encoding='utf-8')}"
        assert key, printed
        assert found.group(2) != "0"  # the port actually bound
        yield Server(process, found.group(1), key.group(1), err)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=LIMIT_SECONDS)
        if process.stdout is not None:
            process.stdout.close()


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, env=environment(tmp_path), timeout=LIMIT_SECONDS, check=False
    )


def test_the_demo_runs_as_a_command(tmp_path: Path) -> None:
    done = run(tmp_path, "demo", "--patrons", "5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("alma-onelink demo")
    assert "Sandbox in memory" in done.stderr
    assert "Traceback" not in done.stderr
    as_json = run(tmp_path, "demo", "--patrons", "0", "--json")
    assert json.loads(as_json.stdout)["exit_code"] == 0


def test_a_huge_demo_is_refused_at_its_cap(tmp_path: Path) -> None:
    done = run(tmp_path, "demo", "--patrons", "100000")
    assert done.returncode == 2
    assert "'--patrons'" in done.stderr
    assert "2000" in done.stderr
    assert done.stdout == ""


@pytest.mark.skipif(shutil.which("head") is None, reason="needs head")
def test_demo_piped_to_head_ends_quietly(tmp_path: Path) -> None:
    shell = f"{' '.join(COMMAND)} demo | head -n 3"
    done = subprocess.run(
        ["/bin/sh", "-c", f"{shell}; echo status=${{?}}"],
        capture_output=True, text=True, env=environment(tmp_path), timeout=LIMIT_SECONDS, check=False,
    )  # fmt: skip
    lines = done.stdout.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("alma-onelink demo")
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr
    assert "Exception ignored" not in done.stderr


def test_ctrl_c_stops_serve_at_once_with_one_line_even_with_a_connection_open(server: Server) -> None:
    port = int(server.origin.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=LIMIT_SECONDS) as held:
        request = f"GET /almaws/v1/users?limit=1 HTTP/1.1\r\nHost: x\r\nAuthorization: apikey {server.key}\r\n\r\n"
        held.sendall(request.encode())
        assert held.recv(15).startswith(b"HTTP/1.1 200")  # answered; the connection stays open (keep-alive)
        started = time.monotonic()
        server.process.send_signal(signal.SIGINT)
        server.process.wait(timeout=LIMIT_SECONDS)
        assert time.monotonic() - started < 10
    assert server.process.returncode == 130
    err = server.err.read_text(encoding="utf-8")
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err
    assert err.strip().splitlines()[-1] == "Stopped; nothing was sent."


def test_register_against_the_served_sandbox_never_shows_the_key(server: Server, tmp_path: Path) -> None:
    target = ["--base-url", server.origin, "--api-key", server.key, "--journal", str(tmp_path / "j.jsonl")]
    patron = ["--onelink-id", "2000001", "--first-name", "Ann", "--last-name", "Lee", "--affiliation", "alumni",
              "--graduated-on", "2015-05-10", "--today", TODAY]  # fmt: skip
    done = run(tmp_path, *target, "register", *patron, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outcome"] == "created"
    assert done.stderr.splitlines()[0] == f"Alma at {server.origin} (key from --api-key)"
    shown = run(tmp_path, *target, "user", "show", "2000001")
    assert shown.returncode == 0
    assert "2000001" in shown.stdout
    for output in (done.stdout, done.stderr, shown.stdout, shown.stderr):
        assert server.key not in output
    wrong_key = "l7xx" + "f" * 32
    refused = run(tmp_path, "--base-url", server.origin, "--api-key", wrong_key, "user", "show", "2000001", "--debug")
    assert refused.returncode == 3
    assert "error: Alma said:" in refused.stderr
    assert "UNAUTHORIZED" in refused.stderr
    assert wrong_key not in refused.stdout + refused.stderr
    assert server.key not in server.err.read_text(encoding="utf-8")  # nor in the server's log
