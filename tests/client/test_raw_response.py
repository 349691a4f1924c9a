"""``with_raw_response``: status, headers, retries and a parser, for every Users method."""

from __future__ import annotations

import httpx
import pytest

from alma_onelink import APIResponseValidationError, NotFoundError, RawResponse, SyncOffsetPage
from alma_onelink.models import User
from tests.client.conftest import (
    KEY,
    Directory,
    Script,
    ids_of,
    make_async_client,
    make_client,
    not_found,
    ok,
    user_json,
)


def test_raw_get() -> None:
    script = Script(ok(user_json("jdoe"), remaining=4321, headers={"X-Request-ID": "req-1"}))
    raw = make_client(script).users.with_raw_response.get("jdoe", view="brief")
    assert isinstance(raw, RawResponse)
    assert raw.status_code == 200
    assert raw.headers["x-request-id"] == "req-1"
    assert raw.remaining_daily_calls == 4321
    assert raw.retries_taken == 0
    assert '"jdoe"' in raw.text
    user = raw.parse()
    assert isinstance(user, User)
    assert user.primary_id == "jdoe"
    assert raw.parse() is user  # parsed once
    assert script.calls == [("GET", "/users/jdoe")]


def test_raw_get_after_retries() -> None:
    script = Script(httpx.Response(503), httpx.ReadTimeout("slow"), ok(user_json("jdoe")))
    raw = make_client(script).users.with_raw_response.get("jdoe")
    assert raw.retries_taken == 2
    assert raw.parse().primary_id == "jdoe"


def test_raw_list_parses_to_a_page_that_still_walks() -> None:
    directory = Directory(250)
    script = Script(default=directory)
    raw = make_client(script).users.with_raw_response.list(last_name="Smith")
    assert raw.status_code == 200
    page = raw.parse()
    assert isinstance(page, SyncOffsetPage)
    assert page.total_record_count == 250
    assert ids_of(page) == directory.ids  # later pages are fetched parsed, not raw
    assert directory.offsets == [0, 100, 200]


def test_raw_delete() -> None:
    raw = make_client(Script(httpx.Response(204))).users.with_raw_response.delete("jdoe")
    assert raw is not None, "with_raw_response.delete returned None"
    assert raw.status_code == 204
    assert raw.parse() is None


def test_raw_create_and_update() -> None:
    script = Script(ok(user_json("jdoe")), ok(user_json("jdoe", "Changed")))
    raw_users = make_client(script).users.with_raw_response
    assert raw_users.create(user_json("jdoe")).parse().primary_id == "jdoe"
    assert raw_users.update("jdoe", user_json("jdoe")).parse().first_name == "Changed"
    assert script.methods == ["POST", "PUT"]


def test_raw_test() -> None:
    raw = make_client(Script(ok({}, remaining=10))).users.with_raw_response.test()
    assert raw is not None
    assert raw.status_code == 200
    assert raw.remaining_daily_calls == 10


def test_raw_loans_requests_fees() -> None:
    script = Script(
        ok({"item_loan": [{"loan_id": "1"}], "total_record_count": 1}),
        ok({"user_request": [{"request_id": "2"}], "total_record_count": 1}),
        ok({"fee": [{"id": "3"}], "total_record_count": 1, "total_sum": 5}),
    )
    raw_users = make_client(script).users.with_raw_response
    assert [x.loan_id for x in raw_users.loans("jdoe").parse()] == ["1"]
    assert [x.request_id for x in raw_users.requests("jdoe").parse()] == ["2"]
    assert [x.id for x in raw_users.fees("jdoe").parse()] == ["3"]


def test_raw_create_after_a_lost_answer_gives_the_lookup() -> None:
    script = Script(httpx.Response(500), ok(user_json("jdoe")))
    raw = make_client(script).users.with_raw_response.create(user_json("jdoe"))
    assert script.methods == ["POST", "GET"]
    assert raw.parse().primary_id == "jdoe"


def test_raw_mode_still_raises_typed_errors() -> None:
    with pytest.raises(NotFoundError):
        make_client(Script(not_found())).users.with_raw_response.get("jdoe")


def test_raw_parse_of_a_bad_body_raises_validation_error() -> None:
    raw = make_client(Script(httpx.Response(200, content=b"<html/>"))).users.with_raw_response.get("jdoe")
    assert raw.status_code == 200
    with pytest.raises(APIResponseValidationError):
        raw.parse()


def test_raw_mode_does_not_leak_into_plain_calls() -> None:
    script = Script(default=ok(user_json("jdoe")))
    alma = make_client(script)
    alma.users.with_raw_response.get("jdoe")
    assert isinstance(alma.users.get("jdoe"), User)
    with pytest.raises(NotFoundError):
        make_client(Script(not_found())).users.with_raw_response.get("x")
    assert isinstance(alma.users.get("jdoe"), User)


def test_raw_repr_is_short_and_keyless() -> None:
    raw = make_client(Script(ok(user_json("jdoe")))).users.with_raw_response.get("jdoe")
    text = repr(raw)
    assert "GET" in text
    assert "/almaws/v1/users/jdoe" in text
    assert "200" in text
    assert KEY not in text


async def test_async_raw_get_and_list() -> None:
    directory = Directory(150)
    script = Script(httpx.Response(503), ok(user_json("jdoe"), remaining=9), default=directory)
    alma = make_async_client(script)
    raw = await alma.users.with_raw_response.get("jdoe")
    assert raw.retries_taken == 1
    assert raw.remaining_daily_calls == 9
    assert raw.parse().primary_id == "jdoe"
    raw_page = await alma.users.with_raw_response.list()
    page = raw_page.parse()
    assert ids_of(await page.to_list()) == directory.ids
    await alma.close()


async def test_async_raw_mode_does_not_leak() -> None:
    script = Script(default=ok(user_json("jdoe")))
    alma = make_async_client(script)
    await alma.users.with_raw_response.get("jdoe")
    assert isinstance(await alma.users.get("jdoe"), User)
    await alma.close()


async def test_async_raw_delete_and_test() -> None:
    alma = make_async_client(Script(httpx.Response(204), ok({})))
    deleted = await alma.users.with_raw_response.delete("jdoe")
    assert deleted is not None
    assert deleted.status_code == 204
    tested = await alma.users.with_raw_response.test(write=True)
    assert tested is not None
    assert tested.status_code == 200
    await alma.close()
