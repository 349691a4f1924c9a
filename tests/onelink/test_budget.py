"""The daily budget of `register_many`/`aregister_many`: the reserve is kept, the rest is deferred, a rerun finishes.

The sandbox counts every call against its ``daily_quota`` knob and answers what is left in
``X-Exl-Api-Remaining``, as Alma does; nothing here waits or reads the clock.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from alma_onelink import AlmaClient, Patron
from alma_onelink.errors import DailyThresholdExceeded, InputError
from alma_onelink.onelink import Journal, Outcome, RegistrationResult, aregister_many, register_many
from alma_onelink.onelink.budget import DEFAULT_RESERVE, estimate_quota, registration_calls
from alma_onelink.policy import Policy
from alma_onelink.sandbox import Sandbox
from tests.onelink.conftest import TODAY, async_client, make_sandbox, sync_client

RESERVE = 100


def newcomers(count: int, start: int = 0) -> list[Patron]:
    """``count`` alumni with no account anywhere (5 calls each to register)."""
    return [
        Patron(
            onelink_id=f"08{start + i:05d}",
            first_name=f"Nia{start + i}",
            last_name="Quotaworth",
            email=f"nia{start + i}@example.org",
            affiliation="alumni",
            graduated_on=date(2011, 5, 8),
        )
        for i in range(count)
    ]


def afforded(policy: Policy, room: int) -> tuple[int, int]:
    """How many new patrons a batch of one at a time starts with ``room`` calls above the reserve, and the room left.

    Each starts only if the most a registration can make fits; each then costs what a new patron costs.
    """
    calls = registration_calls(policy)
    started = 0
    while room - calls.most >= 0:
        room -= calls.new_patron
        started += 1
    return started, room


def quota_sandbox(room: int) -> Sandbox:
    """A sandbox whose quota leaves ``room`` calls above `RESERVE` once the batch's first read is made."""
    return make_sandbox(daily_quota=RESERVE + 1 + room)


@pytest.fixture
def tight() -> Iterator[tuple[Sandbox, AlmaClient]]:
    with quota_sandbox(20) as sandbox, sync_client(sandbox) as alma:
        yield sandbox, alma


def outcomes(results: list[RegistrationResult]) -> dict[int, str]:
    return {r.index: r.outcome.value for r in results if r.index is not None}


def test_a_batch_keeps_the_reserve_and_defers_the_patrons_it_cannot_afford(
    tight: tuple[Sandbox, AlmaClient], policy: Policy, journal: Journal
) -> None:
    sandbox, alma = tight
    started, left = afforded(policy, 20)
    assert 1 <= started < 6
    results = list(register_many(alma, policy, newcomers(6), concurrency=1, journal=journal, today=TODAY, reserve=100))
    assert outcomes(results) == {i: "created" if i < started else "deferred" for i in range(6)}
    assert sandbox.remaining_daily_calls == RESERVE + left - 1, "read once more, then no room for the most one makes"
    assert alma.remaining_daily_calls == sandbox.remaining_daily_calls
    deferred = [r for r in results if r.outcome is Outcome.DEFERRED]
    assert {e.target for e in journal.entries()} == {r.patron.onelink_id for r in results if r.ok}
    for result in deferred:
        assert (result.ok, result.error, result.calls, result.journal_entries) == (False, None, [], [])
        assert result.reason == "not started, to keep Alma's daily quota; run again after Alma's daily reset"
        assert "DEFERRED" in str(result)
        assert "run the same batch again after Alma's daily reset" in str(result)


def test_rerunning_the_batch_after_the_reset_finishes_the_rest(
    tight: tuple[Sandbox, AlmaClient], policy: Policy, journal: Journal
) -> None:
    sandbox, alma = tight
    patrons = newcomers(6)
    started, _ = afforded(policy, 20)
    first = list(register_many(alma, policy, patrons, concurrency=1, journal=journal, today=TODAY, reserve=RESERVE))
    assert Counter(r.outcome.value for r in first) == {"created": started, "deferred": 6 - started}
    sandbox.knobs.daily_quota += 10_000  # Alma's daily reset: the client's last reading is from before it
    again = list(register_many(alma, policy, patrons, concurrency=1, journal=journal, today=TODAY, reserve=RESERVE))
    assert outcomes(again) == {i: "already_registered" if i < started else "created" for i in range(6)}
    assert [len(r.calls) for r in sorted(again, key=lambda r: r.index or 0)][:started] == [1] * started


@pytest.mark.parametrize("concurrency", [2, 8])
def test_registrations_under_way_are_counted_so_the_reserve_holds_at_any_concurrency(
    policy: Policy, journal: Journal, concurrency: int
) -> None:
    with quota_sandbox(60) as sandbox, sync_client(sandbox) as alma:
        results = list(
            register_many(
                alma, policy, newcomers(20), concurrency=concurrency, journal=journal, today=TODAY, reserve=RESERVE
            )
        )
        assert sandbox.remaining_daily_calls >= RESERVE
    counts = Counter(r.outcome.value for r in results)
    assert set(counts) == {"created", "deferred"}
    assert counts["created"] >= 60 // registration_calls(policy).most
    deferred = sorted(r.index or 0 for r in results if r.outcome is Outcome.DEFERRED)
    assert deferred == list(range(20 - len(deferred), 20)), "the patrons not started are the last of the input"


async def test_the_async_batch_keeps_the_reserve_at_any_concurrency(policy: Policy, journal: Journal) -> None:
    with quota_sandbox(60) as sandbox:
        async with async_client(sandbox) as alma:
            results = [
                result
                async for result in aregister_many(
                    alma, policy, newcomers(20), concurrency=8, journal=journal, today=TODAY, reserve=RESERVE
                )
            ]
        assert sandbox.remaining_daily_calls >= RESERVE
    counts = Counter(r.outcome.value for r in results)
    assert set(counts) == {"created", "deferred"}
    assert counts["created"] >= 60 // registration_calls(policy).most


async def test_the_async_batch_defers_as_the_sync_one(policy: Policy, journal: Journal) -> None:
    with quota_sandbox(20) as sandbox:
        async with async_client(sandbox) as alma:
            results = [
                r
                async for r in aregister_many(
                    alma, policy, newcomers(5), concurrency=1, journal=journal, today=TODAY, reserve=RESERVE
                )
            ]
        started, left = afforded(policy, 20)
        assert sandbox.remaining_daily_calls == RESERVE + left - 1
    assert outcomes(results) == {i: "created" if i < started else "deferred" for i in range(5)}


def test_a_quota_used_up_by_other_tools_fails_the_patron_under_way_and_defers_the_rest(
    policy: Policy, journal: Journal
) -> None:
    with make_sandbox() as sandbox, sync_client(sandbox) as alma:
        results: list[RegistrationResult] = []
        for result in register_many(alma, policy, newcomers(4), concurrency=1, journal=journal, today=TODAY):
            results.append(result)
            sandbox.knobs.daily_quota = 100_000 - sandbox.remaining_daily_calls  # another tool used the rest
    assert outcomes(results) == {0: "created", 1: "failed", 2: "deferred", 3: "deferred"}
    assert isinstance(results[1].error, DailyThresholdExceeded)


def test_a_batch_reads_the_remaining_calls_once_before_the_first_patron(
    sandbox: Sandbox, alma: AlmaClient, policy: Policy, journal: Journal
) -> None:
    assert alma.remaining_daily_calls is None
    list(register_many(alma, policy, newcomers(1), journal=journal, today=TODAY))
    first = sandbox.request_log[0]
    assert (first.method, first.path, first.query) == ("GET", "/almaws/v1/users", {"limit": "1", "offset": "0"})
    list(register_many(alma, policy, newcomers(1, start=1), journal=journal, today=TODAY))
    assert sum(1 for e in sandbox.request_log if e.query.get("limit") == "1") == 1, "a known reading is not read again"


def test_with_no_reading_from_alma_the_batch_runs_without_the_budget_and_says_so(
    alma: AlmaClient, policy: Policy, journal: Journal, caplog: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(type(alma), "remaining_daily_calls", property(lambda self: None))
    with caplog.at_level(logging.WARNING, logger="alma_onelink"):
        results = list(register_many(alma, policy, newcomers(3), journal=journal, today=TODAY))
    assert [r.outcome.value for r in results] == ["created"] * 3
    assert "runs without the daily budget" in caplog.text


def test_reserve_none_turns_the_budget_off(
    sandbox: Sandbox, alma: AlmaClient, policy: Policy, journal: Journal
) -> None:
    per = registration_calls(policy).new_patron
    sandbox.knobs.daily_quota = 2 * per
    results = list(register_many(alma, policy, newcomers(2), journal=journal, today=TODAY, reserve=None))
    assert [r.outcome.value for r in results] == ["created", "created"]
    assert sandbox.remaining_daily_calls == 0
    assert all(e.query.get("limit") != "1" for e in sandbox.request_log), "no read is made for a budget that is off"


def test_a_dry_run_holds_only_its_reads(policy: Policy) -> None:
    calls = registration_calls(policy)
    reads = calls.new_patron - 1  # a new patron's dry run: everything but the create
    # Room for the most a dry run reads, twice over: a real registration's most would not fit.
    room = calls.dry_run_most + reads
    assert room < calls.most + calls.new_patron
    with make_sandbox(daily_quota=RESERVE + 1 + room) as sandbox, sync_client(sandbox) as alma:
        results = list(register_many(alma, policy, newcomers(3), concurrency=1, today=TODAY, dry_run=True, reserve=100))
        assert sandbox.remaining_daily_calls >= RESERVE
    assert [r.outcome.value for r in results] == ["created", "created", "deferred"]
    assert all(r.dry_run for r in results)


@pytest.mark.parametrize("reserve", [-1, 2.5, True, "2000"])
def test_the_reserve_is_checked_before_any_request(
    sandbox: Sandbox, alma: AlmaClient, policy: Policy, reserve: Any
) -> None:
    with pytest.raises(InputError, match="reserve must be a whole number of calls"):
        list(register_many(alma, policy, newcomers(1), today=TODAY, reserve=reserve))
    assert sandbox.request_log == []


def test_the_estimate_says_what_the_batch_costs_and_what_alma_says_is_left(policy: Policy) -> None:
    with make_sandbox(daily_quota=3_901) as sandbox, sync_client(sandbox) as alma:
        estimate = estimate_quota(alma, policy, 600)
        assert sandbox.remaining_daily_calls == 3_900, "one cheap read, when nothing is known yet"
    per = registration_calls(policy).new_patron
    assert (estimate.calls, estimate.remaining, estimate.reserve, estimate.fits) == (600 * per, 3_900, 2_000, False)
    assert str(estimate).startswith(
        f"About {600 * per:,} calls for 600 patrons ({per} for each new one, 1 for one already registered); Alma "
        f"says 3,900 calls are left today and 2,000 are kept in reserve: about {1_900 // per} new patrons fit today"
    )
    assert DEFAULT_RESERVE == 2_000
    roomy = estimate_quota(alma, policy, 10, reserve=0)
    assert str(roomy).endswith("the batch fits.")


def test_the_estimate_without_a_reading_says_the_budget_is_unknown(
    alma: AlmaClient, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(type(alma), "remaining_daily_calls", property(lambda self: None))
    estimate = estimate_quota(alma, policy, 3)
    assert (estimate.remaining, estimate.fits) == (None, None)
    assert "Alma did not say how many calls are left today" in str(estimate)
    assert "runs without the daily budget" in str(estimate)


async def test_a_used_up_quota_defers_every_patron_of_an_async_batch(policy: Policy, journal: Journal) -> None:
    with make_sandbox(daily_quota=0) as sandbox:
        async with async_client(sandbox) as alma:
            results = [r async for r in aregister_many(alma, policy, newcomers(3), journal=journal, today=TODAY)]
    assert [r.outcome.value for r in results] == ["deferred"] * 3
    assert journal.entries() == []
