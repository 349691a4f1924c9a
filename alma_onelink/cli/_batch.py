"""``batch FILE.csv``: register every patron of a CSV file, with progress, each row's outcome and a summary.

Rows that cannot be read are reported with their line and column and skipped; the others go to
`register_many`. Running the same file again resumes: rows already registered come back
``already_registered``. With ``--json`` stdout is JSON Lines: one ``{"type": "row", …}`` per row,
then one ``{"type": "summary", …}``.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import IO, Annotated, Any, Final

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from alma_onelink.onelink import Outcome, RegistrationResult, register_many
from alma_onelink.onelink.batch import MAX_CONCURRENCY

from ._app import app, command
from ._csv import PatronFile, Row, read_patrons
from ._output import to_json
from ._register import parse_today, today_option
from ._state import ExitCode, State, UsageProblem, check_file_path, state_of

__all__ = ["BAD_ROW", "ResultsFile"]

BAD_ROW: Final = "bad_row"
"""The outcome of a row that could not be read (its line and column say why); it is not registered."""

_CSV_COLUMNS: Final = (
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
)
_COLOURS: Final = {
    "created": "green",
    "renewed": "green",
    "already_registered": "cyan",
    "needs_merge": "magenta",
    "blocked": "yellow",
    "failed": "red",
    BAD_ROW: "red",
}


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
            csv.DictWriter(file, fieldnames=_CSV_COLUMNS, extrasaction="ignore").writeheader()
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

    def write(self, summary: dict[str, Any], full: dict[str, Any] | None) -> None:
        """One row: the flat ``summary`` to CSV, or ``full`` (the result's ``to_dict()`` and the line) to JSON Lines."""
        self._rows.append((int(summary.get("line") or 0), summary, full))
        self._write_row(self._file, summary, full)
        self._file.flush()

    def _write_row(self, file: IO[str], summary: dict[str, Any], full: dict[str, Any] | None) -> None:
        if self._jsonl:
            file.write(to_json(full if full is not None else summary, indent=None) + "\n")
        else:
            writer = csv.DictWriter(file, fieldnames=_CSV_COLUMNS, extrasaction="ignore")
            writer.writerow({key: _cell(value) for key, value in summary.items()})

    def close(self) -> None:
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


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _bad_row_summary(row: Row) -> dict[str, Any]:
    form = row.form
    return {
        "type": "row",
        "line": row.line,
        "outcome": BAD_ROW,
        "onelink_id": form.get("onelink_id") or None,
        "first_name": form.get("first_name") or None,
        "last_name": form.get("last_name") or None,
        "reason": row.problem,
        "column": row.column,
    }


def _result_summary(result: RegistrationResult, line: int, first_line: dict[str, int]) -> dict[str, Any]:
    user = result.user
    reason = result.reason
    if any(issue.code == "duplicate_in_batch" for issue in result.issues):
        first = first_line.get(result.patron.onelink_id.strip().casefold())
        reason = (
            f"OneLink ID {result.patron.onelink_id} appears again in this file (first on line {first}); registered once"
        )
    return {
        "type": "row",
        "line": line,
        "outcome": result.outcome.value,
        "onelink_id": result.patron.onelink_id,
        "first_name": result.patron.first_name,
        "last_name": result.patron.last_name,
        "account": user.primary_id if user is not None else None,
        "user_group": user.user_group.value if user is not None and user.user_group else None,
        "expiry_date": user.expiry_date.isoformat() if user is not None and user.expiry_date else None,
        "merge_from": result.merge_from,
        "reason": reason,
        "issues": [issue.code for issue in result.issues],
        "dry_run": result.dry_run,
    }


def _row_line(summary: dict[str, Any], prefix: str) -> Text:
    outcome = str(summary["outcome"])
    name = " ".join(part for part in (summary.get("first_name"), summary.get("last_name")) if part)
    text = Text.assemble(
        (f"line {summary['line']:>4}  ", "dim"),
        (f"{summary.get('onelink_id') or '?':<10} ", ""),
        (f"{name:<28} ", ""),
        (outcome.replace("_", " ").upper(), f"bold {_COLOURS.get(outcome, '')}"),
        f" — {summary.get('reason') or ''}",
    )
    if outcome == Outcome.NEEDS_MERGE.value and summary.get("merge_from"):
        text.append(f"  → {prefix} merge plan {summary['merge_from']} {summary['onelink_id']}", style="bold")
    return text


def _summary_table(counts: Counter[str], total: int) -> Table:
    table = Table("outcome", "rows", title=f"{total} row(s)", box=None, header_style="bold", title_justify="left")
    order = [*(o.value for o in Outcome), BAD_ROW]
    for outcome in sorted(counts, key=order.index):
        table.add_row(Text(outcome, style=_COLOURS.get(outcome, "")), str(counts[outcome]))
    return table


def _exit_code(counts: Counter[str]) -> ExitCode:
    if counts[Outcome.FAILED.value]:
        return ExitCode.ALMA
    fine = {Outcome.CREATED.value, Outcome.RENEWED.value, Outcome.ALREADY_REGISTERED.value}
    return ExitCode.OK if all(outcome in fine for outcome in counts) else ExitCode.ACTION


def _notes(state: State, parsed: PatronFile) -> None:
    how = {",": "commas", ";": "semicolons", "\t": "tabs"}[parsed.delimiter]
    state.out.note(f"Read {parsed.path}: {len(parsed.rows)} row(s), {how} between cells, {parsed.encoding}.")
    if parsed.encoding != "utf-8":
        state.out.note(
            "The file is not UTF-8; it was read as Windows-1252. Save it as CSV UTF-8 to be sure of accents."
        )
    if parsed.ignored:
        state.out.note(f"Ignored column(s) this does not know: {', '.join(parsed.ignored)}.")


@command(app, "batch", short_help="Register every patron of a CSV file.")
def batch(
    ctx: typer.Context,
    *,
    file: Annotated[Path, typer.Argument(metavar="FILE.csv", help="Patrons, one per row, with a header line.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="Write each row's result to FILE (.csv or .jsonl)."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=MAX_CONCURRENCY, help="Patrons registered at once.")
    ] = 8,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and decide, write nothing.")] = False,
    today: Annotated[str | None, today_option] = None,
) -> int:
    """Register every patron of FILE.csv with the OneLink procedure.

    Headers in any case and spacing (OneLink ID, First name, Last name, Affiliation, E-mail, …);
    `,` or `;` between cells; dates YYYY-MM-DD or M/D/YYYY (US order). A bad row is reported with
    its line and column and skipped. Exit status: 0 every row done, 1 some need action or were
    bad, 3 some failed.
    """
    state = state_of(ctx)
    policy = state.policy()
    day = parse_today(today)
    journal = state.journal_path()
    if out is not None:
        ResultsFile.check(out)  # a wrong --out is said before the file is read
    parsed = read_patrons(file, policy)
    alma = state.alma()
    _notes(state, parsed)
    results = ResultsFile(out) if out is not None else None
    counts: Counter[str] = Counter()
    prefix = state.command_prefix()

    def emit(summary: dict[str, Any], full: dict[str, Any] | None = None) -> None:
        counts[str(summary["outcome"])] += 1
        if state.out.json_mode:
            state.out.record(summary)
        else:
            state.out.show(_row_line(summary, prefix))
        if results is not None:
            results.write(summary, full)

    good = [(row.line, row.patron) for row in parsed.rows if row.patron is not None]
    first_line: dict[str, int] = {}
    for line, patron in good:
        first_line.setdefault(patron.onelink_id.strip().casefold(), line)
    try:
        for row in parsed.rows:
            if row.patron is None:
                emit(_bad_row_summary(row))
        progress = Progress(
            TextColumn("registering"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=state.out.err,
            transient=True,
            disable=not state.out.err.is_terminal,
            # Rows printed while the bar shows go above it only when stdout is the same terminal;
            # stdout sent to a file keeps every row.
            redirect_stdout=state.out.out.is_terminal,
            redirect_stderr=False,
        )
        with progress:
            task = progress.add_task("registering", total=len(good))
            for result in register_many(
                alma,
                policy,
                [patron for _, patron in good],
                concurrency=concurrency,
                journal=journal,
                today=day,
                dry_run=dry_run,
                staff=state.staff,
            ):
                line = good[result.index or 0][0]
                summary = _result_summary(result, line, first_line)
                emit(summary, {"line": line, **result.to_dict(), "reason": summary["reason"]})
                progress.advance(task)
    finally:
        if results is not None:
            results.close()
    code = _exit_code(counts)
    total = sum(counts.values())
    if state.out.json_mode:
        state.out.record(
            {
                "type": "summary",
                "rows": total,
                "counts": dict(counts),
                "exit_code": int(code),
                "out": str(results.path) if results is not None else None,
                "dry_run": dry_run,
            }
        )
    else:
        state.out.show(Text(""), _summary_table(counts, total))
        if results is not None:
            state.out.show(Text(f"Results written to {results.path}"))
    return code
