"""What a registration did: `RegistrationResult`, its outcome, the accounts found, and how it reads."""

from __future__ import annotations

import enum
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from alma_onelink.engine import ApiCall, Step
from alma_onelink.errors import AlmaError
from alma_onelink.models import User
from alma_onelink.policy import EligibilityIssue, Patron

from ._render import COLOURS, Item, Section, beyond_outcome, label, step_line

_COLOURS = {**COLOURS, "deferred": "blue"}

__all__ = ["DEFERRED_REASON", "Candidate", "Outcome", "RegistrationResult"]


class Outcome(enum.StrEnum):
    """How a registration ended. Compare with the plain strings too: ``result.outcome == "created"``."""

    CREATED = "created"
    """A new account was created and read back as a login would find it."""
    NEEDS_MERGE = "needs_merge"
    """A new account was created; the patron's old account (``merge_from``) is to be merged into it."""
    RENEWED = "renewed"
    """The patron's OneLink account existed and was brought up to date (group, Patron type, dates)."""
    ALREADY_REGISTERED = "already_registered"
    """The patron's OneLink account exists and is up to date; nothing was written."""
    BLOCKED = "blocked"
    """Something stands in the way (``issues`` say what and how to fix it); nothing was written."""
    FAILED = "failed"
    """Alma refused or could not be reached; ``reason`` says what happened to each write (the journal too)."""
    DEFERRED = "deferred"
    """Not started, to keep Alma's daily quota (`register_many`'s ``reserve``): no call was made for the patron
    and nothing was journaled. Neither success nor failure: run the same batch again after Alma's daily reset."""


DEFERRED_REASON = "not started, to keep Alma's daily quota; run again after Alma's daily reset"
"""The ``reason`` of every ``deferred`` result."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """An Alma account the search found, with the reasons it matched.

    ``acted_on`` is True for accounts the workflow treats as the patron's: found by the OneLink ID,
    or by email *and* name. Accounts found by name (or email) alone are shown to staff, never acted on.
    """

    user: User
    reasons: tuple[str, ...]
    acted_on: bool

    @property
    def primary_id(self) -> str:
        """The account's primary id."""
        return self.user.primary_id or ""

    def __str__(self) -> str:
        return f"{self.user} — {'; '.join(self.reasons)}{'' if self.acted_on else ' (not acted on)'}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "primary_id": self.primary_id,
            "name": self.user.display_name,
            "user_group": self.user.user_group.value if self.user.user_group else None,
            "reasons": list(self.reasons),
            "acted_on": self.acted_on,
        }


@dataclass(slots=True)
class RegistrationResult:
    """What `register_patron` did for one patron, and what to tell them.

    ``user`` is the account as Alma holds it after the run (for a dry run: the record it would
    create, or the account with the change it would make; for ``blocked``/``failed``: the account
    found, if any). ``calls`` are the Alma calls made, in order; ``steps`` group them with what was
    done and why. ``journal_entries`` are the ids of the journal entries written, in ``journal_path``.
    """

    outcome: Outcome
    patron: Patron
    reason: str
    user: User | None = None
    candidates: list[Candidate] = field(default_factory=list)
    issues: list[EligibilityIssue] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    calls: list[ApiCall] = field(default_factory=list)
    merge_from: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    instructions: list[str] = field(default_factory=list)
    """What to tell the patron, one line each (for ``blocked`` or ``failed``: what comes next)."""
    staff_notes: list[str] = field(default_factory=list)
    """What staff alone should do or know, one line each, never told to the patron: accounts that
    matched by name or email only, a link the policy leaves unset that the patron would need."""
    dry_run: bool = False
    registration_id: str = ""
    journal_path: Path | None = None
    journal_entries: list[str] = field(default_factory=list)
    error: AlmaError | None = None
    index: int | None = None
    """The patron's position in the input of `register_many` (``None`` for `register_patron`)."""
    journal_error: str | None = None
    """Set when a journal line of this registration could not be written (a full disk, no permission):
    what could not be written and what to do. The outcome still says what Alma holds."""

    @property
    def ok(self) -> bool:
        """Whether the patron has a working, up-to-date account (or a dry run says they would).

        False for ``blocked``, ``failed`` and ``deferred`` (a patron not started is not an error either:
        ``error`` is None and the next run of the batch registers them).
        """
        return self.outcome in (Outcome.CREATED, Outcome.NEEDS_MERGE, Outcome.RENEWED, Outcome.ALREADY_REGISTERED)

    @property
    def warnings(self) -> list[EligibilityIssue]:
        """The issues staff should read (not blocking) that concern this outcome.

        ``issues`` keeps every issue the policy and the workflow raised; an issue whose
        ``applies_to`` leaves this outcome out (an already registered patron is not warned that
        their account exists) is not here, nor in any rendering.
        """
        return [issue for issue in self.issues if not issue.is_blocking and issue.concerns(self.outcome)]

    @property
    def blocking(self) -> list[EligibilityIssue]:
        """The issues that stopped the registration (always shown: they say why)."""
        return [issue for issue in self.issues if issue.is_blocking]

    # --- renderings ----------------------------------------------------------------------------
    # Every rendering shows the same things in the same order: the headline, the account, what
    # stopped or concerns this outcome, the accounts found, the steps (their Alma calls and
    # milliseconds only when verbose), what to tell the patron, the notes for staff, the journal. Each
    # thing is said once.

    def headline(self) -> str:
        """One line: who, which OneLink ID, the outcome in capitals and why (the outcome said once)."""
        dry = "DRY RUN — " if self.dry_run else ""
        reason = beyond_outcome(self.reason, self.outcome.value)
        return (
            f"{dry}{self.patron.full_name} (OneLink ID {self.patron.onelink_id}): "
            f"{label(self.outcome.value)}{f' — {reason}' if reason else ''}"
        )

    def _account_line(self) -> str | None:
        user = self.user
        if user is None:
            return None
        group = user.user_group.value if user.user_group else "no group"
        expiry = user.expiry_date.isoformat() if user.expiry_date else "no expiry date"
        return f"Account {user.primary_id}: group {group}, expires {expiry}"

    def _facts(self) -> list[str]:
        """The lines under the headline: the journal's failure, the account, the merge to do."""
        lines = []
        if self.journal_error:
            lines.append(f"The journal could not be written: {self.journal_error}")
        if account := self._account_line():
            lines.append(account)
        if self.merge_from:
            lines.append(f"Merge From: {self.merge_from}  →  To: {self.patron.onelink_id}")
        return lines

    def _findings(self) -> list[Section]:
        """What stopped the registration, what staff should read, and the accounts found."""
        said = self.headline()  # a blocking issue's message is usually the reason: named there, not repeated
        blocked = [Item(i.code if i.message in said else f"{i.code}: {i.message}", i.hint) for i in self.blocking]
        sections = [
            Section("Blocked by:", blocked, "yellow"),
            Section("For staff to read:", [Item(f"{i.code}: {i.message}", i.hint) for i in self.warnings], "yellow"),
            Section("Accounts found:", [Item(str(candidate)) for candidate in self.candidates]),
        ]
        return [section for section in sections if section.items]

    def _telling(self) -> list[Section]:
        """The lines for the patron (``Next:`` when the patron has no account yet), then ``staff_notes``.

        A line that repeats a hint shown under its issue is left out.
        """
        hints = {issue.hint for issue in [*self.blocking, *self.warnings] if issue.hint}
        sections = [
            Section(
                "Tell the patron:" if self.ok else "Next:",
                [Item(line) for line in self.instructions if line not in hints],
            ),
            Section("For staff:", [Item(line) for line in self.staff_notes]),
        ]
        return [section for section in sections if section.items]

    def _journal_line(self) -> str | None:
        if not (self.journal_entries and self.journal_path is not None):
            return None
        count = len(self.journal_entries)
        return f"Journal: {count} entr{'y' if count == 1 else 'ies'} in {self.journal_path}"

    def to_text(self, *, verbose: bool = False) -> str:
        """The result as a staff note, what ``str(result)`` prints.

        ``verbose=True`` adds each step's Alma calls and milliseconds (the command's ``--verbose``).
        """
        lines = [self.headline(), *(f"  {fact}" for fact in self._facts())]
        for section in self._findings():
            lines += section.text()
        if self.steps:
            lines.append("Steps:")
            lines += [f"  {step_line(step, verbose=verbose)}" for step in self.steps]
        for section in self._telling():
            lines += section.text()
        if journal := self._journal_line():
            lines.append(journal)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        dry = " dry_run" if self.dry_run else ""
        return f"<RegistrationResult {self.outcome.value} {self.patron.onelink_id!r}{dry} calls={len(self.calls)}>"

    def _repr_html_(self) -> str:
        esc = html.escape
        parts = [f"<div><strong>{esc(self.headline())}</strong>"]
        parts += [f"<p>{esc(fact)}</p>" for fact in self._facts()]
        for section in self._findings():
            parts.append(section.html())
        rows = "".join(
            f"<tr><td>{esc(str(s)[0])}</td><td>{esc(s.name)}</td><td>{esc(s.summary)}</td>"
            f"<td>{esc(', '.join(f'{c.method} {c.path}' for c in s.calls))}</td><td>{s.seconds * 1000:.0f} ms</td></tr>"
            for s in self.steps
        )
        parts.append(f"<table><tr><th></th><th>step</th><th>what</th><th>calls</th><th>time</th></tr>{rows}</table>")
        for section in self._telling():
            parts.append(section.html())
        if journal := self._journal_line():
            parts.append(f"<p>{esc(journal)}</p>")
        parts.append("</div>")
        return "".join(parts)

    def render(self, *, verbose: bool = False) -> RenderableType:
        """The result as a rich panel, what ``rich.print(result)`` draws.

        ``verbose=True`` adds each step's Alma calls and milliseconds (the command's ``--verbose``).
        Nothing in it is read as rich markup.
        """
        colour = _COLOURS.get(self.outcome.value, "green")
        # The headline goes in the body, which wraps: a panel title is cut at the terminal's width.
        body: list[RenderableType] = [Text(self.headline(), style=f"bold {colour}")]
        body += [Text(fact, style="bold red" if fact.startswith("The journal") else "") for fact in self._facts()]
        for section in self._findings():
            body += section.rich()
        if self.steps:
            steps = Table(show_header=True, header_style="bold", box=None)
            columns = ("", "step", "what", "calls", "ms") if verbose else ("", "step", "what")
            for column in columns:
                steps.add_column(column)
            for step in self.steps:
                cells = [str(step)[0], step.name, step.summary]
                if verbose:
                    cells += [", ".join(f"{c.method} {c.path}" for c in step.calls), f"{step.seconds * 1000:.0f}"]
                # Text cells: a name or a query in a step is data, never rich markup ("[/]" would raise).
                steps.add_row(*(Text(cell) for cell in cells))
            body.append(steps)
        for section in self._telling():
            body += section.rich()
        if journal := self._journal_line():
            body.append(Text(journal, style="dim"))
        title = Text(self.outcome.value.replace("_", " ") + (" (dry run)" if self.dry_run else ""), style=colour)
        return Panel(Group(*body), title=title, expand=False)

    def __rich__(self) -> RenderableType:
        return self.render()

    def to_record(self) -> dict[str, str | int | bool | None]:
        """One flat dict of JSON values, a row of a table or a DataFrame (`to_dict` has everything).

        Keys: ``index``, ``onelink_id``, ``name``, ``affiliation``, ``outcome``, ``ok``, ``dry_run``,
        ``primary_id``, ``user_group``, ``expiry_date`` (of the account after the run), ``merge_from``,
        ``reason``, ``issues`` (the codes of those that concern the outcome, ``blocking`` then
        ``warnings``, joined with ``"; "``), ``candidates`` (the primary ids
        found), ``registration_id``, ``journal_error`` (set when a journal line could not be written).
        """
        user = self.user
        return {
            "index": self.index,
            "onelink_id": self.patron.onelink_id,
            "name": self.patron.full_name,
            "affiliation": self.patron.affiliation,
            "outcome": self.outcome.value,
            "ok": self.ok,
            "dry_run": self.dry_run,
            "primary_id": user.primary_id if user is not None else None,
            "user_group": user.user_group.value if user is not None and user.user_group is not None else None,
            "expiry_date": user.expiry_date.isoformat() if user is not None and user.expiry_date else None,
            "merge_from": self.merge_from,
            "reason": self.reason,
            "issues": "; ".join(issue.code for issue in [*self.blocking, *self.warnings]) or None,
            "candidates": "; ".join(c.primary_id for c in self.candidates) or None,
            "registration_id": self.registration_id or None,
            "journal_error": self.journal_error,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything in JSON-ready form (dates as ISO text, the record in Alma's JSON).

        ``issues`` holds every issue, each with ``concerns_outcome``: whether the renderings show it.
        """
        return {
            "outcome": self.outcome.value,
            "reason": self.reason,
            "onelink_id": self.patron.onelink_id,
            "patron": self.patron.model_dump(mode="json", exclude_none=True),
            "user": self.user.to_alma() if self.user is not None else None,
            "candidates": [c.to_dict() for c in self.candidates],
            "issues": [
                {
                    "code": i.code,
                    "severity": i.severity,
                    "message": i.message,
                    "hint": i.hint,
                    "source": i.source,
                    "applies_to": list(i.applies_to) if i.applies_to is not None else None,
                    "concerns_outcome": i.concerns(self.outcome),
                }
                for i in self.issues
            ],
            "steps": [s.to_dict() for s in self.steps],
            "calls": [c.to_dict() for c in self.calls],
            "merge_from": self.merge_from,
            "links": dict(self.links),
            "instructions": list(self.instructions),
            "staff_notes": list(self.staff_notes),
            "dry_run": self.dry_run,
            "registration_id": self.registration_id,
            "journal_path": str(self.journal_path) if self.journal_path else None,
            "journal_entries": list(self.journal_entries),
            "error": str(self.error) if self.error is not None else None,
            "index": self.index,
            "journal_error": self.journal_error,
        }
