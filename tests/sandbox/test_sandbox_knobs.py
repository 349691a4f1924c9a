"""Knobs: latency, injected faults and their surfaces, determinism by seed; through both ways in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from alma_onelink.sandbox import Faults, Knobs, ManualClock, Sandbox
from tests.sandbox.conftest import Api, MakeApi, error_code, user_body

# --- latency ---------------------------------------------------------------------------------------


def test_latency_is_fixed_plus_seeded_jitter(make_api: MakeApi, clock: ManualClock) -> None:
    api = make_api(seed=5, latency=0.05, jitter=0.02, clock=clock, sleep=clock.sleep, async_sleep=clock.async_sleep)
    for _ in range(10):
        api.client.get("/users/operation/test")
    assert len(clock.sleeps) == 10
    assert all(0.05 <= s <= 0.07 for s in clock.sleeps)
    assert len(set(clock.sleeps)) > 1
    again = ManualClock()
    twin = Sandbox(seed=5, latency=0.05, jitter=0.02, sleep=again.sleep)
    with httpx.Client(transport=twin.transport(), base_url=twin.base_url) as client:
        for _ in range(10):
            client.get("/almaws/v1/users/operation/test", params={"apikey": twin.api_key})
    assert again.sleeps == clock.sleeps


def test_no_latency_means_no_sleep(make_api: MakeApi, clock: ManualClock) -> None:
    api = make_api(sleep=clock.sleep, async_sleep=clock.async_sleep)
    api.client.get("/users/operation/test")
    assert clock.sleeps == []


def test_latency_is_logged(make_api: MakeApi, clock: ManualClock) -> None:
    api = make_api(latency=0.25, sleep=clock.sleep, async_sleep=clock.async_sleep)
    api.client.get("/users/operation/test")
    assert api.sandbox.request_log[-1].latency_ms >= 250


# --- faults as responses -----------------------------------------------------------------------------


def test_a_fault_script_is_consumed_in_order(make_api: MakeApi) -> None:
    api = make_api(faults=["500", None, "429", "ok", "503"])
    statuses = [api.client.get("/users/operation/test").status_code for _ in range(7)]
    assert statuses == [500, 200, 429, 200, 503, 200, 200]
    assert api.sandbox.knobs.faults.remaining_script == 0


def test_fault_responses_are_alma_shaped(make_api: MakeApi) -> None:
    api = make_api(faults=["429", "500", "503"])
    too_many, failed, unavailable = (api.client.get("/users/operation/test") for _ in range(3))
    assert error_code(too_many) == "PER_SECOND_THRESHOLD"
    assert error_code(failed) == "GENERAL_ERROR"
    assert unavailable.json()["errorList"]["error"][0]["errorMessage"] == (
        "General error with the API Gateway \u2013 please retry later."
    )
    assert all("X-Exl-Api-Remaining" in r.headers for r in (too_many, failed, unavailable))


@pytest.mark.parametrize("kind", ["429", "500", "503"])
def test_a_failed_write_is_not_applied(make_api: MakeApi, kind: str) -> None:
    api = make_api(faults=[kind])
    assert api.client.post("/users", json=user_body("nope01")).status_code == int(kind)
    assert api.sandbox.users.get("nope01") is None


def test_faults_by_probability_are_deterministic_with_a_seed(make_api: MakeApi) -> None:
    api = make_api(seed=11, faults=Faults(rate=0.3, kinds=("500", "503")))
    statuses = [api.client.get("/users/operation/test").status_code for _ in range(40)]
    assert {200, 500, 503} == set(statuses)
    twin = Sandbox(seed=11, per_second_limit=None, faults=Faults(rate=0.3, kinds=("500", "503")))
    with httpx.Client(transport=twin.transport(), base_url=twin.base_url) as client:
        replay = [client.get(f"/almaws/v1/users/operation/test?apikey={twin.api_key}").status_code for _ in range(40)]
    assert replay == statuses


def test_faults_can_be_set_at_run_time(make_api: MakeApi) -> None:
    api = make_api()
    api.sandbox.knobs.faults = ["503"]  # type: ignore[assignment]  # a list becomes a script
    assert api.client.get("/users/operation/test").status_code == 503
    api.sandbox.knobs.faults = Faults(rate=1.0, kinds=["500"])
    assert api.client.get("/users/operation/test").status_code == 500
    api.sandbox.knobs.faults = Faults()
    assert api.client.get("/users/operation/test").status_code == 200


# --- faults on the wire ------------------------------------------------------------------------------


def test_read_timeout_loses_the_request_before_it_is_applied(make_api: MakeApi) -> None:
    api = make_api(faults=["read_timeout"], read_timeout=0.1)
    with pytest.raises(httpx.ReadTimeout):
        api.client.post("/users", json=user_body("lost01"))
    assert api.sandbox.users.get("lost01") is None
    entry = api.sandbox.request_log[-1]
    assert (entry.status, entry.fault) == (None, "read_timeout")


def test_commit_then_fail_applies_the_write_and_loses_the_response(make_api: MakeApi) -> None:
    api = make_api(faults=["commit_then_fail"], read_timeout=0.1)
    with pytest.raises(httpx.ReadTimeout):
        api.client.post("/users", json=user_body("ghost01"))
    assert api.client.get("/users/ghost01").status_code == 200
    entry = [e for e in api.sandbox.request_log if e.method == "POST"][-1]
    assert (entry.status, entry.fault) == (200, "commit_then_fail")


def test_connection_reset_surfaces_as_an_httpx_transport_error(make_api: MakeApi, way: str) -> None:
    api = make_api(faults=["connection_reset"])
    # In-process (sync or async) the reset comes before sending (ConnectError); over HTTP the server
    # drops the connection unanswered (RemoteProtocolError). Either way the write is not applied.
    expected = httpx.RemoteProtocolError if way == "http" else httpx.ConnectError
    with pytest.raises(expected):
        api.client.post("/users", json=user_body("reset01"))
    assert api.sandbox.users.get("reset01") is None
    assert api.client.get("/users/operation/test").status_code == 200  # the next request works


def test_a_reset_connection_is_not_counted_but_a_read_timeout_is(make_api: MakeApi) -> None:
    api = make_api(faults=["read_timeout", "connection_reset"], read_timeout=0.1)
    for _ in range(2):
        with pytest.raises(httpx.TransportError):
            api.client.get("/users/operation/test")
    assert api.sandbox.remaining_daily_calls == 99_999  # the read timeout reached Alma


# --- the async transport -----------------------------------------------------------------------------


async def test_async_transport_latency_faults_and_thresholds(clock: ManualClock) -> None:
    sandbox = Sandbox(
        latency=0.01, clock=clock, async_sleep=clock.async_sleep, faults=[None, "read_timeout", "connection_reset"]
    )
    headers = {"Authorization": f"apikey {sandbox.api_key}"}
    async with httpx.AsyncClient(transport=sandbox.async_transport(), base_url=sandbox.base_url, headers=headers) as c:
        assert (await c.get("/almaws/v1/users/operation/test")).status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            await c.get("/almaws/v1/users/operation/test")
        with pytest.raises(httpx.ConnectError):
            await c.get("/almaws/v1/users/operation/test")
        sandbox.knobs.latency = 0  # a frozen clock from here: the burst meets the per-second threshold
        burst = await asyncio.gather(*(c.get("/almaws/v1/users/operation/test") for _ in range(30)))
    # 25 tokens: the plain call and the read timeout used one each; the reset connection gave its back.
    assert [r.status_code for r in burst].count(429) == 7
    assert clock.sleeps == [0.01] * 3


# --- knob validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("latency", -1), ("jitter", "x"), ("per_second_limit", 0), ("daily_quota", -5), ("overstate_total", 1.5)],
)
def test_knobs_reject_bad_values(field: str, value: object) -> None:
    knobs = Knobs()
    with pytest.raises(ValueError, match=field):
        setattr(knobs, field, value)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Faults(rate=1.5),
        lambda: Faults(rate=0.5, kinds=("teapot",)),
        lambda: Faults(script=["500", "explode"]),
        lambda: Faults(rate=0.5, kinds=()),
    ],
)
def test_faults_reject_bad_specs(make: Callable[[], Faults]) -> None:
    with pytest.raises(ValueError, match=r"fault|rate"):
        make()


def test_a_fault_string_is_not_mistaken_for_a_script() -> None:
    with pytest.raises(TypeError):
        Sandbox(faults="500")


def test_manual_clock_refuses_to_go_backwards() -> None:
    with pytest.raises(ValueError, match="backwards"):
        ManualClock().advance(-1)


def test_api_fixture_ways_share_the_contract(api: Api) -> None:
    # The same request gives the same answer whichever way it came in (links aside).
    assert api.client.get("/users", params={"limit": 0}).json() == {"total_record_count": 0}


@pytest.mark.parametrize("option", ["clock", "sleep", "async_sleep", "now"])
def test_clocks_and_sleeps_are_constructor_options_not_runtime_knobs(option: str, clock: ManualClock) -> None:
    given = {"clock": clock, "sleep": clock.sleep, "async_sleep": clock.async_sleep, "now": lambda: None}[option]
    sandbox = Sandbox(**{option: given})  # type: ignore[arg-type]
    assert getattr(sandbox, option) == given
    with pytest.raises(AttributeError):
        setattr(sandbox, option, given)
    assert not hasattr(sandbox.knobs, option)
