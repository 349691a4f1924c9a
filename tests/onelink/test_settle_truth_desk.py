"""What settling tells the desk after a crash: a registration left half-done, SIS hand-offs waiting for Alma, and a
merge's delete the journal kept from being sent.

A registration stopped between taking the OneLink ID off an old account and creating the account
leaves the id on no account: `settle` (and ``alma-onelink journal settle``) names it with the
commands that finish or undo it. A SIS hand-off stays pending until Alma holds the account, and
``journal pending`` says so once per file. A delete never sent says so, not that Alma refused it.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from alma_onelink import AlmaClient
from alma_onelink.cli import app
from alma_onelink.engine import Journal, find_unfinished, restore, settle
from alma_onelink.merge import apply_merge, plan_merge
from alma_onelink.onelink import register_patron
from alma_onelink.onelink.handoff import hand_off
from alma_onelink.policy import Policy
from alma_onelink.sandbox import DUKE_SCENARIOS, DUKE_UNIQUE_IDS, Sandbox
from tests.onelink.conftest import NOW, TODAY, former_staff, netid_era_alumna, record, sync_client
from tests.onelink.test_crash_recovery import Crash, CrashingJournal, crashed_registration

RAFAEL, RM56 = DUKE_UNIQUE_IDS["former_staff_with_loans"], DUKE_SCENARIOS["former_staff_with_loans"]
# The appends of a registration with a move: move intent, create intent, move completion, create completion (the
# create's intent goes before the move's completion, so a run stopped between the two writes leaves one open).
MOVE_ENDS = 2


def rafael() -> Any:
    return former_staff(email="rafael.martinez@example.net")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.jsonl"


def test_a_registration_stopped_between_the_move_and_the_create_is_named_with_what_finishes_or_undoes_it(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, path: Path
) -> None:
    crashed_registration(alma, policy, rafael(), path, MOVE_ENDS)  # the move's PUT made, its completion never written
    journal = Journal(path)
    move, create = journal.pending()
    assert (move.action, move.target, create.action, create.target) == ("update", RM56, "create", RAFAEL)
    assert alma.users.list(q=f"identifiers~{RAFAEL}").total_record_count == 0
    report = settle(alma, journal=journal)
    assert [(e.action, e.result) for e in report] == [("update", "done"), ("create", "failed")]
    [half] = report.unfinished
    assert (half.onelink_id, half.old_account, half.move, half.create) == (RAFAEL, RM56, move.id, create.id)
    assert half.registration == move.registration
    assert half.finish == f"alma-onelink register --onelink-id {RAFAEL} …"
    assert half.undo == f"alma-onelink journal restore {move.id}"
    assert "the OneLink ID is on no account" in str(half)
    assert not report.all_settled
    assert journal.pending() == []
    assert [u.move for u in find_unfinished(alma, journal=journal)] == [move.id], "found again, nothing pending"
    assert [u.move for u in settle(alma, journal=journal).unfinished] == [move.id]

    restore(alma, move.id, journal=journal)  # undone: the id is back on rm56
    assert find_unfinished(alma, journal=journal) == []


def test_the_same_registration_again_finishes_it_and_nothing_is_half_done_after(
    alma: AlmaClient, policy: Policy, path: Path
) -> None:
    crashed_registration(alma, policy, rafael(), path, MOVE_ENDS)
    again = register_patron(alma, policy, rafael(), today=TODAY, journal=Journal(path))
    assert (again.outcome, again.merge_from) == ("needs_merge", RM56)
    assert settle(alma, journal=Journal(path)).all_settled


def test_a_move_put_back_since_or_an_id_some_account_holds_again_is_not_half_done(
    alma: AlmaClient, sandbox: Sandbox, path: Path
) -> None:
    journal = Journal(path)
    rm56 = record(sandbox, RM56)
    stripped = {**rm56, "user_identifier": [i for i in rm56["user_identifier"] if i["value"] != RAFAEL]}
    move = journal.intend(action="update", target=RM56, before=rm56, sending=stripped, operation="register",
                          registration="reg-1")  # fmt: skip
    create = journal.intend(action="create", target=RAFAEL, before=None, operation="register", registration="reg-1")
    journal.complete(move, result="done", after=stripped)
    journal.complete(create, result="failed", error="refused by Alma")
    assert find_unfinished(alma, journal=journal) == [], "Alma: rm56 still holds the id (the PUT is not in the sandbox)"
    sandbox.users.put(stripped)
    [half] = find_unfinished(alma, journal=journal)
    assert (half.registration, half.move) == ("reg-1", move.id)
    back = journal.intend(action="update", target=RM56, before=stripped, sending=rm56, operation="register",
                          registration="reg-1")  # fmt: skip
    journal.complete(back, result="done", after=rm56)
    sandbox.users.put(rm56)
    assert find_unfinished(alma, journal=journal) == [], "put back: the journal shows the move no longer stands"


# --- SIS hand-offs ------------------------------------------------------------------------------------------


def test_a_hand_off_alma_has_not_loaded_stays_pending_and_one_it_has_is_settled_done(
    alma: AlmaClient, policy: Policy, path: Path, tmp_path: Path
) -> None:
    users = [policy.build_user(netid_era_alumna(onelink_id=f"07{i:05d}"), today=TODAY) for i in range(3)]
    handed = hand_off(users, tmp_path / "out.zip", journal=Journal(path), source=tmp_path / "batch.csv")
    alma.users.create(users[0])  # Alma's SIS job loaded the first only, so far
    report = settle(alma, journal=Journal(path))
    assert [e.result for e in report] == ["done", "pending", "pending"]
    assert all("Alma's SIS job has not loaded the file" in o.why for o in report.open)
    assert all("--reconcile" in o.what_to_do for o in report.open)
    assert [e.id for e in Journal(path).pending()] == [e.id for e in handed.entries[1:]]


# --- merge apply: a delete the journal kept from being sent ------------------------------------------------


class FullAtTheDelete(Journal):
    """A journal whose disk fills just as the merge's delete is to be journaled."""

    def _append(self, data: bytes) -> None:
        if b'"action":"delete"' in data:
            raise OSError(28, "No space left on device")
        super()._append(data)


def test_a_delete_the_journal_kept_from_being_sent_says_so_and_what_state_the_merge_is_in(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, path: Path
) -> None:
    jane, jd123 = DUKE_UNIQUE_IDS["netid_era_alumna"], DUKE_SCENARIOS["netid_era_alumna"]
    register_patron(alma, policy, netid_era_alumna(), today=TODAY, journal=Journal(path))
    plan = plan_merge(alma, jd123, jane, policy=policy, today=TODAY)
    journal = FullAtTheDelete(path)
    result = apply_merge(alma, plan, confirm=plan.token, journal=journal, delete_source=True, today=TODAY)
    assert (result.outcome, result.deleted) == ("merged", False)
    assert jd123 in sandbox.users
    assert "refused" not in result.reason
    assert f"the delete was not sent to Alma: the journal {path} could not be written" in result.reason
    assert "No space left on device" in result.reason
    assert f"{jd123} is marked merged into {jane}, INACTIVE" in result.reason
    assert f"alma-onelink merge undo {result.merge_id}" in result.reason
    assert "was not sent to Alma" in (result.journal_error or "")


# --- at the desk ---------------------------------------------------------------------------------------------


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A sandbox file seeded at `NOW` and a journal beside it, for the command."""
    for name in ("ALMA_API_KEY", "ALMA_BASE_URL", "ALMA_REGION", "ALMA_ONELINK_JOURNAL", "ALMA_ONELINK_POLICY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    db = tmp_path / "sandbox.sqlite3"
    Sandbox.demo(db_path=db, now=lambda: NOW).close()
    return db, tmp_path / "journal.jsonl"


def command(db: Path, journal: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--db", str(db), "--journal", str(journal), *args])


def test_journal_settle_names_the_half_done_registration_and_the_commands_to_copy(
    desk: tuple[Path, Path], policy: Policy
) -> None:
    db, path = desk
    crashing = CrashingJournal(path, crash_at=MOVE_ENDS)
    with Sandbox(db_path=db, now=lambda: NOW) as sandbox, sync_client(sandbox) as alma, pytest.raises(Crash):
        register_patron(alma, policy, rafael(), today=TODAY, journal=crashing)
    move, _ = Journal(path).entries()
    result = command(db, path, "journal", "settle")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stdout.splitlines()
    prefix = f"alma-onelink --db {db} --journal {path}"
    at = next(n for n, line in enumerate(lines) if line.startswith(f"Registration {move.registration} is half-done"))
    assert lines[at].endswith(
        f"OneLink ID {RAFAEL} was taken off {RM56} (journal entry {move.id}) but the account "
        f"{RAFAEL} was not created: the OneLink ID is on no account, so the patron cannot sign in."
    )
    assert f"    {prefix} register --onelink-id {RAFAEL} …" in lines
    assert f"    {prefix} journal restore {move.id}" in lines
    assert lines[-1] == "1 registration is half-done (see above)."
    data = CliRunner().invoke(app, ["--db", str(db), "--journal", str(path), "--json", "journal", "settle"])
    assert data.exit_code == 1
    assert f'"undo": "{prefix} journal restore {move.id}"' in data.stdout


def test_journal_pending_shows_the_hand_offs_of_a_file_on_one_line(
    desk: tuple[Path, Path], policy: Policy, tmp_path: Path
) -> None:
    db, path = desk
    users = [policy.build_user(netid_era_alumna(onelink_id=f"07{i:05d}"), today=TODAY) for i in range(40)]
    batch = tmp_path / "spring batch.csv"
    hand_off(users, tmp_path / "out.zip", journal=Journal(path), source=batch)
    result = command(db, path, "journal", "pending")
    assert result.exit_code == 1
    prefix = f"alma-onelink --db {db} --journal {path}"
    assert result.stdout.splitlines() == [
        f"40 accounts handed off in {tmp_path / 'out.zip'}, waiting for Alma's SIS load: run "
        f"`{prefix} batch {shlex.quote(str(batch))} --reconcile` after Alma loads it"
    ]


def test_journal_settle_says_per_file_how_many_hand_offs_alma_holds_and_how_many_wait(
    desk: tuple[Path, Path], policy: Policy, tmp_path: Path
) -> None:
    db, path = desk
    users = [policy.build_user(netid_era_alumna(onelink_id=f"07{i:05d}"), today=TODAY) for i in range(30)]
    hand_off(users, tmp_path / "out.zip", journal=Journal(path), source=tmp_path / "batch.csv")
    with Sandbox(db_path=db, now=lambda: NOW) as sandbox, sync_client(sandbox) as alma:
        for user in users[:12]:  # what Alma's SIS job has loaded so far
            alma.users.create(user)
    result = command(db, path, "journal", "settle")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    prefix = f"alma-onelink --db {db} --journal {path}"
    assert result.stdout.splitlines() == [
        f"30 account(s) handed off in {tmp_path / 'out.zip'}: 12 in Alma (settled done), 18 not loaded yet (still "
        f"pending): run `{prefix} batch {tmp_path / 'batch.csv'} --reconcile` after Alma loads it",
        "18 accounts handed off in a SIS file wait for Alma's load (see above).",
    ]
    assert len(Journal(path).pending()) == 18


def test_journal_pending_names_a_half_done_registration_after_settle_and_every_time(
    desk: tuple[Path, Path], policy: Policy
) -> None:
    db, path = desk
    crashing = CrashingJournal(path, crash_at=MOVE_ENDS)
    with Sandbox(db_path=db, now=lambda: NOW) as sandbox, sync_client(sandbox) as alma, pytest.raises(Crash):
        register_patron(alma, policy, rafael(), today=TODAY, journal=crashing)
    move, _ = Journal(path).entries()
    assert command(db, path, "journal", "settle").exit_code == 1
    prefix = f"alma-onelink --db {db} --journal {path}"
    for _ in range(2):  # settled, nothing pending: the registration is still half-done, and said so each time
        result = command(db, path, "journal", "pending")
        assert result.exit_code == 1, (result.stdout, result.stderr)
        assert any(
            line.startswith(f"Registration {move.registration} is half-done") for line in result.stdout.splitlines()
        )
        assert f"    {prefix} journal restore {move.id}" in result.stdout.splitlines()
        assert "Nothing pending" not in result.stdout
    data = CliRunner().invoke(app, ["--db", str(db), "--journal", str(path), "--json", "journal", "pending"])
    assert data.exit_code == 1
    assert f'"undo": "{prefix} journal restore {move.id}"' in data.stdout
    restored = command(db, path, "journal", "restore", move.id, "--yes")
    assert restored.exit_code == 0, (restored.stdout, restored.stderr)
    after = command(db, path, "journal", "pending")
    assert (after.exit_code, "half-done" in after.stdout) == (0, False)
