"""Ctrl-C anywhere: exit 130 and one line that is true, never a traceback.

While the command loads, while its flags are read and at a question nothing was sent: "Stopped;
nothing was sent." During a write the journal says what is true: the write whose outcome is not
known is named, with the command that finds out. Ctrl-C is raised where it would land (an import,
the flag reader, a question, a write), so nothing here depends on timing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import typer

from alma_onelink.cli import _app, _globals, _register
from alma_onelink.onelink import Journal
from alma_onelink.resources.users import Users
from tests.cli.conftest import ENV_VARS, TODAY, Cli, patron_args

NOTHING_SENT = "Stopped; nothing was sent."
ROOT = Path(__file__).resolve().parents[2]


def _interrupt(*_: Any, **__: Any) -> Any:
    raise KeyboardInterrupt


def _loading(module: str, argv0: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``alma-onelink --help`` run as ``argv0``, with Ctrl-C landing while ``module`` is imported."""
    script = textwrap.dedent(
        f"""
        import sys

        class CtrlC:
            def find_spec(self, name, path=None, target=None):
                if name == {module!r}:
                    raise KeyboardInterrupt
                return None

        sys.meta_path.insert(0, CtrlC())
        sys.argv = [{argv0!r}, "--help"]
        from alma_onelink.cli import main
        sys.exit(main())
        """
    )
    env = {name: value for name, value in os.environ.items() if name not in ENV_VARS}
    env["XDG_DATA_HOME"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, check=False
    )


@pytest.mark.parametrize("module", ["alma_onelink.cli._batch", "alma_onelink.cli._app", "rich.text"])
def test_ctrl_c_while_the_command_loads_is_one_line_and_130(tmp_path: Path, module: str) -> None:
    done = _loading(module, "/usr/local/bin/alma-onelink", tmp_path)
    assert done.returncode == 130, done.stderr
    assert done.stderr == NOTHING_SENT + "\n"
    assert done.stdout == ""


def test_a_program_importing_the_command_keeps_its_own_ctrl_c(tmp_path: Path) -> None:
    done = _loading("alma_onelink.cli._batch", "my-script.py", tmp_path)
    assert done.returncode != 130
    assert "KeyboardInterrupt" in done.stderr
    assert NOTHING_SENT not in done.stderr


@pytest.mark.parametrize(
    ("where", "name"),
    [(_globals, "hoist_global_options"), (_app, "default_staff")],
    ids=["reading-the-flags", "the-global-options"],
)
def test_ctrl_c_before_the_command_runs(cli: Cli, monkeypatch: pytest.MonkeyPatch, where: Any, name: str) -> None:
    monkeypatch.setattr(where, name, _interrupt)
    monkeypatch.delenv("ALMA_ONELINK_STAFF")  # the login name is looked up
    result = cli("register", *patron_args(), "--today", TODAY)
    assert result.exit_code == 130
    assert result.stderr.strip().splitlines() == [NOTHING_SENT]
    assert "Traceback" not in result.output
    assert not cli.journal.exists()


@pytest.mark.parametrize("how", ["ctrl-c", "end-of-input"])
def test_ctrl_c_at_a_question_sent_nothing(
    cli: Cli, interactive: None, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "ctrl-c":
        monkeypatch.setattr(typer, "prompt", _interrupt)
        result = cli("register", "--today", TODAY)
    else:  # the answers run out at the confirmation: click says Abort
        result = cli("register", *patron_args(), "--today", TODAY, input="")
    assert result.exit_code == 130, result.output
    assert result.stderr.strip().splitlines()[-1] == NOTHING_SENT
    assert "Traceback" not in result.output
    assert not cli.journal.exists() or not Journal(cli.journal).entries()
    assert cli("user", "show", "2000001").exit_code == 1  # no account


def test_ctrl_c_during_a_write_names_it_and_the_command_that_finds_out(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    create = Users.create
    monkeypatch.setattr(Users, "create", _interrupt)  # journaled, then stopped while it is being sent
    result = cli("register", *patron_args(), "--today", TODAY)
    assert result.exit_code == 130
    [line] = [line for line in result.stderr.splitlines() if line.startswith("Stopped")]
    assert line.startswith("Stopped while writing: Alma may or may not hold create 2000001;")
    prefix = f"alma-onelink --db {cli.db} --journal {cli.journal}"
    assert f"`{prefix} journal settle`" in line
    assert "Traceback" not in result.output
    monkeypatch.setattr(Users, "create", create)
    assert [e.target for e in Journal(cli.journal).pending()] == ["2000001"]  # the line is true
    assert cli("journal", "settle").exit_code == 0
    assert Journal(cli.journal).pending() == []


def test_ctrl_c_after_the_writes_says_they_are_in_the_journal(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    show = getattr(_register, "show_registration")  # noqa: B009  (imported there, not exported)
    monkeypatch.setattr(_register, "show_registration", _interrupt)
    result = cli("register", *patron_args(), "--today", TODAY)
    assert result.exit_code == 130
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Stopped; what was written before it is in the journal")
    assert last.endswith("journal show`.")
    monkeypatch.setattr(_register, "show_registration", show)
    assert cli.json("user", "show", "2000001")["primary_id"] == "2000001"
