"""The hand-off to Alma's SIS load: the file and one pending journal entry per account; reconciled by reading Alma."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from alma_onelink import AlmaClient, Patron
from alma_onelink.engine import Journal, JournalError
from alma_onelink.models import User
from alma_onelink.onelink.handoff import HANDOFF_OPERATION, NOT_SEARCHED, hand_off, handoffs, reconcile, unsearched
from alma_onelink.policy import Policy, load_policy
from alma_onelink.sandbox import Sandbox
from alma_onelink.sis import read_sis_file
from tests.onelink.conftest import TODAY, make_sandbox, sync_client
from tests.sis.conftest import MemberCheck


@pytest.fixture
def duke(monkeypatch: pytest.MonkeyPatch) -> Policy:
    monkeypatch.delenv("ALMA_ONELINK_DUKE_CONFIG", raising=False)
    return load_policy("duke")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with make_sandbox() as made:
        yield made


@pytest.fixture
def alma(sandbox: Sandbox) -> Iterator[AlmaClient]:
    with sync_client(sandbox) as client:
        yield client


def cohort(count: int) -> list[Patron]:
    return [
        Patron(
            onelink_id=f"03{i:05d}",
            first_name=f"Ivo{i}",
            last_name="Handoff",
            email=f"ivo{i}@example.org",
            affiliation="alumni",
            graduated_on=date(2013, 5, 12),
        )
        for i in range(count)
    ]


def accounts(policy: Policy, count: int) -> list[User]:
    return [policy.build_user(patron, today=TODAY) for patron in cohort(count)]


def load(alma: AlmaClient, path: Path, count: int | None = None) -> None:
    """What Alma's SIS job does with the file (as far as the accounts are concerned)."""
    for user in read_sis_file(path)[:count]:
        alma.users.create(user)


def test_a_hand_off_writes_the_file_and_journals_each_account_pending(
    duke: Policy, tmp_path: Path, schema_valid_members: MemberCheck
) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    handed = hand_off(accounts(duke, 3), tmp_path / "out.zip", journal=journal, staff="jsmith")
    assert schema_valid_members(handed.file.path) == {"users-0001.xml": 3}
    assert handed.file.sha256 == hashlib.sha256((tmp_path / "out.zip").read_bytes()).hexdigest()
    assert [e.target for e in journal.pending()] == ["0300000", "0300001", "0300002"]
    for entry in journal.pending():
        assert (entry.action, entry.operation, entry.registration, entry.staff) == (
            "create", HANDOFF_OPERATION, handed.file.sha256, "jsmith"
        )  # fmt: skip
        assert str(tmp_path / "out.zip") in (entry.reason or "")
        assert "--reconcile" in (entry.reason or "")
    assert [e.id for e in handed.entries] == [e.id for e in journal.pending()]


def test_a_journal_that_cannot_record_the_hand_off_removes_the_file(
    duke: Policy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    real = Journal._append
    calls = {"n": 0}

    def full_disk(self: Journal, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 1:  # the hand-off's intents: the first line reaches the disk, then the disk is full
            real(self, data.split(b"\n", 1)[0] + b"\n")
            raise OSError(28, "No space left on device")
        real(self, data)

    monkeypatch.setattr(Journal, "_append", full_disk)
    with pytest.raises(JournalError, match="the file was removed") as raised:
        hand_off(accounts(duke, 3), tmp_path / "out.zip", journal=journal)
    assert raised.value.nothing_sent
    assert not (tmp_path / "out.zip").exists()
    monkeypatch.setattr(Journal, "_append", real)
    [first] = journal.entries()
    assert first.result == "failed", "the entry journaled before the failure is settled: that file is gone"
    assert journal.pending() == []


def test_reconcile_settles_what_alma_loaded_and_leaves_the_rest_pending(
    duke: Policy, alma: AlmaClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    handed = hand_off(accounts(duke, 4), tmp_path / "out.zip", journal=journal)
    before = [checked.state for checked in reconcile(alma, journal=journal)]
    assert before == ["waiting"] * 4
    assert len(journal.pending()) == 4
    load(alma, handed.file.path, 3)
    checked = list(reconcile(alma, journal=journal))
    assert [(c.target, c.state, c.settled_now) for c in checked] == [
        ("0300000", "loaded", True), ("0300001", "loaded", True), ("0300002", "loaded", True),
        ("0300003", "waiting", False),
    ]  # fmt: skip
    assert [e.target for e in journal.pending()] == ["0300003"]
    settled = journal.entries(target="0300000")[0]
    assert settled.result == "done"
    assert (
        settled.note == "settled by reading Alma: 0300000 exists, so the account handed off in the SIS file is in Alma"
    )
    reads = len(sandbox.request_log)
    again = list(reconcile(alma, journal=journal, targets=["0300000", "0300001"]))
    assert [(c.state, c.settled_now) for c in again] == [("loaded", False), ("loaded", False)]
    assert len(sandbox.request_log) == reads, "an account known to be loaded is not read again"


def test_reconcile_reads_within_the_daily_budget(duke: Policy, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    hand_off(accounts(duke, 5), tmp_path / "out.zip", journal=journal)
    with make_sandbox(daily_quota=100 + 1 + 3) as sandbox, sync_client(sandbox) as alma:
        states = [c.state for c in reconcile(alma, journal=journal, reserve=100, concurrency=2)]
        assert sandbox.remaining_daily_calls >= 100
    assert states.count("waiting") >= 1
    assert states[-1] == "deferred"
    assert set(states) == {"waiting", "deferred"}
    assert len(journal.pending()) == 5


def test_a_read_that_fails_is_reported_and_leaves_the_entry_pending(duke: Policy, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    hand_off(accounts(duke, 1), tmp_path / "out.zip", journal=journal)
    with (
        make_sandbox(faults=[None, "500", "500", "500", "500"]) as sandbox,
        sync_client(sandbox, max_retries=1) as alma,
    ):
        [checked] = reconcile(alma, journal=journal)
    assert checked.state == "failed"
    assert checked.error is not None
    assert len(journal.pending()) == 1


def test_an_account_built_without_searching_says_so(duke: Policy) -> None:
    [patron] = cohort(1)
    result = unsearched(duke, patron, today=TODAY, index=4)
    assert (result.outcome.value, result.dry_run, result.index) == ("created", True, 4)
    assert result.user is not None
    assert result.user.primary_id == patron.onelink_id
    assert [issue.code for issue in result.warnings] == [NOT_SEARCHED]
    graduate = Patron(
        onelink_id="0399999", first_name="Rue", last_name="Soon", affiliation="alumni",
        graduated_on=TODAY - timedelta(days=30),
    )  # fmt: skip
    blocked = unsearched(duke, graduate, today=TODAY)
    assert blocked.outcome.value == "blocked"
    assert blocked.user is None


def test_handoffs_are_the_latest_of_each_account(duke: Policy, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    first = hand_off(accounts(duke, 2), tmp_path / "a.zip", journal=journal)
    second = hand_off(accounts(duke, 1), tmp_path / "b.zip", journal=journal)
    found = handoffs(journal)
    assert found["0300000"].registration == second.file.sha256
    assert found["0300001"].registration == first.file.sha256
    assert list(handoffs(journal, [" 0300001 "])) == ["0300001"]
