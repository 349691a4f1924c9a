"""``batch FILE.csv``: register every patron of a CSV file, with progress, each row's outcome and a summary.

Rows that cannot be read are reported with their line and column and skipped; the others go to
`register_many`, within Alma's daily quota: what the batch will cost and what Alma says is left are
said first, and patrons that would take the institution below ``--reserve`` come back ``deferred``.
Running the same file again resumes: rows already registered come back ``already_registered``.
``--sis-file`` and ``--reconcile`` take Alma's own bulk path instead (``_batch_sis``). With ``--json``
stdout is JSON Lines: one ``{"type": "row", …}`` per row, then one ``{"type": "summary", …}``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer
from rich.text import Text

from ._app import app, command
from ._batch_rows import (
    BAD_ROW,
    NOT_STARTED,
    STOPPED,
    BatchRun,
    InFileOrder,
    bad_row_summary,
    exit_code,
    notes,
    result_summary,
    row_summary,
    summary_table,
)
from ._csv import read_patrons
from ._register import parse_today, today_option
from ._registration import DRY_RUN_BANNER
from ._results_file import ResultsFile
from ._sdk import BATCH_MAX_CONCURRENCY, on_first_call
from ._state import ExitCode, State, UsageProblem, state_of
from ._stopped import batch_stopped_line, held_ctrl_c
from ._words import staff_words

if TYPE_CHECKING:
    from rich.progress import Progress

    from alma_onelink.onelink import RegistrationResult, register_many
    from alma_onelink.onelink.budget import QuotaEstimate
    from alma_onelink.policy import Patron
else:
    register_many = on_first_call("alma_onelink.onelink", "register_many")

__all__ = ["BAD_ROW", "DEFAULT_RESERVE", "MAX_CONCURRENCY", "NOT_STARTED", "ResultsFile", "quota_line"]

MAX_CONCURRENCY: Final = BATCH_MAX_CONCURRENCY
"""`alma_onelink.onelink.batch.MAX_CONCURRENCY` (``--concurrency``)."""
DEFAULT_RESERVE: Final = 2_000
"""`alma_onelink.onelink.budget.DEFAULT_RESERVE` (``--reserve``), written here so the help loads no SDK."""


def quota_line(estimate: QuotaEstimate, *, what: str, fallback: str) -> str:
    """The estimate before a run, in the command's words: what it costs, what Alma says is left, what follows.

    ``what`` names the work (``"registering 248 patrons"``); ``fallback`` says what happens to the
    patrons past the budget.
    """
    per = estimate.per_patron
    head = (
        f"Alma's daily quota: {what} takes about {estimate.calls:,} calls ({per} for each new patron, 1 for "
        "one already registered)"
    )
    if estimate.remaining is None:
        return (
            f"{head}; Alma did not say how many calls are left today (no X-Exl-Api-Remaining), so the run goes "
            "on without the daily budget: the library's other tools may be left without calls."
        )
    head += f"; Alma says {estimate.remaining:,} are left today and {estimate.reserve or 0:,} are kept in reserve"
    if estimate.fits:
        return f"{head} (--reserve): it fits."
    return f"{head} (--reserve): about {estimate.new_patrons_that_fit or 0:,} new patrons fit today; {fallback}"


def progress_bar(state: State, label: str) -> Progress:
    """The bar on stderr (a terminal only); rows printed meanwhile go above it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: PLC0415

    return Progress(
        TextColumn(label),
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


def _check_modes(sis_file: Path | None, reconcile: bool, dry_run: bool) -> None:
    if sis_file is not None and reconcile:
        raise UsageProblem(
            "--sis-file writes new accounts to a file and --reconcile checks which of them Alma loaded: use one",
            "first --sis-file OUT.zip; once Alma's job has loaded it, --reconcile",
        )
    if dry_run and (sis_file is not None or reconcile):
        flag = "--sis-file" if sis_file is not None else "--reconcile"
        raise UsageProblem(
            f"--dry-run cannot go with {flag}: {flag} writes no account to Alma already",
            "leave out --dry-run; `batch FILE --dry-run` alone shows what a registration through the API would do",
        )


@command(app, "batch", short_help="Register every patron of a CSV file.")
def batch(
    ctx: typer.Context,
    *,
    file: Annotated[Path, typer.Argument(metavar="FILE.csv", help="Patrons, one per row, with a header line.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help=(
                "Write each row's result to FILE (.csv or .jsonl); an existing FILE is replaced (running the same "
                "command again finishes a batch). Never the input file, the journal's files or the --sis-file."
            ),
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=MAX_CONCURRENCY, help="Patrons registered at once.")
    ] = 8,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and decide, write nothing.")] = False,
    today: Annotated[str | None, today_option] = None,
    reserve: Annotated[
        int,
        typer.Option(
            "--reserve",
            min=0,
            metavar="CALLS",
            help="Calls of Alma's daily quota to leave for the library's other tools; patrons past it are deferred.",
        ),
    ] = DEFAULT_RESERVE,
    sis_file: Annotated[
        Path | None,
        typer.Option(
            "--sis-file",
            metavar="OUT.zip",
            help="Write the new accounts to OUT.zip for Alma's SIS load instead of creating them through the API.",
        ),
    ] = None,
    reconcile: Annotated[
        bool,
        typer.Option(
            "--reconcile", help="Check which accounts handed off in a SIS file Alma has loaded (1 read each)."
        ),
    ] = False,
) -> int:
    """Register every patron of FILE.csv with the OneLink procedure, within Alma's daily quota.

    Headers in any case and spacing (OneLink ID, First name, Last name, Affiliation, E-mail, …);
    `,`, `;` or tab between cells; UTF-8, UTF-16 (Excel's "Unicode Text") or Windows-1252; dates
    YYYY-MM-DD or M/D/YYYY (US order). A bad row is reported with its line and column and skipped.
    Rows are shown in the file's order. The results CSV (--out) is safe to open in Excel: a cell
    that would run as a formula starts with '. Before it starts, the batch says about how many
    calls it takes and how many Alma says are left; a patron it cannot start without taking the
    institution below --reserve is deferred: run the same file again after Alma's daily reset.
    Past the quota, --sis-file OUT.zip writes the new accounts for Alma's SIS load, and
    --reconcile later checks which of them Alma loaded. Exit status: 0 every row done, 1 some need
    action, were bad, deferred or handed off, 3 some failed, 4 the journal could not be written
    (the batch stopped; rows not started say so).
    """
    _check_modes(sis_file, reconcile, dry_run)
    state = state_of(ctx)
    policy = state.policy()
    day = parse_today(today)
    state.journal_path()  # a wrong --journal is said before the file is read
    if sis_file is not None:
        from ._batch_sis import check_sis_path  # noqa: PLC0415

        check_sis_path(sis_file)
    if out is not None:
        from alma_onelink.engine.journal import default_journal_path  # noqa: PLC0415

        ResultsFile.check(out)  # a wrong --out is said before the file is read
        ResultsFile.check_overwrites_nothing(
            out, file, journal=state.journal_path() or default_journal_path(), sis_file=sis_file
        )
    parsed = read_patrons(file, policy)
    notes(state, parsed)
    results = ResultsFile(out) if out is not None else None
    shown = InFileOrder(state, [row.line for row in parsed.rows], results)
    good = [(row.line, row.patron) for row in parsed.rows if row.patron is not None]
    if dry_run:
        state.out.say((f"{DRY_RUN_BANNER}: each row says what registering would do.", "bold"))
    run = BatchRun(state, policy, parsed.path, good, shown, reserve, concurrency, day)
    try:
        for row in parsed.rows:
            if row.patron is None:
                shown.add(bad_row_summary(row))
        if sis_file is not None or reconcile:
            from ._batch_sis import hand_off_rows, reconcile_rows  # noqa: PLC0415

            summary = hand_off_rows(run, sis_file) if sis_file is not None else reconcile_rows(run)
        else:
            summary = _register_rows(run, dry_run=dry_run)
    finally:
        try:
            shown.flush()
        finally:
            if results is not None:
                results.close()
    return _finish(state, shown, results, summary, dry_run)


def _register_rows(run: BatchRun, *, dry_run: bool) -> dict[str, Any]:
    """The registrations through the API; what the summary adds (the quota, the journal's failure)."""
    from alma_onelink.engine import JournalError  # noqa: PLC0415
    from alma_onelink.onelink.batch import BatchInterrupted  # noqa: PLC0415
    from alma_onelink.onelink.budget import estimate_quota  # noqa: PLC0415

    state, good, shown = run.state, run.good, run.shown
    alma = state.alma()
    estimate = estimate_quota(alma, run.policy, len(good), reserve=run.reserve, dry_run=dry_run)
    if good:
        fallback = (
            "the others are deferred: run the same file again after Alma's daily reset, or write their accounts "
            "for Alma's SIS load with --sis-file OUT.zip."
        )
        state.out.note(quota_line(estimate, what=f"registering {len(good):,} patron(s)", fallback=fallback))
    first_line = run.first_lines()
    prefix = state.command_prefix()
    given: set[int] = set()  # rows whose result came back
    taken: set[int] = set()  # rows the batch read from the list (those under way among them)

    def patrons() -> Iterator[Patron]:
        for index, (_, patron) in enumerate(good):
            taken.add(index)
            yield patron

    stopped: JournalError | None = None
    ctrl_c = ""  # "after" the rows under way came back, "cut" short by a second Ctrl-C
    results: Generator[RegistrationResult] = register_many(  # type: ignore[assignment]  # a generator, as documented
        alma,
        run.policy,
        patrons(),
        concurrency=run.concurrency,
        journal=state.journal_path(),
        today=run.day,
        dry_run=dry_run,
        staff=state.staff,
        reserve=run.reserve,
    )
    with progress_bar(state, "registering") as progress, held_ctrl_c() as held:
        task = progress.add_task("registering", total=len(good))
        while True:
            try:
                throw, held.pending = held.pending, False
                result = results.throw(KeyboardInterrupt()) if throw else next(results)
            except StopIteration:
                break
            except JournalError as exc:
                stopped = exc
                break
            except BatchInterrupted:
                ctrl_c = "after"
                break
            except KeyboardInterrupt:
                ctrl_c = "cut"
                break
            held.held = True  # a Ctrl-C now waits until the row is shown and written whole
            try:
                index = result.index or 0
                given.add(index)
                line = good[index][0]
                summary = result_summary(result, line, first_line, prefix)
                shown.add(summary, {"line": line, **result.to_dict(), "reason": summary["reason"]})
                progress.advance(task)
            finally:
                held.held = False
    if stopped is not None or ctrl_c:
        if stopped is not None:
            why = "not started: the batch stopped when the journal could not be written; nothing was sent to Alma"
        else:
            why = "not started: the batch was stopped (Ctrl-C) before it; nothing was sent to Alma"
        maybe = f"stopped: Alma may or may not hold it; run {prefix} journal settle"
        for index, (line, patron) in enumerate(good):
            if index not in given:
                cut = ctrl_c == "cut" and index in taken
                shown.add(row_summary(line, patron, STOPPED if cut else NOT_STARTED, maybe if cut else why))
    return {
        "quota": _quota_json(estimate, alma.remaining_daily_calls),
        "stopped": stopped,
        "interrupted": bool(ctrl_c),
    }


def _quota_json(estimate: QuotaEstimate, left: int | None) -> dict[str, Any]:
    return {
        "calls": estimate.calls,
        "calls_per_new_patron": estimate.per_patron,
        "remaining_before": estimate.remaining,
        "remaining_after": left,
        "reserve": estimate.reserve,
        "fits": estimate.fits,
    }


def _finish(
    state: State, shown: InFileOrder, results: ResultsFile | None, summary: dict[str, Any], dry_run: bool
) -> int:
    """The counts, the exit status, what to do next, and the journal's failure if any."""
    counts = shown.counts
    stopped = summary.pop("stopped", None)
    if summary.pop("interrupted", False):
        return _stopped_by_ctrl_c(state, shown, results, summary, dry_run)
    code = exit_code(counts, stopped is not None or bool(shown.journal_errors))
    if summary.pop("nothing_found", False) and code is ExitCode.OK:
        code = ExitCode.ACTION  # --reconcile found no hand-off at all: the wrong journal, or no file written yet
    total = sum(counts.values())
    said = str(stopped) if stopped is not None else next(iter(shown.journal_errors), None)
    message = staff_words(said, state.command_prefix()) if said else None
    next_steps: list[str] = summary.pop("next", [])
    if counts["deferred"] and not next_steps:
        next_steps = [
            f"{counts['deferred']} patron(s) deferred, to keep Alma's daily quota: run the same command again after "
            "Alma's daily reset (rows already registered come back already registered, at 1 call each)."
        ]
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
                **summary,
            }
        )
    else:
        state.out.show(Text(""), summary_table(counts, total, dry_run=dry_run))
        if results is not None:
            what = "Results of the dry run" if dry_run else "Results"
            state.out.say(f"{what} written to ", str(results.path))
    for step in next_steps:
        state.out.note(step)
    if code is ExitCode.JOURNAL and message:
        state.out.error(message)  # what was not written, what Alma may hold, and what to do
    return code


def _stopped_by_ctrl_c(
    state: State, shown: InFileOrder, results: ResultsFile | None, summary: dict[str, Any], dry_run: bool
) -> int:
    """Ctrl-C: the rows are above (and in ``--out``); the counts, and one line saying what became of each."""
    counts = shown.counts
    out = str(results.path) if results is not None else None
    if state.out.json_mode:
        state.out.record(
            {
                "type": "summary",
                "rows": sum(counts.values()),
                "counts": dict(counts),
                "exit_code": int(ExitCode.INTERRUPTED),
                "out": out,
                "dry_run": dry_run,
                "interrupted": True,
                **summary,
            }
        )
    else:
        state.out.show(Text(""), summary_table(counts, sum(counts.values()), dry_run=dry_run))
    state.out.note(batch_stopped_line(dict(counts), state.command_prefix(), out))
    return ExitCode.INTERRUPTED
