"""The opt-in pytest fixtures: ``alma_sandbox``, ``alma`` and ``async_alma``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from alma_onelink.sandbox import DUKE_SCENARIOS, Sandbox

if TYPE_CHECKING:
    from alma_onelink import AlmaClient, AsyncAlmaClient


def test_alma_sandbox_is_seeded_and_without_a_per_second_threshold(alma_sandbox: Sandbox) -> None:
    assert len(alma_sandbox.users) == 40 + len(DUKE_SCENARIOS) - 1
    assert alma_sandbox.knobs.per_second_limit is None
    alma_sandbox.users.delete(DUKE_SCENARIOS["onelink_alumnus"])


def test_alma_sandbox_is_fresh_for_every_test(alma_sandbox: Sandbox) -> None:
    assert DUKE_SCENARIOS["onelink_alumnus"] in alma_sandbox.users  # the previous test deleted it


def test_alma_is_a_sync_client_on_the_sandbox(alma: AlmaClient, alma_sandbox: Sandbox) -> None:
    user = alma.users.get(DUKE_SCENARIOS["netid_era_alumna"])
    assert user.primary_id == "jd123"
    assert [e.path for e in alma_sandbox.request_log] == ["/almaws/v1/users/jd123"]


async def test_async_alma_is_an_async_client_on_the_sandbox(async_alma: AsyncAlmaClient, alma_sandbox: Sandbox) -> None:
    user = await async_alma.users.get(DUKE_SCENARIOS["recent_graduate"])
    assert user.primary_id == DUKE_SCENARIOS["recent_graduate"]
    assert len(alma_sandbox.request_log) == 1


@pytest.mark.parametrize("scenario", sorted(set(DUKE_SCENARIOS) - {"new_registrant"}))
def test_every_duke_scenario_reads_through_the_client(alma: AlmaClient, scenario: str) -> None:
    assert alma.users.get(DUKE_SCENARIOS[scenario]).primary_id == DUKE_SCENARIOS[scenario]
