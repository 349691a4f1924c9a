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

__all__ = ["Candidate", "Outcome", "RegistrationResult"]


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
        """Whether the patron has a working, up-to-date account (or a dry run says they would)."""
        return self.outcome in (Outcome.CREATED, Outcome.NEEDS_MERGE, Outcome.RENEWED, Outcome.ALREADY_REGISTERED)

    @property
    def warnings(self) -> list[EligibilityIssue]:
        """The issues staff should read (not blocking)."""
        return [issue for issue in self.issues if not issue.is_blocking]

    @property
    def blocking(self) -> list[EligibilityIssue]:
        """The issues that stopped the registration."""
        return [issue for issue in self.issues if issue.is_blocking]

    # --- renderings ----------------------------------------------------------------------------

    def headline(self) -> str:
        """One line: who, which OneLink ID, the outcome and why."""
        dry = "DRY RUN — " if self.dry_run else ""
        return (
            f"{dry}{self.patron.full_name} (OneLink ID {self.patron.onelink_id}): "
            f"{self.outcome.value.upper().replace('_', ' ')} — {self.reason}"
        )

    def _account_line(self) -> str | None:
        user = self.user
        if user is None:
            return None
        group = user.user_group.value if user.user_group else "no group"
        expiry = user.expiry_date.isoformat() if user.expiry_date else "no expiry date"
        return f"Account {user.primary_id}: group {group}, expires {expiry}"

    def __str__(self) -> str:
        lines = [self.headline()]
        account = self._account_line()
        if account:
            lines.append(f"  {account}")
        if self.merge_from:
            lines.append(f"  Merge From: {self.merge_from}  →  To: {self.patron.onelink_id}")
        if self.blocking:
            lines.append("Blocked by:")
            lines += [f"  - {issue}" for issue in self.blocking]
        if self.warnings:
            lines.append("For staff to read:")
            lines += [f"  - {issue}" for issue in self.warnings]
        if self.candidates:
            lines.append("Accounts found:")
            lines += [f"  - {candidate}" for candidate in self.candidates]
        lines.append("Steps:")
        lines += [f"  {step}" for step in self.steps]
        if self.instructions:
            lines.append("Tell the patron:" if self.ok else "Next:")
            lines += [f"  - {line}" for line in self.instructions]
        if self.journal_entries and self.journal_path is not None:
            lines.append(
                f"Journal: {len(self.journal_entries)} "
                f"entr{'y' if len(self.journal_entries) == 1 else 'ies'} in {self.journal_path}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        dry = " dry_run" if self.dry_run else ""
        return f"<RegistrationResult {self.outcome.value} {self.patron.onelink_id!r}{dry} calls={len(self.calls)}>"

    def _repr_html_(self) -> str:
        esc = html.escape
        parts = [f"<div><strong>{esc(self.headline())}</strong>"]
        account = self._account_line()
        if account:
            parts.append(f"<p>{esc(account)}</p>")
        if self.merge_from:
            parts.append(
                f"<p>Merge From <code>{esc(self.merge_from)}</code> To <code>{esc(self.patron.onelink_id)}</code></p>"
            )
        if self.issues:
            items = "".join(f"<li><b>{esc(i.severity)}</b> {esc(i.code)}: {esc(i.message)}</li>" for i in self.issues)
            parts.append(f"<ul>{items}</ul>")
        rows = "".join(
            f"<tr><td>{esc(s.status)}</td><td>{esc(s.name)}</td><td>{esc(s.summary)}</td>"
            f"<td>{esc(', '.join(f'{c.method} {c.path}' for c in s.calls))}</td><td>{s.seconds * 1000:.0f} ms</td></tr>"
            for s in self.steps
        )
        parts.append(f"<table><tr><th></th><th>step</th><th>what</th><th>calls</th><th>time</th></tr>{rows}</table>")
        if self.instructions:
            parts.append("<ol>" + "".join(f"<li>{esc(line)}</li>" for line in self.instructions) + "</ol>")
        parts.append("</div>")
        return "".join(parts)

    def __rich__(self) -> RenderableType:
        colour = {"blocked": "yellow", "failed": "red"}.get(self.outcome.value, "green")
        steps = Table(show_header=True, header_style="bold", box=None)
        for column in ("", "step", "what", "calls", "ms"):
            steps.add_column(column)
        for step in self.steps:
            calls = ", ".join(f"{c.method} {c.path}" for c in step.calls)
            # Text cells: a name or a query in a step is data, never rich markup ("[/]" would raise).
            cells = (str(step)[0], step.name, step.summary, calls, f"{step.seconds * 1000:.0f}")
            steps.add_row(*(Text(cell) for cell in cells))
        # The headline goes in the body, which wraps: a panel title is cut at the terminal's width.
        body: list[RenderableType] = [Text(self.headline(), style=f"bold {colour}")]
        account = self._account_line()
        if account:
            body.append(Text(account))
        if self.merge_from:
            body.append(Text(f"Merge From {self.merge_from} → To {self.patron.onelink_id}", style="bold"))
        body += [Text(f"{issue.severity}: {issue.message}", style="yellow") for issue in self.issues]
        body.append(steps)
        body += [Text(f"• {line}") for line in self.instructions]
        title = Text(self.outcome.value.replace("_", " ") + (" (dry run)" if self.dry_run else ""), style=colour)
        return Panel(Group(*body), title=title, expand=False)

    def to_record(self) -> dict[str, str | int | bool | None]:
        """One flat dict of JSON values, a row of a table or a DataFrame (`to_dict` has everything).

        Keys: ``index``, ``onelink_id``, ``name``, ``affiliation``, ``outcome``, ``ok``, ``dry_run``,
        ``primary_id``, ``user_group``, ``expiry_date`` (of the account after the run), ``merge_from``,
        ``reason``, ``issues`` (their codes, joined with ``"; "``), ``candidates`` (the primary ids
        found), ``registration_id``.
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
            "issues": "; ".join(issue.code for issue in self.issues) or None,
            "candidates": "; ".join(c.primary_id for c in self.candidates) or None,
            "registration_id": self.registration_id or None,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything in JSON-ready form (dates as ISO text, the record in Alma's JSON)."""
        return {
            "outcome": self.outcome.value,
            "reason": self.reason,
            "onelink_id": self.patron.onelink_id,
            "patron": self.patron.model_dump(mode="json", exclude_none=True),
            "user": self.user.to_alma() if self.user is not None else None,
            "candidates": [c.to_dict() for c in self.candidates],
            "issues": [
                {"code": i.code, "severity": i.severity, "message": i.message, "hint": i.hint, "source": i.source}
                for i in self.issues
            ],
            "steps": [s.to_dict() for s in self.steps],
            "calls": [c.to_dict() for c in self.calls],
            "merge_from": self.merge_from,
            "links": dict(self.links),
            "instructions": list(self.instructions),
            "dry_run": self.dry_run,
            "registration_id": self.registration_id,
            "journal_path": str(self.journal_path) if self.journal_path else None,
            "journal_entries": list(self.journal_entries),
            "error": str(self.error) if self.error is not None else None,
            "index": self.index,
        }
