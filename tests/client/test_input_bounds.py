"""Input that Alma's gateway or httpx would refuse is an `InputError` before any request, for every method.

The check sits once in the request-building core, so each resource method (sync and async, plain and
``with_raw_response``) inherits it: an id of 100,000 characters, a search too long for a URL, a
control character in a query parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from alma_onelink import AlmaClient, AsyncAlmaClient, InputError
from alma_onelink._limits import MAX_ID_LENGTH, MAX_URL_LENGTH
from alma_onelink.models import User
from tests.client.conftest import Script, make_async_client, make_client, ok, user_json

HUGE = "x" * 100_000


def _edit(alma: AlmaClient, user_id: str) -> None:
    with alma.users.edit(user_id) as user:
        user.first_name = "Z"


SYNC_CALLS: dict[str, Callable[[AlmaClient, str], Any]] = {
    "get": lambda a, i: a.users.get(i),
    "get by id type": lambda a, i: a.users.get("jdoe", user_id_type=i),
    "raw get": lambda a, i: a.users.with_raw_response.get(i),
    "update": lambda a, i: a.users.update(i, user_json("jdoe")),
    "delete": lambda a, i: a.users.delete(i),
    "edit": _edit,
    "loans": lambda a, i: a.users.loans(i),
    "requests": lambda a, i: a.users.requests(i),
    "fees": lambda a, i: a.users.fees(i),
    "list q": lambda a, i: a.users.list(q=f"last_name~{i}"),
    "list filter": lambda a, i: a.users.list(last_name=i),
    "list order_by": lambda a, i: a.users.list(order_by=i),
}


@pytest.mark.parametrize("call", list(SYNC_CALLS.values()), ids=list(SYNC_CALLS))
def test_a_huge_value_is_an_input_error_before_any_request(call: Callable[[AlmaClient, str], Any]) -> None:
    script = Script()  # any request fails the test
    with pytest.raises(InputError) as refused:
        call(make_client(script), HUGE)
    assert script.requests == []
    assert len(str(refused.value)) < 500  # the message names the problem; it does not echo the value


async def _aedit(alma: AsyncAlmaClient, user_id: str) -> None:
    async with alma.users.edit(user_id) as user:
        user.first_name = "Z"


async def _aloans(alma: AsyncAlmaClient, user_id: str) -> None:
    await alma.users.loans(user_id)


ASYNC_CALLS: dict[str, Callable[[AsyncAlmaClient, str], Any]] = {
    "get": lambda a, i: a.users.get(i),
    "update": lambda a, i: a.users.update(i, user_json("jdoe")),
    "delete": lambda a, i: a.users.delete(i),
    "edit": _aedit,
    "loans": _aloans,
}


@pytest.mark.parametrize("call", list(ASYNC_CALLS.values()), ids=list(ASYNC_CALLS))
async def test_the_async_client_refuses_the_same(call: Callable[[AsyncAlmaClient, str], Any]) -> None:
    script = Script()
    async with make_async_client(script) as alma:
        with pytest.raises(InputError):
            await call(alma, HUGE)
    assert script.requests == []


def test_the_message_says_what_is_too_long() -> None:
    alma = make_client(Script())
    with pytest.raises(InputError, match="user_id is 100,000 characters long; Alma's ids are at most 255"):
        alma.users.get(HUGE)
    with pytest.raises(InputError) as by_q:
        alma.users.list(q="last_name~" + "y" * 9_000)
    assert f"more than the {MAX_URL_LENGTH:,} a request to Alma can carry" in str(by_q.value)
    assert "the parameter q takes 9," in str(by_q.value)
    assert "shorten it" in str(by_q.value)


def test_ids_up_to_almas_length_are_sent() -> None:
    script = Script(ok(user_json("x")))
    make_client(script).users.get("a" * MAX_ID_LENGTH)
    assert len(script.requests) == 1
    with pytest.raises(InputError):
        make_client(Script()).users.get("a" * (MAX_ID_LENGTH + 1))


def test_a_create_with_a_primary_id_alma_cannot_hold_is_refused_before_the_post() -> None:
    script = Script()
    with pytest.raises(InputError, match="primary_id is 100,000 characters long"):
        make_client(script).users.create(User.model_validate(user_json(HUGE)))
    assert script.requests == []


def test_just_under_the_url_bound_is_sent() -> None:
    probe = Script(ok({"user": [], "total_record_count": 0}))
    list(make_client(probe).users.list(q="last_name~b"))
    room = MAX_URL_LENGTH - (len(str(probe.last.url)) - 1)  # the URL around a one-letter value
    script = Script(ok({"user": [], "total_record_count": 0}))
    list(make_client(script).users.list(q="last_name~" + "b" * room))
    assert len(str(script.last.url)) == MAX_URL_LENGTH
    with pytest.raises(InputError):
        make_client(Script()).users.list(q="last_name~" + "b" * (room + 1))


@pytest.mark.parametrize("value", ["Do\ne", "Do\x00e", "Do\te", "Do\x7fe"])
def test_a_control_character_in_a_query_parameter_is_an_input_error(value: str) -> None:
    script = Script()
    alma = make_client(script)
    with pytest.raises(InputError, match="control characters"):
        alma.users.list(last_name=value)
    with pytest.raises(InputError, match="control characters"):
        alma.users.list(q=f"last_name~{value}")
    assert script.requests == []


def test_a_bad_input_takes_no_turn_at_the_rate_limiter() -> None:
    waits: list[float] = []
    alma = AlmaClient(api_key="k" * 20, transport=Script().transport, rate_limit=1.0, sleep=waits.append)
    for _ in range(5):
        with pytest.raises(InputError):
            alma.users.get(HUGE)
    assert waits == []  # five refusals, no wait: none of them spent a token
