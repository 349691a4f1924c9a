"""A run that stops between a write and its journal line: the next run settles it by reading Alma and answers true.

A crash is simulated in-process: the journal raises `Crash` (not an `Exception`, so nothing catches it)
at a chosen append, and the process goes on as a new run would, with a fresh `Journal` on the same
file. ``test_crash_kill.py`` does the same with real processes and SIGKILL at every position.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from alma_onelink import AlmaClient, AsyncAlmaClient, Patron
from alma_onelink.engine import Journal, RestoreError, comparable
from alma_onelink.merge import MergePlan, apply_merge, aundo_merge, plan_merge, undo_merge
from alma_onelink.onelink import aregister_patron, register_patron
from alma_onelink.policy import Policy
from alma_onelink.sandbox import DUKE_UNIQUE_IDS, Faults, Sandbox
from tests.onelink.conftest import (
    TODAY,
    accounts_with_primary_id,
    former_staff,
    identifier_values,
    new_registrant,
    onelink_alumnus,
    record,
    sync_client,
)

RAFAEL, ANN = DUKE_UNIQUE_IDS["former_staff_with_loans"], DUKE_UNIQUE_IDS["new_registrant"]
MARIA = DUKE_UNIQUE_IDS["onelink_alumnus"]
# The journal lines of a registration with a move: move intent, create intent, move completion, create completion
# (the create's intent goes before the move's completion). A crash before line 1 comes after the move's PUT, one
# before line 3 after the create's POST.
MOVE_SENT, CREATE_SENT = 1, 3


class Crash(BaseException):
    """The process dies here."""


class CrashingJournal(Journal):
    """A journal whose process dies just before its ``crash_at``-th append (counting from 0)."""

    def __init__(self, path: Path, *, crash_at: int) -> None:
        super().__init__(path)
        self.appends, self.crash_at = 0, crash_at

    def _append(self, data: bytes) -> None:
        if self.appends == self.crash_at:
            raise Crash
        self.appends += 1
        super()._append(data)


def rafael() -> Patron:
    """The former staff member with an email rm56 lacks: after the move only the journal names rm56 as his."""
    return former_staff(email="rafael.martinez@example.net")


def crashed_registration(alma: AlmaClient, policy: Policy, patron: Patron, path: Path, crash_at: int) -> None:
    with pytest.raises(Crash):
        register_patron(alma, policy, patron, today=TODAY, journal=CrashingJournal(path, crash_at=crash_at))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.jsonl"


# --- registration ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("rerun", ["sync", "async"])
async def test_a_create_that_reached_alma_before_its_line_reruns_as_needs_merge_naming_the_old_account(
    *, rerun: str, alma: AlmaClient, aalma: AsyncAlmaClient, sandbox: Sandbox, policy: Policy, path: Path
) -> None:
    crashed_registration(alma, policy, rafael(), path, CREATE_SENT)
    assert [e.result for e in Journal(path).entries()] == ["done", "pending"]
    assert len(accounts_with_primary_id(sandbox, RAFAEL)) == 1, "the create reached Alma"

    journal = Journal(path)
    if rerun == "sync":
        again = register_patron(alma, policy, rafael(), today=TODAY, journal=journal)
    else:
        again = await aregister_patron(aalma, policy, rafael(), today=TODAY, journal=journal)
    assert (again.outcome, again.merge_from) == ("needs_merge", "rm56"), again.reason
    assert "settled now by reading Alma" in again.reason
    assert any("Merge" in line or "merged" in line for line in again.instructions)
    assert len(accounts_with_primary_id(sandbox, RAFAEL)) == 1
    assert journal.pending() == []
    create = journal.entries(target=RAFAEL)[0]
    assert create.result == "done"
    assert create.note is not None
    assert create.note.startswith("settled by reading Alma")
    later = register_patron(alma, policy, rafael(), today=TODAY, journal=journal)
    assert (later.outcome, later.merge_from) == ("needs_merge", "rm56"), "rm56 is named on every run until merged"


def test_a_move_whose_line_was_lost_before_the_create_still_names_the_old_account(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, path: Path
) -> None:
    crashed_registration(alma, policy, rafael(), path, MOVE_SENT)
    assert RAFAEL not in identifier_values(record(sandbox, "rm56")), "the move reached Alma"
    assert accounts_with_primary_id(sandbox, RAFAEL) == []

    journal = Journal(path)
    again = register_patron(alma, policy, rafael(), today=TODAY, journal=journal)
    assert (again.outcome, again.merge_from) == ("needs_merge", "rm56"), again.reason
    assert [s.name for s in again.steps][:2] == ["check", "settle"]
    assert len(accounts_with_primary_id(sandbox, RAFAEL)) == 1
    assert journal.pending() == []


def test_a_move_that_never_reached_alma_is_settled_failed_and_made_again(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, path: Path
) -> None:
    # The crash comes after the move's intent, before its PUT: rm56 still holds the OneLink ID.
    with pytest.raises(Crash), _crash_before_the_first_write(sandbox):
        register_patron(alma, policy, rafael(), today=TODAY, journal=Journal(path))
    journal = Journal(path)
    assert [e.result for e in journal.entries()] == ["pending"]
    again = register_patron(alma, policy, rafael(), today=TODAY, journal=journal)
    assert (again.outcome, again.merge_from) == ("needs_merge", "rm56"), again.reason
    assert [e.result for e in journal.entries()] == ["failed", "done", "done"]
    assert journal.pending() == []


def test_a_first_time_registrant_killed_after_the_create_reruns_as_created(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, path: Path
) -> None:
    crashed_registration(alma, policy, new_registrant(), path, 1)
    again = register_patron(alma, policy, new_registrant(), today=TODAY, journal=Journal(path))
    assert again.outcome == "created", again.reason
    assert again.merge_from is None
    assert len(accounts_with_primary_id(sandbox, ANN)) == 1
    third = register_patron(alma, policy, new_registrant(), today=TODAY, journal=Journal(path))
    assert third.outcome == "already_registered", "only the run that settles it reports the create"


def test_a_renewal_killed_after_its_put_reruns_as_renewed(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, path: Path
) -> None:
    maria = record(sandbox, MARIA)
    sandbox.users.put({**maria, "expiry_date": (TODAY - timedelta(days=3)).isoformat()})
    crashed_registration(alma, policy, onelink_alumnus(), path, 1)
    again = register_patron(alma, policy, onelink_alumnus(), today=TODAY, journal=Journal(path))
    assert again.outcome == "renewed", again.reason
    assert Journal(path).pending() == []


def test_a_dry_run_after_a_crash_answers_as_the_real_run_and_writes_nothing(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, path: Path
) -> None:
    crashed_registration(alma, policy, rafael(), path, MOVE_SENT)
    before = path.read_bytes()
    dry = register_patron(alma, policy, rafael(), today=TODAY, journal=path, dry_run=True)
    assert path.read_bytes() == before, "a dry run settles in memory only"
    assert (dry.outcome, dry.merge_from) == ("needs_merge", "rm56"), dry.reason
    real = register_patron(alma, policy, rafael(), today=TODAY, journal=path)
    assert (real.outcome, real.merge_from) == (dry.outcome, dry.merge_from)


class _crash_before_the_first_write:
    """The process dies at the first write to Alma, before it is sent."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox, self.handle = sandbox, sandbox.handle

    def __enter__(self) -> None:
        def handle(request: Any) -> Any:
            if request.method != "GET":
                raise Crash
            return self.handle(request)

        self.sandbox.handle = handle  # type: ignore[method-assign]

    def __exit__(self, *exc: object) -> None:
        self.sandbox.handle = self.handle  # type: ignore[method-assign]


# --- merge -----------------------------------------------------------------------------------------------


@pytest.fixture
def planned(alma: AlmaClient, policy: Policy, path: Path) -> MergePlan:
    register_patron(alma, policy, former_staff(), today=TODAY, journal=Journal(path))
    return plan_merge(alma, "rm56", RAFAEL, policy=policy, today=TODAY)


def as_planned(sandbox: Sandbox, plan: MergePlan) -> bool:
    """Both accounts as the plan found them."""
    now = comparable(record(sandbox, "rm56")), comparable(record(sandbox, RAFAEL))
    return bool(now == (comparable(plan.from_record), comparable(plan.to_record)))


def crashed_merge(alma: AlmaClient, plan: MergePlan, path: Path, crash_at: int) -> str:
    with pytest.raises(Crash):
        apply_merge(alma, plan, confirm=plan.token, journal=CrashingJournal(path, crash_at=crash_at), today=TODAY)
    [merge_id] = {e.registration for e in Journal(path).entries() if e.operation == "merge"}
    assert merge_id is not None
    return merge_id


@pytest.mark.parametrize("undo", ["sync", "async"])
async def test_a_merge_killed_mid_apply_is_undone_after_settling_by_reading_alma(
    *, undo: str, alma: AlmaClient, aalma: AsyncAlmaClient, sandbox: Sandbox, planned: MergePlan, path: Path
) -> None:
    merge_id = crashed_merge(alma, planned, path, 3)  # the carry to 0567890 reached Alma; its line did not
    journal = Journal(path)
    assert [e.result for e in journal.entries(registration=merge_id)] == ["done", "pending"]
    undone = (
        undo_merge(alma, merge_id, journal=journal)
        if undo == "sync"
        else await aundo_merge(aalma, merge_id, journal=path)
    )
    assert [(r.entry.target, r.outcome.value) for r in undone] == [(RAFAEL, "put_back"), ("rm56", "put_back")]
    assert as_planned(sandbox, planned)
    assert journal.pending() == []


def test_a_merge_killed_before_its_first_write_reached_alma_has_nothing_to_undo(
    alma: AlmaClient, sandbox: Sandbox, planned: MergePlan, path: Path
) -> None:
    with pytest.raises(Crash), _crash_before_the_first_write(sandbox):
        apply_merge(alma, planned, confirm=planned.token, journal=Journal(path), today=TODAY)
    [merge_id] = {e.registration for e in Journal(path).entries() if e.operation == "merge"}
    with pytest.raises(RestoreError, match="wrote nothing"):
        undo_merge(alma, str(merge_id), journal=path)
    assert as_planned(sandbox, planned)
    assert Journal(path).pending() == []


def test_a_merge_killed_while_rolling_back_is_settled_and_found_rolled_back(
    sandbox: Sandbox, planned: MergePlan, path: Path
) -> None:
    # Re-read (2 GETs), identifiers off rm56 (PUT), the carry refused (500): the roll-back of rm56 reaches
    # Alma, and the process dies before its completion line (append 5: 2 + failed carry's 2, then its intent).
    sandbox.knobs.faults = Faults(script=[None, None, None, "500"])
    with sync_client(sandbox, max_retries=0) as alma:
        merge_id = crashed_merge(alma, planned, path, 5)
        journal = Journal(path)
        assert [(e.operation, e.result) for e in journal.entries(registration=merge_id)] == [
            ("merge", "done"),
            ("merge", "failed"),
            ("merge_rollback", "pending"),
        ]
        with pytest.raises(RestoreError, match="rolled back"):
            undo_merge(alma, merge_id, journal=journal)
    assert as_planned(sandbox, planned)
    assert journal.pending() == []


def test_undo_messages_name_the_command(alma: AlmaClient, sandbox: Sandbox, planned: MergePlan, path: Path) -> None:
    result = apply_merge(alma, planned, confirm=planned.token, journal=Journal(path), today=TODAY)
    sandbox.users.put({**record(sandbox, RAFAEL), "job_description": "edited after the merge"})
    with pytest.raises(RestoreError) as caught:
        undo_merge(alma, result.merge_id, journal=path)
    message = str(caught.value)
    assert "alma-onelink journal restore" in message
    assert "--force" in message
    assert "restore(" not in message
    assert "force=" not in message
