"""Each public call checks the kind of client and policy it is given, and ids in staff's words (issue 15)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from alma_onelink import AlmaClient, AsyncAlmaClient, plan_merge
from alma_onelink.errors import InputError
from alma_onelink.onelink.budget import (
    aestimate_quota,
    aread_remaining,
    estimate_quota,
    read_remaining,
    registration_calls,
)
from alma_onelink.policy import Policy, load_policy
from alma_onelink.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Sandbox:
    sandbox = Sandbox(per_second_limit=None)
    sandbox.seed_duke()
    return sandbox


@pytest.fixture(scope="module")
def duke() -> Policy:
    return load_policy("duke")


def _run(result: Any) -> Any:
    return asyncio.run(result) if asyncio.iscoroutine(result) else result


@pytest.mark.parametrize(
    ("call", "on_async", "twin"),
    [
        (lambda alma, duke: estimate_quota(alma, duke, 10), True, "aestimate_quota"),
        (lambda alma, duke: read_remaining(alma), True, "aread_remaining"),
        (lambda alma, duke: aestimate_quota(alma, duke, 10), False, "estimate_quota"),
        (lambda alma, duke: aread_remaining(alma), False, "read_remaining"),
    ],
)
def test_a_quota_call_on_the_other_kind_of_client_names_its_twin(
    sandbox: Sandbox, duke: Policy, call: Callable[[Any, Policy], Any], on_async: bool, twin: str
) -> None:
    alma = AsyncAlmaClient.sandbox(sandbox) if on_async else AlmaClient.sandbox(sandbox)
    # A coroutine left unawaited would fail this test too: pytest runs with warnings as errors.
    with pytest.raises(InputError, match=rf"runs on an \w+; for an \w+ use {twin}$"):
        _run(call(alma, duke))
    assert sandbox.request_log == []


@pytest.mark.parametrize("policy", ["duke", None, 3])
def test_a_policy_that_is_not_one_is_refused(sandbox: Sandbox, policy: object) -> None:
    with pytest.raises(InputError, match="policy must be a Policy"):
        registration_calls(policy)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="policy must be a Policy"):
        estimate_quota(AlmaClient.sandbox(sandbox), policy, 10)  # type: ignore[arg-type]
    assert sandbox.request_log == []


def test_a_policys_name_is_answered_with_how_to_load_it() -> None:
    with pytest.raises(InputError, match=r"not its name: load it with load_policy\('duke'\)"):
        registration_calls("duke")  # type: ignore[arg-type]


def test_read_remaining_on_a_closed_client_says_so_rather_than_nothing_known(sandbox: Sandbox) -> None:
    with AlmaClient.sandbox(sandbox) as alma:
        pass
    with pytest.raises(InputError, match="is closed"):
        read_remaining(alma, fresh=True)


@pytest.mark.parametrize(("from_id", "to_id", "role"), [("x" * 100_000, "0456789", "FROM"), ("jd123", "y" * 300, "TO")])
def test_an_overlong_merge_id_is_named_as_staff_know_it(sandbox: Sandbox, from_id: str, to_id: str, role: str) -> None:
    alma = AlmaClient.sandbox(sandbox)
    with pytest.raises(InputError) as refused:
        plan_merge(alma, from_id, to_id)
    message = str(refused.value)
    assert message.startswith(f"The account id given for {role}")
    assert f"is {max(len(from_id), len(to_id)):,} characters long (at most 255)" in message
    assert "user_id" not in message
    assert sandbox.request_log == []


def test_an_invisible_character_in_a_merge_id_is_shown(sandbox: Sandbox) -> None:
    with pytest.raises(InputError, match=r"holds \\u200b \(a zero-width space, invisible\)"):
        plan_merge(AlmaClient.sandbox(sandbox), "jd\u200b123", "0456789")
