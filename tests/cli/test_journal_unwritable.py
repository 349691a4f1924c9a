"""A journal that cannot be written: exit status 4, what Alma holds shown as it is, and ``batch`` stopping with
each row's fate said (done, or not started)."""

from __future__ import annotations

import csv
import errno
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from alma_onelink.cli import _batch, _register
from alma_onelink.engine import Journal, JournalError
from alma_onelink.onelink import RegistrationResult, register_many, register_patron
from alma_onelink.sandbox import DUKE_UNIQUE_IDS
from tests.cli.conftest import TODAY, Cli, patron_args

NETID_ERA = DUKE_UNIQUE_IDS["netid_era_alumna"]

ROWS = "OneLink ID,First name,Last name,Affiliation,Graduated on\n" + "".join(
    f"200010{n},Pat{n},Lee,alumni,2012-05-0{n}\n" for n in range(1, 5)
)
LINES = [2, 3, 4, 5]


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every journal line fails as on a full disk (chmod cannot stop root, so the write itself fails)."""

    def no_space(self: Journal, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Journal, "_append", no_space)


def test_register_with_a_full_disk_exits_4_and_says_the_journal(cli: Cli, full_disk: None) -> None:
    result = cli("register", *patron_args(), "--today", TODAY)
    assert result.exit_code == 4, (result.stdout, result.stderr)
    assert f"The journal {cli.journal} could not be written" in result.stdout + result.stderr
    assert "No space left on device" in result.stdout + result.stderr
    assert "journal.pending()" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_a_registration_alma_holds_without_its_journal_line_is_shown_and_exits_4(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unjournaled(*args: Any, **kwargs: Any) -> RegistrationResult:
        done = register_patron(*args, **kwargs)
        return replace(done, journal_error=f"The journal {cli.journal} could not be written (No space left on device)")

    monkeypatch.setattr(_register, "register_patron", unjournaled)
    human = cli("register", *patron_args(), "--today", TODAY)
    assert human.exit_code == 4
    lines = human.stdout.splitlines()
    assert lines[0] == "CREATED — Ann Lee (OneLink ID 2000001)"  # what Alma holds, as it is
    assert lines[1] == f"The journal {cli.journal} could not be written (No space left on device)"
    assert f"error: The journal {cli.journal} could not be written" in human.stderr
    as_json = cli.json(
        "register", *patron_args(onelink_id="2000002", first_name="Bo", email=None), "--today", TODAY, code=4
    )
    assert as_json["outcome"] == "created"
    assert "No space left on device" in as_json["journal_error"]


def test_batch_stopped_by_the_journal_writes_what_it_has_marks_the_rest_and_exits_4(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stops_after_one(*args: Any, **kwargs: Any) -> Iterator[RegistrationResult]:
        results = register_many(*args, **{**kwargs, "concurrency": 1})
        try:
            yield next(iter(results))
        finally:
            getattr(results, "close", lambda: None)()  # the generator's threads stop now
        raise JournalError(
            f"The journal {cli.journal} could not be written (No space left on device)", path=cli.journal
        )

    monkeypatch.setattr(_batch, "register_many", stops_after_one)
    path = tmp_path / "in.csv"
    path.write_text(ROWS, encoding="utf-8")
    records = cli.lines("batch", str(path), "--today", TODAY, "--out", "results.csv", code=4)
    rows, summary = records[:-1], records[-1]
    assert [row["line"] for row in rows] == LINES  # the file's order
    assert [row["outcome"] for row in rows] == ["created", "not_started", "not_started", "not_started"]
    assert "nothing was sent to Alma" in rows[1]["reason"]
    assert (summary["exit_code"], summary["counts"]) == (4, {"created": 1, "not_started": 3})
    assert "No space left on device" in summary["journal_error"]
    with (tmp_path / "results.csv").open(encoding="utf-8-sig", newline="") as file:
        written = [(int(row["line"]), row["outcome"]) for row in csv.DictReader(file)]
    assert written == list(zip(LINES, ["created", "not_started", "not_started", "not_started"], strict=True))
    human = cli("batch", str(tmp_path / "in.csv"), "--today", TODAY)
    assert human.exit_code == 4
    assert f"error: The journal {cli.journal} could not be written" in human.stderr
    assert "NOT STARTED" in human.stdout


def test_batch_on_a_full_disk_exits_4_without_a_traceback(cli: Cli, tmp_path: Path, full_disk: None) -> None:
    path = tmp_path / "in.csv"
    path.write_text(ROWS, encoding="utf-8")
    result = cli("batch", str(path), "--today", TODAY, "--json")
    assert result.exit_code == 4, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[-1]["exit_code"] == 4
    assert {record["outcome"] for record in records[:-1]} <= {"failed", "not_started", "created"}
    assert not [r for r in records[:-1] if r["outcome"] == "created" and not r.get("journal_error")]


@pytest.fixture
def lost_completions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every completion line fails as on a full disk; intents are written (the write is then made)."""

    def no_space(self: Journal, *args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Journal, "complete", no_space)


def _journal_error_said(cli: Cli, result: Any) -> None:
    """The journal's trouble is said on stdout under what Alma holds, and as the error on stderr; no traceback."""
    said = f"The journal {cli.journal} could not be written ("
    assert any(line.startswith(said) and "No space left on device" in line for line in result.stdout.splitlines())
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert error.startswith(f"error: {said}")
    assert "Traceback" not in result.stderr


def test_a_restore_alma_made_without_its_journal_line_is_shown_and_exits_4(cli: Cli, request: Any) -> None:
    entry = cli.json("user", "edit", "jd123", "--set", "job_description=one", "--yes")["journal_entry"]
    request.getfixturevalue("lost_completions")
    result = cli("journal", "restore", entry, "--yes")
    assert result.exit_code == 4, (result.stdout, result.stderr)
    assert result.stdout.splitlines()[2].startswith(f"restore of update jd123 ({entry[:8]}): put back — ")
    _journal_error_said(cli, result)
    assert cli.json("user", "show", "jd123").get("job_description") in (None, "")  # Alma holds the restore


def test_a_restore_in_json_says_the_journal_error_and_exits_4(cli: Cli, request: Any) -> None:
    entry = cli.json("user", "edit", "jd123", "--set", "job_description=one", "--yes")["journal_entry"]
    request.getfixturevalue("lost_completions")
    data = cli.json("journal", "restore", entry, "--yes", code=4)
    assert data["outcome"] == "put_back"
    assert "No space left on device" in data["journal_error"]


def _planned_merge(cli: Cli) -> str:
    """Jane Doe registered (jd123 left to merge into her OneLink account), the merge planned; its token."""
    jane = patron_args(onelink_id=NETID_ERA, first_name="Jane", last_name="Doe", email="jane.doe@alumni.duke.edu")
    assert cli("register", *jane, "--today", TODAY).exit_code == 1
    token: str = cli.json("merge", "plan", "jd123", NETID_ERA, "--out", "plan.json", "--today", TODAY)["token"]
    return token


def test_a_merge_applied_without_its_journal_lines_is_shown_and_exits_4(cli: Cli, request: Any) -> None:
    token = _planned_merge(cli)
    request.getfixturevalue("lost_completions")
    result = cli("merge", "apply", "plan.json", "--confirm", token, "--today", TODAY)
    assert result.exit_code == 4, (result.stdout, result.stderr)
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Merge jd123 into {NETID_ERA}: MERGED")  # what Alma holds, as it is
    assert lines[1].startswith(f"The journal {cli.journal} could not be written (")
    _journal_error_said(cli, result)
    assert "merge_from" not in result.stdout + result.stderr


def test_a_merge_applied_without_its_journal_lines_in_json_exits_4(cli: Cli, request: Any) -> None:
    token = _planned_merge(cli)
    request.getfixturevalue("lost_completions")
    data = cli.json("merge", "apply", "plan.json", "--confirm", token, "--today", TODAY, code=4)
    assert data["outcome"] == "merged"
    assert "No space left on device" in data["journal_error"]


def test_a_merge_undone_without_its_journal_lines_is_shown_and_exits_4(cli: Cli, request: Any) -> None:
    token = _planned_merge(cli)
    before = cli.json("user", "show", "jd123")
    merge_id = cli.json("merge", "apply", "plan.json", "--confirm", token, "--today", TODAY)["merge_id"]
    assert cli.json("user", "show", "jd123")["user_note"] != before["user_note"]  # marked merged
    request.getfixturevalue("lost_completions")
    result = cli("merge", "undo", merge_id, "--yes")
    assert result.exit_code == 4, (result.stdout, result.stderr)
    restores = [line for line in result.stdout.splitlines() if line.startswith("restore of ")]
    assert len(restores) == 3  # the merge's three writes, newest first
    assert all(": put back — " in line for line in restores)
    assert "Merge undone." in result.stdout
    _journal_error_said(cli, result)
    after = cli.json("user", "show", "jd123")
    assert (after["user_note"], after["user_identifier"]) == (before["user_note"], before["user_identifier"])
