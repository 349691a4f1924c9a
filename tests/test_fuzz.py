"""Only the SDK's own errors escape a public call: a hypothesis fuzz of every public method.

Each example builds a client on a transport whose every answer is drawn at random (any status,
quota and retry headers in any script, charsets that are no charset, bodies that are HTML, XML,
truncated, empty, nested 300 deep or full of NaN, and every kind of transport failure), then calls
one public method with arguments drawn at random too (lone surrogates, control characters, numbers
where text belongs, ``None``). Whatever happens, what comes out is a value or an `AlmaError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import httpx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from alma_onelink import AlmaClient, AlmaError, AsyncAlmaClient, RawResponse
from alma_onelink.models import Fee, User, UserBlock, UserNote

USER = {
    "primary_id": "jdoe",
    "first_name": "Jane",
    "last_name": "Doe",
    "record_type": {"value": "PUBLIC"},
    "account_type": {"value": "INTERNAL"},
    "status": {"value": "ACTIVE"},
}

# --- what the server answers ------------------------------------------------------------------------

TEXT = st.text(max_size=40)
NASTY_TEXT = st.one_of(
    TEXT,
    st.sampled_from(["\ud800", "a\udcffb", "\x00", "\r\n", "²", "١٢", "no primary id (123)", " ", "", "x" * 300]),
)
HEADER_VALUE = st.one_of(
    st.binary(max_size=20).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    st.sampled_from([b"0", b"12", b"-1", b"\xc2\xb2", b"1e999", b"nan", b"Wed, 21 Oct 2015 07:28:00 GMT", b"99999999"]),
)
CONTENT_TYPE = st.sampled_from(
    [
        b"application/json",
        b"application/json; charset=utf-8",
        b"text/html; charset=utf-8",
        b"application/xml",
        b"text/plain; charset=idna",
        b"text/plain; charset=rot13",
        b"application/json; charset=bogus",
        b"",
    ]
)


def _deep(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


BODIES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"",
            json.dumps(USER).encode(),
            json.dumps(USER).encode()[:40],
            json.dumps({"user": [USER, {**USER, "primary_id": "x"}], "total_record_count": 5}).encode(),
            b'{"total_record_count": -1}',
            b'{"total_record_count": "1e999", "user": null}',
            b'{"user": {"primary_id": "no primary id (1)"}, "total_record_count": 1}',
            b'{"fee": [{"id": "1", "balance": NaN, "original_amount": "1e999"}], "total_sum": "NaN"}',
            b'{"item_loan": [{"loan_id": "1", "due_date": 1515127767349}], "total_record_count": 1}',
            b'{"user_request": {"request_id": "9", "request_date": "2024-01-01+02:00"}}',
            b'{"primary_id": "jdoe", "birth_date": "31/12/2020", "user_role": "x"}',
            b"<html><body>Request Rejected. Your support ID is: 123</body></html>",
            b"<?xml version='1.0'?><web_service_result><errorList><error><errorCode>401861</errorCode>"
            b"<errorMessage>nope</errorMessage></error></errorList><trackingId>T</trackingId></web_service_result>",
            b'{"errorsExist":true,"errorList":{"error":{"errorCode":402119,"errorMessage":"General error."}}}',
            b'{"errorList":{"error":[{"errorCode":"PER_SECOND_THRESHOLD"}]}}',
            b'{"errorList":{"error":[{"errorCode":"DAILY_THRESHOLD"}]}}',
            _deep(300),
            b"[" * 1000,
            b"\xff\xfe\x00",
        ]
    ),
)
STATUS = st.sampled_from([200, 200, 200, 201, 204, 100, 302, 400, 401, 403, 404, 408, 409, 429, 500, 502, 503, 599])
FAILURES = st.sampled_from(
    [
        httpx.ConnectError,
        httpx.ConnectTimeout,
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.PoolTimeout,
        httpx.ReadError,
        httpx.WriteError,
        httpx.RemoteProtocolError,
        httpx.LocalProtocolError,
        httpx.ProxyError,
        httpx.UnsupportedProtocol,
        httpx.DecodingError,
        httpx.TooManyRedirects,
    ]
)


@st.composite
def answers(draw: st.DrawFn) -> httpx.Response | type[httpx.RequestError]:
    if draw(st.integers(0, 9)) == 0:
        return draw(FAILURES)
    headers: list[tuple[bytes, bytes]] = [(b"content-type", draw(CONTENT_TYPE))]
    for name in (b"x-exl-api-remaining", b"retry-after", b"content-encoding"):
        if draw(st.integers(0, 3)) == 0 if name == b"content-encoding" else draw(st.booleans()):
            value = draw(HEADER_VALUE) if name != b"content-encoding" else draw(st.sampled_from([b"gzip", b"br", b"x"]))
            headers.append((name, value))
    return httpx.Response(draw(STATUS), headers=headers, content=draw(BODIES))


class Server:
    """Answers each request with the next drawn answer; after ``budget`` requests, a plain 500."""

    def __init__(self, data: st.DataObject, budget: int = 12) -> None:
        self.data = data
        self.budget = budget

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.budget -= 1
        if self.budget < 0:
            return httpx.Response(500)
        answer = self.data.draw(answers())
        if isinstance(answer, type):
            raise answer("drawn failure", request=request)
        return answer


# --- what the caller passes ---------------------------------------------------------------------------

ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 200),
    st.floats(allow_nan=True),
    NASTY_TEXT,
    st.dates(),
    st.lists(NASTY_TEXT, max_size=3),
    st.dictionaries(NASTY_TEXT, NASTY_TEXT, max_size=2),
)
# Mostly ids that reach Alma (so the answers are exercised), sometimes ones that must be refused first.
ID = st.one_of(
    st.just("jdoe"),
    st.just("jdoe"),
    st.just("jdoe"),
    st.sampled_from(["a/b?c#d", ".", "..", "JDoe"]),
    st.sampled_from(["no primary id (5)", "\ud800", " ", "", 42]),
    NASTY_TEXT,
)
USERISH = st.one_of(
    st.just(USER),
    st.dictionaries(st.sampled_from(sorted(User.model_fields)), ANY, max_size=4).map(lambda d: {**USER, **d}),
    st.just({**USER, "researcher": json.loads(_deep(300))}),
    st.just({**USER, "user_note": [{"note_type": "X", "note_text": "\ud800"}]}),
    st.just({**USER, "extra_number": float("nan")}),
    ANY,
)
FILTERS = st.dictionaries(
    st.sampled_from(["last_name", "first_name", "email", "primary_id", "birth_date", "bogus", "ALL"]), ANY, max_size=2
)
OPTION = st.one_of(st.none(), st.none(), st.none(), ANY)


def calls(data: st.DataObject) -> Callable[[AlmaClient], Any]:
    """One public call of the sync client, with drawn arguments."""
    kind = data.draw(
        st.sampled_from(
            ["get", "list", "create", "update", "edit", "delete", "loans", "requests", "fees", "test", "raw", "walk"]
        )
    )
    uid = data.draw(ID)
    options: dict[str, Any] = {}
    if data.draw(st.integers(0, 3)) == 0:
        options = data.draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "user_id_type": OPTION,
                    "max_retries": st.one_of(st.integers(-1, 2), ANY),
                    "timeout": st.one_of(st.floats(-1, 5), ANY),
                },
            )
        )

    def call(alma: AlmaClient) -> Any:
        users = alma.users
        if kind == "get":
            return users.get(uid, view=data.draw(OPTION), expand=data.draw(OPTION), **options)
        if kind == "list":
            page = users.list(
                limit=data.draw(st.one_of(st.integers(0, 100), st.integers(-1, 101), ANY)), **data.draw(FILTERS)
            )
            return page.items, page.total_record_count, page.has_next_page(), repr(page)
        if kind == "walk":
            page = users.list(limit=data.draw(st.integers(0, 5)), order_by=data.draw(OPTION))
            walked = [user for _, user in zip(range(60), page, strict=False)]
            if page.has_next_page():
                page.get_next_page()
            return walked
        if kind == "create":
            return users.create(data.draw(USERISH), send_pin_number_letter=data.draw(st.one_of(st.booleans(), ANY)))
        if kind == "update":
            return users.update(uid, data.draw(USERISH), override=data.draw(OPTION), **options)
        if kind == "edit":
            editing = users.edit(uid, override=data.draw(OPTION), strict=data.draw(st.booleans()))
            with editing as user:
                setattr(
                    user, data.draw(st.sampled_from(["job_description", "birth_date", "user_group"])), data.draw(ANY)
                )
            return editing.not_taken
        if kind == "delete":
            return users.delete(uid, **options)
        if kind == "loans":
            return users.loans(uid, loan_status=data.draw(OPTION), direction=data.draw(OPTION)).to_list()
        if kind == "requests":
            return users.requests(uid, request_type=data.draw(OPTION)).to_list()
        if kind == "fees":
            fees = users.fees(uid, status=data.draw(OPTION))
            return fees.total_sum, fees.items
        if kind == "test":
            return users.test(write=data.draw(st.one_of(st.booleans(), ANY)))
        raw = users.with_raw_response.get(uid)
        assert isinstance(raw, RawResponse)
        return raw.status_code, raw.text, raw.elapsed, raw.remaining_daily_calls, repr(raw), raw.parse()

    return call


SETTINGS = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@SETTINGS
@given(st.data())
def test_every_public_sync_call_raises_only_alma_errors(data: st.DataObject) -> None:
    server = Server(data)
    call = calls(data)
    alma = AlmaClient(
        api_key="l7xxfuzz", transport=httpx.MockTransport(server), sleep=lambda seconds: None, rate_limit=None
    )
    try:
        call(alma)
        _ = alma.remaining_daily_calls, repr(alma), repr(alma.users)
        event("returned")
    except AlmaError as err:
        event(type(err).__name__)
    finally:
        alma.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_public_async_call_raises_only_alma_errors(data: st.DataObject) -> None:
    server = Server(data)
    kind = data.draw(st.sampled_from(["get", "list", "create", "update", "edit", "delete", "fees"]))
    uid, body = data.draw(ID), data.draw(USERISH)

    async def sleep(seconds: float) -> None:
        return None

    async def run() -> None:
        async with AsyncAlmaClient(
            api_key="l7xxfuzz", transport=httpx.MockTransport(server), sleep=sleep, rate_limit=None
        ) as alma:
            users = alma.users
            if kind == "get":
                await users.get(uid)
            elif kind == "list":
                page = await users.list(limit=data.draw(st.integers(0, 5)), **data.draw(FILTERS))
                await page.to_list(max_concurrency=data.draw(st.one_of(st.integers(0, 4), ANY)))
            elif kind == "create":
                await users.create(body)
            elif kind == "update":
                await users.update(uid, body)
            elif kind == "edit":
                async with users.edit(uid) as user:
                    user.job_description = data.draw(NASTY_TEXT)
            elif kind == "delete":
                await users.delete(uid)
            else:
                await (await users.fees(uid)).to_list()

    with contextlib.suppress(AlmaError):
        asyncio.run(run())


# --- constructors, options and models --------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    api_key=st.one_of(NASTY_TEXT, ANY, st.just("l7xx\u00e9t\u00e9")),
    base_url=st.one_of(
        st.none(),
        NASTY_TEXT,
        st.sampled_from(
            [
                "https://x.org/?apikey=l7xxsecret",
                "https://user:l7xxsecret@x.org",
                "http://[::1",
                "https://x.org:99999",
                "https://x.org/almaws/v1/apikey=l7xxsecret",
                "https://exa mple.org",
            ]
        ),
    ),
    region=st.one_of(st.none(), NASTY_TEXT, ANY),
    options=st.fixed_dictionaries(
        {},
        optional={
            "timeout": ANY,
            "max_retries": ANY,
            "rate_limit": ANY,
            "default_headers": st.one_of(ANY, st.dictionaries(NASTY_TEXT, NASTY_TEXT, max_size=2)),
        },
    ),
)
def test_client_construction_raises_only_alma_errors(
    api_key: Any, base_url: Any, region: Any, options: dict[str, Any]
) -> None:
    message = ""
    try:
        AlmaClient(api_key=api_key, base_url=base_url, region=region, **options).close()
    except AlmaError as err:
        message = str(err)
    assert "l7xxsecret" not in message  # a key in a base_url is refused without being echoed
    assert "l7xx\u00e9t\u00e9" not in message


MODEL_VALUES = st.one_of(
    ANY,
    st.datetimes(),
    st.sampled_from(["2024-13-45", "2024-01-01T25:00Z", "1e999", "NaN", "", "20240101", 1515127767349, 10**30]),
)


@settings(max_examples=300, deadline=None)
@given(
    model=st.sampled_from([User, UserNote, UserBlock, Fee]),
    values=st.dictionaries(
        st.sampled_from(
            ["birth_date", "expiry_date", "created_date", "balance", "primary_id", "note_type", "user_note", "x"]
        ),
        MODEL_VALUES,
        max_size=3,
    ),
    assign=st.tuples(st.sampled_from(["expiry_date", "created_date", "balance", "last_name"]), MODEL_VALUES),
)
def test_models_raise_only_alma_errors(model: type[Any], values: dict[str, Any], assign: tuple[str, Any]) -> None:
    try:
        obj = model(**values)
        obj.to_alma()
        json.dumps(obj.to_alma(), allow_nan=True)
        if assign[0] in type(obj).model_fields:
            setattr(obj, *assign)
        model.from_alma(values)
        model.from_alma(json.dumps(values, default=str))
        repr(obj)
    except AlmaError:
        pass


def test_the_fuzz_reaches_the_lenient_readers() -> None:
    """The fixed bodies above are read, not refused: a sanity check that the fuzz is not all errors."""
    fees = Fee.from_alma({"id": "1", "balance": "NaN", "original_amount": "1e999", "creation_time": 1515127767349})
    assert fees.to_alma()["balance"] == "NaN"
    assert fees.to_alma()["original_amount"] == "1e999"
    assert fees.creation_time == datetime.fromisoformat("2018-01-05T04:49:27.349+00:00")
    assert User.from_alma({"birth_date": "2024-01-01+02:00"}).birth_date == date(2024, 1, 1)
