"""``batch``'s rows: each row's summary (the JSON record, the results file's row), its line on the screen, the counts.

Rows come back in any order (registrations finish when they finish) and are shown in the file's
order. Besides a registration's outcomes, a row can be a ``bad_row`` (it could not be read), a
``not_started`` one (the journal failed), and with ``--sis-file`` or ``--reconcile`` the states of
a hand-off: ``handed_off``, ``loaded``, ``waiting``, ``not_handed_off``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from rich.table import Table
from rich.text import Text

from ._output import value
from ._registration import COLOURS, beyond_outcome, outcome_label, outcome_word
from ._state import ExitCode, State
from ._words import staff_words

if TYPE_CHECKING:
    from alma_onelink.onelink import RegistrationResult
    from alma_onelink.policy import Patron, Policy

    from ._csv import PatronFile, Row
    from ._results_file import ResultsFile

__all__ = [
    "BAD_ROW",
    "HANDED_OFF",
    "LOADED",
    "SUPERSEDED",
    "NOT_HANDED_OFF",
    "NOT_STARTED",
    "STOPPED",
    "WAITING",
    "BatchRun",
    "InFileOrder",
    "bad_row_summary",
    "exit_code",
    "notes",
    "result_summary",
    "row_summary",
    "summary_table",
]

OUTCOMES: Final = ("created", "needs_merge", "renewed", "already_registered", "blocked", "failed", "deferred")
"""A registration's outcomes (`Outcome` values), in the order the counts are shown."""
BAD_ROW: Final = "bad_row"
"""The outcome of a row that could not be read (its line and column say why); it is not registered."""
NOT_STARTED: Final = "not_started"
"""The outcome of a row the batch never began (it stopped: Ctrl-C, or the journal could not be written); nothing
was sent."""
STOPPED: Final = "stopped"
"""The outcome of a row under way when a second Ctrl-C stopped the batch: Alma may or may not hold its writes."""
HANDED_OFF: Final = "handed_off"
"""``--sis-file``: the new account is in the SIS file, for Alma's SIS load (journaled, pending until reconciled)."""
LOADED: Final = "loaded"
"""``--reconcile``: Alma holds the account handed off; its journal entry is settled."""
WAITING: Final = "waiting"
"""``--reconcile``: Alma has no such account yet (its job has not loaded the file); the entry stays pending."""
SUPERSEDED: Final = "superseded"
"""``--reconcile``: the account was created through Alma's API after the hand-off; take it out of the SIS file."""
NOT_HANDED_OFF: Final = "not_handed_off"
"""``--reconcile``: the journal holds no hand-off of this row's OneLink ID in a SIS file."""

_ORDER: Final = (*OUTCOMES, HANDED_OFF, LOADED, WAITING, SUPERSEDED, NOT_HANDED_OFF, BAD_ROW, STOPPED, NOT_STARTED)
_COLOURS: Final = {
    **COLOURS,
    "deferred": "blue",
    BAD_ROW: "red",
    NOT_STARTED: "red",
    STOPPED: "red",
    HANDED_OFF: "green",
    LOADED: "green",
    WAITING: "blue",
    SUPERSEDED: "yellow",
    NOT_HANDED_OFF: "dim",
}
_DONE: Final = frozenset({"created", "renewed", "already_registered", LOADED, NOT_HANDED_OFF})
"""Row outcomes that leave nothing to do."""


@dataclass(frozen=True, slots=True)
class BatchRun:
    """One ``batch`` run: the file's readable rows (line, patron), where rows go, and the options every mode takes."""

    state: State
    policy: Policy
    source: Path
    good: list[tuple[int, Patron]]
    shown: InFileOrder
    reserve: int
    concurrency: int
    day: date | None

    def first_lines(self) -> dict[str, int]:
        """The first line of each OneLink ID (folded) in the file."""
        first: dict[str, int] = {}
        for line, patron in self.good:
            first.setdefault(patron.onelink_id.strip().casefold(), line)
        return first


def bad_row_summary(row: Row) -> dict[str, Any]:
    """The summary of a row that could not be read."""
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


def row_summary(line: int, patron: Patron, outcome: str, reason: str, **more: Any) -> dict[str, Any]:
    """The summary of a row with no registration result (``not_started``, a hand-off's state)."""
    return {
        "type": "row",
        "line": line,
        "outcome": outcome,
        "onelink_id": patron.onelink_id,
        "first_name": patron.first_name,
        "last_name": patron.last_name,
        "reason": reason,
        **more,
    }


def result_summary(
    result: RegistrationResult, line: int, first_line: dict[str, int], prefix: str, *, dry_run: bool | None = None
) -> dict[str, Any]:
    """The summary of a row's registration (``dry_run`` overrides the result's, for ``--sis-file``'s reads)."""
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
        "dry_run": result.dry_run if dry_run is None else dry_run,
        "journal_error": staff_words(result.journal_error, prefix) if result.journal_error else None,
    }


def _row_line(summary: dict[str, Any], prefix: str) -> list[str | tuple[str, str]]:
    """The parts of one row's line on the screen (the outcome once; its reason when it says more)."""
    outcome = str(summary["outcome"])
    dry_run = bool(summary.get("dry_run"))
    name = value(" ".join(part for part in (summary.get("first_name"), summary.get("last_name")) if part))
    reason = value(beyond_outcome(str(summary.get("reason") or ""), outcome, str(summary.get("onelink_id") or "")))
    parts: list[str | tuple[str, str]] = [
        (f"line {summary['line']:>4}  ", "dim"),
        f"{value(summary.get('onelink_id') or '?'):<10} ",
        f"{name:<28} ",
        (outcome_label(outcome, dry_run=dry_run), f"bold {_COLOURS.get(outcome, '')}"),
    ]
    if reason:
        parts.append(f" — {reason}")
    if summary.get("journal_error") and "journal" not in reason.casefold():
        parts.append(("  (its journal line could not be written: see the end)", "bold red"))
    if outcome == "needs_merge" and summary.get("merge_from") and not dry_run:  # a dry run made no account to merge
        merge = f"{prefix} merge plan {value(summary['merge_from'])} {value(summary['onelink_id'])}"
        parts.append((f"  → {merge}", "bold"))
    return parts


def _for_the_file(summary: dict[str, Any]) -> dict[str, Any]:
    """The row as the results file holds it: a dry run's outcome is what registering would do (``would_create``)."""
    outcome = str(summary["outcome"])
    return {**summary, "outcome": outcome_word(outcome, dry_run=bool(summary.get("dry_run")))}


def summary_table(counts: Counter[str], total: int, *, dry_run: bool = False) -> Table:
    """The count of rows per outcome, in the outcomes' order (a dry run's: ``would_create``…)."""
    title = f"{total} row(s), dry run" if dry_run else f"{total} row(s)"
    table = Table("outcome", "rows", title=title, box=None, header_style="bold", title_justify="left")
    for outcome in sorted(counts, key=lambda o: _ORDER.index(o) if o in _ORDER else len(_ORDER)):
        word = outcome_word(outcome, dry_run=dry_run)
        table.add_row(Text(word, style=_COLOURS.get(outcome, "")), str(counts[outcome]))
    return table


def exit_code(counts: Counter[str], journal_failed: bool) -> ExitCode:
    """4 the journal failed, 3 a row failed, 1 a row needs a person (or a later run), 0 every row done."""
    if journal_failed:
        return ExitCode.JOURNAL
    if counts["failed"]:
        return ExitCode.ALMA
    return ExitCode.OK if all(outcome in _DONE for outcome in counts) else ExitCode.ACTION


def notes(state: State, parsed: PatronFile) -> None:
    """What was read of the file, on stderr: rows, separator, encoding, ignored columns."""
    how = {",": "commas", ";": "semicolons", "\t": "tabs"}[parsed.delimiter]
    state.out.note(f"Read {parsed.path}: {len(parsed.rows)} row(s), {how} between cells, {parsed.encoding}.")
    if parsed.encoding == "windows-1252":
        state.out.note(
            "The file is not UTF-8; it was read as Windows-1252. Save it as CSV UTF-8 to be sure of accents."
        )
    if parsed.ignored:
        state.out.note(f"Ignored column(s) this does not know: {', '.join(parsed.ignored)}.")


class InFileOrder:
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
            self._results.write(_for_the_file(summary), full)
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
