"""`register_many` and `aregister_many`: one result per patron, duplicates reported, reruns safe."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from alma_onelink import AlmaClient, AsyncAlmaClient, Patron
from alma_onelink.errors import InputError
from alma_onelink.onelink import Journal, RegistrationResult, aregister_many, register_many
from alma_onelink.policy import Policy
from alma_onelink.sandbox import DUKE_UNIQUE_IDS, Sandbox
from tests.onelink.conftest import (
    TODAY,
    accounts_with_primary_id,
    former_staff,
    netid_era_alumna,
    new_registrant,
    onelink_alumnus,
    recent_graduate,
    trln_borrower_as_alumna,
    writes,
)


def mixed_batch() -> tuple[list[Patron], dict[int, str]]:
    """A batch with one patron of every kind, and the outcome expected for each position."""
    patrons = [
        new_registrant(),  # 0
        onelink_alumnus(),  # 1
        netid_era_alumna(),  # 2
        recent_graduate(),  # 3
        trln_borrower_as_alumna(),  # 4
        new_registrant(onelink_id="345678"),  # 5: a leading zero dropped
        former_staff(),  # 6
        new_registrant(first_name="Annie"),  # 7: the same OneLink ID as position 0
        new_registrant(onelink_id="0999999", first_name="Otto", last_name="Ninefold", email=None),  # 8
    ]
    expected = {
        0: "created",
        1: "already_registered",
        2: "needs_merge",
        3: "blocked",
        4: "renewed",
        5: "blocked",
        6: "needs_merge",
        7: "blocked",
        8: "created",
    }
    return patrons, expected


def by_index(results: list[RegistrationResult], n: int) -> dict[int, RegistrationResult]:
    indexes = [r.index for r in results]
    assert sorted(i for i in indexes if i is not None) == list(range(n))
    assert len(indexes) == n
    return {r.index: r for r in results if r.index is not None}


def check_mixed(results: list[RegistrationResult], sandbox: Sandbox) -> None:
    patrons, expected = mixed_batch()
    found = by_index(results, len(patrons))
    assert {i: str(r.outcome) for i, r in found.items()} == expected
    for index, result in found.items():
        assert result.patron == patrons[index]
    assert [issue.code for issue in found[5].blocking] == ["invalid_application"]
    assert [issue.code for issue in found[7].blocking] == ["duplicate_in_batch"]
    assert [issue.code for issue in found[3].blocking] == ["recent_alum"]
    [account] = accounts_with_primary_id(sandbox, DUKE_UNIQUE_IDS["new_registrant"])
    assert account["first_name"] == "Ann", "the first of the two applications is the one registered"
    assert accounts_with_primary_id(sandbox, "345678") == []
    assert found[2].merge_from == "jd123"
    assert found[6].merge_from == "rm56"


def test_a_mixed_batch_gives_one_result_per_patron(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    patrons, _ = mixed_batch()
    results = list(register_many(alma, policy, patrons, concurrency=4, journal=journal, today=TODAY))

    check_mixed(results, sandbox)
    assert journal.pending() == []
    done = Counter((e.action, e.result) for e in journal.entries())
    assert done == {("create", "done"): 4, ("update", "done"): 3}  # 4 creates; 2 moves and 1 renewal


def test_a_rerun_of_the_batch_creates_nothing_new(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    patrons, expected = mixed_batch()
    list(register_many(alma, policy, patrons, concurrency=4, journal=journal, today=TODAY))
    users_before = sorted(str(u["primary_id"]) for u in sandbox.users)
    entries_before = len(journal.entries())
    sandbox.clear_log()

    again = by_index(list(register_many(alma, policy, patrons, concurrency=4, journal=journal, today=TODAY)), 9)

    for index, outcome in expected.items():
        if outcome in ("created", "renewed", "already_registered"):
            assert again[index].outcome == "already_registered", index
        elif outcome == "needs_merge":  # still waiting for the merge, and nothing written
            assert again[index].outcome == "needs_merge", index
        else:
            assert again[index].outcome == outcome, index
    assert writes(sandbox) == []
    assert sorted(str(u["primary_id"]) for u in sandbox.users) == users_before
    assert len(journal.entries()) == entries_before


def test_a_duplicate_onelink_id_is_registered_once(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    patrons = [new_registrant(), new_registrant(), new_registrant(first_name="Anne")]

    results = by_index(list(register_many(alma, policy, patrons, journal=journal, today=TODAY)), 3)

    assert results[0].outcome == "created"
    for index in (1, 2):
        assert results[index].outcome == "blocked"
        assert [issue.code for issue in results[index].issues] == ["duplicate_in_batch"]
        assert f"item {index + 1}; first as item 1" in results[index].reason
        assert results[index].instructions
    assert len(accounts_with_primary_id(sandbox, DUKE_UNIQUE_IDS["new_registrant"])) == 1
    assert [(e.action, e.result) for e in journal.entries()] == [("create", "done")]


def test_an_invalid_application_is_reported_and_the_batch_goes_on(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    patrons = [
        new_registrant(onelink_id="0999991", affiliation="martian"),
        new_registrant(onelink_id="0999992", graduated_on=None),
        new_registrant(),
    ]

    results = by_index(list(register_many(alma, policy, patrons, concurrency=1, journal=journal, today=TODAY)), 3)

    for index in (0, 1):
        assert results[index].outcome == "blocked"
        assert [issue.code for issue in results[index].issues] == ["invalid_application"]
        assert results[index].calls == []
        assert results[index].instructions
    assert results[2].outcome == "created"
    assert accounts_with_primary_id(sandbox, "0999991") == []
    assert accounts_with_primary_id(sandbox, "0999992") == []


def test_a_corrected_application_after_an_invalid_one_with_the_same_id_is_registered(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    # Staff fixed a slip by adding the application again: the invalid first one registered nothing,
    # so the corrected one is not a second registration of the same person.
    patrons = [new_registrant(graduated_on=None), new_registrant()]

    results = by_index(list(register_many(alma, policy, patrons, concurrency=1, journal=journal, today=TODAY)), 2)

    assert [issue.code for issue in results[0].issues] == ["invalid_application"]
    assert results[1].outcome == "created", results[1].reason
    assert len(accounts_with_primary_id(sandbox, DUKE_UNIQUE_IDS["new_registrant"])) == 1


def test_a_dry_run_batch_writes_nothing(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal, alma_journal: Journal
) -> None:
    patrons, expected = mixed_batch()

    results = by_index(list(register_many(alma, policy, patrons, journal=journal, today=TODAY, dry_run=True)), 9)

    assert {i: str(r.outcome) for i, r in results.items()} == expected
    assert all(r.dry_run for r in results.values())
    assert writes(sandbox) == []
    assert not journal.path.exists()
    assert not alma_journal.path.exists()


def test_a_batch_uses_the_default_journal_when_none_is_given(
    alma: AlmaClient, policy: Policy, alma_journal: Journal
) -> None:
    [result] = register_many(alma, policy, [new_registrant()], today=TODAY)

    assert result.journal_path == alma_journal.path
    assert [e.id for e in alma_journal.entries()] == result.journal_entries


@pytest.mark.parametrize("concurrency", [0, -1, 65, 2.5, True, "8", None])
def test_the_concurrency_is_checked_before_any_request(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, concurrency: Any
) -> None:
    with pytest.raises(InputError, match="concurrency"):
        list(register_many(alma, policy, [new_registrant()], concurrency=concurrency, today=TODAY))
    assert sandbox.request_log == []


@pytest.mark.parametrize("concurrency", [0, 65, 2.5, False])
async def test_the_async_concurrency_is_checked_before_any_request(
    aalma: AsyncAlmaClient, sandbox: Sandbox, policy: Policy, concurrency: Any
) -> None:
    with pytest.raises(InputError, match="concurrency"):
        async for _ in aregister_many(aalma, policy, [new_registrant()], concurrency=concurrency, today=TODAY):
            pass
    assert sandbox.request_log == []


def test_an_item_that_is_not_a_patron_is_refused(alma: AlmaClient, policy: Policy, journal: Journal) -> None:
    items: list[Any] = [{"onelink_id": "0345678"}]
    with pytest.raises(InputError, match="Patron"):
        list(register_many(alma, policy, items, journal=journal, today=TODAY))


@pytest.mark.parametrize("concurrency", [1, 8])
async def test_aregister_many_gives_the_same_outcomes(
    aalma: AsyncAlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal, concurrency: int
) -> None:
    patrons, _ = mixed_batch()

    results = [
        r async for r in aregister_many(aalma, policy, patrons, concurrency=concurrency, journal=journal, today=TODAY)
    ]

    check_mixed(results, sandbox)
    assert journal.pending() == []


async def test_an_async_rerun_creates_nothing_new(
    aalma: AsyncAlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    patrons = [new_registrant(), onelink_alumnus(), trln_borrower_as_alumna()]
    first = [r async for r in aregister_many(aalma, policy, patrons, journal=journal, today=TODAY)]
    assert sorted(str(r.outcome) for r in first) == ["already_registered", "created", "renewed"]
    sandbox.clear_log()

    again = [r async for r in aregister_many(aalma, policy, patrons, journal=journal, today=TODAY)]

    assert [str(r.outcome) for r in again] == ["already_registered"] * 3
    assert writes(sandbox) == []
