"""`aregister_patron`: the same procedure as `register_patron`, so the same outcomes and the same Alma calls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from alma_onelink import AsyncAlmaClient, Patron
from alma_onelink.errors import InputError
from alma_onelink.models import Code, User
from alma_onelink.onelink import Journal, aregister_patron, register_patron
from alma_onelink.policy import Policy, hookimpl, load_policy
from alma_onelink.sandbox import DUKE_SCENARIOS, DUKE_UNIQUE_IDS, Sandbox
from tests.onelink.conftest import (
    TODAY,
    accounts_with_primary_id,
    api_calls,
    async_client,
    former_staff,
    identifier_values,
    make_sandbox,
    netid_era_alumna,
    new_registrant,
    onelink_alumnus,
    recent_graduate,
    record,
    sync_client,
    trln_borrower_as_alumna,
    writes,
)
from tests.onelink.test_calls import SWITCH, duke


class IllegalGroup:
    """A policy plugin that gives the new record a user group the institution does not have."""

    @hookimpl
    def alma_onelink_prepare_user(self, patron: Patron, user: User, today: date) -> None:
        user.user_group = Code(value="NO_SUCH_GROUP")


CASES: dict[str, tuple[Callable[[], Patron], bool, str]] = {
    "created": (new_registrant, False, "created"),
    "already_registered": (onelink_alumnus, False, "already_registered"),
    "renewed": (trln_borrower_as_alumna, False, "renewed"),
    "needs_merge": (netid_era_alumna, False, "needs_merge"),
    "needs_merge_staff": (former_staff, False, "needs_merge"),
    "blocked_recent": (recent_graduate, False, "blocked"),
    "blocked_taken": (lambda: new_registrant(onelink_id=DUKE_UNIQUE_IDS["onelink_alumnus"]), False, "blocked"),
    "failed_create_undone": (netid_era_alumna, True, "failed"),
    "failed_create": (new_registrant, True, "failed"),
}


@pytest.mark.parametrize(("make_patron", "illegal_group", "outcome"), CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("dry_run", [False, True], ids=["real", "dry"])
@SWITCH
async def test_async_and_sync_runs_reach_the_same_outcome_with_the_same_calls(
    tmp_path: Path,
    make_patron: Callable[[], Patron],
    illegal_group: bool,
    outcome: str,
    *,
    dry_run: bool,
    with_or: bool,
) -> None:
    policy = duke(with_or, *([IllegalGroup()] if illegal_group else []))
    patron = make_patron()
    with make_sandbox() as sandbox, sync_client(sandbox) as alma:
        expected = register_patron(alma, policy, patron, today=TODAY, journal=tmp_path / "sync.jsonl", dry_run=dry_run)
        sync_calls = api_calls(sandbox)
        sync_users = list(sandbox.users)

    with make_sandbox() as sandbox:
        async with async_client(sandbox) as aalma:
            result = await aregister_patron(
                aalma, policy, patron, today=TODAY, journal=tmp_path / "async.jsonl", dry_run=dry_run
            )
        async_calls = api_calls(sandbox)
        async_users = list(sandbox.users)

    assert expected.outcome == outcome or (dry_run and illegal_group)  # a dry run cannot know Alma would refuse
    assert result.outcome == expected.outcome
    assert result.dry_run is dry_run
    assert result.merge_from == expected.merge_from
    assert [i.code for i in result.issues] == [i.code for i in expected.issues]
    assert [s.name for s in result.steps] == [s.name for s in expected.steps]
    assert [(c.method, c.path) for c in result.calls] == [(c.method, c.path) for c in expected.calls]
    assert async_calls == sync_calls
    assert [u["primary_id"] for u in async_users] == [u["primary_id"] for u in sync_users]
    if not dry_run:
        assert len(Journal(tmp_path / "async.jsonl").entries()) == len(result.journal_entries)
        assert len(result.journal_entries) == len(expected.journal_entries)


async def test_async_identifier_move_is_undone_when_the_create_fails(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    patron = netid_era_alumna()
    with make_sandbox() as sandbox:
        before = record(sandbox, DUKE_SCENARIOS["netid_era_alumna"])
        async with async_client(sandbox) as aalma:
            result = await aregister_patron(
                aalma, load_policy("duke", plugins=[IllegalGroup()]), patron, today=TODAY, journal=journal
            )
        assert result.outcome == "failed"
        assert record(sandbox, DUKE_SCENARIOS["netid_era_alumna"])["user_identifier"] == before["user_identifier"]
        assert patron.onelink_id in identifier_values(record(sandbox, DUKE_SCENARIOS["netid_era_alumna"]))
        assert accounts_with_primary_id(sandbox, patron.onelink_id) == []
    assert [(e.action, e.result) for e in journal.entries()] == [
        ("update", "done"),
        ("create", "failed"),
        ("update", "done"),
    ]
    assert journal.pending() == []


async def test_async_rerun_of_a_created_patron_is_already_registered(
    aalma: AsyncAlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    first = await aregister_patron(aalma, policy, new_registrant(), today=TODAY, journal=journal)
    assert first.outcome == "created"
    assert len(sandbox.request_log) == 4  # read, two searches, create: the create's answer is verified
    sandbox.clear_log()

    again = await aregister_patron(aalma, policy, new_registrant(), today=TODAY, journal=journal)

    assert again.outcome == "already_registered"
    assert len(sandbox.request_log) == 1
    assert writes(sandbox) == []


async def test_async_bad_application_raises_before_any_request(
    aalma: AsyncAlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    with pytest.raises(InputError):
        await aregister_patron(aalma, policy, new_registrant(onelink_id="345678"), today=TODAY, journal=journal)
    assert sandbox.request_log == []
    assert not journal.path.exists()


async def test_async_default_journal_is_used_when_none_is_given(
    aalma: AsyncAlmaClient, policy: Policy, alma_journal: Journal
) -> None:
    result = await aregister_patron(aalma, policy, new_registrant(), today=TODAY)

    assert result.journal_path == alma_journal.path
    assert [e.id for e in alma_journal.entries()] == result.journal_entries
