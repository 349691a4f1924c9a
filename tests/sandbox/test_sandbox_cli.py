"""``alma-onelink sandbox serve | seed | reset``: each flag reaches the sandbox (the server faked); bad flags exit 2.

The server itself runs for real in ``test_sandbox_serve.py`` and ``tests/cli/test_processes.py``.
"""

from __future__ import annotations

import inspect
import re
import socket
from pathlib import Path

import pytest

from alma_onelink import cli, demo
from alma_onelink.cli import _sandbox
from alma_onelink.sandbox import DUKE_SCENARIOS, Faults, Sandbox, default_db_path

Served = list[tuple[Sandbox, str, int, int]]


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Served:
    """Replace the real server: record the sandbox, the address bound and the user count it would have served."""
    calls: Served = []

    def fake_run(sandbox: Sandbox, sock: socket.socket) -> None:
        host, port = sock.getsockname()[:2]
        calls.append((sandbox, host, port, len(sandbox.users)))

    monkeypatch.setattr(_sandbox, "run_server", fake_run)
    return calls


@pytest.fixture(autouse=True)
def _data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the default database inside the test's temporary folder, and no Alma key around."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("ALMA_API_KEY", raising=False)


def one_line(text: str) -> str:
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def test_serve_builds_the_sandbox_from_its_flags(
    served: Served, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = [
        "sandbox", "serve", "--memory", "--port", "0", "--seed", "3", "--patrons", "5",
        "--latency-ms", "20", "--jitter-ms", "5", "--per-second", "0", "--daily-quota", "500",
        "--fault-rate", "0.1", "--faults", "429,commit_then_fail", "--fault-script", "500,ok",
        "--overstate-total", "2", "--log", str(tmp_path / "log.jsonl"), "--read-only-key", "l7xxro",
    ]  # fmt: skip
    assert cli.main(argv) == 0
    [(sandbox, host, port, users)] = served
    assert (host, users) == ("127.0.0.1", 5 + len(DUKE_SCENARIOS) - 1)
    knobs = sandbox.knobs
    assert (knobs.latency, knobs.jitter, knobs.per_second_limit, knobs.daily_quota) == (0.02, 0.005, None, 500)
    assert (knobs.faults.rate, tuple(knobs.faults.kinds), tuple(knobs.faults.script)) == (
        0.1,
        ("429", "commit_then_fail"),
        ("500", None),
    )
    assert knobs.overstate_total == 2
    out = capsys.readouterr().out
    assert sandbox.api_key in out  # the operator needs it
    assert f"http://127.0.0.1:{port}/almaws/v1" in out  # --port 0: the port actually bound
    assert port != 0


def test_serve_uses_the_default_database_and_seeds_it_once(served: Served, tmp_path: Path) -> None:
    assert cli.main(["sandbox", "serve", "--port", "0", "--patrons", "3", "--no-duke"]) == 0
    assert default_db_path().is_relative_to(tmp_path / "xdg")
    assert default_db_path().exists()
    assert cli.main(["sandbox", "serve", "--port", "0", "--patrons", "7"]) == 0  # not empty: nothing added
    assert [users for *_, users in served] == [3, 3]


def test_serve_defaults(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, int]] = []
    real_bind = _sandbox.bind

    def bind_any_port(host: str, port: int) -> socket.socket:
        asked.append((host, port))
        return real_bind(host, 0)  # tests never take a fixed port

    monkeypatch.setattr(_sandbox, "bind", bind_any_port)
    assert cli.main(["sandbox", "serve", "--memory"]) == 0
    assert asked == [("127.0.0.1", 8000)]
    [(sandbox, _, _, users)] = served
    assert users == cli.DEFAULT_PATRONS + len(DUKE_SCENARIOS) - 1
    assert sandbox.knobs.per_second_limit == 25
    assert sandbox.knobs.faults == Faults(rate=0.0, kinds=("500", "503"))


def test_serve_warns_when_listening_beyond_loopback(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["sandbox", "serve", "--memory", "--host", "0.0.0.0", "--port", "0"]) == 0
    assert "Warning: listening beyond loopback" in capsys.readouterr().err


def test_serve_json_is_one_document_with_the_bound_port(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert cli.main(["sandbox", "serve", "--memory", "--port", "0", "--patrons", "2", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    [(sandbox, _, port, _)] = served
    assert (shown["port"], shown["api_key"], shown["seeded"]) == (port, sandbox.api_key, 2 + len(DUKE_SCENARIOS) - 1)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (["--fault-rate", "1.5"], "probability"),
        (["--faults", "500,teapot"], "teapot"),
        (["--latency-ms", "-3"], "Invalid value for '--latency-ms'"),  # typer's own words after the flag
        (["--per-second", "many"], "Invalid value for '--per-second'"),
        (["--db", "x.sqlite3", "--memory"], "--db and --memory cannot be used together"),
        (["--memory", "--fault-rate", "0.1", "--faults", "ok"], "a fault rate needs at least one fault kind"),
        (["--memory", "--read-only-key", " "], "an API key cannot be blank"),
        (["--memory", "--api-key", ""], "an API key cannot be blank"),
        (["--memory", "--port", "70000"], "Invalid value for '--port'"),
        (["--memory", "--port", "-1"], "Invalid value for '--port'"),
        (["--memory", "--patrons", "100000"], f"{cli.MAX_PATRONS}"),  # the cap, said
        (["--memory", "--log", "{tmp}/no/such/folder/log.jsonl"], "does not exist"),
        (["--memory", "--log", "{tmp}"], "is a folder"),
        (["--db", "{tmp}/no/such/folder/sb.sqlite3"], "does not exist"),
        (["--db", "{tmp}"], "is a folder"),
    ],
)
def test_serve_rejects_bad_flags_with_one_error_and_exit_2(
    bad: list[str], message: str, served: Served, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli.main(["sandbox", "serve", "--port", "0", *[arg.format(tmp=tmp_path) for arg in bad]]) == 2
    captured = capsys.readouterr()
    assert message in one_line(captured.err)
    assert "Traceback" not in captured.err
    assert captured.out == ""  # no URL, no key
    assert served == []
    assert not (tmp_path / "no").exists()  # a missing folder is refused, never created


def test_a_port_in_use_fails_before_the_url_and_the_key_are_printed(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["sandbox", "serve", "--memory", "--port", str(port)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"error: port {port} on 127.0.0.1 is in use" in captured.err
    assert "hint: stop what uses it, or choose another: --port 0 picks a free one" in captured.err
    assert "API key" not in captured.err
    assert "curl" not in captured.err
    assert served == []


@pytest.mark.parametrize("command", ["seed", "reset"])
def test_seed_and_reset_refuse_an_unusable_database(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-folder.sqlite3").mkdir()
    assert (
        cli.main(["sandbox", command, "--db", str(tmp_path / "a-folder.sqlite3"), "--yes"][: 4 + (command == "reset")])
        == 2
    )
    assert f"error: --db '{tmp_path / 'a-folder.sqlite3'}' is a folder" in capsys.readouterr().err
    (tmp_path / "junk.sqlite3").write_text("not a database", encoding="utf-8")
    assert (
        cli.main(["sandbox", command, "--db", str(tmp_path / "junk.sqlite3"), "--yes"][: 4 + (command == "reset")]) == 2
    )
    assert "error: cannot open the sandbox database" in capsys.readouterr().err


def test_seed_and_reset_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "sb.sqlite3"
    assert cli.main(["sandbox", "seed", "--db", str(db), "--patrons", "4"]) == 0
    with Sandbox(db_path=db) as sandbox:
        assert len(sandbox.users) == 4 + len(DUKE_SCENARIOS) - 1
    assert cli.main(["sandbox", "reset", "--db", str(db)]) == 2  # needs --yes: nobody can be asked here
    assert "run again with --yes" in capsys.readouterr().err
    assert cli.main(["sandbox", "reset", "--db", str(db), "--yes"]) == 0
    with Sandbox(db_path=db) as sandbox:
        assert len(sandbox.users) == 0
    assert f"Deleted {4 + len(DUKE_SCENARIOS) - 1} users" in capsys.readouterr().out


def test_the_global_db_option_is_the_sandbox_commands_default(tmp_path: Path) -> None:
    db = tmp_path / "global.sqlite3"
    assert cli.main(["--db", str(db), "sandbox", "seed", "--patrons", "2", "--no-duke"]) == 0
    with Sandbox(db_path=db) as sandbox:
        assert len(sandbox.users) == 2


def test_reset_of_a_missing_database_is_harmless(tmp_path: Path) -> None:
    assert cli.main(["sandbox", "reset", "--db", str(tmp_path / "none.sqlite3"), "--yes"]) == 0
    assert not (tmp_path / "none.sqlite3").exists()


def test_the_default_patron_count_is_one_constant() -> None:
    """serve, seed, demo and the command's own sandbox seed the same number of patrons by default."""
    assert cli.DEFAULT_PATRONS == demo.DEFAULT_PATRONS
    assert inspect.signature(Sandbox.demo).parameters["patrons"].default == cli.DEFAULT_PATRONS
    for name in ("serve", "seed"):
        parameter = inspect.signature(getattr(_sandbox, "seed_command" if name == "seed" else name)).parameters
        assert parameter["patrons"].default == cli.DEFAULT_PATRONS
    from alma_onelink.cli import _demo

    assert inspect.signature(_demo.demo).parameters["patrons"].default == cli.DEFAULT_PATRONS


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "sandbox" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert "alma-onelink" in capsys.readouterr().out
