"""Shared set-up of the ``alma-onelink`` command tests: a sandbox file frozen in time, and a runner on it.

Every command runs through typer's `CliRunner` with ``--db`` and ``--journal`` in the test's
temporary folder, no ``ALMA_*`` variable set and stdin not a terminal (`interactive` says
otherwise). The sandbox file is seeded once per session with its clock at `NOW`, then copied for
each test; registrations pass ``--today`` `TODAY`. Nothing sleeps.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from alma_onelink.cli import _state as cli_state
from alma_onelink.cli import app
from alma_onelink.sandbox import Sandbox

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TODAY = NOW.date().isoformat()
ENV_VARS = (
    "ALMA_API_KEY", "ALMA_BASE_URL", "ALMA_REGION", "ALMA_ONELINK_POLICY", "ALMA_ONELINK_STAFF",
    "ALMA_ONELINK_JOURNAL", "ALMA_ONELINK_DUKE_CONFIG",
)  # fmt: skip


def flat(text: str) -> str:
    """``text`` on one line: rich's boxes and wrapping gone, so a message can be searched whole."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@dataclass
class Cli:
    """Runs ``alma-onelink`` on this test's sandbox file and journal."""

    db: Path
    journal: Path
    runner: CliRunner

    def __call__(self, *args: str, input: str | None = None, target: Sequence[str] | None = None) -> Result:
        """``alma-onelink --db … --journal … ARGS`` (``target`` replaces those two options)."""
        where = list(target) if target is not None else ["--db", str(self.db), "--journal", str(self.journal)]
        return self.runner.invoke(app, [*where, *args], input=input)

    def json(self, *args: str, code: int = 0, input: str | None = None) -> Any:
        """The one JSON document ``ARGS --json`` prints; the exit status must be ``code``."""
        result = self(*args, "--json", input=input)
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
        return json.loads(result.stdout)

    def lines(self, *args: str, code: int = 0) -> list[Any]:
        """The JSON Lines ``ARGS --json`` prints; the exit status must be ``code``."""
        result = self(*args, "--json")
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
        return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # the default paths stay in the test's folder
    monkeypatch.setenv("COLUMNS", "200")  # one width for every test (they pass at 20 too: nothing they read wraps)
    monkeypatch.setenv("ALMA_ONELINK_STAFF", "tester")
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sandbox file seeded (40 patrons and the Duke scenarios) with its clock at `NOW`."""
    path = tmp_path_factory.mktemp("seed") / "sandbox.sqlite3"
    with Sandbox.demo(db_path=path, now=lambda: NOW):
        pass
    return path


@pytest.fixture
def cli(seeded_db: Path, tmp_path: Path) -> Cli:
    db = tmp_path / "sandbox.sqlite3"
    shutil.copyfile(seeded_db, db)
    return Cli(db=db, journal=tmp_path / "journal.jsonl", runner=CliRunner())


@pytest.fixture
def interactive(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stdin counts as a terminal: commands ask (the runner's ``input=`` answers)."""
    monkeypatch.setattr(cli_state, "_stdin_is_terminal", lambda: True)


def patron_args(**changes: str | None) -> list[str]:
    """The flags of a new alum (OneLink ID 2000001), with ``changes`` (``None`` drops a flag)."""
    values: dict[str, str | None] = {
        "onelink_id": "2000001",
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann.lee@example.org",
        "affiliation": "alumni",
        "graduated_on": "2015-05-10",
        **changes,
    }
    args: list[str] = []
    for name, value in values.items():
        if value is not None:
            args += [f"--{name.replace('_', '-')}", value]
    return args
