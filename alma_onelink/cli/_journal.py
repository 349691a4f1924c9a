"""``journal show | pending | restore``: what was written to Alma, what is unsettled, and putting a record back."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer

from alma_onelink.models import User
from alma_onelink.onelink import JournalEntry, Restored, restore

from ._app import app, command
from ._state import ExitCode, State, UsageProblem, state_of
from ._words import staff_words

__all__ = ["journal_app"]

journal_app = typer.Typer(
    short_help="The journal: show, pending, restore.",
    help="The journal of every write: show it, list what is unsettled, undo one write.",
    no_args_is_help=True,
)
app.add_typer(journal_app, name="journal")

_RESULT_STYLE = {"done": "", "failed": "red", "pending": "yellow", "unknown": "yellow"}


def _say_entries(state: State, entries: list[JournalEntry]) -> None:
    """One line per entry: the id to type (its first 12 characters are enough) and the entry as it reads."""
    for entry in entries:
        state.out.say((entry.id[:12], "bold"), "  ", (str(entry), _RESULT_STYLE.get(entry.result, "")))


def _entry_json(entry: JournalEntry) -> dict[str, object]:
    return entry.model_dump(mode="json")


@command(journal_app, "show", short_help="Show the latest journal entries.")
def show(
    ctx: typer.Context,
    *,
    target: Annotated[str | None, typer.Option("--target", metavar="ID", help="Only entries for this account.")] = None,
    registration: Annotated[
        str | None,
        typer.Option(
            "--registration",
            metavar="ID",
            help="Only the writes of one registration or merge (its id, as `register --json` and `merge apply` print).",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Show the last N entries (0: all).")] = 20,
) -> int:
    """Show the latest journal entries, oldest first (with --registration: every write of one registration or merge)."""
    state = state_of(ctx)
    journal = state.journal()
    entries = journal.entries(target=target, registration=registration)
    shown = entries[-limit:] if limit else entries
    if state.out.json_mode:
        state.out.document(
            {"journal": str(journal.path), "total": len(entries), "entries": [_entry_json(e) for e in shown]}
        )
        return ExitCode.OK
    if not entries:
        which = "".join(f" {word} {value}" for word, value in (("for", target), ("of", registration)) if value)
        state.out.say(f"No entries{which} in {journal.path}.")
        return ExitCode.OK
    _say_entries(state, shown)
    more = f" (the last {len(shown)} of {len(entries)}; --limit 0 shows all)" if len(shown) < len(entries) else ""
    state.out.say(f"{journal.path}{more}", style="dim")
    return ExitCode.OK


@command(journal_app, "pending", short_help="List writes whose outcome is unknown.")
def pending(ctx: typer.Context) -> int:
    """List intents without a completion. Exit status: 0 none, 1 some to check."""
    state = state_of(ctx)
    journal = state.journal()
    found = journal.pending()
    if state.out.json_mode:
        state.out.document({"journal": str(journal.path), "pending": [_entry_json(e) for e in found]})
    elif not found:
        state.out.say(f"Nothing pending in {journal.path}.")
    else:
        _say_entries(state, found)
        prefix = state.command_prefix()
        state.out.say(("For each: look at the account in Alma, then put it back if the write must not stand:", "bold"))
        for entry in found:
            state.out.say(f"  {prefix} user show {shlex.quote(entry.target)}")
            state.out.say(f"  {prefix} journal restore {entry.id}")
    return ExitCode.ACTION if found else ExitCode.OK


def _what_restore_does(entry: JournalEntry) -> str:
    if entry.action == "create":
        return f"delete {entry.target}, which this entry created (only if unchanged since and without activity)"
    if entry.action == "delete":
        return f"create {entry.target} again as it was before it was deleted"
    before = User.from_alma(entry.before) if entry.before else None
    return f"put {entry.target} back as it was before this update ({before})" if before else f"put {entry.target} back"


@command(journal_app, "restore", short_help="Undo one journaled write.")
def restore_entry(
    ctx: typer.Context,
    *,
    entry_id: Annotated[str, typer.Argument(metavar="ENTRY", help="The entry's id (or its first 6+ characters).")],
    force: Annotated[bool, typer.Option("--force", help="Put it back even if the record changed since.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking (for scripts).")] = False,
) -> int:
    """Undo the write ENTRY: an update is put back, a delete re-created, a create deleted (if unchanged).

    Exit status: 0 restored (or nothing to do), 1 refused (the record changed since, or has activity), 3 failed.
    """
    state = state_of(ctx)
    journal = state.journal()
    entry = journal.get(entry_id)
    if not state.out.json_mode:
        state.out.say(str(entry))
        state.out.say(f"This will {_what_restore_does(entry)}.", style="bold")
    if not yes:
        if not state.interactive:
            raise UsageProblem("journal restore asks before writing, and nobody can answer here", "add --yes")
        if not typer.confirm("Restore it?", err=True):
            state.out.say("Nothing written.")
            return ExitCode.ACTION
    result = restore(state.alma(), entry, journal=journal, staff=state.staff, force=force)
    if state.out.json_mode:
        state.out.document(
            {
                "entry": entry.id,
                "target": entry.target,
                "outcome": result.outcome.value,
                "reason": result.reason,
                "journal_entries": list(result.journal_entries),
            }
        )
    else:
        style = "red" if result.outcome is Restored.FAILED else "green"
        state.out.say(staff_words(str(result), state.command_prefix()), style=f"bold {style}")
    return ExitCode.ALMA if result.outcome is Restored.FAILED else ExitCode.OK
