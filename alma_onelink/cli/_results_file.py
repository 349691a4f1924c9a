"""``batch --out``: each row's result, as a CSV file safe to open in Excel, or as JSON Lines.

A cell that Excel (or LibreOffice, Google Sheets) would run as a formula is neutralised: one that
begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a ``'`` in front, the OWASP
rule for CSV injection, so a patron named ``=HYPERLINK(…)`` is shown as text. A spreadsheet set to
another list separator splits a cell where we did not (Excel in a ``;`` locale splits ``Ann;=2+5``
into ``Ann`` and a formula), so every place a cell may be split counts as a start: a formula sign
after a ``,``, ``;``, ``|``, a tab or a line break, with only spaces or double quotes between, gets
the ``'`` too (``Ann;'=2+5``). A piece that is only a number (``-12.5``, ``+3``) cannot run and is
kept as it is, so it stays a number. The JSON Lines file keeps every value exactly as it is: it is
for programs, not spreadsheets.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

from ._output import to_json
from ._state import UsageProblem, check_file_path

__all__ = ["CSV_COLUMNS", "ResultsFile", "excel_safe"]

CSV_COLUMNS: Final = (
    "line",
    "outcome",
    "onelink_id",
    "first_name",
    "last_name",
    "account",
    "user_group",
    "expiry_date",
    "merge_from",
    "reason",
    "issues",
    "column",
    "dry_run",
    "journal_error",
)
"""The columns of the results CSV, in order."""

_NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
SPLITS: Final = ",;|\t\r\n"
"""Where a spreadsheet may split a cell into two: the list separators of Excel's locales (``,`` ``;``),
the ``|`` and tab of its text import, and line breaks."""
_SPLIT_FORMULA: Final = re.compile(rf"([{re.escape(SPLITS)}][ \"]*)([=+\-@])([^{re.escape(SPLITS)}]*)")
"""A formula sign right after a split (spaces or double quotes between), and the rest of that piece."""


def excel_safe(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it: ``'`` before each formula's first character.

    A formula starts at the cell's start, or after a place the cell may be split (`SPLITS`). A
    piece that is only a number is left as it is.

    >>> excel_safe("=HYPERLINK(\\"http://x\\")"), excel_safe("-12.5"), excel_safe("Ann")
    ('\\'=HYPERLINK("http://x")', '-12.5', 'Ann')
    >>> excel_safe("Ann;=2+5"), excel_safe("x, -3"), excel_safe('a|"@SUM(1)')
    ("Ann;'=2+5", 'x, -3', 'a|"\\'@SUM(1)')
    """

    def neutral(found: re.Match[str]) -> str:
        split, sign, rest = found.groups()
        return found[0] if _NUMBER.fullmatch(sign + rest.rstrip()) else f"{split}'{sign}{rest}"

    safe = _SPLIT_FORMULA.sub(neutral, text)
    if safe.startswith(("\t", "\r")):
        return "'" + safe
    lead = safe.lstrip(' "')
    piece = re.split(f"[{re.escape(SPLITS)}]", lead, maxsplit=1)[0].rstrip()
    if lead.startswith(("=", "+", "-", "@")) and not _NUMBER.fullmatch(piece):
        return "'" + safe
    return safe


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return excel_safe("; ".join(str(v) for v in value))
    return excel_safe(str(value))


class ResultsFile:
    """``--out``: each row's result, CSV (``.csv``, with a BOM for Excel) or JSON Lines (``.jsonl``).

    Rows are written and flushed as they finish, so a run cut short keeps what was done; on close
    the file is written again in the input's line order, the order people read it in.
    """

    def __init__(self, path: Path) -> None:
        self.path = self.check(path)
        self._jsonl = self.path.suffix.lower() == ".jsonl"
        self._rows: list[tuple[int, dict[str, Any], dict[str, Any] | None]] = []
        self._file: IO[str] = self._open()

    def _open(self) -> IO[str]:
        encoding = "utf-8" if self._jsonl else "utf-8-sig"  # Excel reads accents in a CSV only after a BOM
        file = self.path.open("w", encoding=encoding, newline="")
        if not self._jsonl:
            csv.DictWriter(file, fieldnames=CSV_COLUMNS, extrasaction="ignore").writeheader()
        return file

    @staticmethod
    def check(path: Path) -> Path:
        """``path`` if results can be written there. Raises `UsageProblem` naming ``--out``."""
        target = check_file_path(path, "--out", what="a .csv or .jsonl file")
        if target.suffix.lower() not in (".csv", ".jsonl"):
            raise UsageProblem(
                f"--out {str(path)!r}: write results to a .csv or a .jsonl file", "like --out results.csv"
            )
        return target

    @staticmethod
    def check_overwrites_nothing(out: Path, source: Path, *, journal: Path, sis_file: Path | None = None) -> None:
        """Before anything is read or sent: ``out`` is none of the files the batch reads or keeps, by path,
        through a link or as the same file: the input file ``source``, the journal's own files (`is_journal_file`)
        or the SIS file. Raises `UsageProblem` naming ``--out`` and what it would destroy. Another file is
        replaced: running the same command again is how a batch is finished."""
        from ._journal_store import is_journal_file, same_file  # noqa: PLC0415  (the journal's rule, said once)

        if same_file(out, source):
            what = f"the input file {str(source)!r}"
        elif is_journal_file(out, journal):
            what = f"one of the journal's own files (the journal is {journal})"
        elif sis_file is not None and same_file(out, sis_file):
            what = f"the --sis-file {str(sis_file)!r}"
        else:
            return
        raise UsageProblem(
            f"--out {str(out)!r} is {what}: writing the results there would destroy it",
            "give the results a file of their own, like --out results.csv",
        )

    def write(self, summary: dict[str, Any], full: dict[str, Any] | None) -> None:
        """One row: the flat ``summary`` to CSV, or ``full`` (the result's ``to_dict()`` and the line) to JSON Lines."""
        self._rows.append((int(summary.get("line") or 0), summary, full))
        self._write_row(self._file, summary, full)
        self._file.flush()

    def _write_row(self, file: IO[str], summary: dict[str, Any], full: dict[str, Any] | None) -> None:
        if self._jsonl:
            file.write(to_json(full if full is not None else summary, indent=None) + "\n")
        else:
            writer = csv.DictWriter(file, fieldnames=CSV_COLUMNS, extrasaction="ignore")
            writer.writerow({key: _cell(value) for key, value in summary.items() if key in CSV_COLUMNS})

    def close(self) -> None:
        """Write the file again, rows in the input's line order, and close it."""
        self._file.close()
        self._file = self._open()
        try:
            for _, summary, full in sorted(self._rows, key=lambda row: row[0]):
                self._write_row(self._file, summary, full)
        finally:
            self._file.close()

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
