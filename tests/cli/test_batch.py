"""``batch``: CSV files as people export them, bad rows by line and column, duplicates, resuming, results files."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alma_onelink import AlmaClient
from alma_onelink.cli import _state
from alma_onelink.cli._csv import header_names
from alma_onelink.sandbox import Faults, Sandbox
from tests.cli.conftest import NOW, TODAY, Cli, flat

# Excel's "CSV UTF-8" with a semicolon list separator: a BOM, `;`, CRLF, headers as people write them,
# both date forms, a blank line, a day-first date, an affiliation the policy does not offer, a row twice.
EXPORTED = (
    "\ufeffOneLink ID;First name;Last name;E-mail;AFFILIATION;Graduated on;Home institution;Favourite colour\r\n"
    "2000001;Ann;Lee;ann@example.org;alumni;2015-05-10;;blue\r\n"
    "\r\n"
    "2000002;Bob;Ray;bob@example.org;Alumni;5/10/2015;;\r\n"
    "2000003;Cy;Ode;cy@example.org;alumni;25/12/2015;;\r\n"
    "2000004;Di;Pan;di@example.org;trln;;UNC;\r\n"
    "2000001;Ann;Lee;ann@example.org;alumni;2015-05-10;;blue\r\n"
    "2000005;Ed;Fox;ed@example.org;wizard;;;\r\n"
)


def write(tmp_path: Path, text: str, name: str = "patrons.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def by_line(rows: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {row["line"]: row for row in rows if row["type"] == "row"}


def test_an_exported_file_is_read_and_each_row_reported_by_line(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, EXPORTED)
    records = cli.lines("batch", str(path), "--today", TODAY, code=1)
    rows, summary = by_line(records), records[-1]
    assert {line: row["outcome"] for line, row in rows.items()} == {
        2: "created", 4: "created", 5: "bad_row", 6: "created", 7: "blocked", 8: "bad_row",
    }  # fmt: skip
    assert rows[5]["column"] == "Graduated on"
    assert "column 'Graduated on': '25/12/2015' reads as day/month/year" in str(rows[5]["reason"])
    assert "write 2015-12-25" in str(rows[5]["reason"])
    assert rows[8]["column"] == "AFFILIATION"
    assert "'wizard' is not one the duke policy registers: use one of alumni, trln" in str(rows[8]["reason"])
    assert rows[7]["issues"] == ["duplicate_in_batch"]
    assert rows[7]["reason"] == "OneLink ID 2000001 appears again in this file (first on line 2); registered once"
    assert rows[4]["expiry_date"] == "2027-03-02"
    assert rows[6]["user_group"] == "DUKE_TRLN"
    assert (summary["type"], summary["rows"], summary["exit_code"]) == ("summary", 6, 1)
    assert summary["counts"] == {"bad_row": 2, "created": 3, "blocked": 1}


def test_the_notes_say_how_the_file_was_read(cli: Cli, tmp_path: Path) -> None:
    result = cli("batch", str(write(tmp_path, EXPORTED)), "--today", TODAY)
    assert "6 row(s), semicolons between cells, utf-8." in result.stderr
    assert "Ignored column(s) this does not know: Favourite colour." in result.stderr


def test_rerunning_the_same_file_resumes(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, EXPORTED)
    cli("batch", str(path), "--today", TODAY)
    again = by_line(cli.lines("batch", str(path), "--today", TODAY, code=1))
    assert [again[line]["outcome"] for line in (2, 4, 6)] == ["already_registered"] * 3


def test_human_output_has_each_row_and_a_summary_table(cli: Cli, tmp_path: Path) -> None:
    result = cli("batch", str(write(tmp_path, EXPORTED)), "--today", TODAY)
    assert result.exit_code == 1
    out = flat(result.stdout)
    assert "line 5 2000003 Cy Ode BAD ROW — column 'Graduated on'" in out
    [created] = [line for line in result.stdout.splitlines() if line.startswith("line    2")]
    assert flat(created) == "line 2 2000001 Ann Lee CREATED"  # the outcome said once, not "CREATED — created"
    assert "6 row(s) outcome rows created 3 blocked 1 bad_row 2" in out


def test_a_clean_file_exits_0_with_commas_and_any_header_spelling(cli: Cli, tmp_path: Path) -> None:
    text = "onelink_id,FIRST_NAME,last-name,Affiliation,graduation date,Gift,Gift date\n" \
           "2000011,Fay,Oh,alumni,2010-06-01,,\n" \
           "2000012,Gus,Ng,friends,,250,1/15/2026\n"  # fmt: skip
    records = cli.lines("batch", str(write(tmp_path, text)), "--today", TODAY)
    assert [r["outcome"] for r in records if r["type"] == "row"] == ["created", "created"]
    assert records[-1]["exit_code"] == 0


def test_a_dry_run_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    text = "OneLink ID,First name,Last name,Affiliation,Graduated on\n2000011,Fay,Oh,alumni,2010-06-01\n"
    records = cli.lines("batch", str(write(tmp_path, text)), "--today", TODAY, "--dry-run")
    assert records[0]["outcome"] == "created"
    assert records[0]["dry_run"] is True
    assert not cli.journal.exists()


def test_results_go_to_a_csv_or_jsonl_file(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, EXPORTED)
    result = cli("batch", str(path), "--today", TODAY, "--out", "results.csv")
    assert result.exit_code == 1
    raw = (tmp_path / "results.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads the accents
    with (tmp_path / "results.csv").open(encoding="utf-8-sig", newline="") as file:
        lines = [int(row["line"]) for row in csv.DictReader(file)]
    assert lines == [2, 4, 5, 6, 7, 8]  # the input's order, whatever order the rows finished in
    with (tmp_path / "results.csv").open(encoding="utf-8-sig", newline="") as file:
        rows = {int(row["line"]): row for row in csv.DictReader(file)}
    assert (rows[5]["outcome"], rows[5]["column"]) == ("bad_row", "Graduated on")
    assert (rows[2]["outcome"], rows[2]["account"], rows[2]["user_group"]) == ("created", "2000001", "DUKE_ALUMNI")
    cli("batch", str(path), "--today", TODAY, "--out", "results.jsonl")
    full = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {row["line"] for row in full} == {2, 4, 5, 6, 7, 8}
    assert any(row.get("steps") for row in full)  # the whole result, steps and calls included


def test_an_out_file_of_another_kind_is_refused_before_anything_runs(cli: Cli, tmp_path: Path) -> None:
    result = cli("batch", str(write(tmp_path, EXPORTED)), "--out", "results.xlsx")
    assert result.exit_code == 2
    assert "error: --out 'results.xlsx': write results to a .csv or a .jsonl file" in result.stderr
    assert not cli.journal.exists()


def test_a_file_without_a_required_column_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    result = cli("batch", str(write(tmp_path, "First name,Last name\nAnn,Lee\n")))
    assert result.exit_code == 2
    assert "has no column for onelink_id, affiliation" in result.stderr
    assert "hint: name the columns like: OneLink ID, First name, Last name, Affiliation" in result.stderr


def test_a_missing_or_empty_file_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    assert "error: no file 'nothere.csv'" in cli("batch", "nothere.csv").stderr
    empty = cli("batch", str(write(tmp_path, "\n\n")))
    assert empty.exit_code == 2
    assert "is empty" in empty.stderr


def test_a_windows_1252_file_is_read_with_a_note(cli: Cli, tmp_path: Path) -> None:
    text = "OneLink ID;First name;Last name;Affiliation;Graduated on\n2000021;José;Ñúñez;alumni;2012-05-01\n"
    records = cli("batch", str(write(tmp_path, text, encoding="cp1252")), "--today", TODAY, "--json")
    assert records.exit_code == 0
    assert json.loads(records.stdout.splitlines()[0])["first_name"] == "José"
    assert "read as Windows-1252" in records.stderr


def test_a_row_missing_what_its_affiliation_needs_names_the_column(cli: Cli, tmp_path: Path) -> None:
    text = "OneLink ID,First name,Last name,Affiliation,Home institution\n2000031,Hal,Ito,trln,\n"
    [row, _] = cli.lines("batch", str(write(tmp_path, text)), "--today", TODAY, code=1)
    assert (row["outcome"], row["column"]) == ("bad_row", "Home institution")
    text = "OneLink ID,First name,Last name,Affiliation\n2000032,Ida,Lu,alumni\n"
    [row, _] = cli.lines("batch", str(write(tmp_path, text, name="b.csv")), "--today", TODAY, code=1)
    assert (row["outcome"], row["column"]) == ("bad_row", "Graduated on")
    assert row["reason"] == "the file has no Graduated on column, and this patron needs one"


def test_failed_rows_make_exit_3(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = Sandbox.demo(now=lambda: NOW, faults=Faults(rate=1.0, kinds=["503"]))
    client = AlmaClient.sandbox(sandbox, max_retries=0, sleep=lambda seconds: None)
    monkeypatch.setattr(_state.State, "alma", lambda self: client)
    text = "OneLink ID,First name,Last name,Affiliation,Graduated on\n2000041,Jo,Ko,alumni,2012-05-01\n"
    [row, summary] = cli.lines("batch", str(write(tmp_path, text)), "--today", TODAY, code=3)
    assert row["outcome"] == "failed"
    assert summary["exit_code"] == 3


def test_accepted_headers_cover_what_people_write() -> None:
    names = header_names()
    expected = {"onelink_id": "onelinkid", "email": "email", "first_name": "firstname", "postal_code": "zip",
                "donation_amount": "gift", "graduated_on": "graduationdate"}  # fmt: skip
    for field, header in expected.items():
        assert header in names[field]


def test_rows_are_shown_in_the_files_order_whatever_order_they_finish_in(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alma_onelink.cli import _batch
    from alma_onelink.onelink import register_many

    def last_first(*args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from reversed(list(register_many(*args, **kwargs)))  # the last patron finishes first

    monkeypatch.setattr(_batch, "register_many", last_first)
    path = write(tmp_path, EXPORTED)
    records = cli.lines("batch", str(path), "--today", TODAY, code=1)
    assert [r["line"] for r in records[:-1]] == [2, 4, 5, 6, 7, 8]
    human = cli("batch", str(path), "--today", TODAY)
    shown = [int(line.split()[1]) for line in human.stdout.splitlines() if line.startswith("line ")]
    assert shown == [2, 4, 5, 6, 7, 8]
