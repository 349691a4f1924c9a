"""``alma-onelink demo`` (``make demo``): Duke's OneLink procedure, narrated, on a fresh in-memory sandbox.

Seven patrons come to the desk: a new alum, a TRLN borrower, a Friends donor, a recent graduate who
must wait, a Durham community borrower, a Friends member renewing, and a former staff member with an
old account. Each is registered with `register_patron` under the Duke policy, and the demo prints
what the software did and why, from the result's own lines: the outcome and its reason, every step
with its Alma calls, what staff check and what they tell the patron. The former staff member's old
account is then merged plan first (`plan_merge`), applied with the plan's token (`apply_merge`) and
undone from the journal (`undo_merge`).

Nothing leaves the process: the sandbox is in memory, answers at once (no latency, no rate limit)
and nothing sleeps. Every write is journaled to a temporary file, never to the user's journal; the
demo prints where it is and leaves it there to read.
"""

from __future__ import annotations

import os
import tempfile
import time as _time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from rich.console import Console
from rich.text import Text

from . import AlmaClient
from .engine import Journal
from .merge import apply_merge, plan_merge, undo_merge
from .onelink import Outcome, RegistrationResult, register_patron
from .policy import LINK_ONELINK_SIGN_IN, Patron, Policy, load_policy
from .sandbox import DUKE_SCENARIOS, DUKE_UNIQUE_IDS, Sandbox

__all__ = ["DEFAULT_PATRONS", "MAX_PATRONS", "run"]

Print = Callable[[str], None]

DEFAULT_PATRONS = 40
"""Generated patrons around the Duke scenarios: `Sandbox.demo`'s default."""
MAX_PATRONS = 2000
"""The most the demo seeds (about a second); more would only slow the searches it shows."""
STAFF = "demo"
"""Who the journal says made the writes."""


class _Narrator:
    """Prints plain lines through ``out``, or styled ones through a rich ``console`` (never as markup)."""

    def __init__(self, out: Print, console: Console | None) -> None:
        self._out = out
        self._console = console

    def line(self, text: str = "", style: str | None = None) -> None:
        if self._console is None:
            self._out(text)
        else:
            self._console.print(Text(text, style=style or ""), soft_wrap=True)

    def heading(self, text: str) -> None:
        self.line()
        self.line(text, style="bold")
        self.line("─" * len(text), style="dim")


@dataclass(frozen=True)
class _Visit:
    """A patron at the desk: who they are, the application staff fill in, and the outcome to expect."""

    title: str
    story: str
    patron: Patron
    expected: Outcome


def _visits(today: date) -> list[_Visit]:
    days = timedelta(days=1)
    return [
        _Visit(
            "A new alum",
            f"Zoë graduated in {today.year - 10} and has never had a library account here; OneLink gave her unique ID.",
            Patron(
                onelink_id=DUKE_UNIQUE_IDS["new_registrant"],
                first_name="Zoë",
                last_name="Okonkwo-Lindqvist",
                email="zoe.ol@example.org",
                affiliation="alumni",
                graduated_on=date(today.year - 10, 5, 8),
            ),
            Outcome.CREATED,
        ),
        _Visit(
            "A TRLN borrower",
            "Kenji studies at NC State and borrows from Duke through TRLN.",
            Patron(
                onelink_id="2100001",
                first_name="Kenji",
                last_name="Oduya-Sato",
                email="kenji.os@ncsu.example.edu",
                affiliation="trln",
                home_institution="NCSU",
            ),
            Outcome.CREATED,
        ),
        _Visit(
            "A Friends donor",
            "Ruth gave $250 to the Friends of the Library three days ago: enough for a borrowing card.",
            Patron(
                onelink_id="2100002",
                first_name="Ruth",
                last_name="Stoneman",
                email="ruth.stoneman@example.org",
                affiliation="friends",
                donation={"amount": "250", "given_on": today - 3 * days},
            ),
            Outcome.CREATED,
        ),
        _Visit(
            "A recent graduate, who must wait",
            "Léa graduated 120 days ago; her NetID and her student account are still active.",
            Patron(
                onelink_id=DUKE_UNIQUE_IDS["recent_graduate"],
                first_name="Léa",
                last_name="Kowalczyk",
                affiliation="alumni",
                graduated_on=today - 120 * days,
            ),
            Outcome.BLOCKED,
        ),
        _Visit(
            "A Durham community borrower",
            "Tobias lives in Durham. Another Tobias Whitfield, in Raleigh, had a card years ago.",
            Patron(
                onelink_id="2100003",
                first_name="Tobias",
                last_name="Whitfield",
                email="tobias.whitfield@example.org",
                affiliation="community",
                address={"line1": "305 W Main St", "city": "Durham", "state_province": "NC", "postal_code": "27701"},
            ),
            Outcome.CREATED,
        ),
        _Visit(
            "A Friends member renewing",
            "Eudora's Friends membership ran out 45 days ago; she gave $200 yesterday.",
            Patron(
                onelink_id=DUKE_UNIQUE_IDS["lapsed_friend"],
                first_name="Eudora",
                last_name="Welty",
                email="eudora.welty@example.net",
                affiliation="friends",
                donation={"amount": "200", "given_on": today - days},
            ),
            Outcome.RENEWED,
        ),
        _Visit(
            "A former staff member with an old account",
            f"Rafael left his library job 60 days ago. His staff account {DUKE_SCENARIOS['former_staff_with_loans']} "
            "holds his Duke Unique ID, two loans, a hold and a fine.",
            Patron(
                onelink_id=DUKE_UNIQUE_IDS["former_staff_with_loans"],
                first_name="Rafael",
                last_name="Martínez",
                email="rafa.martinez@example.com",
                affiliation="former_affiliate",
                prior_role="staff",
                left_on=today - 60 * days,
            ),
            Outcome.NEEDS_MERGE,
        ),
    ]


def _beyond_outcome(reason: str, outcome: Outcome) -> str:
    """``reason`` without a repeat of the outcome: "renewed: expired …" → "expired …", "created" → ""."""
    text, named = reason.strip(), outcome.value.replace("_", " ")
    if text.strip(" .").casefold() == named:
        return ""
    if text.casefold().startswith(named) and text[len(named) :].lstrip(" ")[:1] in (":", ";", ","):
        return text[len(named) :].lstrip(":;, ")
    return text


def _show_result(say: _Narrator, result: RegistrationResult) -> None:
    reason = _beyond_outcome(result.reason, result.outcome)
    say.line(f"→ {result.outcome.value.upper().replace('_', ' ')}{f': {reason}' if reason else ''}", style="bold")
    for step in result.steps:
        say.line(f"  {step}")
    for candidate in result.candidates:
        if not candidate.acted_on:
            say.line(f"  found, not acted on: {candidate}")
    for issue in result.blocking:
        if issue.message != result.reason:
            say.line(f"  why: {issue.message}")
        if issue.hint:
            say.line(f"  next: {issue.hint}")
    if result.warnings:
        say.line(
            f"  staff to read: {', '.join(issue.code for issue in result.warnings)} "
            "(alma-onelink register shows each in full)"
        )
    if result.ok:
        # The lines about this patron; the links (sign in, register, reset a password) are everyone's.
        for line in result.instructions:
            if "://" not in line:
                say.line(f"  tell the patron: {line}")
        for note in result.staff_notes:
            if "://" not in note:
                say.line(f"  staff: {note}")
    reads = sum(1 for call in result.calls if call.method == "GET")
    writes = len(result.calls) - reads
    say.line(f"  Alma calls: {reads} read(s), {writes} write(s); journal entries: {len(result.journal_entries)}")


def _merge_and_undo(
    say: _Narrator, alma: AlmaClient, result: RegistrationResult, *, policy: Policy, journal: Journal, today: date
) -> bool:
    """The merge of the old account into the new one: plan, apply with the token, undo. True if all went as shown."""
    old, new = result.merge_from, result.patron.onelink_id
    if old is None:
        say.line("  unexpected: no old account to merge")
        return False

    say.heading(f"Merge plan: {old} into {new} (reads only, writes nothing)")
    plan = plan_merge(alma, old, new, policy=policy, today=today)
    say.line(plan.headline())
    for item in plan.carried:
        say.line(f"  carried: {item.segment} {item.description}")
    for item in plan.skipped:
        say.line(f"  not carried: {item.segment} {item.description} — {item.reason}")
    for activity in plan.activity:
        say.line(f"  only Alma's UI merge can move: {activity}")
    say.line("  what changes:")
    for line in plan.diff().splitlines():
        say.line(f"    {line}")
    say.line(f"  token: {plan.token}")

    say.heading("Merge applied, with the plan's token")
    merged = apply_merge(alma, plan, confirm=plan.token, journal=journal, staff=STAFF, today=today)
    say.line("applied with the whole token of the plan reviewed (alma-onelink merge apply PLAN --confirm TOKEN)")
    say.line(f"→ {merged.outcome.value.upper()}: {merged.reason}", style="bold")
    for step in merged.steps:
        say.line(f"  {step}")
    say.line(f"  still to do in Alma's UI: {len(merged.ui_steps)} steps (Admin > User Management > Merge Users)")

    say.heading("Undo, from the journal (possible until Alma's UI merge runs)")
    restored = undo_merge(alma, merged, journal=journal, staff=STAFF)
    for undone in restored:
        what = (undone.entry.reason or undone.entry.action).split(": ", 1)[-1]
        say.line(f"  {undone.outcome.value} {undone.entry.target}: undoes “{what}”")
    back = alma.users.get(old)
    status = back.status.value if back.status else "?"
    say.line(f"  {old} is {status} again, with identifiers {', '.join(back.identifier_values())}")
    return merged.ok and all(undone.outcome.value == "put_back" for undone in restored)


def run(
    out: Print = print,
    *,
    patrons: int = DEFAULT_PATRONS,
    sleep: Callable[[float], None] = _time.sleep,
    now: datetime | None = None,
    today: date | None = None,
    journal: str | os.PathLike[str] | None = None,
    console: Console | None = None,
) -> int:
    """Run the narrated procedure; return 0 when every patron ended as the demo says, else 1.

    Args:
        out: Prints one line of plain text (``print``, ``lines.append``…).
        patrons: Generated patrons seeded around the Duke scenarios (0 to `MAX_PATRONS`).
        sleep: What the client and sandbox would wait with; nothing waits in the demo (no latency,
            no rate limit), so it is never called.
        now: The sandbox's clock, an aware datetime (default: noon UTC of ``today``). It must not be
            in the future: patrons' dates (a gift, a graduation) are checked against the real clock.
        today: The registration day (default: ``now``'s date, else today in the policy's time zone);
            not in the future.
        journal: Where to journal the writes (default: a new temporary folder, kept and printed).
        console: A rich console to print to instead of ``out``, with headings in bold.

    Raises:
        ValueError: ``patrons`` out of range, ``now`` without a time zone, or a registration day in
            the future.
    """
    if isinstance(patrons, bool) or not isinstance(patrons, int) or not 0 <= patrons <= MAX_PATRONS:
        raise ValueError(f"patrons must be a whole number from 0 to {MAX_PATRONS}, got {patrons!r}")
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be an aware datetime, like datetime(2026, 6, 15, 14, tzinfo=UTC)")
    say = _Narrator(out, console)
    policy = load_policy("duke")
    day = today or (now.date() if now is not None else policy.today())
    if day > date.today() + timedelta(days=1):
        # The patrons' gifts, graduations and departures are dated before the registration day, and a
        # Patron refuses a date in the future: a registration day to come cannot be narrated.
        raise ValueError(f"the registration day {day.isoformat()} is in the future; give today or a day before")
    clock = now or datetime.combine(day, time(12), UTC)
    path = (
        Path(journal) if journal is not None else Path(tempfile.mkdtemp(prefix="alma-onelink-demo-")) / "journal.jsonl"
    )
    log = Journal(path, now=(lambda: clock) if now is not None else None)

    sandbox = Sandbox.demo(patrons=patrons, now=lambda: clock, per_second_limit=None, sleep=sleep)
    say.line(
        "alma-onelink demo — Duke's OneLink procedure on an in-memory Alma sandbox (no Alma key, no network)", "bold"
    )
    say.line(f"Sandbox: {len(sandbox.users)} accounts ({patrons} generated patrons and the Duke scenarios).")
    say.line(f"Registration day: {day.isoformat()}; policy: duke; staff: {STAFF}.")
    say.line(f"Every write is journaled ahead to {log.path} (a demo file, not your journal).")
    if sign_in := policy.links().get(LINK_ONELINK_SIGN_IN):
        say.line(
            "Every patron registered is told to sign in to the library's My Account with their OneLink account "
            f"and check it loads ({sign_in} tests the OneLink sign-in itself)."
        )

    ok = True
    outcomes: Counter[str] = Counter()
    with AlmaClient.sandbox(sandbox, rate_limit=None, sleep=sleep) as alma:
        for number, visit in enumerate(_visits(day), start=1):
            say.heading(f"{number}. {visit.title}: {visit.patron.full_name}, OneLink ID {visit.patron.onelink_id}")
            say.line(visit.story)
            result = register_patron(alma, policy, visit.patron, today=day, journal=log, staff=STAFF)
            outcomes[result.outcome.value] += 1
            _show_result(say, result)
            if result.outcome is not visit.expected:
                say.line(f"  unexpected: the demo expected {visit.expected.value}", style="red")
                ok = False
            elif result.outcome is Outcome.NEEDS_MERGE:
                ok = _merge_and_undo(say, alma, result, policy=policy, journal=log, today=day) and ok

    entries = log.entries()
    say.heading("Done")
    say.line("Outcomes: " + ", ".join(f"{name} {count}" for name, count in sorted(outcomes.items())))
    operations = Counter(entry.operation or "other" for entry in entries)
    made = ", ".join(f"{name} {count}" for name, count in operations.items())
    say.line(f"Journal: {len(entries)} entries ({made}), {len(log.pending())} pending, in {log.path}")
    say.line("Next: `make test`, the guides (`make docs-serve`), docs/notebooks/ad-hoc-fixes.ipynb.")
    return 0 if ok else 1
