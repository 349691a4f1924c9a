"""``batch FILE.csv``: register every patron of a CSV file, with progress, each row's outcome and a summary.

Rows that cannot be read are reported with their line and column and skipped; the others go to
`register_many`. Running the same file again resumes: rows already registered come back
``already_registered``. With ``--json`` stdout is JSON Lines: one ``{"type": "row", …}`` per row,
then one ``{"type": "summary", …}``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from alma_onelink.engine import JournalError
from alma_onelink.onelink import Outcome, RegistrationResult, register_many
from alma_onelink.onelink.batch import MAX_CONCURRENCY
from alma_onelink.policy import Patron

from ._app import app, command
from ._csv import PatronFile, Row, read_patrons
from ._register import parse_today, today_option
from ._registration import COLOURS, beyond_outcome
from ._results_file import ResultsFile
from ._state import ExitCode, State, state_of
from ._words import staff_words

__all__ = ["BAD_ROW", "NOT_STARTED", "ResultsFile"]

BAD_ROW: Final = "bad_row"
"""The outcome of a row that could not be read (its line and column say why); it is not registered."""

NOT_STARTED: Final = "not_started"
"""The outcome of a row the batch never began (it stopped: the journal could not be written); nothing was sent."""
_COLOURS: Final = {**COLOURS, BAD_ROW: "red", NOT_STARTED: "red"}


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


def _result_summary(result: RegistrationResult, line: int, first_line: dict[str, int], prefix: str) -> dict[str, Any]:
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
        "reason": staff_words(reason, prefix),
        "issues": [issue.code for issue in result.issues],
        "dry_run": result.dry_run,
        "journal_error": staff_words(result.journal_error, prefix) if result.journal_error else None,
    }


def _not_started_summary(line: int, patron: Patron) -> dict[str, Any]:
    return {
        "type": "row",
        "line": line,
        "outcome": NOT_STARTED,
        "onelink_id": patron.onelink_id,
        "first_name": patron.first_name,
        "last_name": patron.last_name,
        "reason": "not started: the batch stopped when the journal could not be written; nothing was sent to Alma",
    }


def _row_line(summary: dict[str, Any], prefix: str) -> list[str | tuple[str, str]]:
    """The parts of one row's line on the screen (the outcome once; its reason when it says more)."""
    outcome = str(summary["outcome"])
    name = " ".join(part for part in (summary.get("first_name"), summary.get("last_name")) if part)
    reason = beyond_outcome(str(summary.get("reason") or ""), outcome, str(summary.get("onelink_id") or ""))
    parts: list[str | tuple[str, str]] = [
        (f"line {summary['line']:>4}  ", "dim"),
        f"{summary.get('onelink_id') or '?':<10} ",
        f"{name:<28} ",
        (outcome.replace("_", " ").upper(), f"bold {_COLOURS.get(outcome, '')}"),
    ]
    if reason:
        parts.append(f" — {reason}")
    if summary.get("journal_error") and "journal" not in reason.casefold():
        parts.append(("  (its journal line could not be written: see the end)", "bold red"))
    if outcome == Outcome.NEEDS_MERGE.value and summary.get("merge_from"):
        parts.append((f"  → {prefix} merge plan {summary['merge_from']} {summary['onelink_id']}", "bold"))
    return parts


def _summary_table(counts: Counter[str], total: int) -> Table:
    table = Table("outcome", "rows", title=f"{total} row(s)", box=None, header_style="bold", title_justify="left")
    order = [*(o.value for o in Outcome), BAD_ROW, NOT_STARTED]
    for outcome in sorted(counts, key=order.index):
        table.add_row(Text(outcome, style=_COLOURS.get(outcome, "")), str(counts[outcome]))
    return table


def _exit_code(counts: Counter[str], journal_failed: bool) -> ExitCode:
    if journal_failed:
        return ExitCode.JOURNAL
    if counts[Outcome.FAILED.value]:
        return ExitCode.ALMA
    fine = {Outcome.CREATED.value, Outcome.RENEWED.value, Outcome.ALREADY_REGISTERED.value}
    return ExitCode.OK if all(outcome in fine for outcome in counts) else ExitCode.ACTION


def _notes(state: State, parsed: PatronFile) -> None:
    how = {",": "commas", ";": "semicolons", "\t": "tabs"}[parsed.delimiter]
    state.out.note(f"Read {parsed.path}: {len(parsed.rows)} row(s), {how} between cells, {parsed.encoding}.")
    if parsed.encoding == "windows-1252":
        state.out.note(
            "The file is not UTF-8; it was read as Windows-1252. Save it as CSV UTF-8 to be sure of accents."
        )
    if parsed.ignored:
        state.out.note(f"Ignored column(s) this does not know: {', '.join(parsed.ignored)}.")


class _InFileOrder:
    """Shows rows in the file's order as they become ready (results finish in any order), and counts them."""

    def __init__(self, state: State, lines: list[int], results: ResultsFile | None) -> None:
        self._state = state
        self._order = lines
        self._next = 0
        self._ready: dict[int, dict[str, Any]] = {}
        self._results = results
        self._prefix = state.command_prefix()
        self.counts: Counter[str] = Counter()
        self.journal_errors: list[str] = []
        """What each row whose journal line could not be written says about it."""

    def add(self, summary: dict[str, Any], full: dict[str, Any] | None = None) -> None:
        """One row's result: counted and written to ``--out`` now, shown once every row before it is."""
        self.counts[str(summary["outcome"])] += 1
        if summary.get("journal_error"):
            self.journal_errors.append(str(summary["journal_error"]))
        if self._results is not None:
            self._results.write(summary, full)
        self._ready[int(summary["line"])] = summary
        while self._next < len(self._order) and self._order[self._next] in self._ready:
            self._emit(self._ready.pop(self._order[self._next]))
            self._next += 1

    def flush(self) -> None:
        """Show the rows still waiting for an earlier one that will not come (the run was cut short), in order."""
        for line in self._order[self._next :]:
            if line in self._ready:
                self._emit(self._ready.pop(line))
        self._next = len(self._order)

    def _emit(self, summary: dict[str, Any]) -> None:
        if self._state.out.json_mode:
            self._state.out.record(summary)
        else:
            self._state.out.say(*_row_line(summary, self._prefix))


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
    `,`, `;` or tab between cells; UTF-8, UTF-16 (Excel's "Unicode Text") or Windows-1252; dates
    YYYY-MM-DD or M/D/YYYY (US order). A bad row is reported with its line and column and skipped.
    Rows are shown in the file's order. The results CSV (--out) is safe to open in Excel: a cell
    that would run as a formula starts with '. Exit status: 0 every row done, 1 some need action or
    were bad, 3 some failed, 4 the journal could not be written (the batch stopped; rows not
    started say so).
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
    shown = _InFileOrder(state, [row.line for row in parsed.rows], results)
    good = [(row.line, row.patron) for row in parsed.rows if row.patron is not None]
    first_line: dict[str, int] = {}
    for line, patron in good:
        first_line.setdefault(patron.onelink_id.strip().casefold(), line)
    stopped: JournalError | None = None
    try:
        for row in parsed.rows:
            if row.patron is None:
                shown.add(_bad_row_summary(row))
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
        started: set[int] = set()
        with progress:
            task = progress.add_task("registering", total=len(good))
            try:
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
                    index = result.index or 0
                    started.add(index)
                    line = good[index][0]
                    summary = _result_summary(result, line, first_line, state.command_prefix())
                    full = {"line": line, **result.to_dict(), "reason": summary["reason"]}
                    shown.add(summary, full)
                    progress.advance(task)
            except JournalError as exc:
                stopped = exc
        if stopped is not None:
            for index, (line, patron) in enumerate(good):
                if index not in started:
                    shown.add(_not_started_summary(line, patron))
    finally:
        try:
            shown.flush()
        finally:
            if results is not None:
                results.close()
    counts = shown.counts
    code = _exit_code(counts, stopped is not None or bool(shown.journal_errors))
    total = sum(counts.values())
    said = str(stopped) if stopped is not None else next(iter(shown.journal_errors), None)
    message = staff_words(said, state.command_prefix()) if said else None
    if state.out.json_mode:
        state.out.record(
            {
                "type": "summary",
                "rows": total,
                "counts": dict(counts),
                "exit_code": int(code),
                "out": str(results.path) if results is not None else None,
                "dry_run": dry_run,
                "journal_error": message,
            }
        )
    else:
        state.out.show(Text(""), _summary_table(counts, total))
        if results is not None:
            state.out.say("Results written to ", str(results.path))
    if code is ExitCode.JOURNAL and message:
        state.out.error(message)  # what was not written, what Alma may hold, and what to do
    return code
