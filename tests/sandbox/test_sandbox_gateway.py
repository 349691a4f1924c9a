"""Contract: Alma's gateway, through both ways in. Keys, formats, routing, thresholds, the remaining header."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from alma_onelink.sandbox import ManualClock
from alma_onelink.sandbox._handler import ROUTES
from alma_onelink.sandbox._routes import ALMA_USERS_API
from tests.sandbox.conftest import NOW, Api, MakeApi, error_code, user_body

# --- the test endpoints and auth -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_operation_test_answers_an_empty_object(api: Api, method: str) -> None:
    response = api.client.request(method, "/users/operation/test")
    assert response.status_code == 200
    assert response.json() == {}


def test_key_in_the_query_is_accepted(api: Api) -> None:
    with api.anonymous() as client:
        response = client.get("/users/operation/test", params={"apikey": api.sandbox.api_key})
    assert response.status_code == 200


@pytest.mark.parametrize("key", [None, "l7xxnotakey"])
def test_missing_or_unknown_key_gets_the_gateway_error_in_xml_even_when_json_is_asked(
    api: Api, key: str | None
) -> None:
    with api.anonymous() if key is None else api.with_key(key) as client:
        response = client.get("/users", headers={"Accept": "application/json"}, params={"format": "json"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text.startswith("<?xml")
    assert "<errorCode>UNAUTHORIZED</errorCode>" in response.text
    assert "API-key not defined or not configured to allow this API." in response.text


def test_a_removed_key_is_refused(api: Api) -> None:
    api.sandbox.add_api_key("l7xxtemporary")
    api.sandbox.remove_api_key("l7xxtemporary")
    with api.with_key("l7xxtemporary") as client:
        assert error_code(client.get("/users/operation/test")) == "UNAUTHORIZED"


def test_read_only_key_reads_but_cannot_write(api: Api) -> None:
    api.sandbox.users.create(user_body("reader01"))
    api.sandbox.add_api_key("l7xxreadonly", read_only=True)
    with api.with_key("l7xxreadonly") as client:
        assert client.get("/users/operation/test").status_code == 200
        assert client.get("/users/reader01").status_code == 200
        refused = [
            client.post("/users/operation/test"),
            client.post("/users", json=user_body("new01")),
            client.put("/users/reader01", json=user_body("reader01", first_name="X")),
            client.delete("/users/reader01"),
        ]
    for response in refused:
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("application/xml")
        assert error_code(response) == "UNAUTHORIZED"
    assert api.sandbox.users.get("reader01") is not None
    assert api.sandbox.users.get("new01") is None


def test_read_only_key_may_still_authenticate_a_user(api: Api) -> None:
    api.sandbox.users.create(user_body("auth01"), password="correct-horse-battery")
    api.sandbox.add_api_key("l7xxreadonly", read_only=True)
    with api.with_key("l7xxreadonly") as client:
        ok = client.post("/users/auth01", params={"op": "auth"}, headers={"Exl-User-Pw": "correct-horse-battery"})
        bad = client.post("/users/auth01", params={"op": "auth", "password": "wrong-password"})
    assert ok.status_code == 204
    assert (bad.status_code, error_code(bad)) == (400, "401866")


# --- formats ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"format": "json"}])
def test_json_is_the_default_and_format_json_works(api: Api, params: dict[str, str]) -> None:
    response = api.client.get("/users", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"total_record_count": 0}


def test_business_errors_are_json_envelopes_with_tracking_ids(api: Api) -> None:
    response = api.client.get("/users/nobody")
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["errorsExist"] is True
    assert body["result"] is None
    [error] = body["errorList"]["error"]
    assert error["trackingId"].startswith("E01-")


# --- routing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/bibs/123"),
        ("GET", "/users/ada01/loans/123/renew"),
        ("GET", "/users/ada01/no-such-thing"),
        ("GET", "/users//loans"),
    ],
)
def test_paths_alma_does_not_have_are_404_routing_error(api: Api, method: str, path: str) -> None:
    response = api.client.request(method, path)
    assert (response.status_code, error_code(response)) == (404, "ROUTING_ERROR")


@pytest.mark.parametrize(
    ("method", "path", "pattern"),
    [
        ("POST", "/users/ada01/loans", "/users/{user_id}/loans"),
        ("PUT", "/users/ada01/loans/123", "/users/{user_id}/loans/{loan_id}"),
        ("POST", "/users/ada01/requests", "/users/{user_id}/requests"),
        ("DELETE", "/users/ada01/requests/9", "/users/{user_id}/requests/{request_id}"),
        ("POST", "/users/ada01/fees", "/users/{user_id}/fees"),
        ("POST", "/users/ada01/fees/77", "/users/{user_id}/fees/{fee_id}"),
        ("POST", "/users/ada01/fees/all", "/users/{user_id}/fees/all"),
        ("GET", "/users/ada01/attachments", "/users/{user_id}/attachments"),
        ("GET", "/users/ada01/personal-data", "/users/{user_id}/personal-data"),
        ("GET", "/users/ada01/deposits/5", "/users/{user_id}/deposits/{deposit_id}"),
        ("GET", "/users/ada01/purchase-requests", "/users/{user_id}/purchase-requests"),
        (
            "DELETE",
            "/users/ada01/resource-sharing-requests/3",
            "/users/{user_id}/resource-sharing-requests/{request_id}",
        ),
        ("GET", "/users/ada01/leganto-notifications", "/users/{user_name}/leganto-notifications"),
        ("GET", "/users/ME", "/users/ME"),
        ("GET", "/users/staff-login-report", "/users/staff-login-report"),
    ],
)
def test_alma_operations_the_sandbox_does_not_emulate_are_501_not_emulated(
    api: Api, method: str, path: str, pattern: str
) -> None:
    response = api.client.request(method, path)
    assert (response.status_code, error_code(response)) == (501, "NOT_EMULATED")
    [error] = response.json()["errorList"]["error"]
    assert error["errorMessage"] == (
        f"{method} /almaws/v1{pattern} is part of Alma's API but not emulated by the sandbox."
    )


def test_every_catalogued_operation_outside_the_routing_table_is_501(api: Api) -> None:
    api.sandbox.users.create(user_body("ada01"))
    outside = [
        (method, pattern)
        for pattern, methods in ALMA_USERS_API
        for method in sorted(methods)
        if (method, pattern) not in ROUTES
    ]
    assert len(outside) > 20
    for method, pattern in outside:
        response = api.client.request(method, re.sub(r"\{[a-z_]+\}", "ada01", pattern))
        assert (method, pattern, response.status_code, error_code(response)) == (method, pattern, 501, "NOT_EMULATED")


def test_a_route_missing_from_the_table_is_501_never_another_operation(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.sandbox.users.create(user_body("ada01"))
    monkeypatch.delitem(ROUTES, ("GET", "/users/{user_id}/fees"))
    response = api.client.get("/users/ada01/fees")
    assert (response.status_code, error_code(response)) == (501, "NOT_EMULATED")
    assert "GET /almaws/v1/users/{user_id}/fees is part of Alma's API" in response.text


def test_op_refresh_is_not_emulated(api: Api) -> None:
    api.sandbox.users.create(user_body("ref01"))
    response = api.client.post("/users/ref01", params={"op": "refresh"})
    assert (response.status_code, error_code(response)) == (501, "NOT_EMULATED")
    assert "POST /almaws/v1/users/{user_id}?op=refresh" in response.text
    unknown = api.client.post("/users/ref01", params={"op": "teleport"})
    assert (unknown.status_code, error_code(unknown)) == (400, "401859")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/users/ada01"),
        ("DELETE", "/users"),
        ("PUT", "/users/operation/test"),
        ("DELETE", "/users/ada01/loans"),
        ("PUT", "/users/ada01/fees/7"),
    ],
)
def test_wrong_methods_get_405_in_alma_shape(api: Api, method: str, path: str) -> None:
    response = api.client.request(method, path)
    assert response.status_code == 405
    assert error_code(response) == "ROUTING_ERROR"


def test_a_path_outside_the_api_is_an_alma_error_not_a_crash(api: Api) -> None:
    with api._client(headers={"Authorization": f"apikey {api.sandbox.api_key}"}) as client:
        response = client.get(api.origin + "/")
    assert error_code(response) == "ROUTING_ERROR"


def test_an_internal_failure_is_an_alma_shaped_500_without_a_stack_trace(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom: secret internals")

    monkeypatch.setattr(api.sandbox._service, "get", explode)
    response = api.client.get("/users/anyone")
    assert response.status_code == 500
    assert error_code(response) == "GENERAL_ERROR"
    assert "boom" not in response.text
    assert "Traceback" not in response.text


def test_ids_arrive_percent_encoded_and_are_decoded_per_segment(api: Api) -> None:
    api.sandbox.users.create(user_body("u0001#x/y?z"))
    response = api.client.get("/users/u0001%23x%2Fy%3Fz")
    assert response.status_code == 200
    assert response.json()["primary_id"] == "u0001#x/y?z"
    loans = api.client.get("/users/u0001%23x%2Fy%3Fz/loans")
    assert loans.json() == {"total_record_count": 0}


# --- governance ------------------------------------------------------------------------------------


def test_every_response_carries_the_remaining_daily_calls(api: Api) -> None:
    with api.anonymous() as anonymous:
        responses = [
            api.client.get("/users/operation/test"),
            api.client.get("/users/nobody"),
            api.client.get("/nowhere"),
            anonymous.get("/users"),
        ]
    remaining = [int(r.headers["X-Exl-Api-Remaining"]) for r in responses]
    assert remaining == [99_999, 99_998, 99_997, 99_997]  # an unknown key is not counted


def test_daily_quota_gives_daily_threshold_and_resets_at_midnight(make_api: MakeApi) -> None:
    today = [NOW]
    api = make_api(daily_quota=2, now=lambda: today[0])
    assert [api.client.get("/users/operation/test").status_code for _ in range(2)] == [200, 200]
    refused = api.client.get("/users/operation/test")
    assert refused.status_code == 429
    assert error_code(refused) == "DAILY_THRESHOLD"
    assert refused.headers["X-Exl-Api-Remaining"] == "0"
    today[0] = NOW + timedelta(days=1)
    assert api.client.get("/users/operation/test").status_code == 200


def test_per_second_threshold_gives_alma_payload_and_recovers(make_api: MakeApi, clock: ManualClock) -> None:
    api = make_api(per_second_limit=25, clock=clock)
    statuses = [api.client.get("/users/operation/test").status_code for _ in range(26)]
    assert statuses == [200] * 25 + [429]
    refused = api.client.get("/users/operation/test")
    body = refused.json()
    assert body["errorsExist"] is True
    [error] = body["errorList"]["error"]
    assert error["errorCode"] == "PER_SECOND_THRESHOLD"
    assert error["errorMessage"] == "HTTP requests are more than allowed per second"
    assert "X-Exl-Api-Remaining" in refused.headers
    clock.advance(1.0)
    assert [api.client.get("/users/operation/test").status_code for _ in range(25)] == [200] * 25


def test_per_second_threshold_refills_at_its_rate(make_api: MakeApi, clock: ManualClock) -> None:
    api = make_api(per_second_limit=10, clock=clock)
    assert [api.client.get("/users/operation/test").status_code for _ in range(11)][-1] == 429
    clock.advance(0.1)  # one token's worth at 10/s
    assert api.client.get("/users/operation/test").status_code == 200
    assert api.client.get("/users/operation/test").status_code == 429


def test_per_second_threshold_can_be_turned_off_and_changed_at_run_time(make_api: MakeApi, clock: ManualClock) -> None:
    api = make_api(per_second_limit=None, clock=clock)
    assert all(api.client.get("/users/operation/test").status_code == 200 for _ in range(40))
    api.sandbox.knobs.per_second_limit = 3
    assert [api.client.get("/users/operation/test").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_refused_threshold_calls_do_not_use_the_daily_quota(make_api: MakeApi, clock: ManualClock) -> None:
    api = make_api(per_second_limit=1, clock=clock)
    api.client.get("/users/operation/test")
    api.client.get("/users/operation/test")  # 429
    assert api.sandbox.remaining_daily_calls == 99_999
