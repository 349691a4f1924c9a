"""The API key leaves only in the Authorization header: never in a repr, error, log line or URL."""

from __future__ import annotations

import contextlib
import functools
import logging
import traceback
import types
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from alma_onelink import AlmaClient, AlmaError, InputError, TokenBucket
from alma_onelink._config import Secret
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
    "500 exhausted": ([httpx.Response(500)] * 20, lambda a: a.users.delete("jdoe")),
    "connect error": ([httpx.ConnectError("refused")] * 4, lambda a: a.users.get("jdoe")),
    "read timeout": ([httpx.ReadTimeout("slow")] * 4, lambda a: a.users.get("jdoe")),
    "disconnect": ([httpx.RemoteProtocolError("gone")] * 20, lambda a: a.users.update("jdoe", USER)),
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


# --- the key never leaves the header: configuration --------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    [
        f"https://api-na.hosted.exlibrisgroup.com/almaws/v1/users?apikey={KEY}",
        f"https://api-na.hosted.exlibrisgroup.com/almaws/v1;apikey={KEY}",
        f"https://api-na.hosted.exlibrisgroup.com/apikey={KEY}/almaws/v1",
        f"https://{KEY}@api-na.hosted.exlibrisgroup.com",
        f"https://alma:{KEY}@api-na.hosted.exlibrisgroup.com",
        f"https://api-na.hosted.exlibrisgroup.com/#apikey={KEY}",
    ],
)
def test_a_base_url_carrying_the_key_is_refused_without_echoing_it(base_url: str) -> None:
    with pytest.raises(InputError, match="base_url") as info:
        AlmaClient(api_key=KEY, base_url=base_url)
    assert_error_keyless(info.value)
    assert "api-na.hosted.exlibrisgroup.com" in str(info.value)  # says which URL, without its secret part


def test_an_environment_base_url_carrying_the_key_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALMA_BASE_URL", f"https://alma.example.edu/?apikey={KEY}")
    with pytest.raises(InputError) as info:
        AlmaClient.from_env(api_key=KEY)
    assert_error_keyless(info.value)


@pytest.mark.parametrize("key", ["l7xx\u00e9t\u00e9", "l7xx\u2028abc", "l7xx\x00abc", "l7xx\udc80", "l7xx abc"])
def test_a_key_no_header_can_carry_is_refused_at_construction(key: str) -> None:
    with pytest.raises(InputError, match="key") as info:
        AlmaClient(api_key=key)
    assert key not in str(info.value)


@pytest.mark.parametrize(
    "headers", [{"X-Note": "caf\u00e9"}, {"X-Note": "a\r\nInjected: 1"}, {"Bad Name": "x"}, {"X-Note": 5}]
)
def test_default_headers_no_request_can_carry_are_refused_at_construction(headers: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="default_headers"):
        AlmaClient(api_key=KEY, default_headers=headers)


def test_the_key_and_its_header_show_redacted_in_any_repr() -> None:
    alma = make_client(Script())
    assert_keyless(repr(vars(alma)))
    assert_keyless(repr(alma._config))
    assert repr(alma._config.api_key) == "'<redacted>'"
    assert str(alma._config.api_key) == KEY  # still the key where it is sent


# --- the key never leaves the header: nothing reachable holds it --------------------------------------


def reachable(root: object, limit: int = 50_000) -> list[object]:
    """Every object reachable from ``root`` through attributes, slots, containers, closures and
    exception links (not through tracebacks: frames hold whatever the code had in hand)."""
    seen: set[int] = set()
    found: list[object] = []
    stack: list[object] = [root]
    while stack and len(found) < limit:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        found.append(obj)
        if isinstance(obj, str | bytes | int | float | type | types.ModuleType | types.CodeType):
            continue
        children: list[object] = []
        if isinstance(obj, dict):
            children += [*obj.keys(), *obj.values()]
        elif isinstance(obj, list | tuple | set | frozenset | deque):
            children += list(obj)
        if isinstance(obj, BaseException):
            children += [obj.__cause__, obj.__context__, *obj.args]
        if isinstance(obj, types.FunctionType):
            for cell in obj.__closure__ or ():
                with contextlib.suppress(ValueError):
                    children.append(cell.cell_contents)
        if isinstance(obj, types.MethodType):
            children += [obj.__self__, obj.__func__]
        if isinstance(obj, functools.partial):
            children += [obj.func, *obj.args, *obj.keywords.values()]
        if isinstance(obj, httpx.Headers):
            children += list(obj.raw)
        attributes = getattr(obj, "__dict__", None)
        if isinstance(attributes, dict):
            children.append(attributes)
        for cls in type(obj).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if isinstance(slot, str) and not slot.startswith("__"):
                    with contextlib.suppress(AttributeError):
                        children.append(getattr(obj, slot))
        stack.extend(children)
    return found


def assert_nothing_reachable_holds_the_key(root: object) -> None:
    objects = reachable(root)
    assert len(objects) > 10
    for obj in objects:
        if isinstance(obj, Secret):  # the one holder, and it never shows itself
            assert KEY not in repr(obj)
            continue
        if isinstance(obj, str):
            assert KEY[4:] not in obj, f"a {type(obj).__name__} reachable from {type(root).__name__} holds the key"
        elif isinstance(obj, bytes):
            assert KEY[4:].encode() not in obj, f"bytes reachable from {type(root).__name__} hold the key"


def quiet_alma(*answers: httpx.Response | Exception) -> AlmaClient:
    """A client whose transport keeps nothing it is sent (the test's Script records requests)."""
    queue = deque(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        reply = queue.popleft() if queue else ok(USER)
        if isinstance(reply, Exception):
            raise reply
        return reply

    return AlmaClient(api_key=KEY, transport=httpx.MockTransport(answer), rate_limit=None, sleep=lambda s: None)


ECHO = httpx.Response(400, content=f"<pre>Authorization: apikey {KEY}</pre>".encode())
ERRORS: dict[str, tuple[list[httpx.Response | Exception], Callable[[AlmaClient], Any]]] = {
    "connect error": ([httpx.ConnectError("refused")] * 4, lambda a: a.users.get("jdoe")),
    "read timeout": ([httpx.ReadTimeout("slow")] * 4, lambda a: a.users.get("jdoe")),
    "not found": ([not_found()], lambda a: a.users.get("jdoe")),
    "daily": ([daily()], lambda a: a.users.get("jdoe")),
    "html 502": ([httpx.Response(502, content=b"<html>gateway</html>")] * 4, lambda a: a.users.get("jdoe")),
    "unreadable": ([httpx.Response(200, content=b"<html/>")], lambda a: a.users.get("jdoe")),
    "outcome unknown": ([httpx.ReadTimeout("slow")] * 8, lambda a: a.users.create(USER)),
    "someone else": ([httpx.ReadTimeout("slow"), ok(OTHER)], lambda a: a.users.create(USER)),
    "echoing proxy": ([ECHO], lambda a: a.users.get("x")),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_nothing_reachable_from_an_error_holds_the_key(name: str) -> None:
    answers, call = ERRORS[name]
    with pytest.raises(AlmaError) as info:
        call(quiet_alma(*answers))
    assert_error_keyless(info.value)
    # No link back to httpx's exception, which holds the request and its headers.
    chained = [e for e in reachable(info.value) if isinstance(e, BaseException)]
    assert not any(isinstance(e, httpx.HTTPError) for e in chained), chained
    assert_nothing_reachable_holds_the_key(info.value)


def test_nothing_reachable_from_a_client_holds_the_key_but_the_key_itself() -> None:
    alma = quiet_alma()
    alma.users.get("jdoe")
    assert any(isinstance(obj, Secret) for obj in reachable(alma)), "the walk reaches where the key is kept"
    assert_nothing_reachable_holds_the_key(alma)
    assert_nothing_reachable_holds_the_key(alma.with_options(max_retries=0))


def test_nothing_reachable_from_a_page_or_a_raw_response_holds_the_key() -> None:
    alma = quiet_alma(ok({"user": [USER], "total_record_count": 1}))
    page = alma.users.list(limit=1)
    for obj in (page, page.items[0], page.envelope):
        assert_nothing_reachable_holds_the_key(obj)
    raw = alma.users.with_raw_response.get("jdoe")
    assert "authorization" not in raw.http_response.request.headers
    assert raw.http_response.request.url.path == "/almaws/v1/users/jdoe"
    assert_nothing_reachable_holds_the_key(raw)
