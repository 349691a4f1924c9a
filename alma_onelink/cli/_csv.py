"""Reading the patrons of ``batch`` from a CSV file as people export it.

- UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8" writes one); UTF-16 with its byte-order
  mark (Excel's "Unicode Text", tab-separated) or without one; Windows-1252 is read too, with a note.
- ``,``, ``;`` or tab between cells: the one used most in the header line.
- A cell longer than the csv module's limit (``csv.field_size_limit()``, 128 KiB) is a usage error
  naming its line: no patron has a name that long, so the file is not what it seems.
- Header names in any case, with spaces, hyphens or underscores: ``OneLink ID``, ``onelink_id`` and
  ``ONELINK-ID`` are the same column. Each fact also has a few common names (``E-mail``, ``Zip``,
  ``Surname``…): see `header_names`. Unknown columns are ignored, with a note.
- Dates ``YYYY-MM-DD`` or ``M/D/YYYY`` (US order, month first); a day-first date is an error naming the cell.
- Blank lines (or rows of empty cells) are skipped; line numbers count every physical line, the header is line 1.

A row that cannot become a `Patron` is a `Row` with ``problem`` and ``column`` set; the others have ``patron``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from ._patron_opts import FIELDS, REQUIRED, FieldProblem, PatronForm, build_patron, check_affiliation, missing_fields
from ._state import UsageProblem

if TYPE_CHECKING:
    from alma_onelink.policy import Patron, Policy

__all__ = ["PatronFile", "Row", "header_names", "read_patrons"]

_DELIMITERS: Final = (",", ";", "\t")


def _key(header: str) -> str:
    """A header as compared: lower case, letters and digits only (``"E-mail "`` → ``"email"``)."""
    return re.sub(r"[^0-9a-z]", "", header.casefold())


_ALIASES: Final[dict[str, str]] = {}
for _field in FIELDS:
    for _alias in (_key(_field.name), *(_key(alias) for alias in _field.aliases)):
        _ALIASES.setdefault(_alias, _field.name)


def header_names() -> dict[str, list[str]]:
    """Each field and the header names (as compared: lower case, letters and digits) that mean it."""
    names: dict[str, list[str]] = {f.name: [] for f in FIELDS}
    for alias, name in _ALIASES.items():
        names[name].append(alias)
    return names


@dataclass(slots=True)
class Row:
    """One patron row: its first line in the file, the cells as read, and the patron or what is wrong."""

    line: int
    form: PatronForm
    patron: Patron | None = None
    problem: str | None = None
    column: str | None = None
    """The header (as written in the file) of the first cell at fault."""


@dataclass(slots=True)
class PatronFile:
    """What was read: every patron row, and how the file was read."""

    path: Path
    rows: list[Row]
    delimiter: str
    encoding: str
    columns: dict[str, str] = field(default_factory=dict)
    """Header as written → field."""
    ignored: list[str] = field(default_factory=list)
    """Headers that name no field."""


_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16's: it begins with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le`` or ``-be`` when ``data`` reads as UTF-16 without a byte-order mark (NULs at every other byte)."""
    sample = data[:4096]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > len(odd) * 0.3 and even.count(0) < len(even) * 0.05:
        return "utf-16-le"
    if even.count(0) > len(even) * 0.3 and odd.count(0) < len(odd) * 0.05:
        return "utf-16-be"
    return None


def _decode(path: Path) -> tuple[str, str]:
    """The text of the file at ``path`` and the encoding it was read in (see the module's list)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageProblem(f"no file {str(path)!r}", "check the path; batch reads a CSV file") from None
    except IsADirectoryError:
        raise UsageProblem(f"{str(path)!r} is a folder", "give the path of a CSV file") from None
    except OSError as exc:
        raise UsageProblem(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None) or _utf16_without_bom(data)
    if encoding is not None:
        try:
            return data.decode(encoding).lstrip("\ufeff"), encoding.removesuffix("-sig")
        except UnicodeDecodeError as exc:
            raise UsageProblem(
                f"{str(path)!r} starts as {encoding.removesuffix('-sig').upper()} text but is not: {exc.reason} "
                f"at byte {exc.start}",
                "save it again from the spreadsheet as CSV UTF-8",
            ) from None
    if b"\x00" in data:
        raise UsageProblem(
            f"{str(path)!r} holds NUL bytes: it is not text in an encoding this reads (UTF-8, UTF-16, Windows-1252)",
            "save it from the spreadsheet as CSV UTF-8 (or Unicode Text)",
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "windows-1252"


def _delimiter(text: str) -> str:
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _rows(path: Path, text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Each row that is not blank, with the physical line it starts on (1-based).

    Raises `UsageProblem` naming the line of a row the csv module cannot read (a cell over its size limit).
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    ended = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            where = f"line {ended + 1}" + (f" (to line {reader.line_num})" if reader.line_num > ended + 1 else "")
            if "field larger than field limit" in str(exc):
                raise UsageProblem(
                    f"{str(path)!r}, {where}: a cell is longer than {csv.field_size_limit():,} characters",
                    'check that line: a quote (") left open makes the rest of the file one cell',
                ) from None
            raise UsageProblem(f"{str(path)!r}, {where}: not a CSV row this can read: {exc}") from None
        start, ended = ended + 1, reader.line_num
        if any(cell.strip() for cell in cells):
            yield start, cells


def read_patrons(path: Path, policy: Policy) -> PatronFile:
    """Every patron row of the CSV file at ``path``, checked against ``policy``'s affiliations.

    Raises `UsageProblem` for a file that cannot be read, has no header, lacks a required column, or
    names one column twice. A bad row does not raise: its `Row` says what is wrong.
    """
    text, encoding = _decode(path)
    delimiter = _delimiter(text)
    rows = list(_rows(path, text, delimiter))
    if not rows:
        raise UsageProblem(f"{str(path)!r} is empty", "the first line names the columns, like: OneLink ID,First name,…")
    _, header = rows[0]
    columns: dict[int, tuple[str, str]] = {}  # cell index → (header as written, field)
    ignored: list[str] = []
    for index, name in enumerate(header):
        written = name.strip().lstrip("\ufeff")
        known = _ALIASES.get(_key(written))
        if known is None:
            if written:
                ignored.append(written)
            continue
        twice = [w for w, f in columns.values() if f == known]
        if twice:
            raise UsageProblem(f"the columns {twice[0]!r} and {written!r} both mean {known}", "keep one of them")
        columns[index] = (written, known)
    present = {f for _, f in columns.values()}
    absent = [name for name in REQUIRED if name not in present]
    if absent:
        raise UsageProblem(
            f"{str(path)!r} has no column for {', '.join(absent)} (its header: {', '.join(header)})",
            "name the columns like: OneLink ID, First name, Last name, Affiliation (any case, spaces or underscores)",
        )
    header_of = {f: w for w, f in columns.values()}
    rows_read = [_row(line, cells, columns, header_of, policy) for line, cells in rows[1:]]
    return PatronFile(
        path=path,
        rows=rows_read,
        delimiter=delimiter,
        encoding=encoding,
        columns=dict(columns.values()),
        ignored=ignored,
    )


def _row(
    line: int, cells: list[str], columns: dict[int, tuple[str, str]], header_of: dict[str, str], policy: Policy
) -> Row:
    form: PatronForm = {}
    for index, (_, name) in columns.items():
        form[name] = cells[index].strip() if index < len(cells) else ""
    row = Row(line=line, form=form)

    def column(name: str) -> str:
        return header_of.get(name, name.replace("_", " ").capitalize())

    try:
        affiliation = form.get("affiliation")
        if isinstance(affiliation, str) and affiliation:
            form["affiliation"] = check_affiliation(policy, affiliation)
        missing = missing_fields(policy, form)
        if missing:
            raise FieldProblem(
                [
                    (name, "is empty, and this patron needs it")
                    if name in header_of
                    else (None, f"the file has no {column(name)} column, and this patron needs one")
                    for name in missing
                ]
            )
        row.patron = build_patron(form)
    except FieldProblem as exc:
        first = exc.fields[0] if exc.fields else next(iter(missing_fields(policy, form)), None)
        row.column = column(first) if first else None
        row.problem = exc.describe(lambda name: f"column {column(name)!r}")
    return row
