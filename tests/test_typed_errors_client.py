"""The clients check what they are built from when they are built, and paging before any request (issue 15).

Only the SDK's typed errors escape: a wrong part is an `InputError` at once, never an AttributeError or a
TypeError at the first call; a number too large for Alma never reaches it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from alma_onelink import AlmaClient, AsyncAlmaClient
from alma_onelink.errors import BadRequestError, InputError
from alma_onelink.sandbox import Sandbox

KEY = "l7xx" + "0123456789abcdef0123456789abcdef"
CLIENTS = [AlmaClient, AsyncAlmaClient]


@pytest.fixture
def sandbox() -> Sandbox:
    sandbox = Sandbox(per_second_limit=None)
    sandbox.seed_duke()
    return sandbox


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"http_client": 1}, r"http_client= of an \w+ must be an httpx\.(Async)?Client"),
        ({"transport": 1}, r"transport= of an \w+ must be an httpx\.(Async)?BaseTransport"),
        ({"sleep": 1}, "sleep= must be a function that waits"),
        ({"rate_limiter": 25}, "rate_limiter= must be a RateLimiter"),
        ({"rate_limit": 10**30}, r"rate_limit must be .* at most 10,000"),
        ({"rate_limit": 10**400}, r"rate_limit must be .*\(401 characters\)"),
        ({"timeout": 10**400}, r"timeout must be a positive number of seconds, at most 86,400"),
    ],
)
def test_a_wrong_part_is_refused_when_the_client_is_made(
    client: type[AlmaClient | AsyncAlmaClient], options: dict[str, Any], words: str
) -> None:
    with pytest.raises(InputError, match=words):
        client(api_key=KEY, **options)


def test_each_client_takes_only_parts_of_its_own_kind() -> None:
    with pytest.raises(InputError, match=r"must be an httpx\.Client .*got AsyncClient"):
        AlmaClient(api_key=KEY, http_client=httpx.AsyncClient())  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"must be an httpx\.AsyncClient .*got Client"):
        AsyncAlmaClient(api_key=KEY, http_client=httpx.Client())  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"asyncio\.sleep is for an AsyncAlmaClient"):
        AlmaClient(api_key=KEY, sleep=asyncio.sleep)  # type: ignore[arg-type]
    assert AlmaClient(api_key=KEY, sleep=time.sleep, transport=httpx.MockTransport(lambda r: httpx.Response(204)))


@pytest.mark.parametrize("client", CLIENTS)
def test_the_sandbox_constructor_says_what_it_sets_itself(
    client: type[AlmaClient | AsyncAlmaClient], sandbox: Sandbox
) -> None:
    with pytest.raises(InputError, match=r"sandbox\(\) sets api_key= itself"):
        client.sandbox(sandbox, api_key="mine")
    with pytest.raises(InputError, match=r"sets base_url=, transport= itself, to the sandbox's: leave them out"):
        client.sandbox(sandbox, base_url="https://x.example.org", transport=sandbox.transport())
    with pytest.raises(InputError, match=r"takes a Sandbox .* got str"):
        client.sandbox("x")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="takes no option retries="):
        client.sandbox(sandbox, retries=2)


def test_a_base_url_that_is_not_http_is_named_as_staff_type_it() -> None:
    with pytest.raises(InputError) as refused:
        AlmaClient(api_key=KEY, base_url="ftp://alma.example.org")
    message = str(refused.value)
    assert message.startswith("The base URL given with --base-url or ALMA_BASE_URL (Python: base_url=) is not an http")
    assert not message.startswith("base_url")


@pytest.mark.parametrize("offset", [2**31, 2**63, 10**30])
def test_an_offset_past_what_alma_reads_is_refused_before_any_request(sandbox: Sandbox, offset: int) -> None:
    alma = AlmaClient.sandbox(sandbox, rate_limit=None)
    with pytest.raises(InputError, match=r"offset must be a whole number from 0 to 2,147,483,647"):
        alma.users.list(offset=offset)
    with pytest.raises(InputError, match=r"limit must be a whole number from 0 to 100"):
        alma.users.list(limit=10**30)
    assert sandbox.request_log == []
    assert alma.users.list(offset=2**31 - 1, limit=1).items == []  # the bound itself is Alma's to answer


@pytest.mark.parametrize("offset", [str(2**31), str(2**63), "1" + "0" * 30, "-" + "9" * 30])
def test_the_sandbox_answers_an_offset_out_of_range_as_alma_does(sandbox: Sandbox, offset: str) -> None:
    http = httpx.Client(transport=sandbox.transport())
    answer = http.get(
        f"{sandbox.base_url}/almaws/v1/users",
        params={"offset": offset},
        headers={"Authorization": f"apikey {sandbox.api_key}", "Accept": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["errorList"]["error"][0]["errorCode"] == "402119"


def test_a_raw_out_of_range_offset_is_a_typed_error_not_a_retried_500(sandbox: Sandbox) -> None:
    waits: list[float] = []
    alma = AlmaClient.sandbox(sandbox, rate_limit=None, sleep=waits.append)
    from alma_onelink._base import RequestSpec, parse_nothing  # the resource refuses it first: send it raw

    with pytest.raises(BadRequestError):
        alma._request(RequestSpec("GET", "/users", parse_nothing, params={"offset": str(10**30)}))
    assert waits == []
    assert len(sandbox.request_log) == 1
