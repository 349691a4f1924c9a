"""``journal show | pending | settle | restore``: what was written to Alma, what is unsettled, how it ended, and
putting a record back."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Annotated

import typer

from ._app import app, command
from ._state import ExitCode, State, UsageProblem, state_of
from ._words import staff_words

if TYPE_CHECKING:
    from alma_onelink.engine import JournalEntry, RestoreResult

__all__ = ["journal_app", "restore_json", "say_restore"]

journal_app = typer.Typer(
    short_help="The journal: show, pending, settle, restore.",
    help="The journal of every write: show it, list what is unsettled, settle it by reading Alma, undo one write.",
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
        state.out.say(("First find out how each ended, by reading Alma (nothing is written to Alma):", "bold"))
        state.out.say(f"  {prefix} journal settle")
        state.out.say(("Then, for a write that must not stand, look at the account and put it back:", "bold"))
        for entry in found:
            state.out.say(f"  {prefix} user show {shlex.quote(entry.target)}")
            state.out.say(f"  {prefix} journal restore {entry.id}")
    return ExitCode.ACTION if found else ExitCode.OK


def _alma_holds(entry: JournalEntry) -> str | None:
    """The account a settled write left, as staff check it: ``Ann Lee <2000001>, group …, expires …``."""
    if entry.result != "done" or entry.after is None:
        return None
    from alma_onelink.models import User  # noqa: PLC0415  (loaded when a command runs, not for --help)

    user = User.from_alma(entry.after)
    group = user.user_group.value if user.user_group else "no group"
    expiry = user.expiry_date.isoformat() if user.expiry_date else "no expiry date"
    status = f", {user.status.value}" if user.status and user.status.value else ""
    return f"{user}, group {group}{status}, expires {expiry}"


def _cannot_tell(state: State, entry: JournalEntry) -> None:
    """Why Alma cannot tell how ``entry`` ended (an update of an account that is gone), and what to do."""
    target, prefix = shlex.quote(entry.target), state.command_prefix()
    state.out.say(
        f"  {entry.target} is not in Alma any more, and no later write in this journal read it: whether this "
        f"{entry.action} took effect cannot be told from Alma."
    )
    state.out.say(
        f"  What to do: find out in Alma who deleted {entry.target} (not through this journal: "
        f"`{prefix} journal show --target {target}` lists every write on it that was). With the account gone "
        "there is nothing to put back, and the entry stays open."
    )


@command(journal_app, "settle", short_help="Find out how unsettled writes ended, by reading Alma.")
def settle_entries(
    ctx: typer.Context,
    *,
    entry_id: Annotated[
        str | None,
        typer.Argument(
            metavar="ENTRY",
            help="One entry's id (or its first 6+ characters); default: every pending or unknown one.",
        ),
    ] = None,
) -> int:
    """Settle writes whose outcome the journal does not know (pending after a crash, or unknown) by reading Alma.

    For each, Alma is read: a create took effect if the account exists, a delete if it is gone, an
    update if the record is no longer as it was before. What Alma holds is shown and a settlement line
    is added to the journal; nothing is written to Alma. Exit status: 0 nothing left open, 1 an entry
    Alma cannot tell about (the message says why and what to do), 3 Alma could not be read (the
    entries shown before it are settled), 4 the journal could not be written.
    """
    from alma_onelink.engine import JournalError, settle  # noqa: PLC0415  (loaded when a command runs)

    state = state_of(ctx)
    journal = state.journal()
    entries = [journal.get(entry_id)] if entry_id is not None else [e for e in journal.entries() if e.is_unsettled]
    out = state.out
    if not entries:
        out.say(f"Nothing to settle in {journal.path}: every write's outcome is known.")
        if out.json_mode:
            out.document({"journal": str(journal.path), "entries": [], "open": []})
        return ExitCode.OK
    shown: list[dict[str, object]] = []
    still_open: list[str] = []
    for entry in entries:
        if not entry.is_unsettled:
            out.say(
                (entry.id[:12], "bold"), f"  {entry.action} {entry.target}: {entry.result} already, nothing to settle"
            )
            shown.append({**_entry_json(entry), "was": entry.result})
            continue
        try:
            [settled] = settle(state.alma(), entry, journal=journal)
        except JournalError as exc:
            raise JournalError(
                f"{exc}: the settlement of journal entry {entry.id} ({entry.action} {entry.target}) was not written; "
                f"nothing was written to Alma. Free space on the disk of {exc.path} or fix its permissions, then "
                f"run `{state.command_prefix()} journal settle` again",
                path=exc.path,
                cause=exc.cause,
                nothing_sent=True,
            ) from exc
        shown.append({**_entry_json(settled), "was": entry.result})
        if settled.is_unsettled:
            still_open.append(settled.id)
            head = f"  {settled.action} {settled.target}: {entry.result} → "
            out.say((settled.id[:12], "bold"), head, ("cannot tell", "bold yellow"))
            _cannot_tell(state, settled)
            continue
        head = f"  {settled.action} {settled.target}: {entry.result} → "
        out.say((settled.id[:12], "bold"), head, (settled.result, "bold"))
        if settled.note:
            out.say(f"  {settled.note}")
        holds = _alma_holds(settled)
        if holds:
            out.say(f"  Alma holds: {holds}")
    if out.json_mode:
        out.document({"journal": str(journal.path), "entries": shown, "open": still_open})
    elif still_open:
        many = len(still_open) != 1
        out.say((f"{len(still_open)} entr{'ies' if many else 'y'} could not be settled (see above).", "bold yellow"))
    else:
        out.say(f"Nothing is left open in {journal.path}.", style="bold")
    return ExitCode.ACTION if still_open else ExitCode.OK


def _what_restore_does(entry: JournalEntry) -> str:
    if entry.action == "create":
        return f"delete {entry.target}, which this entry created (only if unchanged since and without activity)"
    if entry.action == "delete":
        return f"create {entry.target} again as it was before it was deleted"
    from alma_onelink.models import User  # noqa: PLC0415  (loaded when a command runs, not for --help)

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

    Exit status: 0 restored (or nothing to do), 1 refused (the record changed since, or has activity), 3 failed,
    4 the journal could not be written (what Alma holds is shown, and what to do).
    """
    from alma_onelink.engine import Restored, restore  # noqa: PLC0415  (loaded when a command runs)

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
        state.out.document(restore_json(result))
    else:
        say_restore(state, result, style="bold")
    if result.journal_error:
        state.out.error(staff_words(result.journal_error, state.command_prefix()))  # says what to do
        return ExitCode.JOURNAL
    return ExitCode.ALMA if result.outcome is Restored.FAILED else ExitCode.OK


def restore_json(result: RestoreResult) -> dict[str, object]:
    """One restore as ``--json`` prints it."""
    return {
        "entry": result.entry.id,
        "target": result.entry.target,
        "outcome": result.outcome.value,
        "reason": result.reason,
        "settled": result.settled,
        "journal_entries": list(result.journal_entries),
        "journal_error": result.journal_error,
    }


def say_restore(state: State, result: RestoreResult, *, style: str = "") -> None:
    """One restore as staff read it: what was put back (red if it failed), then what the journal lacks, if anything."""
    from alma_onelink.engine import Restored  # noqa: PLC0415  (loaded with the result)

    entry, prefix = result.entry, state.command_prefix()
    settled = f"; settled first: {entry.result}" if result.settled else ""
    line = f"restore of {entry.action} {entry.target} ({entry.id[:8]}{settled}): {result.outcome.value} — "
    colour = "red" if result.outcome is Restored.FAILED else "green"
    state.out.say((line + staff_words(result.reason, prefix), f"{style} {colour}".strip()))
    if result.journal_error:  # what Alma holds is above; this says what the journal lacks and what to do
        state.out.say((staff_words(result.journal_error, prefix), "bold red"))
