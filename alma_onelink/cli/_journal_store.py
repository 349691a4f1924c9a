"""``journal archive | export | reindex``: the journal's files as it grows: old entries archived beside it, an audit
copy as JSON Lines, the index rebuilt.

Each command is a plain function of the command's context, like the other journal commands; `register_commands`
adds them to the ``journal`` group. Nothing here writes to Alma, or reads it.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer

from ._app import command
from ._patron_opts import parse_date
from ._state import ExitCode, State, UsageProblem, check_file_path, state_of

if TYPE_CHECKING:
    from alma_onelink.engine import Journal, JournalEntry

__all__ = [
    "SHORT_HELP",
    "archive_entries",
    "export_entries",
    "is_journal_file",
    "register_commands",
    "reindex_entries",
    "same_file",
]

SHORT_HELP: Final = {
    "archive": "Move old settled entries to an archive file beside the journal.",
    "export": "Write every entry, archives included, as JSON Lines (an audit copy).",
    "reindex": "Rebuild the journal's index from its files.",
}
"""Each command's one line in ``alma-onelink journal --help``."""

_STDOUT: Final = "-"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def _existing_journal(state: State) -> Journal:
    """The journal the command works on; `UsageProblem` if there is none at its path (nor any archive of it)."""
    journal = state.journal()
    path = journal.path
    if path.exists() or any(path.parent.glob(f"{_glob_escape(path.name)}.archive-*.jsonl")):
        return journal
    where = "--journal" if state.settings.journal is not None else "the default journal path"
    raise UsageProblem(
        f"there is no journal at {path} ({where})",
        "give the journal's file with --journal PATH (or set ALMA_ONELINK_JOURNAL); "
        f"`{state.command_prefix()} journal show` shows the one in use",
    )


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def same_file(one: Path, other: Path) -> bool:
    """Whether ``one`` and ``other`` name the same file: the same real path (symbolic links followed), or, when
    both exist, the same file on disk (a hard link, another mount of it)."""
    if os.path.realpath(one) == os.path.realpath(other):
        return True
    try:
        return os.path.samefile(one, other)
    except (OSError, ValueError):  # one of them is not there (or cannot be looked at): not the same file
        return False


def is_journal_file(target: Path, journal: Path) -> bool:
    """Whether writing ``target`` would write one of the journal's own files: the journal, its lock
    (``JOURNAL.lock``), its index (``JOURNAL.index.sqlite3`` and SQLite's files beside it), its archives
    (``JOURNAL.archive-*.jsonl``), or any other ``JOURNAL.*`` beside it; by path, through a symbolic link,
    or as the same file."""
    real, own = Path(os.path.realpath(target)), Path(os.path.realpath(journal))
    for folder, name in {(own.parent, own.name), (Path(os.path.realpath(journal.parent)), journal.name)}:
        if real.parent == folder and (real.name == name or real.name.startswith(name + ".")):
            return True
    if not target.exists():
        return False
    beside = [*journal.parent.glob(f"{_glob_escape(journal.name)}.*"), *own.parent.glob(f"{_glob_escape(own.name)}.*")]
    return any(same_file(target, path) for path in [journal, *beside])


# --- archive ------------------------------------------------------------------------------------------------


def archive_entries(
    ctx: typer.Context,
    *,
    before: Annotated[
        str,
        typer.Option(
            "--before",
            metavar="DATE",
            help="Archive the settled entries written before this day (YYYY-MM-DD; the day starts at midnight UTC).",
            show_default=False,
        ),
    ],
) -> int:
    """Move the settled entries older than DATE out of the journal file, into an archive file beside it.

    The archive, JOURNAL.archive-YYYYMMDD.jsonl (named by today's date), keeps each line as it was, and
    stays part of the journal: journal show, journal restore, journal export and every registration read
    it. An entry stays in the journal while its outcome is not known (journal settle finds it out) or
    while its registration, or an earlier write on its account, stays. Nothing is written to Alma.
    Accounts handed off in a SIS file and waiting for Alma's load stay in the journal too, said with the
    command that settles them once Alma has loaded them (batch FILE --reconcile); they do not stop the archive.
    Exit status: 0 done (or nothing to move; hand-offs waiting for Alma's load may stay); 1 done, but other
    unsettled entries older than DATE stay (run journal settle, then archive again); 2 a bad date or no
    journal at the path; 4 the files could not be written (nothing was moved or lost).
    """
    from alma_onelink.engine import JournalError  # noqa: PLC0415  (loaded when the command runs)

    state = state_of(ctx)
    try:
        day = parse_date(before)
    except ValueError as exc:
        raise UsageProblem(f"--before: {exc}", "for example --before 2026-01-01") from None
    journal = _existing_journal(state)
    prefix = state.command_prefix()
    try:
        done = journal.archive(before=day)
    except JournalError as exc:
        raise exc.said_with(
            f". Free space on the disk of {journal.path.parent} or fix its permissions, then run "
            f"`{prefix} journal archive --before {day.isoformat()}` again",
            nothing_sent=True,
        ) from exc
    cutoff = datetime.combine(day, time(), tzinfo=UTC)
    older = [entry for entry in journal.unsettled() if entry.time < cutoff]
    waiting = [entry for entry in older if entry.handoff_state is not None]
    unsettled = [entry for entry in older if entry.handoff_state is None]
    out = state.out
    if out.json_mode:
        out.document(
            {
                "journal": str(journal.path),
                "before": day.isoformat(),
                "archive": str(done.path) if done.path is not None else None,
                "archived": done.entries,
                "kept": done.kept,
                "unsettled": [entry.id for entry in unsettled],
            }
            | (  # only when there are some: hand-offs waiting for Alma's load, and what settles them
                {
                    "waiting_for_sis_load": [entry.id for entry in waiting],
                    "reconcile": _reconcile_commands(waiting, prefix),
                }
                if waiting
                else {}
            )
        )
    elif done.path is None:
        out.say(f"Nothing to archive: no entry older than {_day(day)} can move out of {journal.path}.")
    else:
        out.say(f"Archived {_plural(done.entries, 'entry', 'entries')} older than {_day(day)} to:")
        out.say(f"  {done.path}", style="bold")
        out.say(
            "Archives stay part of the journal: journal show, journal restore and journal export read them. "
            "Keep them with the journal."
        )
    if not out.json_mode and done.kept:
        out.say(
            f"{_plural(done.kept, 'older entry stays', 'older entries stay')} in {journal.path}: "
            "an entry stays while its outcome is not known, or while its registration, or an earlier write on its "
            "account, stays."
        )
    if waiting and not out.json_mode:
        many = len(waiting) != 1
        out.say(
            f"{len(waiting)} hand-off{'s' if many else ''} waiting for Alma's load "
            f"stay{'' if many else 's'} in the journal; after Alma loads "
            f"{'them' if many else 'it'}, run:"
        )
        for command_line in _reconcile_commands(waiting, prefix):
            out.say(f"  {command_line}", style="bold")
    if unsettled and not out.json_mode:
        which = _plural(len(unsettled), "of them is", "of them are")
        out.say((f"{which} unsettled: find out how each ended, then archive again:", "bold yellow"))
        out.say(f"  {prefix} journal settle")
        out.say(f"  {prefix} journal archive --before {day.isoformat()}")
    return ExitCode.ACTION if unsettled else ExitCode.OK


_BATCH_FILE = re.compile(r", from the batch file (.+?); pending until")


def _reconcile_commands(waiting: list[JournalEntry], prefix: str) -> list[str]:
    """The ``batch FILE --reconcile`` commands that settle these hand-offs, one per batch file, in journal order."""
    files = dict.fromkeys(
        named[1] if (named := _BATCH_FILE.search(entry.reason or "")) else "FILE" for entry in waiting
    )
    return [f"{prefix} batch {name} --reconcile" for name in files]


def _day(day: date) -> str:
    return f"{day.isoformat()} (midnight UTC)"


# --- export -------------------------------------------------------------------------------------------------


def export_entries(
    ctx: typer.Context,
    *,
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE",
            help="Where to write the export (a .jsonl file); - writes it to stdout.",
            show_default=False,
        ),
    ],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
) -> int:
    """Write every entry of the journal, archives included and oldest first, to FILE as JSON Lines.

    One JSON object a line: an entry as the journal holds it (intent, completion and settlement merged),
    saying what was written to which account, by whom, why and how it ended; grep finds an account's
    writes by its id. FILE is written whole or not at all; an existing FILE is replaced only with
    --force. With -, the lines go to stdout (the count to stderr). Nothing is written to Alma.
    Exit status: 0 written; 2 FILE cannot be used or written, or no journal at the path; 4 the journal's index
    cannot be used.
    """
    state = state_of(ctx)
    target = None if file == _STDOUT else check_file_path(Path(file), "FILE", what="a JSON Lines file").absolute()
    journal = _existing_journal(state)
    if target is None:
        count = _export_to_stdout(journal)
        state.out.note(f"Exported {_plural(count, 'entry', 'entries')} (archives included) of {journal.path}.")
        return ExitCode.OK
    _check_export_path(journal, target, force=force)
    count = _export(journal, target)
    if state.out.json_mode:
        state.out.document({"journal": str(journal.path), "export": str(target), "entries": count})
    else:
        state.out.say(
            f"Exported {_plural(count, 'entry', 'entries')} (archives included) of {journal.path}, one JSON object "
            "a line, to:"
        )
        state.out.say(f"  {target}", style="bold")
    return ExitCode.OK


def _check_export_path(journal: Journal, target: Path, *, force: bool) -> None:
    """Before anything is written: FILE is none of the journal's own files, and new unless ``force``."""
    if is_journal_file(target, journal.path):
        raise UsageProblem(
            f"{target} is one of the journal's own files", "export to another file, such as journal-export.jsonl"
        )
    if target.exists() and not force:
        raise UsageProblem(f"{target} exists", "give another file name, or add --force to replace it")


def _export(journal: Journal, target: Path) -> int:
    from alma_onelink.engine import JournalError  # noqa: PLC0415  (loaded when the command runs)

    try:
        return journal.export(target)
    except JournalError as exc:
        if not isinstance(exc.__cause__, OSError):
            raise  # the index, not a file: the library's message says what to do
        raise UsageProblem(
            f"the export could not be made: {exc.cause or exc}; nothing was written to {target}",
            "free space on its disk or fix its permissions, or give another FILE",
        ) from exc


def _export_to_stdout(journal: Journal) -> int:
    """Export to a file first, then copy it out: the journal stays locked while it is exported, and a reader that
    pauses (a pager) must not keep the other staff's commands waiting."""
    with tempfile.TemporaryDirectory(prefix="alma-onelink-export-") as folder:
        staged = Path(folder) / "export.jsonl"
        count = _export(journal, staged)
        with open(staged, "rb") as lines:
            sys.stdout.flush()
            shutil.copyfileobj(lines, sys.stdout.buffer)
            sys.stdout.buffer.flush()
    return count


# --- reindex ------------------------------------------------------------------------------------------------


def reindex_entries(ctx: typer.Context) -> int:
    """Rebuild the journal's index (JOURNAL.index.sqlite3) from the journal and its archives.

    The index is rebuilt by itself whenever it no longer matches the files; this does it on request,
    after a journal file was edited by hand, say. Nothing is written to the journal or to Alma.
    Exit status: 0 rebuilt; 2 no journal at the path; 4 the index cannot be used (the journal's files are
    untouched).
    """
    from alma_onelink.engine import JournalError  # noqa: PLC0415  (loaded when the command runs)

    state = state_of(ctx)
    journal = _existing_journal(state)
    try:
        count = journal.reindex()
    except JournalError as exc:
        raise exc.said_with(
            f"; the journal's files are untouched. Check that {journal.path.parent} can be written, then run "
            f"`{state.command_prefix()} journal reindex` again",
            nothing_sent=True,
        ) from exc
    skipped = journal.skipped_lines
    index = journal.path.with_name(journal.path.name + ".index.sqlite3")
    if state.out.json_mode:
        state.out.document(
            {"journal": str(journal.path), "index": str(index), "entries": count, "skipped_lines": skipped}
        )
        return ExitCode.OK
    state.out.say(f"Rebuilt the index of {journal.path} from its files: {_plural(count, 'entry', 'entries')}.")
    if skipped:
        state.out.say(
            f"{_plural(skipped, 'damaged line was', 'damaged lines were')} skipped (a torn write, or not a journal "
            "line; the warning on stderr says where); the rest reads normally."
        )
    return ExitCode.OK


# --- the commands -------------------------------------------------------------------------------------------


def register_commands(group: typer.Typer) -> None:
    """Add ``archive``, ``export`` and ``reindex`` to the ``journal`` group ``group``."""
    command(group, "archive", short_help=SHORT_HELP["archive"])(archive_entries)
    command(group, "export", short_help=SHORT_HELP["export"])(export_entries)
    command(group, "reindex", short_help=SHORT_HELP["reindex"])(reindex_entries)
