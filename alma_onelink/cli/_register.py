"""``register`` and ``check``: one patron through the OneLink procedure (``check``: a dry run, for eligibility)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from alma_onelink.onelink import Outcome, RegistrationResult, register_patron
from alma_onelink.policy import Patron, Policy

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
from ._state import OUTCOME_EXIT, ExitCode, State, UsageProblem, state_of

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


def read_patron(state: State, policy: Policy, form: PatronForm) -> Patron:
    """The application typed as flags (asking for what is missing in a terminal). Raises `UsageProblem` naming flags."""
    try:
        affiliation = form.get("affiliation")
        if isinstance(affiliation, str) and affiliation.strip():
            form["affiliation"] = check_affiliation(policy, affiliation)
        form = complete_form(policy, form, _ask if state.interactive else None)
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
    if result.outcome is Outcome.NEEDS_MERGE and result.merge_from:
        return f"Next: {state.command_prefix()} merge plan {result.merge_from} {result.patron.onelink_id}"
    return None


@command(app, "register", short_help="Register one patron.")
@with_patron_flags
def register(
    ctx: typer.Context,
    form: PatronForm,
    *,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and decide, write nothing.")] = False,
    today: Annotated[str | None, today_option] = None,
) -> int:
    """Register one patron with the OneLink procedure and say what to tell them.

    Missing required facts are asked for when run in a terminal. Exit status: 0 created, renewed
    or already registered; 1 needs_merge or blocked; 3 failed.
    """
    state = state_of(ctx)
    policy = state.policy()
    patron = read_patron(state, policy, form)
    day = parse_today(today)
    result = register_patron(
        state.alma(), policy, patron, dry_run=dry_run, today=day, journal=state.journal_path(), staff=state.staff
    )
    if state.out.json_mode:
        state.out.document(result.to_dict())
    else:
        state.out.show(result)
        step = _next_step(state, result)
        if step:
            state.out.line(step)
    return OUTCOME_EXIT[result.outcome]


def _check_rendering(result: RegistrationResult, eligible: bool) -> RenderableType:
    verdict = "ELIGIBLE" if eligible else "NOT ELIGIBLE"
    head = Text.assemble(
        (verdict, "bold green" if eligible else "bold yellow"),
        f" — {result.patron.full_name} (OneLink ID {result.patron.onelink_id}); registering would: ",
        (result.outcome.value.replace("_", " "), "bold"),
        f" — {result.reason}",
    )
    parts: list[RenderableType] = [head]
    if result.issues:
        issues = Table("", "issue", "what", "what to do", box=None, header_style="bold")
        for issue in result.issues:
            issues.add_row(issue.severity, issue.code, issue.message, issue.hint or "")
        parts.append(issues)
    if result.candidates:
        found = Table("account", "name", "group", "why it was found", "", box=None, header_style="bold")
        for candidate in result.candidates:
            user = candidate.user
            found.add_row(
                candidate.primary_id,
                user.display_name,
                user.user_group.value if user.user_group else "",
                "; ".join(candidate.reasons),
                "" if candidate.acted_on else "(not acted on)",
            )
        parts.append(Text("Accounts found:", style="bold"))
        parts.append(found)
    else:
        parts.append(Text("No Alma account found for this person."))
    parts += [Text(f"• {line}") for line in result.instructions]
    return Group(*parts)


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
    eligible = result.outcome not in (Outcome.BLOCKED, Outcome.FAILED)
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
                "links": full["links"],
            }
        )
    else:
        state.out.show(_check_rendering(result, eligible))
    if result.outcome is Outcome.FAILED:
        return ExitCode.ALMA
    return ExitCode.OK if eligible else ExitCode.ACTION
