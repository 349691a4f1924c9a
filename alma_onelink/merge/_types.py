"""What a merge plan holds and what applying it did: `MergePlan`, `MergeResult`, `MergeRefused`.

A plan is data: both records as read, each item carried or skipped with its reason, the activity
only Alma's UI merge can move, the UI steps, and both records as the merge leaves them. Its
``token`` is a digest of all of it, so the plan applied is the plan reviewed, even after a trip
through a file (`MergePlan.to_json` / `MergePlan.from_json`).
"""

from __future__ import annotations

import enum
import hashlib
import html
import json
import shlex
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pydantic
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from alma_onelink.engine import ApiCall, Step, comparable
from alma_onelink.engine._diff import record_diff
from alma_onelink.errors import AlmaError, InputError
from alma_onelink.models import User

if TYPE_CHECKING:
    from alma_onelink.policy import Policy

__all__ = ["ActivityItem", "MergeItem", "MergeOutcome", "MergePlan", "MergeRefused", "MergeResult"]


class MergeRefused(AlmaError, ValueError):
    """The merge is refused before anything is written; ``reasons`` lists every reason, each one a sentence."""

    def __init__(self, reasons: list[str], *, what: str = "The merge is refused") -> None:
        self.reasons = list(reasons)
        lines = "\n".join(f"  - {reason}" for reason in self.reasons)
        super().__init__(f"{what}:\n{lines}")


class MergeItem(pydantic.BaseModel):
    """One segment item of the old account (From): carried to the new one (To) or not, and why."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    segment: str
    """``identifiers``, ``addresses``, ``emails``, ``phones``, ``notes``, ``blocks``, ``statistics`` or ``proxies``."""
    description: str
    """The item in a few words, like ``BARCODE DK250000123456``."""
    reason: str
    """The rule that decided, in words a user administrator reads."""
    item: dict[str, Any]
    """The item in Alma's JSON: as it goes onto To when carried, as on From when not."""

    def __str__(self) -> str:
        return f"{self.segment}: {self.description} — {self.reason}"


class ActivityItem(pydantic.BaseModel):
    """A loan, request or fee of the old account: only Alma's UI merge can move it to the new one."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    kind: Literal["loan", "request", "fee"]
    id: str | None = None
    title: str | None = None
    barcode: str | None = None
    due_date: datetime | None = None
    """Loans: when the item is due."""
    type: str | None = None
    """Requests: HOLD, BOOKING…; fees: OVERDUEFINE, LOSTITEMREPLACEMENTFEE…"""
    status: str | None = None
    amount: float | None = None
    """Fees: the original amount."""
    balance: float | None = None
    """Fees: what is still owed."""

    def __str__(self) -> str:
        title = f'"{self.title}"' if self.title else "(no title)"
        if self.kind == "loan":
            due = f", due {self.due_date:%Y-%m-%d}" if self.due_date else ""
            return f"loan {title} (barcode {self.barcode or 'unknown'}){due}"
        if self.kind == "request":
            return f"request {self.type or '(no type)'} {title}, {self.status or 'no status'}"
        amounts = f"{_money(self.balance)} owed of {_money(self.amount)}"
        about = f" for {title}" if self.title else ""
        return f"fee {self.type or '(no type)'} {amounts}{about} ({self.status or 'no status'})"


def _money(value: float | None) -> str:
    return f"{value:,.2f}" if value is not None else "?"


class MergePlan(pydantic.BaseModel):
    """What merging the old account ``from_id`` into the OneLink account ``to_id`` will do, made by `plan_merge`.

    Review it (``print(plan)``, ``plan.diff()``), then apply it with
    ``apply_merge(alma, plan, confirm=plan.token)``. ``to_json()`` / ``from_json()`` carry it
    through a file; a plan whose contents no longer match its token is refused.
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    from_id: str
    """The old account (From), merged away."""
    to_id: str
    """The account it is merged into (To), the patron's OneLink account."""
    from_record: dict[str, Any]
    """From as read (Alma JSON)."""
    to_record: dict[str, Any]
    """To as read (Alma JSON)."""
    segments: list[str]
    """The segments chosen, like the boxes ticked in Alma's Merge Users form."""
    carried: list[MergeItem]
    """What the API carries from From to To, with the rule that decided each."""
    skipped: list[MergeItem]
    """What stays behind, and why (already on To, segment not chosen, only the UI can copy it…)."""
    notes: list[str]
    """What a reviewer should know: a differing email or phone, what is never carried, the feed…"""
    activity: list[ActivityItem]
    """From's active loans, requests and fees: only Alma's UI merge can move them."""
    ui_steps: list[str]
    """What a user administrator still does in Alma's UI, step by step."""
    final_from: dict[str, Any]
    """From as the merge leaves it (identifiers moved off, merge note, INACTIVE, expiry)."""
    final_to: dict[str, Any]
    """To as the merge leaves it (its record plus the carried items)."""
    force: str | None = None
    """Why the two are the same person although names or birth dates differ (``force=``)."""
    mismatches: list[str] = pydantic.Field(default_factory=list)
    """The name and birth-date differences ``force`` overrode."""
    policy: str | None = None
    """The policy the plan was made with (``None``: no policy, the defaults' rules)."""
    planned_on: date
    token: str
    """A hex sha256 of everything above (records compared as `comparable`): what ``confirm=`` must be."""

    _policy: Policy | None = pydantic.PrivateAttr(default=None)

    # --- the token -----------------------------------------------------------------------------

    def digest(self) -> str:
        """The token these contents give (equal to ``token`` unless the plan was changed)."""
        return plan_digest(self.model_dump(mode="json", exclude={"token"}))

    def verify(self) -> None:
        """Raise `MergeRefused` if the plan's contents were changed after it was made."""
        if self.digest() != self.token:
            raise MergeRefused(
                [
                    "the plan's contents do not match its token: it was changed after it was made. Make a new "
                    f"plan: `alma-onelink merge plan {shlex.quote(self.from_id)} {shlex.quote(self.to_id)}` "
                    "(Python: plan_merge with the same two ids)."
                ],
                what="This merge plan cannot be used",
            )

    def to_json(self) -> str:
        """The plan as JSON text, for a file someone else reviews and applies later."""
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> MergePlan:
        """A plan written by `to_json`.

        Raises `MergeRefused` if it was changed since it was made, `InputError` if it is not a plan.
        """
        if not isinstance(text, str | bytes | bytearray):
            raise InputError(
                f"MergePlan.from_json takes the text of a plan file (str or bytes); got {type(text).__name__}"
            )
        try:
            plan = cls.model_validate_json(text)
        except pydantic.ValidationError as exc:
            raise InputError(
                "This is not a merge plan file as `alma-onelink merge plan` writes it "
                f"(Python: MergePlan.to_json): {_what_is_wrong(exc)}"
            ) from exc
        plan.verify()
        return plan

    # --- what it changes ----------------------------------------------------------------------

    @property
    def moved_identifiers(self) -> list[str]:
        """The identifier values taken off From and added to To."""
        return [str(item.item.get("value")) for item in self.carried if item.segment == "identifiers"]

    def diff(self) -> str:
        """Both records before → after, one line per change (``+`` added, ``-`` removed, ``~`` changed)."""
        lines = []
        for role, primary_id, before, after in (
            ("From", self.from_id, self.from_record, self.final_from),
            ("To", self.to_id, self.to_record, self.final_to),
        ):
            changes = record_diff(before, after)
            lines.append(f"{role} {primary_id}: {'no change' if not changes else ''}".rstrip())
            lines += [f"  {change}" for change in changes]
        return "\n".join(lines)

    # --- renderings ----------------------------------------------------------------------------

    def headline(self) -> str:
        """One line: From → To, with the names as Alma holds them."""
        names = [User.from_alma(r).display_name or "(no name)" for r in (self.from_record, self.to_record)]
        return f"Merge {self.from_id} ({names[0]}) into {self.to_id} ({names[1]})"

    def _sections(self) -> list[tuple[str, list[str]]]:
        policy = f"the {self.policy!r} policy" if self.policy else "no policy (the defaults' rules)"
        sections = [
            (
                "Plan",
                [
                    f"made {self.planned_on.isoformat()} with {policy}",
                    f"segments: {', '.join(self.segments) or 'none'}",
                ],
            ),
            (f"Carried by the API ({len(self.carried)})", [str(item) for item in self.carried]),
            (f"Not carried ({len(self.skipped)})", [str(item) for item in self.skipped]),
            ("Notes", list(self.notes)),
            (f"Only Alma's UI merge can move ({len(self.activity)})", [str(item) for item in self.activity]),
            ("Then, in Alma, a user administrator", [f"{n}. {step}" for n, step in enumerate(self.ui_steps, 1)]),
        ]
        if self.force:
            sections.insert(1, ("Forced", [f"{'; '.join(self.mismatches)} — {self.force}"]))
        return [(title, lines) for title, lines in sections if lines]

    def __str__(self) -> str:
        out = [self.headline()]
        for title, lines in self._sections():
            out.append(f"{title}:")
            out += [f"  {line}" for line in lines]
        out.append("What changes:")
        out += [f"  {line}" for line in self.diff().splitlines()]
        out.append(f"Token: {self.token}")
        return "\n".join(out)

    def __repr__(self) -> str:
        return (
            f"<MergePlan {self.from_id!r} → {self.to_id!r} carried={len(self.carried)} "
            f"activity={len(self.activity)} token={self.token[:8]}…>"
        )

    def _repr_html_(self) -> str:
        esc = html.escape
        parts = [f"<div><strong>{esc(self.headline())}</strong>"]
        for title, lines in self._sections():
            tag = "ol" if title.startswith("Then") else "ul"
            shown = [line.split(". ", 1)[1] if tag == "ol" else line for line in lines]
            items = "".join(f"<li>{esc(line)}</li>" for line in shown)
            parts.append(f"<p><b>{esc(title)}</b></p><{tag}>{items}</{tag}>")
        parts.append(f"<p><b>What changes</b></p><pre>{esc(self.diff())}</pre>")
        parts.append(f"<p>Token: <code>{esc(self.token)}</code></p></div>")
        return "".join(parts)

    def __rich__(self) -> RenderableType:
        body: list[RenderableType] = []
        for title, lines in self._sections():
            body.append(Text(title, style="bold"))
            body += [Text(f"  {line}") for line in lines]
        body.append(Text("What changes", style="bold"))
        body.append(Text(self.diff()))
        body.append(Text(f"Token: {self.token}", style="dim"))
        return Panel(Group(*body), title=Text(self.headline(), style="bold"), expand=False)


def plan_digest(contents: dict[str, Any]) -> str:
    """The hex sha256 of a plan's contents (records compared as `comparable`), in canonical JSON."""
    canonical = dict(contents)
    for key in ("from_record", "to_record", "final_from", "final_to"):
        canonical[key] = comparable(canonical.get(key) or {})
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class MergeOutcome(enum.StrEnum):
    """How `apply_merge` ended. Compare with the plain strings too: ``result.outcome == "merged"``."""

    MERGED = "merged"
    """To carries the segments, From is marked (and deleted if asked and possible)."""
    ROLLED_BACK = "rolled_back"
    """A write was refused; what had been written was put back: both accounts are as they were."""
    FAILED = "failed"
    """Something is left for a person to check: ``reason`` names the journal entry and what to look at."""


@dataclass(slots=True)
class MergeResult:
    """What `apply_merge` did: the outcome, each step and Alma call, the journal entries, and what is left to do.

    ``ui_steps`` are the steps still to do in Alma's UI (none once From is deleted). ``from_user``
    and ``to_user`` are the records as Alma holds them after the run (``from_user`` is ``None``
    once deleted).
    """

    outcome: MergeOutcome
    plan: MergePlan
    reason: str
    merge_id: str
    steps: list[Step] = field(default_factory=list)
    calls: list[ApiCall] = field(default_factory=list)
    journal_entries: list[str] = field(default_factory=list)
    journal_path: Path | None = None
    ui_steps: list[str] = field(default_factory=list)
    deleted: bool = False
    from_user: User | None = None
    to_user: User | None = None
    error: AlmaError | None = None
    journal_error: str | None = None
    """Set when a journal line of this merge could not be written (a full disk, no permission): what the
    journal lacks and what to do. The outcome still says what Alma holds."""

    @property
    def ok(self) -> bool:
        """Whether the merge was applied."""
        return self.outcome is MergeOutcome.MERGED

    def headline(self) -> str:
        """One line: the merge, the outcome and why."""
        plan = self.plan
        return f"Merge {plan.from_id} into {plan.to_id}: {self.outcome.value.upper().replace('_', ' ')} — {self.reason}"

    def __str__(self) -> str:
        lines = [self.headline(), "Steps:"]
        lines += [f"  {step}" for step in self.steps]
        if self.ui_steps:
            lines.append("Still to do in Alma's UI (a user administrator):")
            lines += [f"  {n}. {step}" for n, step in enumerate(self.ui_steps, 1)]
        if self.journal_entries:
            where = f" in {self.journal_path}" if self.journal_path else ""
            lines.append(f"Journal: merge {self.merge_id}, {len(self.journal_entries)} entries{where}")
        if self.journal_error:
            lines.append(f"The journal could not be written: {self.journal_error}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<MergeResult {self.outcome.value} {self.plan.from_id!r} → {self.plan.to_id!r} calls={len(self.calls)}>"

    def to_dict(self) -> dict[str, Any]:
        """Everything in JSON-ready form (the plan as `MergePlan.to_json` writes it)."""
        return {
            "outcome": self.outcome.value,
            "reason": self.reason,
            "merge_id": self.merge_id,
            "from_id": self.plan.from_id,
            "to_id": self.plan.to_id,
            "token": self.plan.token,
            "plan": self.plan.model_dump(mode="json"),
            "steps": [step.to_dict() for step in self.steps],
            "calls": [call.to_dict() for call in self.calls],
            "journal_entries": list(self.journal_entries),
            "journal_path": str(self.journal_path) if self.journal_path else None,
            "ui_steps": list(self.ui_steps),
            "deleted": self.deleted,
            "from_user": self.from_user.to_alma() if self.from_user is not None else None,
            "to_user": self.to_user.to_alma() if self.to_user is not None else None,
            "error": str(self.error) if self.error is not None else None,
            "journal_error": self.journal_error,
        }


def _what_is_wrong(exc: pydantic.ValidationError) -> str:
    """What is wrong with a plan file, in a few words: not JSON, or which of its fields (not pydantic's page)."""
    problems = exc.errors(include_url=False)
    if any(problem["type"] in ("json_invalid", "json_type") for problem in problems):
        return "it is not JSON text (cut short, or another kind of file)"
    fields = sorted({".".join(str(part) for part in problem["loc"]) for problem in problems})
    if fields == [""]:
        return "it is JSON, but not an object holding a plan"
    fields = [field or "(the whole file)" for field in fields]
    shown = ", ".join(fields[:6]) + (f" and {len(fields) - 6} more" if len(fields) > 6 else "")
    return f"{shown} missing or not as a plan has {'it' if len(fields) == 1 else 'them'}"
