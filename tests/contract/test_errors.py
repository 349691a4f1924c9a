"""Contract: each family of error a client must tell apart, as Alma answers it and the SDK raises it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from alma_onelink import (
    AlmaClient,
    AlreadyExistsError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
)
from alma_onelink.errors import parse_error_details

from ._targets import Target, gather_limited
from .conftest import MakeUser, user_body

writes = pytest.mark.writes
NOBODY = "aotest-nobody-here"


def test_not_found(alma: AlmaClient) -> None:
    with pytest.raises(NotFoundError) as plain:
        alma.users.get(NOBODY)
    assert plain.value.code == "401861"
    with pytest.raises(NotFoundError) as typed:
        alma.users.get(NOBODY, user_id_type="all_unique")
    assert typed.value.code in ("401861", "401890")
    with pytest.raises(NotFoundError):
        alma.users.loans(NOBODY).to_list()


@writes
def test_not_found_on_update_and_delete(writable: Target, alma: AlmaClient) -> None:
    with pytest.raises(NotFoundError):
        alma.users.update(NOBODY, user_body(writable, "nobody-here"))
    with pytest.raises(NotFoundError):
        alma.users.delete(NOBODY)


@writes
def test_already_exists(make_user: MakeUser, alma: AlmaClient, writable: Target, cleanup: list[str]) -> None:
    first = make_user("twice")
    with pytest.raises(AlreadyExistsError) as same_id:
        alma.users.create(user_body(writable, "twice"))
    assert same_id.value.code == "401851"
    taken = user_body(writable, "twice-other", user_identifier=first.to_alma()["user_identifier"])
    cleanup.append(taken["primary_id"])
    with pytest.raises(AlreadyExistsError) as same_identifier:
        alma.users.create(taken)
    assert same_identifier.value.code == "401851"


@writes
def test_bad_user_group(writable: Target, alma: AlmaClient, cleanup: list[str]) -> None:
    body = user_body(writable, "badgroup", user_group={"value": "NO_SUCH_GROUP_AOTEST"})
    cleanup.append(body["primary_id"])
    with pytest.raises(BadRequestError) as refused:
        alma.users.create(body)
    assert refused.value.code == "401852"


@writes
def test_no_user_group(writable: Target, cleanup: list[str]) -> None:
    body = user_body(writable, "nogroup")
    del body["user_group"]
    cleanup.append(body["primary_id"])
    with writable.http(headers={"Accept": "application/json"}) as http:
        response = http.post("/users", json=body)
    assert response.status_code == 400, response.text
    assert next(d.code for d in parse_error_details(response.content)) in ("401852", "401664")


def test_bad_key(target: Target) -> None:
    with target.client(api_key="l7xx-not-a-key-of-this-institution") as wrong, pytest.raises(AuthenticationError):
        wrong.users.get(NOBODY)
    with target.http(key="not-a-key", headers={"Accept": "application/json"}) as http:
        response = http.get("/users/operation/test")
    assert response.status_code in (400, 401, 403)
    assert [d.code for d in parse_error_details(response.content)] == ["UNAUTHORIZED"]


def test_unsupported_query_is_refused_not_an_empty_result(target: Target) -> None:
    with target.http(headers={"Accept": "application/json"}) as http:
        response = http.get("/users", params={"q": "shoe_size~44", "limit": 5})
    if response.status_code == 200:
        assert response.json() == {"total_record_count": -1}
    else:
        assert (response.status_code, [d.code for d in parse_error_details(response.content)]) == (400, ["402119"])


def test_per_second_threshold(target: Target) -> None:
    outcomes: list[Any]

    async def burst() -> list[Any]:
        async with target.async_client(rate_limit=None, max_retries=0) as alma:
            return await gather_limited([alma.users.test for _ in range(40)], concurrency=target.burst)

    with target.per_second_window():
        outcomes = asyncio.run(burst())
    refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert all(isinstance(error, RateLimitError) and error.code == "PER_SECOND_THRESHOLD" for error in refused), refused
    assert all(outcome is None for outcome in outcomes if not isinstance(outcome, Exception))
    if not refused:
        if target.kind == "alma":
            pytest.skip("Alma took the whole burst within its threshold this time")
        pytest.fail("no call was refused")
    if target.kind == "sandbox":
        assert len(outcomes) - len(refused) == 25  # Alma's threshold: 25 calls a second, clock frozen
