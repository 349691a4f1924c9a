"""``register`` and ``check``: one patron through the OneLink procedure (``check``: a dry run, for eligibility)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Final

import typer

from ._app import app, command
from ._patron_opts import (
    Field,
    FieldProblem,
    PatronForm,
    build_patron,
    check_affiliation,
    complete_form,
    flag_of,
    parse_date,
    with_patron_flags,
)
from ._registration import account_line, beyond_outcome, headline, show_registration
from ._sdk import on_first_call
from ._state import OUTCOME_EXIT, ExitCode, State, UsageProblem, state_of
from ._words import staff_words

if TYPE_CHECKING:
    from alma_onelink.onelink import RegistrationResult, register_patron
    from alma_onelink.policy import Patron, Policy
else:
    register_patron = on_first_call("alma_onelink.onelink", "register_patron")

__all__ = ["parse_today", "read_patron", "today_option"]

today_option = typer.Option(
    "--today",
    metavar="DATE",
    help="The day of the registration (YYYY-MM-DD); default: today in the policy's time zone.",
)


def parse_today(text: str | None, flag: str = "--today") -> date | None:
    """The date typed for ``flag``, or ``None``. Raises `UsageProblem` naming the flag."""
    if text is None or not text.strip():
        return None
    try:
        return parse_date(text)
    except ValueError as exc:
        raise UsageProblem(f"{flag}: {exc}") from None


def _ask(field: Field, choices: list[str] | None) -> str:
    label = field.prompt or field.name.replace("_", " ").capitalize()
    if choices:
        label += f" ({', '.join(choices)})"
    answer: str = typer.prompt(label, err=True)
    return answer


def _ask_email(state: State, form: PatronForm) -> None:
    """In a terminal, the email when none was typed (optional: Enter skips it); asked again until it reads."""
    if isinstance(form.get("email"), str) and str(form["email"]).strip():
        return
    while True:
        answer: str = typer.prompt("Email (optional, Enter to skip)", default="", show_default=False, err=True)
        form["email"] = answer.strip() or None
        if not form["email"]:
            return
        try:
            build_patron(form)
        except FieldProblem as exc:
            if "email" in exc.fields:
                state.out.note(f"  {exc.describe(lambda name: name.replace('_', ' '))}")
                continue
        return


def read_patron(state: State, policy: Policy, form: PatronForm, *, ask_email: bool = False) -> Patron:
    """The application typed as flags (asking for what is missing in a terminal). Raises `UsageProblem` naming flags.

    ``ask_email``: in a terminal, also ask for the email when none was typed (optional).
    """
    try:
        affiliation = form.get("affiliation")
        if isinstance(affiliation, str) and affiliation.strip():
            form["affiliation"] = check_affiliation(policy, affiliation)
        form = complete_form(policy, form, _ask if state.interactive else None)
        if ask_email and state.interactive:
            _ask_email(state, form)
        return build_patron(form)
    except FieldProblem as exc:
        required = all(message == "is required" for _, message in exc.problems)
        if required:
            flags = ", ".join(flag_of(name) for name in exc.fields)
            raise UsageProblem(
                f"missing {flags}",
                "give each on the command line (stdin is not a terminal, so nothing was asked)"
                if not state.interactive
                else None,
            ) from None
        raise UsageProblem(exc.describe(flag_of), "correct the flag(s) named and run the command again") from None


def _next_step(state: State, result: RegistrationResult) -> str | None:
    if result.outcome == "needs_merge" and result.merge_from:
        return f"{state.command_prefix()} merge plan {result.merge_from} {result.patron.onelink_id}"
    return None


_WRITES: Final = ("created", "needs_merge", "renewed")
"""Outcomes whose registration writes to Alma (`Outcome` values)."""


def _summary(state: State, policy: Policy, patron: Patron, preview: RegistrationResult) -> None:
    """What is about to be written: the facts as read, and what the registration would do."""
    out = state.out
    facts = patron.model_dump(exclude_none=True, exclude_defaults=True)
    label = {a.code: a.label for a in policy.affiliations()}.get(patron.affiliation, "")
    rows: list[tuple[str, str]] = [
        ("OneLink ID", patron.onelink_id),
        ("Name", patron.full_name),
        ("Affiliation", f"{patron.affiliation} ({label})" if label else patron.affiliation),
    ]
    for name in ("email", "phone", "home_institution", "graduated_on", "left_on", "prior_role", "notes"):
        if name in facts:
            rows.append((name.replace("_", " ").capitalize(), str(facts[name])))
    if patron.address is not None:
        rows.append(("Address", ", ".join(p for p in (patron.address.line1, patron.address.city) if p)))
    if patron.donation is not None:
        rows.append(("Gift", f"${patron.donation.amount} on {patron.donation.given_on.isoformat()}"))
    out.say(("About to register:", "bold"))
    out.rows(rows)
    out.say("Registering would: ", (headline(preview, state), "bold"))
    account = account_line(preview)
    if account:
        out.say(f"  {account}")
    if preview.merge_from:
        out.say(f"  and leave the old account {preview.merge_from} to merge into it")


def _confirmed(state: State, policy: Policy, patron: Patron, preview: RegistrationResult) -> bool:
    """In a terminal: show what would be written, and ask. True when nothing would be written (nothing to ask)."""
    if preview.outcome not in _WRITES:
        return True
    _summary(state, policy, patron, preview)
    return typer.confirm(f"Register {patron.full_name} now?", default=False, err=True)


@command(app, "register", short_help="Register one patron.")
@with_patron_flags
def register(
    ctx: typer.Context,
    form: PatronForm,
    *,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and decide, write nothing.")] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="In a terminal: write without showing the summary and asking.")
    ] = False,
    today: Annotated[str | None, today_option] = None,
) -> int:
    """Register one patron with the OneLink procedure and say what to tell them.

    In a terminal, missing required facts and the email (optional) are asked for, then a summary of
    what would be written is shown and confirmed (--yes skips the questions but the required facts).
    When stdin is not a terminal nothing is asked: missing flags are an error. Exit status: 0 created,
    renewed or already registered; 1 needs_merge, blocked or not confirmed; 3 failed; 4 the journal
    could not be written (the account is in Alma: check it).
    """
    state = state_of(ctx)
    policy = state.policy()
    asking = state.interactive and not yes
    patron = read_patron(state, policy, form, ask_email=asking)
    day = parse_today(today)
    journal = state.journal_path()
    alma = state.alma()
    if asking and not dry_run:
        preview = register_patron(alma, policy, patron, dry_run=True, today=day, journal=journal, staff=state.staff)
        if not _confirmed(state, policy, patron, preview):
            state.out.say(("Nothing written.", "bold"))
            return ExitCode.ACTION
    result = register_patron(alma, policy, patron, dry_run=dry_run, today=day, journal=journal, staff=state.staff)
    if state.out.json_mode:
        state.out.document(result.to_dict())
    else:
        show_registration(state, result, next_step=_next_step(state, result))
    if result.journal_error:
        state.out.error(staff_words(result.journal_error, state.command_prefix()))  # says what to do
        return ExitCode.JOURNAL
    return OUTCOME_EXIT[result.outcome]


def _check_rendering(state: State, result: RegistrationResult, eligible: bool) -> None:
    out, prefix = state.out, state.command_prefix()
    verdict = "ELIGIBLE" if eligible else "NOT ELIGIBLE"
    outcome = result.outcome.value.replace("_", " ")
    beyond = beyond_outcome(result.reason, result.outcome.value, result.patron.onelink_id)
    reason = f" — {staff_words(beyond, prefix)}" if beyond else ""
    out.say(
        (verdict, "bold green" if eligible else "bold yellow"),
        f" — {result.patron.full_name} (OneLink ID {result.patron.onelink_id}); registering would: ",
        (outcome, "bold"),
        reason,
    )
    issues = [issue for issue in result.issues if issue.concerns(result.outcome.value)]
    for issue in issues:
        out.say(f"  {issue.severity}: {staff_words(issue.message, prefix)}")
        if issue.hint:
            out.say(f"    What to do: {staff_words(issue.hint, prefix)}")
    if result.candidates:
        out.say(("Accounts found:", "bold"))
        out.rows(
            [
                (
                    candidate.primary_id,
                    candidate.user.display_name or "",
                    (candidate.user.user_group.value or "") if candidate.user.user_group else "",
                    "; ".join(candidate.reasons),
                    "" if candidate.acted_on else "(not acted on)",
                )
                for candidate in result.candidates
            ],
            header=("account", "name", "group", "why it was found", ""),
        )
    else:
        out.say("No Alma account found for this person.")
    if result.instructions:
        out.say(("Tell the patron:" if eligible else "Next:", "bold"))
        for line in result.instructions:
            out.say(f"  • {staff_words(line, prefix)}")
    if result.staff_notes:
        out.say(("For staff:", "bold"))
        for line in result.staff_notes:
            out.say(f"  • {staff_words(line, prefix)}")


@command(app, "check", short_help="Check eligibility only (writes nothing).")
@with_patron_flags
def check(
    ctx: typer.Context,
    form: PatronForm,
    *,
    today: Annotated[str | None, today_option] = None,
) -> int:
    """Check whether a patron can be registered, without writing anything (a dry-run registration).

    Exit status: 0 eligible, 1 not eligible (blocked), 3 Alma could not be read.
    """
    state = state_of(ctx)
    policy = state.policy()
    patron = read_patron(state, policy, form)
    result = register_patron(
        state.alma(), policy, patron, dry_run=True, today=parse_today(today), journal=state.journal_path()
    )
    eligible = result.outcome not in ("blocked", "failed")
    if state.out.json_mode:
        full = result.to_dict()
        state.out.document(
            {
                "eligible": eligible,
                "onelink_id": patron.onelink_id,
                "would": result.outcome.value,
                "reason": result.reason,
                "issues": full["issues"],
                "candidates": full["candidates"],
                "instructions": full["instructions"],
                "staff_notes": full["staff_notes"],
                "links": full["links"],
            }
        )
    else:
        _check_rendering(state, result, eligible)
    if result.outcome == "failed":
        return ExitCode.ALMA
    return ExitCode.OK if eligible else ExitCode.ACTION
