"""Trust at the desk: ``batch --out`` never destroys the files the batch reads or keeps, a value from data never
starts a line of its own, and ``--base-url`` without a key is refused rather than ignored."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from alma_onelink.onelink import Journal
from tests.cli.conftest import TODAY, Cli, flat
from tests.cli.test_terminal_safe import put

HEADER = "OneLink ID,First name,Last name,Affiliation,Graduated on\n"
ROW = "2000001,Ann,Lee,alumni,2015-05-10\n"


def _input(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(HEADER + ROW, encoding="utf-8")
    return path


def _journal_with_an_entry(cli: Cli) -> bytes:
    done = cli("batch", str(_input(cli.journal.parent)), "--today", TODAY)
    assert done.exit_code == 0, done.stderr
    return cli.journal.read_bytes()


# --- 1. --out never names a file the batch reads or keeps --------------------------------------------------


@pytest.mark.parametrize(
    "name", ["journal.jsonl", "journal.jsonl.lock", "journal.jsonl.index.sqlite3", "journal.jsonl.index.sqlite3-wal"]
)
def test_out_naming_one_of_the_journals_files_is_refused_before_anything_is_sent(cli: Cli, name: str) -> None:
    before = _journal_with_an_entry(cli)
    target = cli.journal.parent / name
    existed = target.read_bytes() if target.exists() else None
    out = target.with_name(target.name + ".csv") if target.suffix not in (".csv", ".jsonl") else target
    result = cli("batch", str(_input(cli.journal.parent)), "--out", str(out), "--today", TODAY)
    assert result.exit_code == 2, result.stdout
    assert "one of the journal's own files" in flat(result.stderr)
    assert cli.journal.read_bytes() == before  # nothing sent, nothing journaled, nothing replaced
    if existed is not None and out == target:
        assert target.read_bytes() == existed


def test_out_through_a_link_to_the_journal_or_the_input_is_refused(cli: Cli, tmp_path: Path) -> None:
    before = _journal_with_an_entry(cli)
    source = _input(tmp_path)
    (tmp_path / "to-journal.jsonl").symlink_to(cli.journal)
    (tmp_path / "to-input.csv").symlink_to(source)
    os.link(source, tmp_path / "hard-input.csv")
    for out, said in (
        ("to-journal.jsonl", "one of the journal's own files"),
        ("to-input.csv", "is the input file"),
        ("hard-input.csv", "is the input file"),
        (str(source), "is the input file"),
    ):
        result = cli("batch", str(source), "--out", out, "--today", TODAY)
        assert result.exit_code == 2, (out, result.stdout)
        assert said in flat(result.stderr), out
        assert "would destroy it" in flat(result.stderr)
    assert cli.journal.read_bytes() == before
    assert source.read_text(encoding="utf-8") == HEADER + ROW


def test_out_naming_the_sis_file_is_refused(cli: Cli, tmp_path: Path) -> None:
    result = cli("batch", str(_input(tmp_path)), "--sis-file", "new.zip", "--out", "new.zip", "--today", TODAY)
    assert result.exit_code == 2
    assert not (tmp_path / "new.zip").exists()


def test_another_existing_out_file_is_still_replaced(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "results.csv").write_text("old results\n", encoding="utf-8")
    result = cli("batch", str(_input(tmp_path)), "--out", "results.csv", "--today", TODAY)
    assert result.exit_code == 0, result.stderr
    assert "old results" not in (tmp_path / "results.csv").read_text(encoding="utf-8-sig")
    assert "is replaced" in flat(cli("batch", "--help").stdout)


def test_journal_export_still_refuses_the_journals_files_through_a_link(cli: Cli, tmp_path: Path) -> None:
    before = _journal_with_an_entry(cli)
    (tmp_path / "alias.jsonl").symlink_to(cli.journal)
    result = cli("journal", "export", "alias.jsonl", "--force")
    assert result.exit_code == 2
    assert "one of the journal's own files" in flat(result.stderr)
    assert cli.journal.read_bytes() == before


# --- 3. a value never starts a line of its own ---------------------------------------------------------------


def test_a_line_break_in_a_batch_cell_stays_on_the_rows_line(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(HEADER + '2000001,Ann,"Doe\r\nFAKE: line",alumni,2015-05-10\n', encoding="utf-8")
    result = cli("batch", str(path), "--today", TODAY)
    lines = result.stdout.splitlines()
    assert not any(line.lstrip().startswith("FAKE") for line in lines), result.stdout
    assert any("Doe\\r\\nFAKE: line" in line and line.lstrip().startswith("line") for line in lines)


def test_a_line_break_in_an_alma_name_stays_on_the_blocked_headline_and_the_edit_header(cli: Cli) -> None:
    put(cli, "jd123", last_name="Doe\r\nFAKE: line")
    edited = cli("user", "edit", "jd123", "--set", "job_description=Clerk", "--dry-run")
    assert edited.exit_code == 0, edited.stderr
    assert not any(line.startswith("FAKE") for line in edited.stdout.splitlines()), edited.stdout
    assert "Doe\\r\\nFAKE: line" in edited.stdout
    plan = cli("merge", "plan", "jd123", "0456789")
    assert not any(line.lstrip().startswith("FAKE") for line in plan.stdout.splitlines()), plan.stdout


# --- 4. --base-url needs a key -----------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["before", "after"])
def test_base_url_without_a_key_is_a_usage_error_and_echoes_nothing(cli: Cli, where: str) -> None:
    url = "https://alma.example.org/SECRET-IN-PATH"
    args = ["--base-url", url, "user", "search", "--limit", "1"]
    if where == "after":
        args = ["user", "search", "--limit", "1", "--base-url", url]
    result = cli(*args)
    assert result.exit_code == 2, result.stdout
    assert "needs an API key: set ALMA_API_KEY or give --api-key" in flat(result.stderr)
    assert "SECRET-IN-PATH" not in result.stdout + result.stderr
    assert "Sandbox at" not in result.stderr  # nothing ran on the local sandbox instead


def test_a_refused_base_url_is_never_echoed_shortened_into_a_hint() -> None:
    from alma_onelink.cli._state import Settings

    settings = Settings(api_key="k" * 20, base_url="https://alma.example.org/apikey/x", given=("--base-url", "x"))
    assert settings.shown_given() == ("--base-url", "URL")


def test_nothing_was_journaled_by_refused_runs(cli: Cli, tmp_path: Path) -> None:
    cli("batch", str(_input(tmp_path)), "--out", str(cli.journal), "--today", TODAY)
    assert not cli.journal.exists() or Journal(cli.journal).entries() == []


# --- 5. --staff is plain text, for every command -------------------------------------------------------------


@pytest.mark.parametrize("staff", ["Ann\x1b[31m", "Ann\nFAKE", "Ann\u202eLee"])
def test_staff_with_a_control_character_is_refused_for_every_command(cli: Cli, staff: str) -> None:
    edited = cli("user", "edit", "jd123", "--set", "job_description=Clerk", "--yes", "--staff", staff)
    assert edited.exit_code == 2, edited.stdout
    assert "'--staff'" in flat(edited.stderr)
    assert "plain text" in flat(edited.stderr)
    assert not cli.journal.exists() or Journal(cli.journal).entries() == []
    assert cli("--staff", staff, "policies").exit_code == 2


# --- 7. a missing column is said as staff read it --------------------------------------------------------------


def test_a_row_needing_a_column_the_file_lacks_says_so_in_plain_words(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("OneLink ID,First name,Last name,Affiliation\n2000009,Ann,Lee,trln\n", encoding="utf-8")
    rows = cli.lines("batch", str(path), "--today", TODAY, code=1)
    bad = rows[0]
    assert bad["outcome"] == "bad_row"
    assert bad["reason"] == "the file has no Home institution column, and this patron needs one"
    assert "no such column" not in json.dumps(rows)
