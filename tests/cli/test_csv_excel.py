"""The results CSV is safe in a spreadsheet of any locale: no piece of a cell can run as a formula.

Excel splits a CSV on its locale's list separator, so a file written with ``,`` opened where the
separator is ``;`` splits ``Ann;=2+5`` into ``Ann`` and a formula; its text import splits on tabs or
``|``; a line break starts a row. Every place a cell may be split counts as the start of a cell.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from alma_onelink.cli._results_file import SPLITS, excel_safe
from tests.cli.conftest import TODAY, Cli

SIGNS = "=+-@"


def pieces(cell: str) -> list[str]:
    """The cell as a spreadsheet splitting on any of `SPLITS` would read it, each piece's spaces and quotes off."""
    return [piece.strip(' "') for piece in re.split(f"[{re.escape(SPLITS)}]", cell)]


def runs(piece: str) -> bool:
    """Whether a spreadsheet would run ``piece`` as a formula (a plain number is a number, not a formula)."""
    return piece != "" and piece[0] in SIGNS and not re.fullmatch(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", piece)


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("Ann;=2+5", "Ann;'=2+5"),
        ("Ann; =2+5", "Ann; '=2+5"),
        ('Ann;"=2+5', "Ann;\"'=2+5"),
        ('Ann,=HYPERLINK("http://x")', 'Ann,\'=HYPERLINK("http://x")'),
        ("a|@SUM(1)", "a|'@SUM(1)"),
        ("a\t+cmd", "a\t'+cmd"),
        ("a\n-2+3", "a\n'-2+3"),
        ("x,-3;=a", "x,-3;'=a"),
        ("=1;=2", "'=1;'=2"),
        (" =1", "' =1"),
    ],
)
def test_a_formula_after_a_place_a_spreadsheet_may_split_gets_a_quote(cell: str, written: str) -> None:
    assert excel_safe(cell) == written


@pytest.mark.parametrize("cell", ["Ann", "-12.5", "x, -3", "12;5", "1;-2", "a=b", "O'Neil", "a-b; c+d", "2026-03-02"])
def test_text_and_numbers_between_separators_are_kept(cell: str) -> None:
    assert excel_safe(cell) == cell


@pytest.mark.parametrize(
    "cell",
    ["Ann;=2+5", "a,@x", 'q|"+1+1', "t\t-x", "n\r=1", "\t=1", "x;;=1", "-x;-y,-z", "=a;+b,@c|-d\t=e\n+f", " ; =1"],
)
def test_no_piece_of_a_written_cell_runs_in_any_locale(cell: str) -> None:
    assert [piece for piece in pieces(excel_safe(cell)) if runs(piece)] == []


def test_the_results_csv_of_a_batch_holds_no_formula_in_a_semicolon_locale(cli: Cli, tmp_path: Path) -> None:
    header = ["OneLink ID", "First name", "Last name", "Affiliation", "Prior role"]
    rows = [
        ["4000301", "Ann;=2+5", "Smith", "former_affiliate", "staff"],
        ["4000302", "Bob", 'Lee;"@SUM(1)', "former_affiliate", "staff"],
        ["4000303", "Cy", "Ho,+1+1", "former_affiliate", "staff"],
    ]
    with (tmp_path / "in.csv").open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([header, *rows])
    result = cli("batch", "in.csv", "--today", TODAY, "--dry-run", "--out", "results.csv")
    assert result.exit_code == 0, result.stderr
    text = (tmp_path / "results.csv").read_text(encoding="utf-8-sig")
    for separator in (",", ";", "\t"):  # the file as Excel would split it in each locale
        for line in csv.reader(text.splitlines(), delimiter=separator):
            assert [cell for cell in line if runs(cell.strip(' "'))] == [], (separator, line)
    written = {row["onelink_id"]: row for row in csv.DictReader(text.splitlines())}
    assert written["4000301"]["first_name"] == "Ann;'=2+5"
    assert written["4000302"]["last_name"] == "Lee;\"'@SUM(1)"
    assert written["4000303"]["last_name"] == "Ho,'+1+1"
