"""A journal that cannot be written (a full disk, no permission): every outcome still says what Alma holds.

The journal fails with ENOSPC or EACCES at each of its write positions (each intent, each completion),
once ("one line lost") or from there on ("the disk stays full"). Before any write to Alma: nothing is
sent and `JournalError` is raised. After one: a write Alma accepted is never reported failed, and
``journal_error`` says what the journal lacks and what to do, in the command's words. A batch stops
starting patrons, yields those started, then raises `JournalError` saying how many were not started.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from alma_onelink import AlmaClient, AsyncAlmaClient, Patron
from alma_onelink.engine import Journal, JournalError, Restored, RestoreError, comparable, restore
from alma_onelink.merge import MergePlan, MergeResult, aapply_merge, apply_merge, plan_merge, undo_merge
from alma_onelink.onelink import (
    RegistrationResult,
    aregister_many,
    aregister_patron,
    register_many,
    register_patron,
)
from alma_onelink.policy import Policy
from alma_onelink.sandbox import DUKE_UNIQUE_IDS, Sandbox
from tests.onelink.conftest import (
    TODAY,
    accounts_with_primary_id,
    former_staff,
    identifier_values,
    new_registrant,
    onelink_alumnus,
    record,
    writes,
)

RAFAEL, ANN = DUKE_UNIQUE_IDS["former_staff_with_loans"], DUKE_UNIQUE_IDS["new_registrant"]
CODES = {errno.ENOSPC: "No space left on device", errno.EACCES: "Permission denied"}
PYTHON_WORDS = ("journal.pending()", "restore(alma", "force=", "undo_merge(")


class BrokenDisk(Journal):
    """A journal whose appends fail with ``code`` at position ``fail_at`` (from 0), and after it if ``stays``."""

    def __init__(self, path: Path, *, fail_at: int, code: int, stays: bool) -> None:
        super().__init__(path)
        self.appends, self.fail_at, self.code, self.stays = 0, fail_at, code, stays

    def _append(self, data: bytes) -> None:
        position, self.appends = self.appends, self.appends + 1
        if position == self.fail_at or (self.stays and position > self.fail_at):
            raise OSError(self.code, os.strerror(self.code))
        super()._append(data)


def rafael() -> Patron:
    return former_staff(email="rafael.martinez@example.net")


def cases(positions: int) -> list[Any]:
    return [
        pytest.param(position, code, stays, id=f"{position}-{errno.errorcode[code]}-{'stays' if stays else 'once'}")
        for position in range(positions)
        for code in CODES
        for stays in (True, False)
    ]


def told(text: str | None, code: int) -> None:
    """A journal error as staff read it: the cause, what to do, the command's words only."""
    assert text is not None
    assert CODES[code] in text, text
    assert "alma-onelink journal pending" in text or "alma-onelink merge undo" in text, text
    assert not any(words in text for words in PYTHON_WORDS), text


# --- one registration with an identifier move --------------------------------------------------------------


def check_registration(outcome: RegistrationResult | JournalError, sandbox: Sandbox, fail_at: int, code: int) -> None:
    if fail_at == 0:
        assert isinstance(outcome, JournalError), outcome
        assert CODES[code] in str(outcome)
        assert "nothing was sent to Alma" in str(outcome)
        assert writes(sandbox) == []
        return
    assert isinstance(outcome, RegistrationResult), outcome
    created = accounts_with_primary_id(sandbox, RAFAEL)
    if created:
        assert (outcome.outcome, outcome.merge_from) == ("needs_merge", "rm56"), outcome.reason
        assert outcome.user is not None
        assert outcome.user.primary_id == RAFAEL
        assert RAFAEL not in identifier_values(record(sandbox, "rm56"))
    else:
        assert outcome.outcome == "failed", outcome.reason
        assert RAFAEL in identifier_values(record(sandbox, "rm56")), "nothing half-written: the identifier is back"
        assert "put back" in outcome.reason
    told(outcome.journal_error, code)


@pytest.mark.parametrize(("fail_at", "code", "stays"), cases(4))
async def test_a_registration_says_what_alma_holds_whatever_journal_line_fails(
    *, fail_at: int, code: int, stays: bool, aalma: AsyncAlmaClient, sandbox: Sandbox, policy: Policy, tmp_path: Path
) -> None:
    path = tmp_path / "journal.jsonl"
    broken = BrokenDisk(path, fail_at=fail_at, code=code, stays=stays)
    outcome: RegistrationResult | JournalError
    try:
        outcome = await aregister_patron(aalma, policy, rafael(), today=TODAY, journal=broken)
    except JournalError as exc:
        outcome = exc
    check_registration(outcome, sandbox, fail_at, code)

    again = await aregister_patron(aalma, policy, rafael(), today=TODAY, journal=Journal(path))
    assert (again.outcome, again.merge_from) == ("needs_merge", "rm56"), again.reason
    assert again.journal_error is None
    assert len(accounts_with_primary_id(sandbox, RAFAEL)) == 1
    assert Journal(path).pending() == []


@pytest.mark.parametrize(("fail_at", "code", "stays"), cases(4))
def test_the_sync_registration_too(
    *, fail_at: int, code: int, stays: bool, alma: AlmaClient, sandbox: Sandbox, policy: Policy, tmp_path: Path
) -> None:
    broken = BrokenDisk(tmp_path / "journal.jsonl", fail_at=fail_at, code=code, stays=stays)
    outcome: RegistrationResult | JournalError
    try:
        outcome = register_patron(alma, policy, rafael(), today=TODAY, journal=broken)
    except JournalError as exc:
        outcome = exc
    check_registration(outcome, sandbox, fail_at, code)


def test_a_create_whose_line_is_lost_is_reported_created(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, tmp_path: Path
) -> None:
    broken = BrokenDisk(tmp_path / "journal.jsonl", fail_at=1, code=errno.ENOSPC, stays=True)
    result = register_patron(alma, policy, new_registrant(), today=TODAY, journal=broken)
    assert result.outcome == "created"
    assert result.user is not None
    assert result.user.primary_id == ANN
    assert result.instructions[0].startswith("Sign in"), "the patron is told how to sign in, not to wait"
    assert f"the create of {ANN} has no completion line" in (result.journal_error or "")


# --- a batch stops starting patrons --------------------------------------------------------------------------


BATCH = [new_registrant(), rafael(), onelink_alumnus()]  # journal lines: Ann 0-1, Rafael 2-5; María none


@pytest.mark.parametrize("fail_at", range(6))
@pytest.mark.parametrize("client", ["sync", "async"])
async def test_a_batch_stops_starting_patrons_once_the_journal_fails(
    *,
    client: str,
    fail_at: int,
    alma: AlmaClient,
    aalma: AsyncAlmaClient,
    sandbox: Sandbox,
    policy: Policy,
    tmp_path: Path,
) -> None:
    broken = BrokenDisk(tmp_path / "journal.jsonl", fail_at=fail_at, code=errno.ENOSPC, stays=True)
    results: list[RegistrationResult] = []

    async def batch() -> None:
        if client == "sync":
            results.extend(register_many(alma, policy, BATCH, concurrency=1, journal=broken, today=TODAY))
        else:
            async for result in aregister_many(aalma, policy, BATCH, concurrency=1, journal=broken, today=TODAY):
                results.append(result)

    with pytest.raises(JournalError) as caught:
        await batch()
    started = 1 if fail_at < 2 else 2
    assert [r.index for r in results] == list(range(started))
    left = len(BATCH) - started
    assert f"{left} {'patron was' if left == 1 else 'patrons were'} not started" in str(caught.value)
    assert "No space left on device" in str(caught.value)
    assert sandbox.users.get(DUKE_UNIQUE_IDS["onelink_alumnus"]) is not None
    for result in results:
        exists = bool(accounts_with_primary_id(sandbox, result.patron.onelink_id))
        assert result.ok == exists, f"{result.patron.onelink_id}: {result.outcome} — {result.reason}"
        assert (result.journal_error is not None) == (result is results[-1])
    if started == 2:
        assert results[0].outcome == "created"
        assert results[0].journal_error is None


@pytest.mark.parametrize("fail_at", [0, 3, 6])
def test_a_concurrent_batch_accounts_for_every_patron_once_the_journal_fails(
    fail_at: int, alma: AlmaClient, sandbox: Sandbox, policy: Policy, tmp_path: Path
) -> None:
    racers = [
        Patron(
            onelink_id=f"{7_100_000 + i:07d}",
            first_name=f"Zed{chr(65 + i)}",
            last_name="Racer",
            affiliation="alumni",
            graduated_on=TODAY.replace(year=2001),
        )
        for i in range(8)
    ]
    broken = BrokenDisk(tmp_path / "journal.jsonl", fail_at=fail_at, code=errno.EACCES, stays=True)
    results: list[RegistrationResult] = []

    def batch() -> None:
        results.extend(register_many(alma, policy, racers, concurrency=3, journal=broken, today=TODAY))

    with pytest.raises(JournalError) as caught:
        batch()
    left = int(str(caught.value).split("the batch stopped: ")[1].split()[0])
    assert len(results) + left == len(racers), "every patron is either reported or counted as not started"
    assert len({r.index for r in results}) == len(results)
    for result in results:
        exists = bool(accounts_with_primary_id(sandbox, result.patron.onelink_id))
        assert result.ok == exists, f"{result.patron.onelink_id}: {result.outcome} — {result.reason}"
    reported = {r.patron.onelink_id for r in results}
    assert all(not accounts_with_primary_id(sandbox, p.onelink_id) for p in racers if p.onelink_id not in reported)


def test_a_batch_whose_journal_holds_reports_no_journal_error(alma: AlmaClient, policy: Policy, tmp_path: Path) -> None:
    results = list(register_many(alma, policy, BATCH, journal=tmp_path / "journal.jsonl", today=TODAY))
    assert len(results) == 3
    assert all(r.journal_error is None for r in results)


# --- a merge rolls back what it can ---------------------------------------------------------------------------


@pytest.fixture
def planned(alma: AlmaClient, policy: Policy, tmp_path: Path) -> MergePlan:
    register_patron(alma, policy, former_staff(), today=TODAY, journal=tmp_path / "journal.jsonl")
    return plan_merge(alma, "rm56", RAFAEL, policy=policy, today=TODAY)


def state(sandbox: Sandbox, plan: MergePlan) -> str:
    now = comparable(record(sandbox, "rm56")), comparable(record(sandbox, RAFAEL))
    if now == (comparable(plan.from_record), comparable(plan.to_record)):
        return "as planned"
    if now == (comparable(plan.final_from), comparable(plan.final_to)):
        return "merged"
    return "half-written"


@pytest.mark.parametrize(("fail_at", "code", "stays"), cases(6))
@pytest.mark.parametrize("client", ["sync", "async"])
async def test_a_merge_says_what_alma_holds_whatever_journal_line_fails(
    *,
    client: str,
    fail_at: int,
    code: int,
    stays: bool,
    alma: AlmaClient,
    aalma: AsyncAlmaClient,
    sandbox: Sandbox,
    planned: MergePlan,
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.jsonl"
    broken = BrokenDisk(path, fail_at=fail_at, code=code, stays=stays)
    sandbox.clear_log()
    outcome: MergeResult | JournalError
    try:
        if client == "sync":
            outcome = apply_merge(alma, planned, confirm=planned.token, journal=broken, today=TODAY)
        else:
            outcome = await aapply_merge(aalma, planned, confirm=planned.token, journal=broken, today=TODAY)
    except JournalError as exc:
        outcome = exc
    if fail_at == 0:
        assert isinstance(outcome, JournalError)
        assert writes(sandbox) == []
        assert state(sandbox, planned) == "as planned"
        return
    assert isinstance(outcome, MergeResult)
    assert state(sandbox, planned) == {"merged": "merged", "rolled_back": "as planned"}[outcome.outcome], outcome
    told(outcome.journal_error, code)

    journal = Journal(path)  # the disk has room again: undo settles what the journal lacks, then undoes
    if outcome.outcome == "rolled_back":
        with pytest.raises(RestoreError, match=r"nothing to undo|wrote nothing"):
            undo_merge(alma, outcome.merge_id, journal=journal)
    else:
        undo_merge(alma, outcome.merge_id, journal=journal)
    assert state(sandbox, planned) == "as planned"
    assert [str(e) for e in journal.pending()] == []


# --- restore ------------------------------------------------------------------------------------------------


def test_a_restore_whose_completion_is_lost_says_what_it_did(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, tmp_path: Path
) -> None:
    path = tmp_path / "journal.jsonl"
    register_patron(alma, policy, new_registrant(), today=TODAY, journal=path)
    create = Journal(path).entries(target=ANN)[0]
    done = restore(alma, create, journal=BrokenDisk(path, fail_at=1, code=errno.ENOSPC, stays=True))
    assert done.outcome is Restored.DELETED, done.reason
    assert accounts_with_primary_id(sandbox, ANN) == []
    assert done.journal_error is not None
    assert "No space left on device" in done.journal_error
    assert "alma-onelink journal pending" in done.journal_error
