"""How ``register`` and ``check`` show a registration: the outcome once, what concerns it, and what to tell the patron.

Every line goes through `Output.say` (never wrapped: ids, URLs and commands stay whole), and every
message of the library through `staff_words`. The steps are listed; their Alma calls and
milliseconds only with ``--verbose``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from ._output import value
from ._words import staff_words

if TYPE_CHECKING:
    from alma_onelink.engine import Step
    from alma_onelink.onelink import RegistrationResult
    from alma_onelink.policy import EligibilityIssue

    from ._state import State

__all__ = [
    "COLOURS",
    "DRY_RUN_BANNER",
    "account_line",
    "beyond_outcome",
    "headline",
    "outcome_label",
    "outcome_word",
    "show_check",
    "show_registration",
    "show_steps",
]

COLOURS: Final = {
    "created": "green",
    "renewed": "green",
    "already_registered": "cyan",
    "needs_merge": "magenta",
    "blocked": "yellow",
    "failed": "red",
}
_MARKS: Final = {"done": "✓", "planned": "…", "skipped": "-", "failed": "✗"}
_WOULD: Final = {"created": "would_create", "renewed": "would_renew", "needs_merge": "would_need_merge"}
"""A dry run's word for each outcome that writes: what registering would do, never what it did."""
DRY_RUN_BANNER: Final = "DRY RUN, nothing written"
"""How a dry run is marked on the screen, first (``register --dry-run``, ``check``, ``batch --dry-run``)."""


def outcome_word(outcome: str, *, dry_run: bool) -> str:
    """The outcome as a word of the command: ``created``, or in a dry run ``would_create``.

    Outcomes that write nothing (``blocked``, ``already_registered``…) read the same in a dry run.
    """
    return _WOULD.get(outcome, outcome) if dry_run else outcome


def outcome_label(outcome: str, *, dry_run: bool) -> str:
    """The outcome as staff read it: ``CREATED``, ``NEEDS MERGE``; in a dry run ``WOULD CREATE``."""
    return outcome_word(outcome, dry_run=dry_run).replace("_", " ").upper()


def beyond_outcome(reason: str, outcome: str, onelink_id: str = "") -> str:
    """What ``reason`` says beyond the ``outcome``'s name: "renewed: expired …" → "expired …"; "created", and a dry
    run's "would create 2000001", → ""."""
    text = " ".join(reason.split()).strip()
    named = outcome.replace("_", " ")
    words = [w for w in text.casefold().strip(" .").split() if w not in ("would", onelink_id.casefold())]
    if not words or named.startswith(" ".join(words)):
        return ""
    if text.casefold().startswith(named):
        rest = text[len(named) :]
        if rest.lstrip(" ")[:1] in (":", ";", ",", "—", "-"):
            return rest.lstrip(":;,—- ")
    return text


def _concerning(result: RegistrationResult) -> list[EligibilityIssue]:
    """The issues that concern the outcome (a blocked registration is not told what the workflow would write)."""
    return [issue for issue in result.issues if issue.concerns(result.outcome.value)]


def headline(result: RegistrationResult, state: State) -> str:
    """``CREATED — Ann Lee (OneLink ID 2000001)`` (a dry run: ``WOULD CREATE — …``), with the reason when it says
    more than the outcome and the blocking issues listed under it."""
    patron = result.patron
    label = outcome_label(result.outcome.value, dry_run=result.dry_run)
    line = f"{label} — {value(patron.full_name)} (OneLink ID {value(patron.onelink_id)})"
    reason = _more_than_issues(result)
    if reason:
        line += f": {value(staff_words(reason, state.command_prefix()))}"
    return line


def _more_than_issues(result: RegistrationResult) -> str:
    """What the reason says beyond the outcome and beyond the blocking issues shown under it ("" if nothing)."""
    reason = " ".join(beyond_outcome(result.reason, result.outcome.value, result.patron.onelink_id).split())
    # A blocked registration's reason is its issues' messages, joined: each is said once, under the headline.
    rest = reason
    for issue in _concerning(result):
        if issue.is_blocking:
            message = " ".join(issue.message.split()).strip(" .")
            at = rest.casefold().find(message.casefold()) if message else -1
            if at >= 0:
                rest = rest[:at] + rest[at + len(message) :]
    rest = re.sub(r"(\s*[.;,:]\s*)+(?=[.;,:]|$)", "", rest)  # the separators the removed messages left
    return rest.strip(" .;,:")


def account_line(result: RegistrationResult) -> str | None:
    """``Account 2000001: group DUKE_ALUMNI, expires 2027-03-02``, or None without an account."""
    user = result.user
    if user is None:
        return None
    group = user.user_group.value if user.user_group else "no group"
    expiry = user.expiry_date.isoformat() if user.expiry_date else "no expiry date"
    return f"Account {value(user.primary_id)}: group {value(group)}, expires {expiry}"


_CODES: Final = r"[a-z]+(?:_[a-z]+)*(?:, [a-z]+(?:_[a-z]+)*)*"
_BLOCKED_BY_CODES: Final = re.compile(rf"blocked: {_CODES}")
_READ_CODES: Final = re.compile(rf"\s*\(staff to read: {_CODES}\)")


def _step_words(step: Step, *, staff_notes: bool) -> tuple[str, str]:
    """A step's name and summary in words: the reason codes of an eligibility step become where the reasons are
    said ("blocked: recent_alum" → "blocked, for the reasons under "Blocked by:" above")."""
    summary = step.summary
    if step.name == "eligibility":
        if _BLOCKED_BY_CODES.fullmatch(summary):
            summary = 'blocked, for the reasons under "Blocked by:" above'
        else:
            note = ', with the notes under "For staff to read:" above' if staff_notes else ""
            summary = _READ_CODES.sub(lambda _: note, summary)
    return step.name.replace("_", " "), summary


def _step_line(step: Step, *, verbose: bool, staff_notes: bool = False) -> str:
    """One step; its codes (the step's name, the reasons' codes) as they are only with ``--verbose``."""
    name, summary = (step.name, step.summary) if verbose else _step_words(step, staff_notes=staff_notes)
    line = f"  {_MARKS.get(step.status, '?')} {name}: {value(summary)}"
    if verbose:
        calls = ", ".join(f"{call.method} {call.path}" for call in step.calls)
        line += f"  [{calls}; {step.seconds * 1000:.0f} ms]" if calls else f"  [{step.seconds * 1000:.0f} ms]"
    return line


def show_steps(state: State, steps: list[Step], *, staff_notes: bool = False) -> None:
    """The steps, one line each (with ``--verbose``: their Alma calls and milliseconds, and the reasons' codes).

    ``staff_notes``: the warnings for staff were shown above, so the eligibility step points at them.
    """
    if not steps:
        return
    out = state.out
    dry = any(step.status == "planned" for step in steps)
    out.say(("What was done (… would be done: nothing was written):" if dry else "What was done:", "bold"))
    for step in steps:
        line = _step_line(step, verbose=out.verbose, staff_notes=staff_notes)
        out.say(staff_words(line, state.command_prefix()))


def _issue_lines(state: State, title: str, issues: list[EligibilityIssue], style: str) -> set[str]:
    """The issues under ``title``; returns the hints shown (so they are not said twice)."""
    out, prefix = state.out, state.command_prefix()
    if not issues:
        return set()
    out.say((title, f"bold {style}"))
    hints: set[str] = set()
    for issue in issues:
        out.say(f"  - {value(staff_words(issue.message, prefix))}")
        if issue.hint:
            out.say(f"    What to do: {value(staff_words(issue.hint, prefix))}")
            hints.add(issue.hint)
    return hints


def show_registration(state: State, result: RegistrationResult, *, next_step: str | None = None) -> None:
    """The registration as staff read it, on stdout; ``next_step`` is a command to run next, shown last."""
    out, prefix = state.out, state.command_prefix()
    colour = COLOURS.get(result.outcome.value, "")
    dry = (f"{DRY_RUN_BANNER} — ", "bold") if result.dry_run else ""
    out.say(dry, (headline(result, state), f"bold {colour}"))
    if result.journal_error:  # what Alma holds is above; this says what the journal lacks and what to do
        out.say((value(staff_words(result.journal_error, prefix)), "bold red"))
    account = account_line(result)
    if account:
        out.say(f"  {account}")
    concerning = _concerning(result)
    hints = _issue_lines(state, "Blocked by:", [i for i in concerning if i.is_blocking], "yellow")
    hints |= _issue_lines(state, "For staff to read:", [i for i in concerning if not i.is_blocking], "yellow")
    others = [c for c in result.candidates if result.user is None or c.primary_id != result.user.primary_id]
    if others:
        out.say(("Other accounts found:", "bold"))
        out.rows(
            [
                (c.primary_id, c.user.display_name or "", "; ".join(c.reasons), "" if c.acted_on else "(not acted on)")
                for c in others
            ],
            indent=4,
        )
    show_steps(state, result.steps, staff_notes=any(not issue.is_blocking for issue in concerning))
    _tell(state, result, hints, patron_heading="Tell the patron:" if result.ok else "Next:")
    if next_step:
        out.say(("Next: ", "bold"), next_step)
    if out.verbose and result.journal_entries and result.journal_path is not None:
        count = len(result.journal_entries)
        out.say(f"Journal: {count} entr{'y' if count == 1 else 'ies'} in {result.journal_path}", style="dim")


def show_check(state: State, result: RegistrationResult, *, eligible: bool) -> None:
    """``check``: the verdict, what registering would do, each issue and hint once, the accounts, what to tell."""
    out, prefix = state.out, state.command_prefix()
    verdict = "ELIGIBLE" if eligible else "NOT ELIGIBLE"
    patron = result.patron
    more = _more_than_issues(result)
    out.say(
        (verdict, "bold green" if eligible else "bold yellow"),
        f" — {value(patron.full_name)} (OneLink ID {value(patron.onelink_id)}): ",
        (outcome_label(result.outcome.value, dry_run=True), "bold"),
        f" — {value(staff_words(more, prefix))}" if more else "",
    )
    concerning = _concerning(result)
    hints = _issue_lines(state, "Blocked by:", [i for i in concerning if i.is_blocking], "yellow")
    hints |= _issue_lines(state, "For staff to read:", [i for i in concerning if not i.is_blocking], "yellow")
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
    _tell(state, result, hints, patron_heading="Tell the patron:" if eligible else "Next:")


def _tell(state: State, result: RegistrationResult, hints: set[str], *, patron_heading: str) -> None:
    """The lines for the patron (less the hints already said under an issue), then the notes for staff."""
    out, prefix = state.out, state.command_prefix()
    patron = [line for line in result.instructions if line not in hints]
    if patron:
        out.say((patron_heading, "bold"))
        for line in patron:
            out.say(f"  • {value(staff_words(line, prefix))}")
    if result.staff_notes:
        out.say(("For staff:", "bold"))
        for line in result.staff_notes:
            out.say(f"  • {value(staff_words(line, prefix))}")
