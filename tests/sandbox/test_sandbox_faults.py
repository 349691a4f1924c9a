"""Contract: faults meet only requests the gateway accepts, and what uses the daily quota.

The rule (docs/sandbox.md): requests Alma did not process do not use the daily quota (gateway
refusals, an injected ``429``, an injected ``connection_reset``); injected ``500``, ``503``,
``read_timeout`` and ``commit_then_fail`` do, since those requests reached Alma.
"""

from __future__ import annotations

import contextlib

import httpx
import pytest

from alma_onelink.sandbox import Faults, ManualClock, Sandbox
from tests.sandbox.conftest import MakeApi, error_code, user_body

# --- a refused request never uses up a fault ---------------------------------------------------------


def test_a_request_without_a_valid_key_does_not_use_up_a_fault(make_api: MakeApi) -> None:
    api = make_api(faults=["500"])
    api.sandbox.add_api_key("l7xxreadonly", read_only=True)
    with api.anonymous() as anonymous, api.with_key("l7xxreadonly") as read_only:
        assert error_code(anonymous.get("/users/operation/test")) == "UNAUTHORIZED"
        assert error_code(read_only.post("/users", json=user_body("ro01"))) == "UNAUTHORIZED"
    assert api.sandbox.knobs.faults.remaining_script == 1
    assert api.client.get("/users/operation/test").status_code == 500


def test_a_request_over_a_threshold_does_not_use_up_a_fault(make_api: MakeApi, clock: ManualClock) -> None:
    api = make_api(faults=[None, "500", "503"], per_second_limit=1, daily_quota=3, clock=clock)
    assert api.client.get("/users/operation/test").status_code == 200
    assert error_code(api.client.get("/users/operation/test")) == "PER_SECOND_THRESHOLD"
    assert api.sandbox.knobs.faults.remaining_script == 2
    clock.advance(1.0)
    assert api.client.get("/users/operation/test").status_code == 500
    clock.advance(1.0)
    assert api.client.get("/users/operation/test").status_code == 503
    clock.advance(1.0)
    assert error_code(api.client.get("/users/operation/test")) == "DAILY_THRESHOLD"
    assert [entry.fault for entry in api.sandbox.request_log] == [None, None, "500", "503", None]


def test_commit_then_fail_fires_only_when_the_write_is_applied(make_api: MakeApi) -> None:
    api = make_api(faults=["commit_then_fail", "commit_then_fail"], read_timeout=0.2)
    api.sandbox.users.create(user_body("taken01"))
    refused = api.client.post("/users", json=user_body("taken01"))  # answered, not lost
    assert (refused.status_code, error_code(refused)) == (400, "401851")
    with pytest.raises(httpx.ReadTimeout):
        api.client.post("/users", json=user_body("applied01"))
    assert api.sandbox.users.get("applied01") is not None
    posts = [entry for entry in api.sandbox.request_log if entry.method == "POST"]
    assert [(entry.status, entry.fault) for entry in posts] == [(400, None), (200, "commit_then_fail")]


def test_a_routing_error_under_commit_then_fail_is_answered(make_api: MakeApi) -> None:
    api = make_api(faults=["commit_then_fail"])
    assert api.client.get("/nowhere").status_code == 404


# --- the daily quota ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "counted"),
    [
        ("429", False),
        ("connection_reset", False),
        ("500", True),
        ("503", True),
        ("read_timeout", True),
        ("commit_then_fail", True),
    ],
)
def test_which_injected_faults_use_the_daily_quota(make_api: MakeApi, kind: str, counted: bool) -> None:
    api = make_api(faults=[kind], read_timeout=0.1)
    with contextlib.suppress(httpx.TransportError):  # read_timeout, connection_reset, commit_then_fail
        api.client.get("/users/operation/test")
    assert api.sandbox.remaining_daily_calls == 100_000 - counted
    assert int(api.client.get("/users/operation/test").headers["X-Exl-Api-Remaining"]) == 99_999 - counted


def test_gateway_refusals_do_not_use_the_daily_quota(make_api: MakeApi, clock: ManualClock) -> None:
    api = make_api(per_second_limit=1, daily_quota=2, clock=clock)
    api.sandbox.add_api_key("l7xxreadonly", read_only=True)
    with api.anonymous() as anonymous, api.with_key("l7xxreadonly") as read_only:
        anonymous.get("/users")
        read_only.delete("/users/anyone")
    assert api.sandbox.remaining_daily_calls == 2
    api.client.get("/users/operation/test")
    assert error_code(api.client.get("/users/operation/test")) == "PER_SECOND_THRESHOLD"
    assert api.sandbox.remaining_daily_calls == 1
    clock.advance(1.0)
    assert error_code(api.client.get("/users/nobody")) == "401861"  # a business error reached Alma
    assert error_code(api.client.get("/users/operation/test")) == "DAILY_THRESHOLD"
    assert api.sandbox.remaining_daily_calls == 0


def test_an_injected_429_gives_back_its_per_second_token(make_api: MakeApi, clock: ManualClock) -> None:
    api = make_api(faults=["429"], per_second_limit=1, clock=clock)
    assert error_code(api.client.get("/users/operation/test")) == "PER_SECOND_THRESHOLD"
    assert api.client.get("/users/operation/test").status_code == 200  # the injected 429 used no token


# --- one Faults, several sandboxes ---------------------------------------------------------------------


def _status(sandbox: Sandbox) -> int:
    with httpx.Client(transport=sandbox.transport(), base_url=sandbox.base_url) as client:
        return client.get("/almaws/v1/users/operation/test", params={"apikey": sandbox.api_key}).status_code


def test_a_faults_object_is_copied_not_shared() -> None:
    shared = Faults(script=["500", "503"])
    one, two = Sandbox(faults=shared), Sandbox(faults=shared)
    assert [_status(one), _status(two), _status(one), _status(two)] == [500, 500, 503, 503]
    assert shared.remaining_script == 2  # the caller's object is untouched
    one.knobs.faults = shared
    assert _status(one) == 500  # assigning copies too: a fresh script
