"""Alma's answers, as the client turns them into typed errors (never a raw httpx exception)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from alma_onelink import (
    AlmaClient,
    AlmaError,
    AlreadyExistsError,
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    DailyThresholdExceeded,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from tests.client.conftest import (
    Script,
    alma_error,
    daily,
    error_json,
    example_bytes,
    make_client,
    ok,
    per_second,
    xml_error,
)

PATH = "/almaws/v1/users/jdoe"
HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"


def get_error(reply: httpx.Response) -> APIStatusError:
    script = Script(reply)
    with pytest.raises(APIStatusError) as info:
        make_client(script, max_retries=0).users.get("jdoe")
    assert len(script.requests) == 1
    return info.value


NOT_FOUND = "User with identifier jdoe was not found."
NO_KEY = "API-key not defined or not configured to allow this API."
TRUNCATED = b'{"errorsExist":true,"errorList":{"error":[{"errorCo'


def raw(status: int, content: bytes = b"") -> httpx.Response:
    return httpx.Response(status, content=content)


CASES: list[tuple[str, httpx.Response, type[APIStatusError], str | None]] = [
    ("json 401861 as 400", alma_error(400, "401861", NOT_FOUND), NotFoundError, "401861"),
    ("json 401890 as 400", alma_error(400, "401890", "Not of type X."), NotFoundError, "401890"),
    ("xml 401861", xml_error(400, "401861", NOT_FOUND), NotFoundError, "401861"),
    ("json 401851", alma_error(400, "401851", "Already exists."), AlreadyExistsError, "401851"),
    ("per second", per_second(), RateLimitError, "PER_SECOND_THRESHOLD"),
    ("daily", daily(), DailyThresholdExceeded, "DAILY_THRESHOLD"),
    ("unauthorized json 400", alma_error(400, "UNAUTHORIZED", NO_KEY), AuthenticationError, "UNAUTHORIZED"),
    ("unauthorized xml 400", xml_error(400, "UNAUTHORIZED", NO_KEY), AuthenticationError, "UNAUTHORIZED"),
    ("401 html", raw(401, b"<html><body>Unauthorized</body></html>"), AuthenticationError, None),
    ("403 empty", raw(403), PermissionDeniedError, None),
    ("403 json", alma_error(403, "FORBIDDEN", "Forbidden."), PermissionDeniedError, "FORBIDDEN"),
    ("other 400", raw(400, example_bytes("error_400_pulibrary.json")), BadRequestError, "402204"),
    ("xml 400 real file", raw(400, example_bytes("error_400_pulibrary.xml")), BadRequestError, "402203"),
    ("404 html", raw(404, b"<html><body>Not Found</body></html>"), NotFoundError, None),
    ("500 json", alma_error(500, "GENERAL_ERROR", "General error."), InternalServerError, "GENERAL_ERROR"),
    ("502 html", raw(502, HTML), InternalServerError, None),
    ("503 truncated json", raw(503, TRUNCATED), InternalServerError, None),
    ("400 truncated json", raw(400, TRUNCATED), BadRequestError, None),
    ("409 empty", raw(409), BadRequestError, None),
]


@pytest.mark.parametrize(("reply", "cls", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_response_becomes_the_right_typed_error(
    reply: httpx.Response, cls: type[APIStatusError], code: str | None
) -> None:
    err = get_error(reply)
    assert type(err) is cls
    assert err.code == code
    assert err.method == "GET"
    assert err.path == PATH
    assert err.status_code == reply.status_code
    assert isinstance(err, AlmaError)


def test_error_carries_alma_details() -> None:
    err = get_error(alma_error(400, "401861", "User with identifier jdoe was not found.", "E01-XYZ-42"))
    assert err.message == "User with identifier jdoe was not found."
    assert err.tracking_id == "E01-XYZ-42"
    text = str(err)
    for part in ("401861", "User with identifier jdoe was not found.", "E01-XYZ-42", "GET", PATH, "400"):
        assert part in text
    assert err.hint is not None


def test_xml_error_with_leading_whitespace_carries_tracking_id() -> None:
    err = get_error(httpx.Response(400, content=b"\n\n   " + example_bytes("error_400_pulibrary.xml")))
    assert err.code == "402203"
    assert err.message == "Input parameters mmsId 1234 is not valid."
    assert err.tracking_id == "E01-0212223205-P0XW8-AWAE584905282"


def test_wrapped_single_error_object() -> None:
    body = {
        "web_service_result": {
            "errorsExist": True,
            "errorList": {"error": {"errorCode": "401861", "errorMessage": "Not there.", "trackingId": "E01-W"}},
        }
    }
    err = get_error(httpx.Response(400, json=body))
    assert isinstance(err, NotFoundError)
    assert (err.code, err.message, err.tracking_id) == ("401861", "Not there.", "E01-W")


def test_unwrapped_single_error_object() -> None:
    body = {"errorsExist": True, "errorList": {"error": {"errorCode": "401851", "errorMessage": "Taken."}}}
    err = get_error(httpx.Response(400, json=body))
    assert isinstance(err, AlreadyExistsError)
    assert err.tracking_id is None


def test_several_errors_are_all_kept() -> None:
    body = error_json("401664", "Mandatory field is missing: library")
    body["errorList"]["error"].append({"errorCode": "401852", "errorMessage": "Given user group is not legal."})
    err = get_error(httpx.Response(400, json=body))
    assert [e.code for e in err.errors] == ["401664", "401852"]
    assert "401852" in str(err)


def test_html_error_keeps_a_readable_excerpt() -> None:
    err = get_error(httpx.Response(502, content=HTML))
    assert "Bad Gateway" in err.message
    assert err.errors == []


def test_error_keeps_response_headers() -> None:
    err = get_error(alma_error(400, "401861", "Gone.", **{"X-Exl-Api-Remaining": "12"}))
    assert err.headers["x-exl-api-remaining"] == "12"


MINIMAL = {"primary_id": "jdoe", "record_type": "PUBLIC", "account_type": "INTERNAL"}


@pytest.mark.parametrize(
    ("method", "call"),
    [
        ("PUT", lambda a: a.users.update("jdoe", MINIMAL)),
        ("DELETE", lambda a: a.users.delete("jdoe")),
        ("POST", lambda a: a.users.create(MINIMAL)),
    ],
)
def test_error_carries_the_method(method: str, call: Callable[[AlmaClient], Any]) -> None:
    script = Script(alma_error(400, "401890", "Nobody."))
    with pytest.raises(NotFoundError) as info:
        call(make_client(script))
    assert info.value.method == method
    assert info.value.path in (PATH, "/almaws/v1/users")


# --- transport failures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "cls", "sent"),
    [
        (httpx.ConnectError("connection refused"), APIConnectionError, False),
        (httpx.ConnectTimeout("connect timed out"), APITimeoutError, False),
        (httpx.ReadTimeout("read timed out"), APITimeoutError, True),
        (httpx.WriteTimeout("write timed out"), APITimeoutError, True),
        (httpx.PoolTimeout("pool timed out"), APITimeoutError, False),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), APIConnectionError, True),
        (httpx.ReadError("connection reset by peer"), APIConnectionError, True),
    ],
)
@pytest.mark.parametrize("max_retries", [0, 2])
def test_transport_failure_becomes_our_error_after_the_last_try(
    exc: httpx.TransportError, cls: type[APIConnectionError], sent: bool, max_retries: int
) -> None:
    script = Script(default=exc)
    with pytest.raises(AlmaError) as info:
        make_client(script, max_retries=max_retries).users.get("jdoe")
    err = info.value
    assert type(err) is cls
    assert not isinstance(err, httpx.HTTPError)
    assert isinstance(err, APIConnectionError)
    assert err.request_sent is sent
    assert (err.method, err.path) == ("GET", PATH)
    assert len(script.requests) == max_retries + 1


def test_connection_error_is_not_a_timeout() -> None:
    script = Script(httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as info:
        make_client(script, max_retries=0).users.get("jdoe")
    assert not isinstance(info.value, APITimeoutError)


def test_undecodable_body_is_not_a_raw_httpx_error() -> None:
    """A gateway that mangles a gzip body: httpx raises DecodingError while reading; users see our error."""
    reply = httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip at all"))
    script = Script(reply)
    try:
        make_client(script, max_retries=0).users.get("jdoe")
    except Exception as exc:  # which exception escapes is the point
        escaped: Exception = exc
    else:
        pytest.fail("no error raised")
    assert isinstance(escaped, AlmaError), f"raw {type(escaped).__name__} escaped: {escaped}"
    assert not isinstance(escaped, httpx.HTTPError)


# --- bodies that do not fit -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Maintenance</body></html>",
        b"not json",
        b"",
        b"[]",
        b'{"primary_id": {"nested": 1}}',
        b'{"primary_id": "jdoe", "user_role": "nope"',
    ],
)
def test_success_with_an_invalid_body_is_a_validation_error(body: bytes) -> None:
    script = Script(httpx.Response(200, content=body))
    with pytest.raises(APIResponseValidationError) as info:
        make_client(script).users.get("jdoe")
    err = info.value
    assert (err.method, err.path, err.status_code) == ("GET", PATH, 200)
    assert "User" in str(err)
    assert len(script.requests) == 1  # not retried


def test_xml_where_json_was_asked_for_is_named() -> None:
    xml = b'<?xml version="1.0"?><user><primary_id>jdoe</primary_id></user>'
    script = Script(httpx.Response(200, content=xml, headers={"Content-Type": "application/xml"}))
    with pytest.raises(APIResponseValidationError, match="XML"):
        make_client(script).users.get("jdoe")


def test_invalid_list_page_is_a_validation_error() -> None:
    script = Script(ok({"user": ["not a user"], "total_record_count": 1}))
    with pytest.raises(APIResponseValidationError) as info:
        make_client(script).users.list()
    assert info.value.path == "/almaws/v1/users"


def test_the_original_json_error_body_is_readable_from_a_real_example() -> None:
    body = json.loads(example_bytes("scriptotek_per_second_threshold_error_response.json"))
    err = get_error(httpx.Response(429, json=body))
    assert type(err) is RateLimitError
    assert err.code == "PER_SECOND_THRESHOLD"
