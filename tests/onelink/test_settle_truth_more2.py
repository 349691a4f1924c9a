"""Settling tells the truth on the second pass too: a half-done registration is named until it is finished or
undone, a SIS hand-off a later create through Alma's API superseded is not claimed loaded, and a read that may have
been made while a write was under way never settles it failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from alma_onelink import AlmaClient
from alma_onelink.cli import app
from alma_onelink.engine import Journal, find_unfinished, restore, settle
from alma_onelink.onelink import register_patron
from alma_onelink.onelink.handoff import hand_off, reconcile
from alma_onelink.policy import Policy
from alma_onelink.sandbox import DUKE_SCENARIOS, DUKE_UNIQUE_IDS, Sandbox
from tests.onelink.conftest import NOW, TODAY, former_staff, netid_era_alumna, record, sync_client
from tests.onelink.test_crash_recovery import Crash, CrashingJournal, crashed_registration

RAFAEL, RM56 = DUKE_UNIQUE_IDS["former_staff_with_loans"], DUKE_SCENARIOS["former_staff_with_loans"]
BEFORE_THE_CREATE = 1  # the appends of a registration with a move: move intent, then the create's intent


def rafael() -> Any:
    return former_staff(email="rafael.martinez@example.net")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.jsonl"


# --- a half-done registration is named as long as it is half-done ------------------------------------------


def test_a_half_done_registration_is_named_by_every_settle_until_it_is_undone(
    alma: AlmaClient, policy: Policy, path: Path
) -> None:
    crashed_registration(alma, policy, rafael(), path, BEFORE_THE_CREATE)  # the move's PUT made, no create journaled
    [move] = Journal(path).pending()
    first = settle(alma, journal=Journal(path))
    assert [e.result for e in first] == ["done"]
    assert [u.move for u in first.unfinished] == [move.id]
    assert Journal(path).unsettled() == []
    second = settle(alma, journal=Journal(path))
    assert [u.move for u in second.unfinished] == [move.id], "still half-done: the OneLink ID is on no account"
    assert not second.all_settled
    assert [u.move for u in find_unfinished(alma, journal=Journal(path))] == [move.id]
    restore(alma, move.id, journal=Journal(path))
    assert find_unfinished(alma, journal=Journal(path)) == []
    assert settle(alma, journal=Journal(path)).all_settled


def test_a_half_done_registration_finished_by_the_same_registration_again_is_no_longer_named(
    alma: AlmaClient, policy: Policy, path: Path
) -> None:
    crashed_registration(alma, policy, rafael(), path, BEFORE_THE_CREATE)
    settle(alma, journal=Journal(path))
    again = register_patron(alma, policy, rafael(), today=TODAY, journal=Journal(path))
    assert again.outcome == "needs_merge", again.reason
    assert find_unfinished(alma, journal=Journal(path)) == []


def test_journal_settle_run_twice_names_the_half_done_registration_both_times(
    tmp_path: Path, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ALMA_API_KEY", "ALMA_BASE_URL", "ALMA_REGION", "ALMA_ONELINK_JOURNAL", "ALMA_ONELINK_POLICY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    db, path = tmp_path / "sandbox.sqlite3", tmp_path / "journal.jsonl"
    Sandbox.demo(db_path=db, now=lambda: NOW).close()
    crashing = CrashingJournal(path, crash_at=BEFORE_THE_CREATE)
    with Sandbox(db_path=db, now=lambda: NOW) as sandbox, sync_client(sandbox) as alma, pytest.raises(Crash):
        register_patron(alma, policy, rafael(), today=TODAY, journal=crashing)
    [move] = Journal(path).entries()
    for _ in range(2):
        result = CliRunner().invoke(app, ["--db", str(db), "--journal", str(path), "journal", "settle"])
        assert result.exit_code == 1, result.stdout
        assert f"Registration {move.registration} is half-done" in result.stdout


# --- a SIS hand-off superseded by a create through Alma's API -----------------------------------------------


def test_a_hand_off_whose_account_was_then_created_by_api_is_settled_superseded_not_loaded(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, path: Path, tmp_path: Path
) -> None:
    patron = netid_era_alumna(onelink_id="0700001")
    [user] = [policy.build_user(patron, today=TODAY)]
    sis = tmp_path / "out.zip"
    [handed] = hand_off([user], sis, journal=Journal(path), source=tmp_path / "p.csv").entries
    created = register_patron(alma, policy, patron, today=TODAY, journal=Journal(path))
    assert created.outcome in ("created", "needs_merge"), created.reason
    [api_create] = [e for e in Journal(path).entries(target="0700001") if e.action == "create" and e.id != handed.id]
    report = settle(alma, journal=Journal(path))
    [entry] = [e for e in report if e.id == handed.id] or [Journal(path).get(handed.id)]
    assert entry.result == "failed", entry.note
    assert f"created through Alma's API by journal entry {api_create.id}" in (entry.note or "")
    assert f"remove 0700001 from {sis}" in (entry.note or "")
    [checked] = list(reconcile(alma, journal=Journal(path)))
    assert checked.state == "superseded"


def test_reconcile_settles_a_superseded_hand_off_without_calling_it_loaded(
    alma: AlmaClient, policy: Policy, path: Path, tmp_path: Path
) -> None:
    patron = netid_era_alumna(onelink_id="0700002")
    user = policy.build_user(patron, today=TODAY)
    [handed] = hand_off([user], tmp_path / "out.zip", journal=Journal(path)).entries
    register_patron(alma, policy, patron, today=TODAY, journal=Journal(path))
    [checked] = list(reconcile(alma, journal=Journal(path)))
    assert (checked.state, checked.entry.result, checked.settled_now) == ("superseded", "failed", True)
    assert Journal(path).get(handed.id).result == "failed"


# --- a following write's read may be stale ------------------------------------------------------------------


def test_an_update_another_run_read_past_while_it_was_under_way_is_not_settled_failed(
    alma: AlmaClient, sandbox: Sandbox, path: Path
) -> None:
    journal = Journal(path)
    before = record(sandbox, "jd123")
    sending = {**before, "job_description": "Visiting scholar"}
    first = journal.intend(action="update", target="jd123", before=before, sending=sending, registration="run-a")
    # Another run read jd123 before the first PUT ended, then wrote another field; the first PUT did land.
    other = {**before, "pref_first_name": "Janie"}
    second = journal.intend(action="update", target="jd123", before=before, sending=other, registration="run-b")
    alma.users.update("jd123", alma.users.get("jd123").model_copy(update={"job_description": "Visiting scholar"}))
    journal.complete(second, result="done", after=record(sandbox, "jd123"))
    report = settle(alma, first.id, journal=journal)
    assert report[0].result != "failed", report[0].note


# --- a SIS file is at its name only once its hand-offs are journaled --------------------------------------------


def test_a_sis_file_appears_at_its_name_only_after_its_hand_offs_are_journaled(
    policy: Policy, path: Path, tmp_path: Path
) -> None:
    sis = tmp_path / "out.zip"
    seen: list[bool] = []

    class Watching(Journal):
        def _append(self, data: bytes) -> None:
            seen.append(sis.exists())
            super()._append(data)

    user = policy.build_user(netid_era_alumna(onelink_id="0700003"), today=TODAY)
    handed = hand_off([user], sis, journal=Watching(path))
    assert seen == [False], "nothing at the file's name while its hand-offs were being journaled"
    assert handed.file.path == sis
    assert sis.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".zip") == ["out.zip"]


def test_a_sis_file_whose_hand_offs_cannot_be_journaled_leaves_no_file_and_keeps_the_one_it_was_to_replace(
    policy: Policy, path: Path, tmp_path: Path
) -> None:
    from alma_onelink.engine import JournalError

    sis = tmp_path / "out.zip"
    sis.write_bytes(b"the file before")

    class Full(Journal):
        def _append(self, data: bytes) -> None:
            raise OSError(28, "No space left on device")

    user = policy.build_user(netid_era_alumna(onelink_id="0700004"), today=TODAY)
    with pytest.raises(JournalError):
        hand_off([user], sis, journal=Full(path), overwrite=True)
    assert sis.read_bytes() == b"the file before"
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".zip") == ["out.zip"]
