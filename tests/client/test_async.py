"""``AsyncAlmaClient`` behaves like ``AlmaClient``: requests, errors, retries, create recovery, edit."""

from __future__ import annotations

import copy
import logging

import httpx
import pytest

from alma_onelink import (
    AlmaError,
    AlreadyExistsError,
    APIConnectionError,
    APITimeoutError,
    AsyncAlmaClient,
    DailyThresholdExceeded,
    InputError,
    InternalServerError,
    NotFoundError,
    TokenBucket,
    __version__,
)
from alma_onelink.models import Loan, User
from tests.client.conftest import (
    KEY,
    AsyncSleeps,
    FakeClock,
    Script,
    alma_error,
    body_of,
    daily,
    example,
    make_async_client,
    not_found,
    ok,
    params_of,
    path_of,
    per_second,
    user_json,
    xml_error,
)

USER = user_json("jdoe", "Jane", "Doe")


def echo(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=request.content, headers={"Content-Type": "application/json"})


async def test_get_sends_the_same_request_as_the_sync_client() -> None:
    script = Script(ok(USER, remaining=55))
    async with make_async_client(script) as alma:
        user = await alma.users.get("u0001#x/y?z", user_id_type="BARCODE", expand=["loans"])
        assert isinstance(user, User)
        assert alma.remaining_daily_calls == 55
    request = script.last
    assert path_of(request) == b"/almaws/v1/users/u0001%23x%2Fy%3Fz"
    assert params_of(request) == {"user_id_type": "BARCODE", "expand": "loans"}
    assert request.headers["Authorization"] == f"apikey {KEY}"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"] == f"alma-onelink/{__version__}"
    assert KEY not in str(request.url)


async def test_blank_id_is_rejected_before_any_request() -> None:
    script = Script()
    async with make_async_client(script) as alma:
        with pytest.raises(InputError):
            await alma.users.get("  ")
        with pytest.raises(InputError):
            await alma.users.delete("")
        with pytest.raises(InputError):
            await alma.users.create({"first_name": "No id"})
    assert script.requests == []


async def test_typed_errors() -> None:
    script = Script(not_found(), xml_error(400, "401851", "Exists."), daily())
    async with make_async_client(script) as alma:
        with pytest.raises(NotFoundError) as info:
            await alma.users.get("jdoe")
        assert (info.value.method, info.value.path, info.value.code) == ("GET", "/almaws/v1/users/jdoe", "401861")
        with pytest.raises(AlreadyExistsError):
            await alma.users.get("jdoe")
        with pytest.raises(DailyThresholdExceeded):
            await alma.users.get("jdoe")
    assert len(script.requests) == 3  # nothing retried


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (httpx.ConnectError("refused"), APIConnectionError),
        (httpx.ReadTimeout("slow"), APITimeoutError),
        (httpx.RemoteProtocolError("disconnected"), APIConnectionError),
    ],
)
async def test_transport_errors_become_ours_after_the_last_try(exc: Exception, cls: type[AlmaError]) -> None:
    script = Script(default=exc)
    sleeps = AsyncSleeps()
    async with make_async_client(script, max_retries=2, sleep=sleeps) as alma:
        with pytest.raises(cls) as info:
            await alma.users.get("jdoe")
    assert not isinstance(info.value, httpx.HTTPError)
    assert len(script.requests) == 3
    assert len(sleeps.waits) == 2


async def test_retries_with_backoff_on_the_fake_sleep() -> None:
    script = Script(default=httpx.Response(503))
    sleeps = AsyncSleeps()
    async with make_async_client(script, max_retries=5, sleep=sleeps) as alma:
        with pytest.raises(InternalServerError):
            await alma.users.get("jdoe")
    assert len(script.requests) == 6
    for wait, base in zip(sleeps.waits, [0.5, 1, 2, 4, 8], strict=True):
        assert base * 0.75 <= wait <= base


async def test_retry_after_is_obeyed() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "120"}, content=per_second().content), ok(USER))
    sleeps = AsyncSleeps()
    async with make_async_client(script, sleep=sleeps) as alma:
        await alma.users.get("jdoe")
    assert sleeps.waits == [60.0]


async def test_per_second_429_slows_the_shared_limiter() -> None:
    bucket = TokenBucket(25, clock=FakeClock())
    script = Script(per_second(), ok(USER))
    async with make_async_client(script, rate_limiter=bucket) as alma:
        await alma.users.create(USER)
    assert script.methods == ["POST", "POST"]
    assert 12.5 <= bucket.current_rate() < 14  # halved, climbing back since the retry's brief pause


async def test_post_is_not_retried_on_timeout_but_looked_up() -> None:
    script = Script(httpx.ReadTimeout("slow"), ok(USER))
    async with make_async_client(script) as alma:
        user = await alma.users.create(USER)
    assert script.calls == [("POST", "/users"), ("GET", "/users/jdoe")]
    assert user.primary_id == "jdoe"


async def test_create_not_applied_is_sent_exactly_once_more() -> None:
    script = Script(httpx.Response(500), not_found(), echo)
    sleeps = AsyncSleeps()
    async with make_async_client(script, sleep=sleeps) as alma:
        user = await alma.users.create(USER)
    assert script.methods == ["POST", "GET", "POST"]
    assert body_of(script.requests[0]) == body_of(script.requests[2])
    assert user.first_name == "Jane"
    assert len(sleeps.waits) == 1


async def test_create_found_with_other_names_is_already_exists() -> None:
    script = Script(httpx.RemoteProtocolError("gone"), ok(user_json("jdoe", "John", "Smith")))
    async with make_async_client(script) as alma:
        with pytest.raises(AlreadyExistsError):
            await alma.users.create(USER)
    assert script.methods == ["POST", "GET"]


async def test_edit_puts_back_everything_plus_the_change() -> None:
    original = example("user_full_external_pulibrary_bbird.json")
    script = Script(ok(copy.deepcopy(original)), echo)
    async with make_async_client(script) as alma:
        editing = alma.users.edit("100000000")
        async with editing as user:
            user.first_name = "Large"
    assert script.methods == ["GET", "PUT"]
    assert body_of(script.last) == {**original, "first_name": "Large"}
    assert editing.saved is not None
    assert editing.saved.first_name == "Large"


async def test_edit_without_change_or_with_an_error_sends_nothing() -> None:
    script = Script(ok(USER), ok(USER))
    async with make_async_client(script) as alma:
        async with alma.users.edit("jdoe"):
            pass
        editing = alma.users.edit("jdoe")

        async def change_then_fail() -> None:
            async with editing as user:
                user.first_name = "Changed"
                raise KeyError("oops")

        with pytest.raises(KeyError):
            await change_then_fail()
        assert editing.saved is None
    assert script.methods == ["GET", "GET"]


async def test_update_delete_loans_fees_test() -> None:
    script = Script(
        echo,
        httpx.Response(204),
        ok(example("scriptotek_loans_response.json")),
        ok(example("scriptotek_fees_response.json")),
        ok({}),
    )
    async with make_async_client(script) as alma:
        updated = await alma.users.update("jdoe", USER, override="user_group")
        assert updated.primary_id == "jdoe"
        assert await alma.users.delete("jdoe") is None  # type: ignore[func-returns-value]
        loans = await (await alma.users.loans("jdoe")).to_list()
        assert all(isinstance(loan, Loan) for loan in loans)
        fees = await alma.users.fees("jdoe")
        assert fees.envelope.total_sum == 750
        await alma.users.test(write=True)
    assert script.methods == ["PUT", "DELETE", "GET", "GET", "POST"]


async def test_retries_are_logged_without_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(httpx.Response(502), ok(USER))
    async with make_async_client(script) as alma:
        await alma.users.get("jdoe")
    warnings = [r.getMessage() for r in caplog.records if r.name == "alma_onelink" and r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "HTTP 502" in warnings[0]
    assert all(KEY not in r.getMessage() for r in caplog.records)


async def test_bad_options_are_rejected() -> None:
    with pytest.raises(InputError, match="max_retries"):
        AsyncAlmaClient(api_key=KEY, max_retries=-1)
    with pytest.raises(InputError, match="rate_limit"):
        AsyncAlmaClient(api_key=KEY, rate_limit=0)
    with pytest.raises(InputError, match="timeout"):
        AsyncAlmaClient(api_key=KEY, timeout=-2)


async def test_error_responses_update_remaining_calls() -> None:
    script = Script(alma_error(400, "401861", "Nope.", **{"X-Exl-Api-Remaining": "31"}))
    async with make_async_client(script) as alma:
        with pytest.raises(NotFoundError):
            await alma.users.get("jdoe")
        assert alma.remaining_daily_calls == 31
