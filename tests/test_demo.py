"""`make demo` runs `alma-onelink demo` → `alma_onelink.demo.run`: the OneLink procedure, narrated.

Each patron's section must say how their registration ended and why; the former staff member's old
account must be merged with the plan's token and undone; nothing may sleep, touch the user's journal
or depend on the clock beyond the date.
"""

from __future__ import annotations

import io
import re
import shutil
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from rich.console import Console

from alma_onelink import demo
from alma_onelink.onelink import Journal, Outcome, default_journal_path
from alma_onelink.policy import load_policy
from alma_onelink.sandbox import DUKE_SCENARIOS, DUKE_UNIQUE_IDS

NOW = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _shipped_duke_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped duke.toml, whatever the environment says: the story's groups and dates are its."""
    monkeypatch.delenv("ALMA_ONELINK_DUKE_CONFIG", raising=False)


def sections(lines: list[str]) -> dict[str, str]:
    """The demo's output cut at its headings (a line underlined with ─), by heading."""
    found: dict[str, str] = {}
    heading = "intro"
    body: list[str] = []
    for number, line in enumerate(lines):
        if number + 1 < len(lines) and lines[number + 1] and set(lines[number + 1]) == {"─"}:
            found[heading] = "\n".join(body)
            heading, body = line, []
        elif set(line) != {"─"}:
            body.append(line)
    found[heading] = "\n".join(body)
    return found


@pytest.fixture
def output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[str], list[float]]:
    def no_real_sleep(seconds: float) -> None:
        raise AssertionError(f"the demo slept {seconds}s on the wall clock")

    monkeypatch.setattr(time, "sleep", no_real_sleep)
    lines: list[str] = []
    waits: list[float] = []
    code = demo.run(lines.append, patrons=70, sleep=waits.append, now=NOW, journal=tmp_path / "demo-journal.jsonl")
    return code, lines, waits


def test_the_demo_returns_0_and_never_sleeps(output: tuple[int, list[str], list[float]]) -> None:
    code, lines, waits = output
    assert code == 0
    assert waits == []  # no latency, no rate limiter, no retry: nothing waited, not even through the fake
    assert lines[0].startswith("alma-onelink demo")
    assert "Sandbox: 77 accounts (70 generated patrons and the Duke scenarios)." in lines
    assert "Registration day: 2026-06-15; policy: duke; staff: demo." in lines


def test_each_patron_ends_as_the_procedure_says(output: tuple[int, list[str], list[float]]) -> None:
    parts = sections(output[1])
    alum = parts["1. A new alum: Zoë Okonkwo-Lindqvist, OneLink ID 0345678"]
    assert "→ CREATED\n" in alum  # the outcome said once, not "CREATED: created"
    assert "✓ create: created 0345678 [POST /users]" in alum
    assert "tell the patron: Your library account is valid until 2027-06-15." in alum

    trln = parts["2. A TRLN borrower: Kenji Oduya-Sato, OneLink ID 2100001"]
    assert "→ CREATED\n" in trln  # the outcome said once, not "CREATED: created"
    assert "trln → group DUKE_TRLN" in trln

    donor = parts["3. A Friends donor: Ruth Stoneman, OneLink ID 2100002"]
    assert "→ CREATED\n" in donor  # the outcome said once, not "CREATED: created"
    assert "expires 2027-06-12" in donor  # a year from the gift, not from today

    graduate = parts[
        f"4. A recent graduate, who must wait: Léa Kowalczyk, OneLink ID {DUKE_UNIQUE_IDS['recent_graduate']}"
    ]
    assert "→ BLOCKED: Léa Kowalczyk graduated on 2026-02-15" in graduate
    assert "register on or after 2027-02-15" in graduate
    assert "next: Until then they sign in with their NetID" in graduate
    assert "0 write(s); journal entries: 0" in graduate

    community = parts["5. A Durham community borrower: Tobias Whitfield, OneLink ID 2100003"]
    assert "→ CREATED\n" in community  # the outcome said once, not "CREATED: created"
    namesake = DUKE_SCENARIOS["durham_namesake"]
    assert f"found, not acted on: Tobias Whitfield <{namesake}> — same name (not acted on)" in community
    assert f"staff: Check whether {namesake} is also this patron's" in community

    friend = parts[f"6. A Friends member renewing: Eudora Welty, OneLink ID {DUKE_UNIQUE_IDS['lapsed_friend']}"]
    assert "→ RENEWED: expired 2026-05-01" in friend
    assert "✓ update: updated 0789012: group DUKE_FRIENDS, Patron type PT_FRIENDS, expires 2027-06-14" in friend

    staff = parts["7. A former staff member with an old account: Rafael Martínez, OneLink ID 0567890"]
    assert "→ NEEDS MERGE: created; merge rm56 into it" in staff
    assert "✓ move_identifier: rm56 no longer holds 0567890 [PUT /users/rm56]" in staff
    assert "Your old library account (rm56) will be merged into this one" in staff

    assert "Outcomes: blocked 1, created 4, needs_merge 1, renewed 1" in parts["Done"]
    assert "unexpected" not in "\n".join(output[1])


def test_the_merge_is_planned_applied_with_its_token_and_undone(output: tuple[int, list[str], list[float]]) -> None:
    parts = sections(output[1])
    plan = parts["Merge plan: rm56 into 0567890 (reads only, writes nothing)"]
    assert "Merge rm56 (Rafael Martínez) into 0567890 (Rafael Martínez)" in plan
    assert "carried: identifiers BARCODE DK250000987654" in plan
    assert 'only Alma\'s UI merge can move: loan "Sult"' in plan
    assert "~ status: ACTIVE → INACTIVE" in plan
    token = re.search(r"token: ([0-9a-f]{64})$", plan, re.M)
    assert token is not None

    applied = parts["Merge applied, with the plan's token"]
    assert "applied with the whole token of the plan reviewed" in applied
    assert "→ MERGED: 2 item(s) carried to 0567890; rm56 marked merged (INACTIVE)" in applied
    assert "✓ mark: rm56: INACTIVE" in applied

    undo = parts["Undo, from the journal (possible until Alma's UI merge runs)"]
    assert undo.count("put_back") == 3
    assert "put_back rm56: undoes “mark rm56 merged" in undo
    assert "put_back 0567890: undoes “add 2 carried item(s) to 0567890" in undo
    assert "rm56 is ACTIVE again, with identifiers rm56, DK250000987654" in undo


def test_every_write_is_journaled_to_the_demo_file_only(
    output: tuple[int, list[str], list[float]], tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "demo-journal.jsonl")
    operations = [entry.operation for entry in journal.entries()]
    assert operations == ["register"] * 7 + ["merge"] * 3 + ["restore"] * 3
    assert journal.pending() == []
    assert f"Journal: 13 entries (register 7, merge 3, restore 3), 0 pending, in {journal.path}" in output[1]
    assert not default_journal_path().exists()


def test_without_a_journal_it_writes_a_temporary_one_and_says_where(monkeypatch: pytest.MonkeyPatch) -> None:
    lines: list[str] = []
    assert demo.run(lines.append, patrons=0, now=NOW) == 0
    [where] = [line for line in lines if line.startswith("Every write is journaled ahead to ")]
    path = Path(where.removeprefix("Every write is journaled ahead to ").split(" (")[0])
    assert path.name == "journal.jsonl"
    assert path.parent.name.startswith("alma-onelink-demo-")
    assert len(Journal(path).entries()) == 13
    assert path != default_journal_path()
    assert not default_journal_path().exists()
    assert all(p.name.startswith(path.name) for p in path.parent.iterdir())  # the journal, its lock and index
    shutil.rmtree(path.parent)


def test_the_output_depends_on_the_date_only(tmp_path: Path) -> None:
    def text(now: datetime, name: str) -> list[str]:
        lines: list[str] = []
        assert demo.run(lines.append, patrons=10, now=now, journal=tmp_path / name) == 0
        return [line.replace(str(tmp_path / name), "<journal>") for line in lines]

    morning = text(datetime(2026, 6, 15, 0, 1, tzinfo=UTC), "a.jsonl")
    evening = text(datetime(2026, 6, 15, 23, 59, tzinfo=UTC), "b.jsonl")
    assert morning == evening  # the same day gives the same lines, merge token included
    later = text(datetime(2026, 9, 1, 12, tzinfo=UTC), "c.jsonl")
    assert len(later) == len(morning)
    assert "Registration day: 2026-09-01; policy: duke; staff: demo." in later


def test_called_as_the_command_calls_it_today_is_the_policy_s(tmp_path: Path) -> None:
    lines: list[str] = []
    waits: list[float] = []
    assert demo.run(lines.append, patrons=70, sleep=waits.append, journal=tmp_path / "j.jsonl") == 0
    assert waits == []
    # The registration day is today where the institution is (Duke: America/New_York).
    assert f"Registration day: {load_policy('duke').today().isoformat()}; policy: duke; staff: demo." in lines


def test_an_outcome_other_than_the_story_s_returns_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    visits = demo._visits

    def wrong(today: date) -> list[demo._Visit]:
        first, *rest = visits(today)
        return [demo._Visit(first.title, first.story, first.patron, Outcome.RENEWED), *rest]

    monkeypatch.setattr(demo, "_visits", wrong)
    lines: list[str] = []
    assert demo.run(lines.append, patrons=0, now=NOW, journal=tmp_path / "j.jsonl") == 1
    assert "  unexpected: the demo expected renewed" in lines


def test_a_rich_console_gets_the_same_lines_with_nothing_read_as_markup(tmp_path: Path) -> None:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    plain: list[str] = []
    assert demo.run(console=console, patrons=0, now=NOW, journal=tmp_path / "rich.jsonl") == 0
    assert demo.run(plain.append, patrons=0, now=NOW, journal=tmp_path / "plain.jsonl") == 0
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "[GET /users/0345678, GET /users?q=email~zoe.ol@example.org" in shown  # brackets kept, not markup
    assert shown.replace(str(tmp_path / "rich.jsonl"), "J").splitlines() == [
        line.replace(str(tmp_path / "plain.jsonl"), "J") for line in plain
    ]


@pytest.mark.parametrize("patrons", [-1, demo.MAX_PATRONS + 1, True, 2.5])
def test_a_patron_count_out_of_range_is_refused(patrons: object) -> None:
    with pytest.raises(ValueError, match="patrons must be a whole number from 0 to 2000"):
        demo.run(print, patrons=patrons)  # type: ignore[arg-type]


def test_now_must_have_a_time_zone() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        demo.run(print, now=datetime(2026, 6, 15, 14))


def test_a_registration_day_to_come_is_refused() -> None:
    with pytest.raises(ValueError, match="the registration day 2999-01-01 is in the future"):
        demo.run(print, today=date(2999, 1, 1))
    with pytest.raises(ValueError, match="in the future"):
        demo.run(print, now=datetime(2999, 1, 1, tzinfo=UTC))


def test_an_earlier_registration_day_is_narrated(tmp_path: Path) -> None:
    lines: list[str] = []
    assert demo.run(lines.append, patrons=0, today=date(2025, 3, 14), journal=tmp_path / "j.jsonl") == 0
    assert "Registration day: 2025-03-14; policy: duke; staff: demo." in lines
    assert "  tell the patron: Your library account is valid until 2026-03-14." in lines


def test_the_demo_is_quick(tmp_path: Path) -> None:
    started = time.perf_counter()
    assert demo.run(lambda line: None, now=NOW, journal=tmp_path / "j.jsonl") == 0
    assert time.perf_counter() - started < 10
