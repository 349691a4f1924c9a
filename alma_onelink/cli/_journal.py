"""``journal show | pending | settle | restore``: what was written to Alma, what is unsettled, how it ended, and
putting a record back."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

import typer

from ._app import app, command
from ._journal_registration import registration_of
from ._journal_store import register_commands
from ._state import ExitCode, State, UsageProblem, state_of
from ._words import staff_words

if TYPE_CHECKING:
    from alma_onelink.engine import Journal, JournalEntry, Open, RestoreResult, Unfinished
    from alma_onelink.onelink.handoff import HandedOffFile

__all__ = ["journal_app", "restore_json", "say_restore"]

journal_app = typer.Typer(
    short_help="The journal: show, pending, settle, restore, archive, export, reindex.",
    help="The journal of every write: show it, list what is unsettled, settle it by reading Alma, undo one write; "
    "archive old entries, export it, rebuild its index.",
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
            help="Only the writes of one registration or merge: its id, as `register --json` and `merge apply` print, "
            "or a unique start of it (4 characters or more, as the lines of `journal show` print it).",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Show the last N entries (0: all).")] = 20,
) -> int:
    """Show the latest journal entries, oldest first (with --registration: every write of one registration or merge).

    Exit status: 0 shown (or the journal has none); 1 no registration starts with the --registration given, or
    several do (they are listed); 2 a --registration shorter than 4 characters.
    """
    state = state_of(ctx)
    journal = state.journal()
    if registration is not None:
        found = registration_of(state, journal, registration)
        if found is None:
            return ExitCode.ACTION
        registration = found
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
    """List intents without a completion. Exit status: 0 none, 1 some to check.

    Accounts handed off in a SIS file are one line per file: they stay pending until Alma's SIS job
    has loaded the file.
    """
    from alma_onelink.onelink.handoff import HANDOFF_OPERATION, handed_off_files  # noqa: PLC0415

    state = state_of(ctx)
    journal = state.journal()
    found = journal.pending()
    unfinished, unchecked = _half_done(state, journal)
    if state.out.json_mode:
        state.out.document(
            {
                "journal": str(journal.path),
                "pending": [_entry_json(e) for e in found],
                "unfinished": [_unfinished_json(u, state.command_prefix()) for u in unfinished],
                "unfinished_not_checked": unchecked,
            }
        )
        return ExitCode.ACTION if found or unfinished else ExitCode.OK
    if unchecked:
        state.out.note(f"Half-done registrations were not checked: {unchecked}")
    for each in unfinished:
        _say_unfinished(state, each)
    if not found:
        if not unfinished:
            state.out.say(f"Nothing pending in {journal.path}.")
        return ExitCode.ACTION if unfinished else ExitCode.OK
    writes = [entry for entry in found if entry.operation != HANDOFF_OPERATION]
    prefix = state.command_prefix()
    _say_entries(state, writes)
    for handed in handed_off_files(found):
        _say_handed_off(state, handed)
    if writes:
        state.out.say(("First find out how each ended, by reading Alma (nothing is written to Alma):", "bold"))
        state.out.say(f"  {prefix} journal settle")
        state.out.say(("Then, for a write that must not stand, look at the account and put it back:", "bold"))
        for entry in writes:
            state.out.say(f"  {prefix} user show {shlex.quote(entry.target)}")
            state.out.say(f"  {prefix} journal restore {entry.id}")
    return ExitCode.ACTION


def _half_done(state: State, journal: Journal) -> tuple[list[Unfinished], str | None]:
    """The registrations the journal shows half-done (Alma read once to confirm each), or why they were not checked."""
    from alma_onelink.engine import JournalError, find_unfinished  # noqa: PLC0415  (loaded when run)
    from alma_onelink.errors import AlmaError  # noqa: PLC0415

    try:
        return find_unfinished(state.alma(), journal=journal), None
    except JournalError:
        raise
    except AlmaError as exc:
        return [], f"Alma could not be read ({exc}); run `{state.command_prefix()} journal settle` when it can"


def _say_handed_off(state: State, handed: HandedOffFile) -> None:
    """One line for the accounts handed off in one SIS file, and the command that settles them once Alma loads it."""
    many = "s" if handed.count != 1 else ""
    where = handed.sis_file or f"the SIS file with sha256 {handed.sha256}"
    state.out.say(
        (f"{handed.count:,} account{many} handed off in {where}", "yellow"),
        f", waiting for Alma's SIS load: run `{staff_words(handed.reconcile, state.command_prefix())}` after Alma "
        "loads it" + ("" if handed.batch_file else " (FILE: the batch file the SIS file was written from)"),
    )


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


def _say_open(state: State, opened: Open) -> None:
    """Why Alma cannot tell how an entry ended, and what to do, in the command's words."""
    prefix = state.command_prefix()
    state.out.say(f"  {staff_words(opened.why, prefix)}.")
    state.out.say(f"  What to do: {staff_words(opened.what_to_do, prefix)}")


def _say_unfinished(state: State, unfinished: Unfinished) -> None:
    """A registration left half-done: the OneLink ID on no account, and the commands that finish or undo it."""
    prefix = state.command_prefix()
    state.out.say(
        (f"Registration {unfinished.registration} is half-done: ", "bold red"),
        f"OneLink ID {unfinished.onelink_id} was taken off {unfinished.old_account} (journal entry "
        f"{unfinished.move}) but the account {unfinished.onelink_id} was not created: the OneLink ID is on no "
        "account, so the patron cannot sign in.",
    )
    state.out.say(
        "  Finish it (the same registration again, with the rest of the patron's application as first given, or "
        f"the same batch file again; it names {unfinished.old_account} to merge):"
    )
    state.out.say(f"    {staff_words(unfinished.finish, prefix)}")
    state.out.say(f"  Or undo it (puts {unfinished.onelink_id} back on {unfinished.old_account}):")
    state.out.say(f"    {staff_words(unfinished.undo, prefix)}")


def _unfinished_json(unfinished: Unfinished, prefix: str) -> dict[str, object]:
    return {
        "registration": unfinished.registration,
        "onelink_id": unfinished.onelink_id,
        "old_account": unfinished.old_account,
        "move": unfinished.move,
        "create": unfinished.create,
        "finish": staff_words(unfinished.finish, prefix),
        "undo": staff_words(unfinished.undo, prefix),
    }


@dataclass
class _Tally:
    """What `journal settle` found, as it goes: entries shown, left open, half-done registrations, hand-offs."""

    shown: list[dict[str, object]] = field(default_factory=list)
    still_open: list[Open] = field(default_factory=list)
    unfinished: dict[str, Unfinished] = field(default_factory=dict)
    handed: dict[str, list[JournalEntry]] = field(default_factory=dict)


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
    update if the account holds the record it was to send (not if it is as it was before); an account
    someone else changed since cannot be told. What Alma holds is shown and a settlement line is added
    to the journal; nothing is written to Alma. A registration stopped between taking the OneLink ID
    off an old account and creating the account is named, with the commands that finish or undo it.
    Accounts handed off in a SIS file that Alma has not loaded yet stay pending, one line per file.
    Exit status: 0 nothing left open, 1 an entry Alma cannot tell about, a hand-off not loaded yet, or
    a half-done registration (the message says why and what to do), 3 Alma could not be read (the
    entries shown before it are settled), 4 the journal could not be written.
    """
    from alma_onelink.engine import JournalError, find_unfinished  # noqa: PLC0415  (loaded when run)
    from alma_onelink.onelink.handoff import HANDOFF_OPERATION  # noqa: PLC0415

    state = state_of(ctx)
    journal = state.journal()
    entries = [journal.get(entry_id)] if entry_id is not None else journal.unsettled()
    out, prefix, tally = state.out, state.command_prefix(), _Tally()
    try:
        for entry in entries:
            _settle_one(state, entry, tally)
        if entry_id is None:  # every registration of the journal, not only those of the entries settled
            tally.unfinished.update((u.registration, u) for u in find_unfinished(state.alma(), journal=journal))
    except JournalError as exc:
        raise exc.said_with(
            f"; nothing was written to Alma. Free space on the disk of {exc.path} or fix its permissions, then "
            f"run `{prefix} journal settle` again",
            nothing_sent=True,
        ) from exc
    for entries_of_file in tally.handed.values():
        _say_handed(state, entries_of_file)
    for unfinished in tally.unfinished.values():
        _say_unfinished(state, unfinished)
    if out.json_mode:
        out.document(
            {
                "journal": str(journal.path),
                "entries": tally.shown,
                "open": [o.entry.id for o in tally.still_open],
                "open_why": [
                    {
                        "id": o.entry.id,
                        "why": staff_words(o.why, prefix),
                        "what_to_do": staff_words(o.what_to_do, prefix),
                    }
                    for o in tally.still_open
                ],
                "unfinished": [_unfinished_json(u, prefix) for u in tally.unfinished.values()],
            }
        )
    elif not entries and not tally.unfinished:
        out.say(f"Nothing to settle in {journal.path}: every write's outcome is known.")
    elif tally.still_open or tally.unfinished:
        said = []
        waiting = sum(1 for o in tally.still_open if o.entry.operation == HANDOFF_OPERATION)
        if len(tally.still_open) > waiting:
            many = len(tally.still_open) - waiting != 1
            said.append(f"{len(tally.still_open) - waiting} entr{'ies' if many else 'y'} could not be settled")
        if waiting:
            many = waiting != 1
            said.append(
                f"{waiting} account{'s' if many else ''} handed off in a SIS file "
                f"wait{'' if many else 's'} for Alma's load"
            )
        if tally.unfinished:
            many = len(tally.unfinished) != 1
            said.append(f"{len(tally.unfinished)} registration{'s are' if many else ' is'} half-done")
        out.say((f"{'; '.join(said)} (see above).", "bold yellow"))
    else:
        out.say(f"Nothing is left open in {journal.path}.", style="bold")
    return ExitCode.ACTION if tally.still_open or tally.unfinished else ExitCode.OK


def _settle_one(state: State, entry: JournalEntry, tally: _Tally) -> None:
    """Settle one entry, say how it ended (a hand-off in a SIS file is said per file, later), and tally it."""
    from alma_onelink.engine import settle  # noqa: PLC0415  (loaded when a command runs)
    from alma_onelink.onelink.handoff import HANDOFF_OPERATION  # noqa: PLC0415

    out = state.out
    handed = entry.operation == HANDOFF_OPERATION
    if not entry.is_unsettled:
        out.say((entry.id[:12], "bold"), f"  {entry.action} {entry.target}: {entry.result} already, nothing to settle")
        tally.shown.append({**_entry_json(entry), "was": entry.result})
        return
    report = settle(state.alma(), entry, journal=state.journal())
    [settled] = report
    tally.shown.append({**_entry_json(settled), "was": entry.result})
    tally.still_open.extend(report.open)
    tally.unfinished.update((u.registration, u) for u in report.unfinished)
    if handed:
        tally.handed.setdefault(entry.registration or entry.id, []).append(settled)
        return
    head = f"  {settled.action} {settled.target}: {entry.result} → "
    if settled.is_unsettled:
        out.say((settled.id[:12], "bold"), head, ("cannot tell", "bold yellow"))
        for opened in report.open:
            _say_open(state, opened)
        return
    out.say((settled.id[:12], "bold"), head, (settled.result, "bold"))
    if settled.note:
        out.say(f"  {settled.note}")
    holds = _alma_holds(settled)
    if holds:
        out.say(f"  Alma holds: {holds}")


def _say_handed(state: State, entries: list[JournalEntry]) -> None:
    """One line for the accounts of one SIS file settled now: how many Alma holds, how many still wait."""
    from alma_onelink.onelink.handoff import handed_off_files  # noqa: PLC0415

    loaded = sum(1 for entry in entries if entry.result == "done")
    waiting = [entry for entry in entries if entry.is_unsettled]
    [handed] = handed_off_files(entries)
    where = handed.sis_file or f"the SIS file with sha256 {handed.sha256}"
    line = f"{len(entries):,} account(s) handed off in {where}: {loaded:,} in Alma (settled done)"
    if not waiting:
        state.out.say(line)
        return
    state.out.say(
        (f"{line}, {len(waiting):,} not loaded yet (still pending)", "yellow"),
        f": run `{staff_words(handed.reconcile, state.command_prefix())}` after Alma loads it"
        + ("" if handed.batch_file else " (FILE: the batch file the SIS file was written from)"),
    )


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
    outcome = result.outcome.value.replace("_", " ")
    line = f"restore of {entry.action} {entry.target} ({entry.id[:8]}{settled}): {outcome} — "
    colour = "red" if result.outcome is Restored.FAILED else "green"
    state.out.say((line + staff_words(result.reason, prefix), f"{style} {colour}".strip()))
    if result.journal_error:  # what Alma holds is above; this says what the journal lacks and what to do
        state.out.say((staff_words(result.journal_error, prefix), "bold red"))


register_commands(journal_app)  # archive, export, reindex (`_journal_store`)
