"""``journal archive | export | reindex``: old settled entries move to an archive file and stay part of the journal,
the whole journal is exported as JSON Lines for an audit, and the index is rebuilt on request.

The entries are written with a fixed clock (2025), so which of them is older than ``--before`` does not depend on
the day the test runs; only the archive's file name holds today's date, and it is matched by its pattern.
"""

from __future__ import annotations

import errno
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pytest

from alma_onelink.engine import Journal, JournalEntry
from alma_onelink.engine import journal as journal_module
from tests.cli.conftest import Cli

JANUARY = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)
JUNE = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def _at(path: Path, when: datetime) -> Journal:
    return Journal(path, now=lambda: when)


def _write(
    path: Path, when: datetime, target: str, *, result: Literal["done", "failed"] | None = "done"
) -> JournalEntry:
    """One create journaled at ``when``, completed with ``result`` (``None``: left pending, as a crash leaves it)."""
    journal = _at(path, when)
    entry = journal.intend(action="create", target=target, before=None, operation="register", staff="tester")
    if result is None:
        return entry
    after = {"primary_id": target} if result == "done" else None
    return journal.complete(entry, result=result, after=after)


def _archives(cli: Cli) -> list[Path]:
    return sorted(cli.journal.parent.glob(cli.journal.name + ".archive-*.jsonl"))


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --- archive ------------------------------------------------------------------------------------------------


def test_archive_moves_the_settled_entries_before_the_date_and_the_journal_still_reads_them(cli: Cli) -> None:
    old = [_write(cli.journal, JANUARY, "2000101"), _write(cli.journal, JANUARY, "2000102", result="failed")]
    new = _write(cli.journal, JUNE, "2000103")

    result = cli("journal", "archive", "--before", "2025-03-01")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    [archive] = _archives(cli)
    assert re.fullmatch(re.escape(cli.journal.name) + r"\.archive-\d{8}\.jsonl", archive.name)
    assert result.stdout.splitlines()[:2] == [
        "Archived 2 entries older than 2025-03-01 (midnight UTC) to:",
        f"  {archive}",
    ]
    assert {line["id"] for line in _lines(archive)} == {entry.id for entry in old}
    assert {line["id"] for line in _lines(cli.journal)} == {new.id}  # the live file keeps only the newer one

    shown = cli.json("journal", "show", "--limit", "0")  # archives are part of the journal
    assert [entry["id"] for entry in shown["entries"]] == [old[0].id, old[1].id, new.id]
    assert cli.json("journal", "show", "--target", "2000101")["entries"][0]["result"] == "done"


def test_archive_in_json_names_the_file_and_the_counts(cli: Cli) -> None:
    _write(cli.journal, JANUARY, "2000101")
    data = cli.json("journal", "archive", "--before", "2025-03-01")
    [archive] = _archives(cli)
    assert data == {
        "journal": str(cli.journal),
        "before": "2025-03-01",
        "archive": str(archive),
        "archived": 1,
        "kept": 0,
        "unsettled": [],
    }


def test_archive_with_nothing_old_enough_writes_no_file(cli: Cli) -> None:
    _write(cli.journal, JUNE, "2000103")
    before = cli.journal.read_bytes()
    result = cli("journal", "archive", "--before", "2025-03-01")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"Nothing to archive: no entry older than 2025-03-01 (midnight UTC) can move out of {cli.journal}."
    ]
    assert _archives(cli) == []
    assert cli.journal.read_bytes() == before


def test_an_unsettled_old_entry_stays_and_the_command_says_to_settle_it_first(cli: Cli) -> None:
    crashed = _write(cli.journal, JANUARY, "2000199", result=None)  # a run killed before its completion line
    settled = _write(cli.journal, JANUARY, "2000101")

    result = cli("journal", "archive", "--before", "2025-03-01")
    assert result.exit_code == 1, (result.stdout, result.stderr)  # done, but a person must act
    out = result.stdout.splitlines()
    assert out[3] == (
        f"1 older entry stays in {cli.journal}: an entry stays while its outcome is not known, or while its "
        "registration, or an earlier write on its account, stays."
    )
    at = out.index("1 of them is unsettled: find out how each ended, then archive again:")
    prefix = f"alma-onelink --db {cli.db} --journal {cli.journal}"
    assert out[at + 1 : at + 3] == [f"  {prefix} journal settle", f"  {prefix} journal archive --before 2025-03-01"]
    assert {line["id"] for line in _lines(cli.journal)} == {crashed.id}
    assert {line["id"] for line in _lines(_archives(cli)[0])} == {settled.id}

    data = cli.json("journal", "archive", "--before", "2025-03-01", code=1)
    assert (data["archive"], data["archived"], data["kept"], data["unsettled"]) == (None, 0, 1, [crashed.id])

    assert cli("journal", "settle").exit_code == 0  # 2000199 is not in Alma: the create did not happen
    again = cli.json("journal", "archive", "--before", "2025-03-01")
    assert (again["archived"], again["kept"], again["unsettled"]) == (1, 0, [])
    assert cli.json("journal", "show")["total"] == 2


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--before", "2025-02-30"], "--before: '2025-02-30' is not a day of the calendar"),
        (["--before", "last year"], "--before: 'last year' is not a date: write YYYY-MM-DD"),
        ([], "Missing option '--before'"),
    ],
)
def test_archive_refuses_a_bad_date_before_touching_anything(cli: Cli, args: list[str], said: str) -> None:
    _write(cli.journal, JANUARY, "2000101")
    before = cli.journal.read_bytes()
    result = cli("journal", "archive", *args)
    assert result.exit_code == 2
    assert said in " ".join(result.stderr.split())
    assert _archives(cli) == []
    assert cli.journal.read_bytes() == before


def test_archive_on_a_full_disk_exits_4_loses_nothing_and_says_what_to_do(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = _write(cli.journal, JANUARY, "2000101")
    before = cli.journal.read_bytes()

    def no_space(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_module, "archive_journal", no_space)
    result = cli("journal", "archive", "--before", "2025-03-01")
    assert result.exit_code == 4
    said = " ".join(result.stderr.split())
    assert "could not be archived" in said
    assert "No space left on device" in said
    assert "nothing was moved or lost" in said
    assert "journal archive --before 2025-03-01` again" in said
    assert "Traceback" not in result.stderr
    assert cli.journal.read_bytes() == before
    assert Journal(cli.journal).get(entry.id).result == "done"


# --- export -------------------------------------------------------------------------------------------------


def test_export_writes_every_entry_archives_included_one_json_object_a_line(cli: Cli, tmp_path: Path) -> None:
    old = _write(cli.journal, JANUARY, "2000101")
    crashed = _write(cli.journal, JUNE, "2000102", result=None)
    assert cli("journal", "archive", "--before", "2025-03-01").exit_code == 0

    out = tmp_path / "audit.jsonl"
    result = cli("journal", "export", str(out))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout.splitlines() == [
        f"Exported 2 entries (archives included) of {cli.journal}, one JSON object a line, to:",
        f"  {out}",
    ]
    lines = _lines(out)
    assert [(line["id"], line["target"], line["result"]) for line in lines] == [
        (old.id, "2000101", "done"),
        (crashed.id, "2000102", "pending"),
    ]
    assert lines[0]["after"] == {"primary_id": "2000101"}
    assert lines[0]["staff"] == "tester"
    assert [line for line in out.read_text(encoding="utf-8").splitlines() if '"target":"2000101"' in line]  # greppable


def test_export_in_json_says_where_and_how_many(cli: Cli, tmp_path: Path) -> None:
    _write(cli.journal, JANUARY, "2000101")
    out = tmp_path / "audit.jsonl"
    assert cli.json("journal", "export", str(out)) == {"journal": str(cli.journal), "export": str(out), "entries": 1}


def test_export_to_stdout_gives_the_same_lines_and_the_count_on_stderr(cli: Cli, tmp_path: Path) -> None:
    _write(cli.journal, JANUARY, "2000101")
    _write(cli.journal, JUNE, "2000102", result="failed")
    assert cli("journal", "export", str(tmp_path / "audit.jsonl")).exit_code == 0

    for json_flag in ([], ["--json"]):  # the lines are JSON already: --json changes nothing
        result = cli("journal", "export", "-", *json_flag)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        assert result.stdout == (tmp_path / "audit.jsonl").read_text(encoding="utf-8")
        assert f"Exported 2 entries (archives included) of {cli.journal}." in result.stderr


def test_export_replaces_an_existing_file_only_with_force(cli: Cli, tmp_path: Path) -> None:
    _write(cli.journal, JANUARY, "2000101")
    out = tmp_path / "audit.jsonl"
    out.write_text("an earlier export\n", encoding="utf-8")

    refused = cli("journal", "export", str(out))
    assert refused.exit_code == 2
    assert f"error: {out} exists" in refused.stderr
    assert "add --force to replace it" in refused.stderr
    assert out.read_text(encoding="utf-8") == "an earlier export\n"

    assert cli("journal", "export", str(out), "--force").exit_code == 0
    assert len(_lines(out)) == 1


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("journal.jsonl", "is one of the journal's own files"),
        ("journal.jsonl.index.sqlite3", "is one of the journal's own files"),
        ("no-such-folder/audit.jsonl", "does not exist"),
        (".", "is a folder"),
    ],
)
def test_export_refuses_a_file_it_must_not_write(cli: Cli, tmp_path: Path, name: str, said: str) -> None:
    _write(cli.journal, JANUARY, "2000101")
    cli("journal", "show")  # the index file exists
    files = {path: path.read_bytes() for path in tmp_path.glob("journal.jsonl*") if path.is_file()}
    result = cli("journal", "export", str(tmp_path / name), "--force")
    assert result.exit_code == 2
    assert said in " ".join(result.stderr.split())
    assert {path: path.read_bytes() for path in files} == files


def test_an_export_that_cannot_be_written_exits_2_and_leaves_no_file(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(cli.journal, JANUARY, "2000101")

    def no_space(*args: Any, **kwargs: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_module, "export_journal", no_space)
    out = tmp_path / "audit.jsonl"
    result = cli("journal", "export", str(out))
    assert result.exit_code == 2
    said = " ".join(result.stderr.split())
    assert f"the export could not be made: [Errno 28] No space left on device; nothing was written to {out}" in said
    assert "give another FILE" in said
    assert not out.exists()


# --- reindex ------------------------------------------------------------------------------------------------


def test_reindex_rebuilds_a_deleted_index_and_counts_the_entries(cli: Cli) -> None:
    for target in ("2000101", "2000102", "2000103"):
        _write(cli.journal, JANUARY, target)
    index = cli.journal.with_name(cli.journal.name + ".index.sqlite3")
    Journal(cli.journal).close()
    for path in cli.journal.parent.glob(index.name + "*"):
        path.unlink()

    result = cli("journal", "reindex")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout.splitlines() == [f"Rebuilt the index of {cli.journal} from its files: 3 entries."]
    assert index.is_file()
    assert cli.json("journal", "reindex") == {
        "journal": str(cli.journal),
        "index": str(index),
        "entries": 3,
        "skipped_lines": 0,
    }


def test_reindex_after_a_hand_edit_reads_the_file_as_it_is_now(cli: Cli) -> None:
    kept = _write(cli.journal, JANUARY, "2000101")
    dropped = _write(cli.journal, JANUARY, "2000102")
    assert cli.json("journal", "show")["total"] == 2
    lines = cli.journal.read_text(encoding="utf-8").splitlines(keepends=True)
    edited = [line for line in lines if dropped.id not in line] + ["{not json\n"]
    cli.journal.write_text("".join(edited), encoding="utf-8")

    result = cli("journal", "reindex")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout.splitlines() == [
        f"Rebuilt the index of {cli.journal} from its files: 1 entry.",
        "1 damaged line was skipped (a torn write, or not a journal line; the warning on stderr says where); the "
        "rest reads normally.",
    ]
    assert [entry["id"] for entry in cli.json("journal", "show")["entries"]] == [kept.id]


# --- no journal ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [["archive", "--before", "2025-03-01"], ["export", "audit.jsonl"], ["export", "-"], ["reindex"]]
)
def test_with_no_journal_at_the_path_each_command_says_so_and_makes_no_file(
    cli: Cli, tmp_path: Path, args: list[str]
) -> None:
    result = cli("journal", *args)
    assert result.exit_code == 2
    said = " ".join(result.stderr.split())
    assert f"error: there is no journal at {cli.journal} (--journal)" in said
    assert "hint: give the journal's file with --journal PATH" in said
    assert result.stdout == ""
    assert list(tmp_path.glob("journal.jsonl*")) == []
    assert not (tmp_path / "audit.jsonl").exists()


def test_the_journal_group_lists_the_three_commands(cli: Cli) -> None:
    listed = cli("journal", "--help")
    assert listed.exit_code == 0
    for name in ("archive", "export", "reindex"):
        assert re.search(rf"^\W*{name}\s", listed.stdout, re.M), name
