"""The API key leaves only in the Authorization header: never in a repr, error, log line or URL."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from alma_onelink import AlmaClient, AlmaError, InputError, TokenBucket
from tests.client.conftest import (
    KEY,
    FakeClock,
    Script,
    alma_error,
    daily,
    make_async_client,
    make_client,
    not_found,
    ok,
    per_second,
    user_json,
    xml_error,
)

USER = user_json("jdoe", "Jane", "Doe")
OTHER = user_json("jdoe", "Someone", "Else")


def assert_keyless(text: str) -> None:
    assert KEY not in text
    assert KEY[4:] not in text  # not even without its l7xx prefix


def assert_error_keyless(err: BaseException) -> None:
    assert_keyless(str(err))
    assert_keyless(repr(err))
    assert_keyless("".join(traceback.format_exception(err)))
    assert_keyless(repr(vars(err)))
    for linked in (err.__cause__, err.__context__):
        if linked is not None:
            assert_keyless(str(linked))
            assert_keyless(repr(linked))


SCENARIOS: dict[str, tuple[list[Any], Callable[[AlmaClient], Any]]] = {
    "not found": ([not_found()], lambda a: a.users.get("jdoe")),
    "xml unauthorized": ([xml_error(400, "UNAUTHORIZED", "API-key not defined.")], lambda a: a.users.get("jdoe")),
    "401 html": ([httpx.Response(401, content=b"<html>nope</html>")], lambda a: a.users.test()),
    "403": ([httpx.Response(403)], lambda a: a.users.test(write=True)),
    "daily": ([daily()], lambda a: a.users.get("jdoe")),
    "per second exhausted": ([per_second()] * 4, lambda a: a.users.get("jdoe")),
    "500 exhausted": ([httpx.Response(500)] * 4, lambda a: a.users.delete("jdoe")),
    "connect error": ([httpx.ConnectError("refused")] * 4, lambda a: a.users.get("jdoe")),
    "read timeout": ([httpx.ReadTimeout("slow")] * 4, lambda a: a.users.get("jdoe")),
    "disconnect": ([httpx.RemoteProtocolError("gone")] * 4, lambda a: a.users.update("jdoe", USER)),
    "invalid body": ([httpx.Response(200, content=b"<html/>")], lambda a: a.users.get("jdoe")),
    "create lost, found other": ([httpx.ReadTimeout("slow"), ok(OTHER)], lambda a: a.users.create(USER)),
    "create lost twice": ([httpx.Response(500), not_found()] * 4, lambda a: a.users.create(USER)),
    "already exists": ([alma_error(400, "401851", "Exists.")], lambda a: a.users.create(USER)),
    "bad id": ([], lambda a: a.users.get(" ")),
    "bad limit": ([], lambda a: a.users.list(limit=500)),
    "bad filter": ([], lambda a: a.users.list(apikey=KEY)),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_no_error_log_or_url_carries_the_key(name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    replies, call = SCENARIOS[name]
    script = Script(*replies)
    alma = make_client(script, rate_limiter=TokenBucket(25, clock=FakeClock()))
    with pytest.raises(AlmaError) as info:
        call(alma)
    assert_error_keyless(info.value)
    for record in caplog.records:
        assert_keyless(record.getMessage())
        assert_keyless(repr(record.args))
        if record.exc_info and record.exc_info[1] is not None:
            assert_error_keyless(record.exc_info[1])
    for request in script.requests:
        assert_keyless(str(request.url))
        assert request.headers["Authorization"] == f"apikey {KEY}"
        assert all(KEY not in value for name_, value in request.headers.items() if name_ != "authorization")


def test_a_key_passed_as_a_filter_value_never_reaches_a_url() -> None:
    script = Script()
    with pytest.raises(InputError):
        make_client(script).users.list(apikey=KEY)
    assert script.requests == []


def test_client_reprs_are_keyless() -> None:
    alma = make_client(Script(), rate_limiter=TokenBucket(25, clock=FakeClock()))
    for obj in (alma, alma.with_options(max_retries=0), alma.users, alma.rate_limiter, alma._config):
        assert_keyless(repr(obj))
        assert_keyless(str(obj))
    assert "api-na.hosted.exlibrisgroup.com" in repr(alma)


async def test_async_client_repr_is_keyless() -> None:
    alma = make_async_client(Script())
    assert_keyless(repr(alma))
    assert_keyless(repr(alma.with_options(timeout=5)))
    await alma.close()


def test_raw_response_repr_is_keyless() -> None:
    raw = make_client(Script(ok(USER))).users.with_raw_response.get("jdoe")
    assert_keyless(repr(raw))
    assert_keyless(repr(raw.headers))


def test_config_errors_are_keyless() -> None:
    cases: list[Callable[[], Any]] = [
        lambda: AlmaClient(api_key=KEY, region="mars"),
        lambda: AlmaClient(api_key=KEY, base_url="ftp://x"),
        lambda: AlmaClient(api_key=KEY, max_retries=-1),
        lambda: AlmaClient(api_key=KEY, default_headers={"Authorization": f"apikey {KEY}"}),
        lambda: AlmaClient(api_key=KEY[:10] + " " + KEY[10:]),
        lambda: AlmaClient(api_key=KEY, region="eu", base_url="https://x.org"),
    ]
    for case in cases:
        with pytest.raises(InputError) as info:
            case()
        assert_error_keyless(info.value)
        assert KEY[10:] not in str(info.value)


def test_debug_logs_of_successful_calls_are_keyless(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(default=ok(USER))
    alma = make_client(script)
    alma.users.get("jdoe")
    alma.users.update("jdoe", USER)
    alma.users.create(USER)
    assert caplog.records  # something was logged at DEBUG
    for record in caplog.records:
        assert_keyless(record.getMessage())


async def test_async_errors_and_logs_are_keyless(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(httpx.ReadTimeout("slow"), httpx.ReadTimeout("slow"), not_found(), default=httpx.ConnectError("x"))
    alma = make_async_client(script)
    with pytest.raises(AlmaError) as info:
        await alma.users.get("jdoe")
    assert_error_keyless(info.value)
    with pytest.raises(AlmaError) as info:
        await alma.users.create(USER)
    assert_error_keyless(info.value)
    for record in caplog.records:
        assert_keyless(record.getMessage())
    await alma.close()
