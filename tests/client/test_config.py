"""Client configuration: the key, regions, base URLs, options, copies and closing."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest

from alma_onelink import REGIONS, AlmaClient, AsyncAlmaClient, InputError, InternalServerError, TokenBucket
from tests.client.conftest import (
    KEY,
    AsyncSleeps,
    FakeClock,
    Script,
    Sleeps,
    make_async_client,
    make_client,
    ok,
    user_json,
)

# --- the API key ---------------------------------------------------------------------------------


def test_api_key_from_argument_goes_in_the_authorization_header() -> None:
    script = Script(ok(user_json("jdoe")))
    make_client(script, api_key=KEY).users.get("jdoe")
    assert script.last.headers["Authorization"] == f"apikey {KEY}"


def test_api_key_falls_back_to_alma_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALMA_API_KEY", "l7xxfromenvironment")
    script = Script(ok(user_json("jdoe")))
    alma = AlmaClient(transport=script.transport, rate_limit=None, sleep=Sleeps())
    alma.users.get("jdoe")
    assert script.last.headers["Authorization"] == "apikey l7xxfromenvironment"


def test_api_key_argument_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALMA_API_KEY", "l7xxfromenvironment")
    script = Script(ok(user_json("jdoe")))
    make_client(script, api_key="l7xxfromargument").users.get("jdoe")
    assert script.last.headers["Authorization"] == "apikey l7xxfromargument"


@pytest.mark.parametrize("key", [None, "", "   "])
def test_missing_key_says_how_to_fix_it(key: str | None) -> None:
    with pytest.raises(InputError) as info:
        AlmaClient(api_key=key)
    message = str(info.value)
    assert "ALMA_API_KEY" in message
    assert "sandbox" in message.lower()


def test_missing_key_in_async_client_says_how_to_fix_it() -> None:
    with pytest.raises(InputError, match="ALMA_API_KEY"):
        AsyncAlmaClient()


def test_key_with_inner_whitespace_is_rejected() -> None:
    with pytest.raises(InputError):
        AlmaClient(api_key="l7xx abc")


# --- regions and base URLs --------------------------------------------------------------------------


@pytest.mark.parametrize(("region", "origin"), sorted(REGIONS.items()))
def test_every_region_routes_to_its_gateway(region: str, origin: str) -> None:
    script = Script(ok(user_json("jdoe")))
    alma = make_client(script, region=region)
    assert alma.base_url == f"{origin}/almaws/v1"
    alma.users.get("jdoe")
    assert str(script.last.url) == f"{origin}/almaws/v1/users/jdoe"


def test_regions_are_the_six_alma_gateways() -> None:
    assert set(REGIONS) == {"na", "eu", "ap", "aps", "ca", "cn"}


def test_default_region_is_north_america() -> None:
    assert AlmaClient(api_key=KEY).base_url == "https://api-na.hosted.exlibrisgroup.com/almaws/v1"


def test_region_is_case_insensitive() -> None:
    assert AlmaClient(api_key=KEY, region="EU").base_url == REGIONS["eu"] + "/almaws/v1"


def test_region_from_alma_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALMA_REGION", "ap")
    assert AlmaClient(api_key=KEY).base_url == REGIONS["ap"] + "/almaws/v1"


def test_region_argument_wins_over_alma_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALMA_REGION", "ap")
    assert AlmaClient(api_key=KEY, region="ca").base_url == REGIONS["ca"] + "/almaws/v1"


def test_base_url_from_alma_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALMA_BASE_URL", "https://alma.example.edu")
    script = Script(ok(user_json("jdoe")))
    alma = AlmaClient(api_key=KEY, transport=script.transport, rate_limit=None, sleep=Sleeps())
    alma.users.get("jdoe")
    assert str(script.last.url) == "https://alma.example.edu/almaws/v1/users/jdoe"


@pytest.mark.parametrize(
    "base_url",
    [
        "https://alma.example.edu",
        "https://alma.example.edu/",
        "https://alma.example.edu/almaws/v1",
        "https://alma.example.edu/almaws/v1/",
        "  https://alma.example.edu/almaws/v1/  ",
    ],
)
def test_base_url_with_or_without_api_path(base_url: str) -> None:
    script = Script(ok(user_json("jdoe")))
    alma = make_client(script, base_url=base_url)
    assert alma.base_url == "https://alma.example.edu/almaws/v1"
    alma.users.get("jdoe")
    assert str(script.last.url) == "https://alma.example.edu/almaws/v1/users/jdoe"


def test_base_url_keeps_a_proxy_prefix() -> None:
    alma = AlmaClient(api_key=KEY, base_url="http://127.0.0.1:8080/alma/almaws/v1/")
    assert alma.base_url == "http://127.0.0.1:8080/alma/almaws/v1"


@pytest.mark.parametrize(
    "base_url", ["api-na.hosted.exlibrisgroup.com", "ftp://alma.example.edu", "https://", "https://x.org/?apikey=1"]
)
def test_bad_base_url_is_rejected(base_url: str) -> None:
    with pytest.raises(InputError, match="base_url"):
        AlmaClient(api_key=KEY, base_url=base_url)


def test_region_and_base_url_together_are_rejected() -> None:
    with pytest.raises(InputError, match="region"):
        AlmaClient(api_key=KEY, region="eu", base_url="https://alma.example.edu")
    with pytest.raises(InputError, match="region"):
        AsyncAlmaClient(api_key=KEY, region="eu", base_url="https://alma.example.edu")


def test_unknown_region_lists_the_regions() -> None:
    with pytest.raises(InputError) as info:
        AlmaClient(api_key=KEY, region="mars")
    message = str(info.value)
    assert "mars" in message
    for code in REGIONS:
        assert code in message
    assert "base_url" in message


def test_unknown_alma_region_from_environment_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALMA_REGION", "moon")
    with pytest.raises(InputError, match="moon"):
        AlmaClient(api_key=KEY)


# --- numeric options -----------------------------------------------------------------------------------


@pytest.mark.parametrize("max_retries", [-1, 1.5, True, "3", None])
def test_bad_max_retries_is_rejected(max_retries: Any) -> None:
    with pytest.raises(InputError, match="max_retries"):
        AlmaClient(api_key=KEY, max_retries=max_retries)
    with pytest.raises(InputError, match="max_retries"):
        AsyncAlmaClient(api_key=KEY, max_retries=max_retries)


@pytest.mark.parametrize("rate_limit", [0, -5, True, "25", math.nan])
def test_bad_rate_limit_is_rejected(rate_limit: Any) -> None:
    with pytest.raises(InputError, match="rate_limit"):
        AlmaClient(api_key=KEY, rate_limit=rate_limit)


@pytest.mark.parametrize("timeout", [0, -1, -0.5, math.nan])
def test_bad_timeout_is_rejected(timeout: float) -> None:
    with pytest.raises(InputError, match="timeout"):
        AlmaClient(api_key=KEY, timeout=timeout)


def test_defaults() -> None:
    alma = AlmaClient(api_key=KEY)
    assert alma.max_retries == 3
    assert alma.rate_limiter is not None
    assert alma.rate_limiter.rate == 25.0
    assert alma.remaining_daily_calls is None


def test_rate_limit_none_turns_the_limiter_off() -> None:
    assert AlmaClient(api_key=KEY, rate_limit=None).rate_limiter is None


def test_given_rate_limiter_is_used_as_is() -> None:
    bucket = TokenBucket(5, clock=FakeClock())
    assert AlmaClient(api_key=KEY, rate_limiter=bucket).rate_limiter is bucket
    assert AsyncAlmaClient(api_key=KEY, rate_limiter=bucket).rate_limiter is bucket


def test_timeout_reaches_the_request() -> None:
    script = Script(ok(user_json("jdoe")))
    make_client(script, timeout=7).users.get("jdoe")
    assert script.last.extensions["timeout"] == {"connect": 7.0, "read": 7.0, "write": 7.0, "pool": 7.0}


def test_default_timeout_is_30s_with_10s_to_connect() -> None:
    script = Script(ok(user_json("jdoe")))
    make_client(script).users.get("jdoe")
    assert script.last.extensions["timeout"] == {"connect": 10.0, "read": 30.0, "write": 30.0, "pool": 30.0}


def test_per_call_timeout_reaches_the_request() -> None:
    script = Script(ok(user_json("jdoe")))
    make_client(script).users.get("jdoe", timeout=2.5)
    assert script.last.extensions["timeout"]["read"] == 2.5


def test_default_headers_are_sent() -> None:
    script = Script(ok(user_json("jdoe")))
    make_client(script, default_headers={"X-Trace": "abc"}).users.get("jdoe")
    assert script.last.headers["X-Trace"] == "abc"
    assert script.last.headers["Authorization"] == f"apikey {KEY}"


@pytest.mark.parametrize("name", ["Authorization", "authorization"])
def test_authorization_default_header_is_rejected(name: str) -> None:
    with pytest.raises(InputError, match="api_key"):
        AlmaClient(api_key=KEY, default_headers={name: "apikey other"})


# --- from_env ----------------------------------------------------------------------------------------


def test_from_env_reads_all_three_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALMA_API_KEY", "l7xxenv")
    monkeypatch.setenv("ALMA_BASE_URL", "https://alma.example.edu/almaws/v1")
    script = Script(ok(user_json("jdoe")))
    alma = AlmaClient.from_env(transport=script.transport, rate_limit=None, sleep=Sleeps())
    alma.users.get("jdoe")
    assert str(script.last.url) == "https://alma.example.edu/almaws/v1/users/jdoe"
    assert script.last.headers["Authorization"] == "apikey l7xxenv"


def test_from_env_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALMA_API_KEY", "l7xxenv")
    monkeypatch.setenv("ALMA_REGION", "eu")
    assert AlmaClient.from_env().base_url == REGIONS["eu"] + "/almaws/v1"
    assert AsyncAlmaClient.from_env().base_url == REGIONS["eu"] + "/almaws/v1"


def test_from_env_without_key_says_how_to_fix_it() -> None:
    with pytest.raises(InputError, match="ALMA_API_KEY"):
        AlmaClient.from_env()


# --- with_options -----------------------------------------------------------------------------------


def test_with_options_shares_pool_limiter_and_quota() -> None:
    script = Script(default=ok(user_json("jdoe"), remaining=42))
    alma = make_client(script, rate_limiter=TokenBucket(25, clock=FakeClock()), max_retries=3, timeout=30)
    fast = alma.with_options(timeout=5, max_retries=0)
    assert fast._http is alma._http
    assert fast.rate_limiter is alma.rate_limiter
    assert fast.max_retries == 0
    assert alma.max_retries == 3
    fast.users.get("jdoe")
    assert script.last.extensions["timeout"]["read"] == 5.0
    assert alma.remaining_daily_calls == 42  # seen by the copy, visible to the original
    alma.users.get("jdoe")
    assert script.last.extensions["timeout"]["read"] == 30.0


def test_with_options_quota_flows_back_from_original_to_copy() -> None:
    script = Script(ok(user_json("jdoe"), remaining=7))
    alma = make_client(script)
    copy = alma.with_options(max_retries=1)
    alma.users.get("jdoe")
    assert copy.remaining_daily_calls == 7


def test_with_options_copy_keeps_key_and_base_url() -> None:
    script = Script(ok(user_json("jdoe")))
    alma = make_client(script, base_url="https://alma.example.edu")
    copy = alma.with_options(default_headers={"X-Extra": "1"})
    copy.users.get("jdoe")
    assert str(script.last.url) == "https://alma.example.edu/almaws/v1/users/jdoe"
    assert script.last.headers["Authorization"] == f"apikey {KEY}"
    assert script.last.headers["X-Extra"] == "1"


def test_with_options_max_retries_is_used() -> None:
    script = Script(default=httpx.Response(503))
    alma = make_client(script, max_retries=3)
    with pytest.raises(InternalServerError, match="503"):
        alma.with_options(max_retries=1).users.get("jdoe")
    assert len(script.requests) == 2


def test_with_options_rejects_bad_max_retries() -> None:
    alma = AlmaClient(api_key=KEY)
    with pytest.raises(InputError, match="max_retries"):
        alma.with_options(max_retries=-1)


@pytest.mark.parametrize("timeout", [0, -1])
def test_with_options_rejects_bad_timeout(timeout: float) -> None:
    alma = AlmaClient(api_key=KEY)
    with pytest.raises(InputError, match="timeout"):
        alma.with_options(timeout=timeout)


def test_with_options_rejects_an_authorization_header() -> None:
    with pytest.raises(InputError):
        AlmaClient(api_key=KEY).with_options(default_headers={"Authorization": "apikey x"})


async def test_async_with_options_shares_pool_and_limiter() -> None:
    script = Script(default=ok(user_json("jdoe"), remaining=9))
    alma = make_async_client(script, rate_limiter=TokenBucket(25, clock=FakeClock()))
    copy = alma.with_options(timeout=3, max_retries=0)
    assert copy._http is alma._http
    assert copy.rate_limiter is alma.rate_limiter
    assert copy.max_retries == 0
    await copy.users.get("jdoe")
    assert script.last.extensions["timeout"]["read"] == 3.0
    assert alma.remaining_daily_calls == 9
    await alma.close()


# --- closing -----------------------------------------------------------------------------------------


def test_context_manager_closes_its_own_http_client() -> None:
    script = Script(ok(user_json("jdoe")))
    with make_client(script) as alma:
        alma.users.get("jdoe")
        http = alma._http
        assert not http.is_closed
    assert http.is_closed


def test_context_manager_leaves_an_injected_http_client_open() -> None:
    script = Script(ok(user_json("jdoe")))
    http = httpx.Client(transport=script.transport)
    with AlmaClient(api_key=KEY, http_client=http, rate_limit=None, sleep=Sleeps()) as alma:
        alma.users.get("jdoe")
    assert not http.is_closed
    assert str(script.last.url).startswith("https://api-na.hosted.exlibrisgroup.com/almaws/v1/")
    http.close()


def test_closing_a_copy_leaves_the_shared_pool_open() -> None:
    script = Script(ok(user_json("jdoe")))
    alma = make_client(script)
    with alma.with_options(max_retries=0):
        pass
    assert not alma._http.is_closed
    alma.users.get("jdoe")
    alma.close()
    assert alma._http.is_closed


async def test_async_context_manager_closes_its_own_http_client() -> None:
    script = Script(ok(user_json("jdoe")))
    async with make_async_client(script) as alma:
        await alma.users.get("jdoe")
        http = alma._http
    assert http.is_closed


async def test_async_context_manager_leaves_an_injected_http_client_open() -> None:
    script = Script(ok(user_json("jdoe")))
    http = httpx.AsyncClient(transport=script.transport)
    async with AsyncAlmaClient(api_key=KEY, http_client=http, rate_limit=None, sleep=AsyncSleeps()) as alma:
        await alma.users.get("jdoe")
    assert not http.is_closed
    await http.aclose()


def test_http_client_and_transport_together_are_rejected() -> None:
    script = Script()
    with httpx.Client() as http, pytest.raises(InputError, match="http_client"):
        AlmaClient(api_key=KEY, http_client=http, transport=script.transport)


async def test_async_http_client_and_transport_together_are_rejected() -> None:
    script = Script()
    async with httpx.AsyncClient() as http:
        with pytest.raises(InputError, match="http_client"):
            AsyncAlmaClient(api_key=KEY, http_client=http, transport=script.transport)
