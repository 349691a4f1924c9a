"""The request log, and the API key staying out of logs, errors and reprs; the sans-I/O core itself."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from alma_onelink.sandbox import Sandbox, SandboxRequest
from tests.sandbox.conftest import NOW, Api, MakeApi, error_code, user_body


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


@pytest.mark.parametrize("name", ["apikey", "APIKEY", "api%6Bey", "Api%4Bey"])
def test_the_key_is_masked_in_the_log(api: Api, name: str) -> None:
    with api.anonymous() as client:
        response = client.get(f"/users/operation/test?{name}={api.sandbox.api_key}&x=1")
    entry = api.sandbox.request_log[-1]
    assert set(entry.query.values()) == {"***", "1"}
    assert api.sandbox.api_key not in entry.to_json()
    assert api.sandbox.api_key not in repr(entry)
    # Only a name that decodes to exactly "apikey" carries a key; the others are masked all the same.
    assert response.status_code == (200 if name in ("apikey", "api%6Bey") else 400)


def test_the_log_is_written_as_jsonl_when_asked(make_api: MakeApi, tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
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


def test_the_key_never_appears_in_reprs_errors_or_the_log(tmp_path: Path) -> None:
    sandbox = Sandbox(now=lambda: NOW, log_path=tmp_path / "log.jsonl")
    wrong_key = "l7xx" + "f" * 32  # a key the sandbox does not know: its refusal must not echo it
    texts = []
    for key in (sandbox.api_key, wrong_key):
        for query in (f"apikey={key}", f"api%6Bey={key}&password=hunter22"):
            request = SandboxRequest("GET", "/almaws/v1/users/x", query, {"Authorization": f"apikey {key}"})
            response = sandbox.handle(request)
            texts += [repr(request), repr(response), response.text, str(response.headers)]
    refused = [entry for entry in sandbox.request_log if entry.error_code == "UNAUTHORIZED"]
    assert len(refused) == 2  # the wrong key was refused, and logged
    texts += [repr(sandbox), repr(sandbox.users), repr(sandbox.knobs), repr(sandbox._keys)]
    texts += [repr(entry) for entry in sandbox.request_log] + [entry.to_json() for entry in sandbox.request_log]
    texts.append((tmp_path / "log.jsonl").read_text(encoding="utf-8"))
    for text in texts:
        assert sandbox.api_key not in text
        assert wrong_key not in text
        assert "hunter22" not in text


@pytest.mark.parametrize("where", ["folder", "missing-folder"])
def test_a_bad_log_path_is_refused_when_the_sandbox_is_built(tmp_path: Path, where: str) -> None:
    path = tmp_path if where == "folder" else tmp_path / "no" / "such" / "log.jsonl"
    with pytest.raises(ValueError, match="log_path"):
        Sandbox(log_path=path)


def test_a_log_file_that_cannot_be_written_warns_once_and_requests_are_still_answered(
    make_api: MakeApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "log.jsonl"
    api = make_api(log_path=path)
    assert api.client.get("/users/operation/test").status_code == 200
    path.unlink()
    path.mkdir()  # from now on the file cannot be opened for appending
    with caplog.at_level(logging.WARNING, logger="alma_onelink.sandbox"):
        assert api.client.get("/users/operation/test").status_code == 200
        assert error_code(api.client.get("/users/nobody")) == "401861"
    warnings = [record for record in caplog.records if "cannot write its request log" in record.getMessage()]
    assert len(warnings) == 1
    assert len(api.sandbox.request_log) == 3  # the in-memory log goes on


def test_handle_is_a_pure_request_to_response_function() -> None:
    sandbox = Sandbox(now=lambda: NOW)
    sandbox.users.create(user_body("core01"))
    response = sandbox.handle(
        SandboxRequest(
            "GET",
            "/almaws/v1/users/core01",
            headers={"authorization": f"APIKEY {sandbox.api_key}", "accept": "application/json"},
        )
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
