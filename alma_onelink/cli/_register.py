"""``register`` and ``check``: one patron through the OneLink procedure (``check``: a dry run, for eligibility)."""

from __future__ import annotations

from collections.abc import Callable
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
from ._registration import account_line, headline, show_check, show_registration
from ._sdk import on_first_call
from ._state import OUTCOME_EXIT, ExitCode, State, UsageProblem, state_of
from ._words import staff_words

if TYPE_CHECKING:
    from alma_onelink.onelink import RegistrationResult, register_patron
    from alma_onelink.policy import Patron, Policy
else:
    register_patron = on_first_call("alma_onelink.onelink", "register_patron")

__all__ = ["answer_problem", "parse_today", "read_patron", "today_option"]

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


_PARTNERS: Final[dict[str, PatronForm]] = {
    "donation_amount": {"donation_date": "2000-01-01"},
    "donation_date": {"donation_amount": "1"},
}
"""For a fact checked on its own: a neutral partner, so the gift's amount or date is checked without the other."""


def answer_problem(policy: Policy, name: str, text: str) -> str | None:
    """What is wrong with ``text`` as the fact ``name``, or ``None``: the rules the flags are checked by.

    The same validators as the whole application (`build_patron`, then the policy's
    ``validate_onelink_id`` for the OneLink ID), asked about this one fact, so a prompt can say at
    once why an answer cannot be taken. The affiliation is checked by `complete_form`.
    """
    trial: PatronForm = {name: text, **_PARTNERS.get(name, {})}
    try:
        build_patron(trial)
    except FieldProblem as exc:
        mine = [message for field, message in exc.problems if field == name]
        if mine:
            return "; ".join(mine)
    if name == "onelink_id":
        return policy.validate_onelink_id(text)
    return None


def _label(field: Field) -> str:
    label = field.prompt or field.name.replace("_", " ").capitalize()
    return f"{label} (YYYY-MM-DD or M/D/YYYY)" if field.kind == "date" else label


def _asker(state: State, policy: Policy) -> Callable[[Field, list[str] | None], str]:
    """The question for a missing fact: asked again, with the reason, until the answer can be taken."""

    def ask(field: Field, choices: list[str] | None) -> str:
        label = _label(field)
        if choices:
            label += f" ({', '.join(choices)})"
        while True:
            answer: str = typer.prompt(label, err=True).strip()
            if not answer:  # spaces only: click asks again only for an empty line
                state.out.note(f"  {_said_of(field, '')}is needed; type it")
                continue
            problem = answer_problem(policy, field.name, answer) if field.name != "affiliation" else None
            if problem is None:
                return answer
            state.out.note(f"  {_said_of(field, problem)}; type it again")

    return ask


def _said_of(field: Field, problem: str) -> str:
    """``problem`` led by the fact it is about (a validator's message may start without it); ``""``: the fact's name."""
    label = field.prompt or field.name.replace("_", " ").capitalize()
    if not problem:
        return f"{label} "
    if problem.casefold().startswith(("the " + label).casefold()) or problem.casefold().startswith(label.casefold()):
        return problem
    return f"{label}: {problem}"


def _ask_email(state: State, policy: Policy, form: PatronForm) -> None:
    """In a terminal, the email when none was typed (optional: Enter skips it); asked again until it reads."""
    if isinstance(form.get("email"), str) and str(form["email"]).strip():
        return
    while True:
        answer: str = typer.prompt("Email (optional, Enter to skip)", default="", show_default=False, err=True)
        form["email"] = answer.strip() or None
        if not form["email"]:
            return
        problem = answer_problem(policy, "email", answer.strip())
        if problem is None:
            return
        state.out.note(f"  Email: {problem}; type it again, or press Enter to skip it")


def _check_typed(policy: Policy, form: PatronForm) -> None:
    """The facts typed as flags, each checked before anything is asked. Raises `FieldProblem` naming them."""
    problems: list[tuple[str | None, str]] = []
    for name, value in form.items():
        if isinstance(value, str) and value.strip() and name != "affiliation":
            problem = answer_problem(policy, name, value.strip())
            if problem is not None:
                problems.append((name, problem))
    if problems:
        raise FieldProblem(problems)


def read_patron(state: State, policy: Policy, form: PatronForm, *, ask_email: bool = False) -> Patron:
    """The application typed as flags (asking for what is missing in a terminal). Raises `UsageProblem` naming flags.

    In a terminal, each flag typed is checked before anything is asked, and each answer as it is
    given (asked again, with the reason, until it can be taken). ``ask_email``: in a terminal, also
    ask for the email when none was typed (optional).
    """
    try:
        affiliation = form.get("affiliation")
        if isinstance(affiliation, str) and affiliation.strip():
            form["affiliation"] = check_affiliation(policy, affiliation)
        if state.interactive:
            _check_typed(policy, form)
        form = complete_form(policy, form, _asker(state, policy) if state.interactive else None)
        if ask_email and state.interactive:
            _ask_email(state, policy, form)
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
    if result.outcome == "needs_merge" and result.merge_from and not result.dry_run:  # a dry run made no account
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
    out.say((headline(preview, state), "bold"))
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
        show_check(state, result, eligible=eligible)
    if result.outcome == "failed":
        return ExitCode.ALMA
    return ExitCode.OK if eligible else ExitCode.ACTION
