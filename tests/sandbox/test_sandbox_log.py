"""The request log, and the API key staying out of logs, errors and reprs; the sans-I/O core itself."""

from __future__ import annotations

import json
from pathlib import Path

from alma_onelink.sandbox import Sandbox, SandboxRequest
from tests.sandbox.conftest import NOW, Api, MakeApi, user_body


def test_every_request_is_logged_with_method_path_query_status_latency(api: Api) -> None:
    api.client.get("/users", params={"q": "last_name~x", "limit": 5})
    api.client.post("/users", json=user_body("log01"))
    api.client.get("/users/nobody")
    entries = api.sandbox.request_log
    assert [(e.method, e.path, e.status) for e in entries] == [
        ("GET", "/almaws/v1/users", 200),
        ("POST", "/almaws/v1/users", 200),
        ("GET", "/almaws/v1/users/nobody", 400),
    ]
    assert entries[0].query == {"q": "last_name~x", "limit": "5"}
    assert entries[2].error_code == "401861"
    assert all(e.latency_ms >= 0 and e.time.startswith("2026-03-14T15:09:26") for e in entries)


def test_the_key_is_masked_in_the_log(api: Api) -> None:
    with api.anonymous() as client:
        client.get("/users/operation/test", params={"apikey": api.sandbox.api_key, "x": "1"})
    entry = api.sandbox.request_log[-1]
    assert entry.query == {"apikey": "***", "x": "1"}
    assert api.sandbox.api_key not in entry.to_json()


def test_the_log_is_written_as_jsonl_when_asked(make_api: MakeApi, tmp_path: Path) -> None:
    path = tmp_path / "logs" / "requests.jsonl"
    api = make_api(log_path=path)
    with api.anonymous() as client:
        client.get("/users/operation/test", params={"apikey": api.sandbox.api_key})
    api.client.get("/users/nobody")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(line["method"], line["status"]) for line in lines] == [("GET", 200), ("GET", 400)]
    assert set(lines[0]) == {"time", "method", "path", "query", "status", "latency_ms", "fault", "error_code"}
    assert api.sandbox.api_key not in path.read_text(encoding="utf-8")


def test_requests_can_be_counted_and_the_log_cleared(api: Api) -> None:
    for _ in range(3):
        api.client.get("/users/operation/test")
    assert sum(1 for e in api.sandbox.request_log if e.path.endswith("/operation/test")) == 3
    api.sandbox.clear_log()
    assert api.sandbox.request_log == []


def test_the_key_never_appears_in_reprs_or_errors() -> None:
    sandbox = Sandbox(now=lambda: NOW)
    request = SandboxRequest(
        "GET", "/almaws/v1/users/x", f"apikey={sandbox.api_key}", {"Authorization": f"apikey {sandbox.api_key}"}
    )
    response = sandbox.handle(request)
    for text in (repr(sandbox), repr(request), repr(sandbox.users), repr(response), response.text):
        assert sandbox.api_key not in text


def test_handle_is_a_pure_request_to_response_function() -> None:
    sandbox = Sandbox(now=lambda: NOW)
    sandbox.users.create(user_body("core01"))
    response = sandbox.handle(
        SandboxRequest("GET", "/almaws/v1/users/core01", headers={"authorization": f"APIKEY {sandbox.api_key}"})
    )
    assert response.status == 200
    assert response.json()["primary_id"] == "core01"
    assert response.headers["X-Exl-Api-Remaining"] == "99999"
    assert (response.delay, response.fault) == (0.0, None)


def test_sandbox_request_decodes_segments_and_params() -> None:
    request = SandboxRequest("get", "/almaws/v1/users/a%2Fb%3Fc/", "limit=5&q=last_name~M%C3%BCller")
    assert request.segments == ["almaws", "v1", "users", "a/b?c"]
    assert request.params == {"limit": "5", "q": "last_name~Müller"}
    assert request.header("Missing") is None


def test_the_default_key_looks_like_alma_and_follows_the_seed() -> None:
    assert Sandbox(seed=1).api_key == Sandbox(seed=1).api_key != Sandbox(seed=2).api_key
    assert Sandbox().api_key.startswith("l7xx")
    assert Sandbox(api_key="l7xxmine").api_key == "l7xxmine"
