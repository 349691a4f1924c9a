"""Retries that cannot do harm: what is retried, how often, how long the client waits, what it logs.

Also the create whose answer was lost: the client checks whether it took effect before sending it again.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from alma_onelink import (
    AlmaClient,
    AlreadyExistsError,
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    DailyThresholdExceeded,
    InputError,
    InternalServerError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    TokenBucket,
)
from alma_onelink._base import RequestSpec, parse_nothing
from alma_onelink.models import User
from tests.client.conftest import (
    KEY,
    FakeClock,
    Script,
    Sleeps,
    alma_error,
    body_of,
    daily,
    make_client,
    not_found,
    ok,
    params_of,
    per_second,
    user_json,
)

USER = user_json("jdoe", "Jane", "Doe")
NEW_USER = {**USER}


def post_spec(**options: Any) -> RequestSpec[None]:
    """A plain, non-idempotent POST (a fee payment, say): the retry layer's own view of a write."""
    return RequestSpec("POST", "/users/jdoe/fees/all", parse_nothing, params={"op": "pay"}, **options)


def read_timeout() -> httpx.ReadTimeout:
    return httpx.ReadTimeout("The read operation timed out")


def connect_error() -> httpx.ConnectError:
    return httpx.ConnectError("[Errno 111] Connection refused")


def disconnected() -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError("Server disconnected without sending a response.")


# --- what is retried -------------------------------------------------------------------------------


def test_per_second_429_is_retried_on_get() -> None:
    script = Script(per_second(), ok(USER))
    user = make_client(script).users.get("jdoe")
    assert user.primary_id == "jdoe"
    assert script.methods == ["GET", "GET"]


def test_per_second_429_is_retried_on_post() -> None:
    script = Script(per_second(), per_second(), ok(USER))
    user = make_client(script).users.create(NEW_USER)
    assert user.primary_id == "jdoe"
    assert script.methods == ["POST", "POST", "POST"]


def test_per_second_429_is_retried_on_a_plain_post() -> None:
    script = Script(per_second(), ok({}))
    make_client(script)._request(post_spec())
    assert script.methods == ["POST", "POST"]


@pytest.mark.parametrize(
    "call",
    [
        lambda a: a.users.get("jdoe"),
        lambda a: a.users.update("jdoe", USER),
        lambda a: a.users.delete("jdoe"),
        lambda a: a.users.create(NEW_USER),
        lambda a: a._request(post_spec()),
    ],
    ids=["GET", "PUT", "DELETE", "create", "POST"],
)
def test_connection_refused_is_retried_on_any_method(call: Callable[[AlmaClient], Any]) -> None:
    script = Script(connect_error(), httpx.ConnectTimeout("connect timed out"), ok(USER))
    call(make_client(script))
    assert len(script.requests) == 3
    assert len(set(script.methods)) == 1


LOST: list[Callable[[], Any]] = [
    read_timeout,
    disconnected,
    lambda: httpx.Response(500),
    lambda: httpx.Response(503),
    lambda: httpx.Response(408),
]
LOST_IDS = ["ReadTimeout", "RemoteProtocolError", "500", "503", "408"]
CALLS: list[Callable[[AlmaClient], Any]] = [
    lambda a: a.users.get("jdoe"),
    lambda a: a.users.update("jdoe", USER),
    lambda a: a.users.delete("jdoe"),
]


@pytest.mark.parametrize("failure", LOST, ids=LOST_IDS)
def test_timeouts_and_server_errors_are_retried_on_a_read(failure: Callable[[], Any]) -> None:
    script = Script(failure(), failure(), ok(USER))
    make_client(script).users.get("jdoe")
    assert script.methods == ["GET", "GET", "GET"]


@pytest.mark.parametrize("failure", LOST, ids=LOST_IDS)
def test_a_put_whose_answer_was_lost_is_read_back_not_replayed(failure: Callable[[], Any]) -> None:
    script = Script(failure(), ok(USER))  # the read-back finds the record as sent: the PUT took effect
    saved = make_client(script).users.update("jdoe", USER)
    assert script.methods == ["PUT", "GET"]
    assert saved.primary_id == "jdoe"


@pytest.mark.parametrize("failure", LOST, ids=LOST_IDS)
def test_a_delete_whose_answer_was_lost_is_read_back_not_replayed(failure: Callable[[], Any]) -> None:
    script = Script(failure(), not_found())  # gone: the DELETE took effect
    make_client(script).users.delete("jdoe")
    assert script.methods == ["DELETE", "GET"]


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (read_timeout, APITimeoutError),
        (disconnected, APIConnectionError),
        (lambda: httpx.Response(500), InternalServerError),
        (lambda: httpx.Response(408), BadRequestError),
    ],
    ids=["ReadTimeout", "RemoteProtocolError", "500", "408"],
)
def test_timeouts_and_server_errors_are_not_retried_on_post(failure: Callable[[], Any], error: type[Exception]) -> None:
    script = Script(failure(), default=ok({}))
    with pytest.raises(error):
        make_client(script, max_retries=5)._request(post_spec())
    assert script.methods == ["POST"]


def test_daily_threshold_is_never_retried() -> None:
    script = Script(daily(), default=ok(USER))
    sleeps = Sleeps()
    with pytest.raises(DailyThresholdExceeded):
        make_client(script, max_retries=5, sleep=sleeps).users.get("jdoe")
    assert len(script.requests) == 1
    assert sleeps.waits == []


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (not_found(), NotFoundError),
        (alma_error(400, "401890", "Not of that type."), NotFoundError),
        (alma_error(400, "401851", "Exists."), AlreadyExistsError),
        (alma_error(400, "401664", "Mandatory field is missing: library"), BadRequestError),
        (alma_error(400, "UNAUTHORIZED", "API-key not defined."), AuthenticationError),
        (httpx.Response(401), AuthenticationError),
        (httpx.Response(403), PermissionDeniedError),
        (httpx.Response(404), NotFoundError),
    ],
)
@pytest.mark.parametrize("call", CALLS, ids=["GET", "PUT", "DELETE"])
def test_business_errors_are_never_retried(
    call: Callable[[AlmaClient], Any], reply: httpx.Response, error: type[Exception]
) -> None:
    script = Script(reply, default=ok(USER))
    with pytest.raises(error):
        call(make_client(script, max_retries=5))
    assert len(script.requests) == 1


# --- how often -------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_retries", [0, 1, 3, 5])
def test_client_max_retries_bounds_the_tries(max_retries: int) -> None:
    script = Script(default=httpx.Response(503))
    with pytest.raises(InternalServerError):
        make_client(script, max_retries=max_retries).users.get("jdoe")
    assert len(script.requests) == max_retries + 1


def test_default_is_three_retries() -> None:
    script = Script(default=per_second())
    with pytest.raises(RateLimitError):
        make_client(script).users.get("jdoe")
    assert len(script.requests) == 4


@pytest.mark.parametrize(("client_retries", "call_retries", "expected"), [(3, 0, 1), (0, 2, 3), (5, 1, 2)])
def test_per_call_max_retries_overrides_the_client(client_retries: int, call_retries: int, expected: int) -> None:
    script = Script(default=httpx.Response(502))
    with pytest.raises(InternalServerError):
        make_client(script, max_retries=client_retries).users.get("jdoe", max_retries=call_retries)
    assert len(script.requests) == expected


def test_per_call_max_retries_zero_on_every_method() -> None:
    script = Script(default=per_second())
    alma = make_client(script, max_retries=5)
    calls: list[Callable[[], Any]] = [
        lambda: alma.users.get("jdoe", max_retries=0),
        lambda: alma.users.update("jdoe", USER, max_retries=0),
        lambda: alma.users.delete("jdoe", max_retries=0),
        lambda: alma.users.create(NEW_USER, max_retries=0),
        lambda: alma.users.list(max_retries=0),
        lambda: alma.users.loans("jdoe", max_retries=0),
        lambda: alma.users.requests("jdoe", max_retries=0),
        lambda: alma.users.fees("jdoe", max_retries=0),
        lambda: alma.users.test(max_retries=0),
    ]
    for number, call in enumerate(calls, start=1):
        with pytest.raises(RateLimitError):
            call()
        assert len(script.requests) == number


@pytest.mark.parametrize("max_retries", [-1, 1.5, "2", True])
def test_bad_per_call_max_retries_is_rejected_before_any_request(max_retries: Any) -> None:
    script = Script(default=httpx.Response(503))
    with pytest.raises(InputError, match="max_retries"):
        make_client(script).users.get("jdoe", max_retries=max_retries)
    assert script.requests == []


@pytest.mark.parametrize("timeout", [0, -1])
def test_bad_per_call_timeout_is_rejected_before_any_request(timeout: float) -> None:
    script = Script(default=ok(USER))
    with pytest.raises(InputError, match="timeout"):
        make_client(script).users.get("jdoe", timeout=timeout)
    assert script.requests == []


def test_later_pages_use_the_per_call_max_retries() -> None:
    first = ok({"user": [{"primary_id": f"u{i}"} for i in range(100)], "total_record_count": 150})
    script = Script(first, default=httpx.Response(503))
    page = make_client(script, max_retries=5).users.list(max_retries=1)
    with pytest.raises(InternalServerError):
        page.get_next_page()
    assert len(script.requests) == 1 + 2


# --- how long -------------------------------------------------------------------------------------------


def test_backoff_doubles_from_half_a_second_capped_at_eight_with_jitter() -> None:
    script = Script(default=httpx.Response(503))
    sleeps = Sleeps()
    with pytest.raises(InternalServerError):
        make_client(script, max_retries=7, sleep=sleeps).users.get("jdoe")
    bases = [0.5, 1, 2, 4, 8, 8, 8]
    assert len(sleeps.waits) == len(bases)
    for wait, base in zip(sleeps.waits, bases, strict=True):
        assert base * 0.75 <= wait <= base


def test_backoff_jitter_varies() -> None:
    waits: list[float] = []
    for _ in range(10):
        script = Script(httpx.Response(503), ok(USER))
        sleeps = Sleeps()
        make_client(script, sleep=sleeps).users.get("jdoe")
        waits.extend(sleeps.waits)
    assert all(0.375 <= w <= 0.5 for w in waits)
    assert len(set(waits)) > 1


@pytest.mark.parametrize(("header", "expected"), [("3", 3.0), ("0", 0.0), ("1.5", 1.5), ("120", 60.0)])
def test_retry_after_seconds_is_obeyed_and_capped(header: str, expected: float) -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": header}, content=per_second().content), ok(USER))
    sleeps = Sleeps()
    make_client(script, sleep=sleeps).users.get("jdoe")
    assert sleeps.waits == [expected]


def test_retry_after_on_a_503() -> None:
    script = Script(httpx.Response(503, headers={"Retry-After": "7"}), ok(USER))
    sleeps = Sleeps()
    make_client(script, sleep=sleeps).users.get("jdoe")
    assert sleeps.waits == [7.0]


def test_retry_after_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    script = Script(httpx.Response(429, headers={"Retry-After": when}, content=per_second().content), ok(USER))
    sleeps = Sleeps()
    make_client(script, sleep=sleeps).users.get("jdoe")
    assert len(sleeps.waits) == 1
    assert 27.0 <= sleeps.waits[0] <= 30.0


def test_retry_after_http_date_in_the_past_means_now() -> None:
    when = email.utils.formatdate(time.time() - 3600, usegmt=True)
    script = Script(httpx.Response(503, headers={"Retry-After": when}), ok(USER))
    sleeps = Sleeps()
    make_client(script, sleep=sleeps).users.get("jdoe")
    assert sleeps.waits == [0.0]


def test_unreadable_retry_after_falls_back_to_backoff() -> None:
    script = Script(httpx.Response(503, headers={"Retry-After": "soon-ish"}), ok(USER))
    sleeps = Sleeps()
    make_client(script, sleep=sleeps).users.get("jdoe")
    assert len(sleeps.waits) == 1
    assert 0.375 <= sleeps.waits[0] <= 0.5


# --- the rate limiter reacts to 429 --------------------------------------------------------------------


def test_rate_limiter_slows_down_after_a_429_and_recovers() -> None:
    clock = FakeClock()
    bucket = TokenBucket(25, clock=clock)
    script = Script(per_second(), default=ok(USER))
    alma = make_client(script, rate_limiter=bucket)
    assert bucket.current_rate() == 25
    alma.users.get("jdoe")
    assert 12.5 <= bucket.current_rate() < 14  # halved, climbing back since the retry's brief pause
    clock.advance(0.5)
    assert 14 < bucket.current_rate() < 25
    clock.advance(60)
    assert bucket.current_rate() == 25


def test_each_429_slows_down_further() -> None:
    bucket = TokenBucket(25, clock=FakeClock())
    script = Script(per_second(), per_second(), default=ok(USER))
    make_client(script, rate_limiter=bucket).users.get("jdoe")
    assert bucket.current_rate() < 12.5  # the retry went out after the first cut and was refused too


def test_slowed_limiter_is_back_to_full_speed_after_a_quiet_spell() -> None:
    clock = FakeClock()
    bucket = TokenBucket(25, clock=clock)
    sleeps = Sleeps()
    script = Script(per_second(), default=ok(USER))
    alma = make_client(script, rate_limiter=bucket, sleep=sleeps)
    alma.users.get("jdoe")  # 429 then success; the rate is halved
    assert sum(sleeps.waits) > 0  # the retry waited for the limiter's pause
    sleeps.waits.clear()
    clock.advance(100)  # long quiet spell: the rate is back to 25, a whole window may go at once
    for _ in range(25):
        alma.users.get("jdoe")
    assert sleeps.waits == []


def test_a_429_slows_the_limiter_even_without_retries() -> None:
    """The bucket is shared: a caller that does not retry must still make the others slow down."""
    bucket = TokenBucket(25, clock=FakeClock())
    alma = make_client(Script(per_second(), per_second()), rate_limiter=bucket, max_retries=3)
    with pytest.raises(RateLimitError):
        alma.users.get("jdoe", max_retries=0)
    assert bucket.current_rate() == pytest.approx(12.5)
    with pytest.raises(RateLimitError):
        alma.with_options(max_retries=0).users.get("jdoe")  # sent after the cut, refused: cut again
    assert bucket.current_rate() < 12.5


def test_daily_threshold_does_not_slow_the_limiter() -> None:
    bucket = TokenBucket(25, clock=FakeClock())
    with pytest.raises(DailyThresholdExceeded):
        make_client(Script(daily()), rate_limiter=bucket).users.get("jdoe")
    assert bucket.current_rate() == 25


# --- logging -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (lambda: httpx.Response(500), "HTTP 500"),
        (per_second, "PER_SECOND_THRESHOLD"),
        (connect_error, "could not connect"),
        (read_timeout, "timed out"),
        (disconnected, "connection lost"),
    ],
    ids=["500", "429", "connect", "timeout", "disconnect"],
)
def test_each_retry_is_logged_with_its_reason_and_without_the_key(
    caplog: pytest.LogCaptureFixture, failure: Callable[[], Any], reason: str
) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(failure(), failure(), ok(USER))
    make_client(script).users.get("jdoe")
    retries = [r for r in caplog.records if r.name == "alma_onelink" and "etry" in r.getMessage()]
    assert len(retries) == 2
    for number, record in enumerate(retries, start=1):
        message = record.getMessage()
        assert record.levelno >= logging.INFO
        assert reason in message
        assert "GET" in message
        assert "jdoe" in message
        assert f"{number} of 3" in message
    for record in caplog.records:
        assert KEY not in record.getMessage()


def test_nothing_is_logged_as_a_retry_without_a_retry(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="alma_onelink")
    make_client(Script(ok(USER))).users.get("jdoe")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# --- retries_taken ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("failures", [0, 1, 3])
def test_raw_response_counts_retries(failures: int) -> None:
    script = Script(*[httpx.Response(503) for _ in range(failures)], ok(USER))
    raw = make_client(script).users.with_raw_response.get("jdoe")
    assert raw.retries_taken == failures
    assert raw.status_code == 200


# --- a create whose answer was lost ---------------------------------------------------------------------

LOST_ANSWERS: dict[str, Callable[[], Any]] = {
    "read timeout": read_timeout,
    "500": lambda: httpx.Response(500),
    "502 html": lambda: httpx.Response(502, content=b"<html>Bad Gateway</html>"),
    "408": lambda: httpx.Response(408),
    "disconnected after sending": disconnected,
    "read error": lambda: httpx.ReadError("Connection reset by peer"),
}


@pytest.mark.parametrize("lost", list(LOST_ANSWERS.values()), ids=list(LOST_ANSWERS))
def test_create_that_took_effect_is_returned_without_a_second_post(lost: Callable[[], Any]) -> None:
    script = Script(lost(), ok(user_json("jdoe", "Jane", "Doe", link="from-get")))
    user = make_client(script).users.create(NEW_USER)
    assert script.calls == [("POST", "/users"), ("GET", "/users/jdoe")]
    assert user.primary_id == "jdoe"
    assert user.link == "from-get"


@pytest.mark.parametrize("lost", list(LOST_ANSWERS.values()), ids=list(LOST_ANSWERS))
def test_create_that_did_not_take_effect_is_sent_exactly_once_more(lost: Callable[[], Any]) -> None:
    sleeps = Sleeps()
    script = Script(lost(), not_found(), ok(user_json("jdoe", "Jane", "Doe", link="from-post")))
    user = make_client(script, sleep=sleeps).users.create(NEW_USER)
    assert script.calls == [("POST", "/users"), ("GET", "/users/jdoe"), ("POST", "/users")]
    assert body_of(script.requests[2]) == body_of(script.requests[0])
    assert user.link == "from-post"
    assert len(sleeps.waits) == 1  # backed off before sending again


def test_create_found_with_other_names_is_already_exists() -> None:
    script = Script(read_timeout(), ok(user_json("jdoe", "Someone", "Else")))
    with pytest.raises(AlreadyExistsError) as info:
        make_client(script).users.create(NEW_USER)
    assert script.methods == ["POST", "GET"]
    assert info.value.code == "401851"
    assert "jdoe" in str(info.value)


def test_create_found_as_alma_normalises_it_is_ours() -> None:
    # Alma trims text, fills desc and links, spells codes as its tables do: still the record sent.
    found = user_json(
        "jdoe", " Jane ", "Doe", link="x", full_name="Jane Doe", user_group={"value": "alum", "desc": "A"}
    )
    script = Script(httpx.Response(500), ok(found))
    user = make_client(script).users.create(NEW_USER)
    assert script.methods == ["POST", "GET"]
    assert user.primary_id == "jdoe"


@pytest.mark.parametrize(
    "found",
    [
        user_json("jdoe", "JANE", "DOE"),  # names in another case: another record
        user_json("JDOE", "Jane", "Doe"),  # the id in another case: another user's id
        user_json("jdoe", "Jane", "Doe", user_group={"value": "STAFF"}),
        user_json("jdoe", "Jane", "Doe", account_type={"value": "EXTERNAL"}),
    ],
    ids=["names' case", "id's case", "group", "account type"],
)
def test_create_never_returns_a_record_that_differs_from_the_one_sent(found: dict[str, Any]) -> None:
    script = Script(httpx.Response(500), ok(found))
    with pytest.raises(AlreadyExistsError):
        make_client(script).users.create(NEW_USER)
    assert script.methods == ["POST", "GET"]


def test_create_lookup_asks_for_the_primary_id_only() -> None:
    script = Script(httpx.Response(500), ok(USER))
    make_client(script).users.create(NEW_USER, send_pin_number_letter=True)
    assert params_of(script.requests[1]) == {}
    assert script.requests[1].content == b""


def test_create_is_never_replayed_blindly_even_when_it_keeps_failing() -> None:
    script = Script(read_timeout(), not_found(), read_timeout(), not_found(), read_timeout(), not_found())
    with pytest.raises(APITimeoutError):
        make_client(script, max_retries=2).users.create(NEW_USER)
    # The last try is read back too: the timeout is raised only once the create is known not to be there.
    assert script.methods == ["POST", "GET", "POST", "GET", "POST", "GET"]
    for before, after in zip(script.methods, script.methods[1:], strict=False):
        assert (before, after) != ("POST", "POST")


def test_create_with_max_retries_zero_sends_one_post_and_reads_it_back() -> None:
    script = Script(httpx.Response(500), not_found())
    with pytest.raises(InternalServerError):
        make_client(script).users.create(NEW_USER, max_retries=0)
    assert script.methods == ["POST", "GET"]


def test_create_with_max_retries_zero_that_took_effect_returns_it() -> None:
    script = Script(httpx.Response(500), ok(USER))
    assert make_client(script).users.create(NEW_USER, max_retries=0).primary_id == "jdoe"
    assert script.methods == ["POST", "GET"]


def test_create_rejected_by_alma_is_not_looked_up() -> None:
    script = Script(alma_error(400, "401851", "User with identifier jdoe of type X already exists."))
    with pytest.raises(AlreadyExistsError):
        make_client(script).users.create(NEW_USER)
    assert script.methods == ["POST"]


def test_create_daily_threshold_is_not_looked_up_or_retried() -> None:
    script = Script(daily())
    with pytest.raises(DailyThresholdExceeded):
        make_client(script).users.create(NEW_USER)
    assert script.methods == ["POST"]


def test_create_lookup_failure_is_reported_as_outcome_unknown() -> None:
    # The create's answer was lost and the check failed too: neither "created" nor "refused" would be true.
    script = Script(read_timeout(), default=httpx.Response(503))
    with pytest.raises(OutcomeUnknownError) as caught:
        make_client(script, max_retries=1).users.create(NEW_USER)
    assert (caught.value.write, caught.value.target) == ("create", "jdoe")
    assert "may or may not have taken effect" in str(caught.value)
    assert "alma.users.get('jdoe')" in str(caught.value)
    assert isinstance(caught.value, APIConnectionError)
    assert script.methods[0] == "POST"
    assert "POST" not in script.methods[1:]


def test_create_recovery_is_logged_without_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(read_timeout(), not_found(), ok(USER))
    make_client(script).users.create(User.from_alma(NEW_USER))
    assert any("jdoe" in r.getMessage() for r in caplog.records if r.name == "alma_onelink")
    assert all(KEY not in r.getMessage() for r in caplog.records)
