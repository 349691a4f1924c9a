"""The ``alma-onelink sandbox`` commands: serve (server start faked), seed, reset, and the parser's shape."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from alma_onelink import cli
from alma_onelink.sandbox import DUKE_SCENARIOS, Faults, Sandbox, default_db_path


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Sandbox, str, int, int]]:
    """Replace the real server: record the sandbox, host, port and user count it would have served."""
    calls: list[tuple[Sandbox, str, int, int]] = []

    def fake_run(sandbox: Sandbox, host: str, port: int) -> None:
        calls.append((sandbox, host, port, len(sandbox.users)))

    monkeypatch.setattr(cli, "_run_server", fake_run)
    return calls


@pytest.fixture(autouse=True)
def _data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the default database inside the test's temporary folder."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def test_serve_builds_the_sandbox_from_its_flags(
    served: list[tuple[Sandbox, str, int, int]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = [
        "sandbox", "serve", "--memory", "--port", "8123", "--seed", "3", "--patrons", "5",
        "--latency-ms", "20", "--jitter-ms", "5", "--per-second", "0", "--daily-quota", "500",
        "--fault-rate", "0.1", "--faults", "429,commit_then_fail", "--fault-script", "500,ok",
        "--overstate-total", "2", "--log", str(tmp_path / "log.jsonl"), "--read-only-key", "l7xxro",
    ]  # fmt: skip
    assert cli.main(argv) == 0
    [(sandbox, host, port, users)] = served
    assert (host, port, users) == ("127.0.0.1", 8123, 5 + len(DUKE_SCENARIOS) - 1)
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
    assert "http://127.0.0.1:8123/almaws/v1" in out


def test_serve_uses_the_default_database_and_seeds_it_once(
    served: list[tuple[Sandbox, str, int, int]], tmp_path: Path
) -> None:
    assert cli.main(["sandbox", "serve", "--patrons", "3", "--no-duke"]) == 0
    assert default_db_path().is_relative_to(tmp_path / "xdg")
    assert default_db_path().exists()
    assert cli.main(["sandbox", "serve", "--patrons", "7"]) == 0  # not empty: nothing added
    assert [users for *_, users in served] == [3, 3]


def test_serve_defaults(served: list[tuple[Sandbox, str, int, int]]) -> None:
    cli.main(["sandbox", "serve", "--memory"])
    [(sandbox, host, port, _)] = served
    assert (host, port) == ("127.0.0.1", 8000)
    assert sandbox.knobs.per_second_limit == 25
    assert sandbox.knobs.faults == Faults(rate=0.0, kinds=("500", "503"))


def test_serve_warns_when_listening_beyond_loopback(
    served: list[tuple[Sandbox, str, int, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    cli.main(["sandbox", "serve", "--memory", "--host", "0.0.0.0"])
    assert "Warning" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (["--fault-rate", "1.5"], "probability"),
        (["--faults", "500,teapot"], "teapot"),
        (["--latency-ms", "-3"], ">= 0"),
        (["--per-second", "many"], "whole number"),
        (["--db", "x.sqlite3", "--memory"], "not allowed with"),
        (["--memory", "--fault-rate", "0.1", "--faults", "ok"], "a fault rate needs at least one fault kind"),
        (["--memory", "--read-only-key", " "], "an API key cannot be blank"),
        (["--memory", "--api-key", ""], "an API key cannot be blank"),
        (["--memory", "--port", "70000"], "between 0 and 65535"),
        (["--memory", "--port", "-1"], ">= 0"),
        (["--memory", "--log", "{tmp}/no/such/folder/log.jsonl"], "does not exist"),
        (["--memory", "--log", "{tmp}"], "is a folder"),
        (["--db", "{tmp}"], "cannot open the sandbox database"),
    ],
)
def test_serve_rejects_bad_flags_with_a_one_line_argparse_error(
    bad: list[str],
    message: str,
    served: list[tuple[Sandbox, str, int, int]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["sandbox", "serve", *[arg.format(tmp=tmp_path) for arg in bad]])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    [error_line] = [line for line in err.splitlines() if "error:" in line]
    assert error_line.startswith("alma-onelink sandbox serve: error: ")
    assert message in error_line
    assert "Traceback" not in err
    assert served == []


@pytest.mark.parametrize("command", ["seed", "reset"])
def test_seed_and_reset_turn_an_unusable_database_into_an_argparse_error(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-folder.sqlite3").mkdir()
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["sandbox", command, "--db", str(tmp_path / "a-folder.sqlite3"), "--yes"][: 4 + (command == "reset")])
    assert exit_info.value.code == 2
    assert f"alma-onelink sandbox {command}: error: cannot open the sandbox database" in capsys.readouterr().err


def test_seed_and_reset_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "sb.sqlite3"
    assert cli.main(["sandbox", "seed", "--db", str(db), "--patrons", "4"]) == 0
    with Sandbox(db_path=db) as sandbox:
        assert len(sandbox.users) == 4 + len(DUKE_SCENARIOS) - 1
    assert cli.main(["sandbox", "reset", "--db", str(db)]) == 2  # needs --yes
    assert cli.main(["sandbox", "reset", "--db", str(db), "--yes"]) == 0
    with Sandbox(db_path=db) as sandbox:
        assert len(sandbox.users) == 0
    assert "Deleted 9 users" in capsys.readouterr().out


def test_reset_of_a_missing_database_is_harmless(tmp_path: Path) -> None:
    assert cli.main(["sandbox", "reset", "--db", str(tmp_path / "none.sqlite3"), "--yes"]) == 0
    assert not (tmp_path / "none.sqlite3").exists()


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "sandbox" in capsys.readouterr().out


def test_a_command_group_registers_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def _add_hello(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        hello = subparsers.add_parser("hello")
        hello.set_defaults(func=lambda args: 7)

    monkeypatch.setattr(cli, "COMMAND_GROUPS", [*cli.COMMAND_GROUPS, _add_hello])
    assert cli.main(["hello"]) == 7
    assert cli.main(["sandbox", "reset"]) == 2  # the existing groups are untouched


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert "alma-onelink" in capsys.readouterr().out
