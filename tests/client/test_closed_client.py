"""A closed client says so, as the SDK's own error, and sends nothing (issue 15: only typed errors escape)."""

from __future__ import annotations

import httpx
import pytest

from alma_onelink import AlmaClient, AsyncAlmaClient
from alma_onelink.errors import InputError
from alma_onelink.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Sandbox:
    sandbox = Sandbox(per_second_limit=None)
    sandbox.seed_duke()
    return sandbox


def test_a_client_used_after_its_with_block_says_it_is_closed_and_sends_nothing(sandbox: Sandbox) -> None:
    with AlmaClient.sandbox(sandbox, rate_limit=None) as alma:
        assert alma.users.get("jd123").primary_id == "jd123"
    sent = len(sandbox.request_log)
    with pytest.raises(InputError, match=r"AlmaClient is closed .*make a new client.*inside its `with` block"):
        alma.users.get("jd123")
    with pytest.raises(InputError, match="is closed"):
        list(alma.users.list(limit=5))
    with pytest.raises(InputError, match="is closed"):
        alma.with_options(max_retries=0).users.get("jd123")  # a copy shares the closed pool
    assert len(sandbox.request_log) == sent


async def test_an_async_client_used_after_its_async_with_block_says_it_is_closed(sandbox: Sandbox) -> None:
    async with AsyncAlmaClient.sandbox(sandbox, rate_limit=None) as alma:
        assert (await alma.users.get("jd123")).primary_id == "jd123"
    sent = len(sandbox.request_log)
    with pytest.raises(InputError, match=r"AsyncAlmaClient is closed .*inside its `async with` block"):
        await alma.users.get("jd123")
    assert len(sandbox.request_log) == sent


def test_a_closed_http_client_of_the_callers_is_named(sandbox: Sandbox) -> None:
    http = httpx.Client(transport=sandbox.transport())
    alma = AlmaClient(api_key=sandbox.api_key, base_url=sandbox.base_url, http_client=http, rate_limit=None)
    http.close()
    with pytest.raises(InputError, match="http_client= was closed"):
        alma.users.get("jd123")


def test_a_closed_client_is_not_retried(sandbox: Sandbox) -> None:
    waits: list[float] = []
    alma = AlmaClient.sandbox(sandbox, rate_limit=None, sleep=waits.append, max_retries=3)
    alma.close()
    with pytest.raises(InputError):
        alma.users.get("jd123")
    assert waits == []
