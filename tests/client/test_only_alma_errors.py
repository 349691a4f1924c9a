"""Each non-SDK exception once found escaping a public call, now an `AlmaError` or read leniently.

(The hypothesis fuzz in ``tests/test_fuzz.py`` drives every public method at random; these are the
named cases, kept as examples.)
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from alma_onelink import AlmaClient, AlmaError, InputError, NoNextPageError
from tests.client.conftest import KEY, Directory, Script, make_async_client, make_client, ok, user_json

USER = user_json("jdoe")


@pytest.mark.parametrize("value", [b"\xc2\xb2", "١٢٣".encode(), b"12x", b"", b"-5"])
def test_a_quota_header_that_is_not_a_number_is_ignored(value: bytes) -> None:
    script = Script(ok(USER, remaining=41), httpx.Response(200, json=USER, headers=[(b"x-exl-api-remaining", value)]))
    alma = make_client(script)
    alma.users.get("jdoe")
    alma.users.get("jdoe")  # before: ValueError from int("²")
    assert alma.remaining_daily_calls == 41  # the last number Alma sent
    raw = make_client(Script(httpx.Response(200, json=USER, headers=[(b"x-exl-api-remaining", value)])))
    assert raw.users.with_raw_response.get("jdoe").remaining_daily_calls is None


def test_elapsed_of_an_in_process_response_is_measured() -> None:
    raw = make_client(Script(ok(USER))).users.with_raw_response.get("jdoe")
    assert raw.elapsed >= 0.0  # before: RuntimeError, in-process transports never set it


@pytest.mark.parametrize("charset", ["ascii", "idna", "rot13", "hex", "no-such-charset"])
def test_text_of_a_body_whose_declared_charset_does_not_fit_is_still_text(charset: str) -> None:
    response = httpx.Response(
        200, content=b'{"primary_id": "caf\xc3\xa9"}', headers={"content-type": f"application/json; charset={charset}"}
    )
    raw = make_client(Script(response)).users.with_raw_response.get("jdoe")
    assert "caf" in raw.text
    assert raw.parse().primary_id == "café"


@pytest.mark.parametrize(
    "call",
    [
        lambda a: a.users.get("jd\udc80oe"),
        lambda a: a.users.delete("\ud800"),
        lambda a: a.users.list(last_name="Do\udc80e"),
        lambda a: a.users.list(q="last_name~\ud800"),
        lambda a: a.users.get("jdoe", user_id_type="BAR\udc80CODE"),
        lambda a: a.users.create({**USER, "first_name": "Ja\udc80ne"}),
        lambda a: a.users.update("jdoe", {**USER, "user_note": [{"note_type": "X", "note_text": "\ud800"}]}),
    ],
    ids=["get id", "delete id", "filter", "q", "id type", "create field", "update nested field"],
)
def test_a_lone_surrogate_anywhere_is_an_input_error_before_any_request(call: Any) -> None:
    script = Script()
    with pytest.raises(InputError):
        call(make_client(script))
    assert script.requests == []


def test_a_non_ascii_header_value_is_refused_at_construction() -> None:
    with pytest.raises(InputError, match="default_headers"):
        AlmaClient(api_key=KEY, default_headers={"X-Library": "Bibliothèque"})


def test_a_dict_nested_deeper_than_json_can_be_written_is_an_input_error() -> None:
    deep: dict[str, Any] = {}
    for _ in range(300):
        deep = {"a": deep}
    script = Script()
    with pytest.raises(InputError):
        make_client(script).users.create({**USER, "researcher": deep})
    assert script.requests == []


@pytest.mark.parametrize(
    "call",
    [
        lambda a: a.users.get("jdoe", expand=5),
        lambda a: a.users.list(order_by=5),
        lambda a: a.users.list(modify_date_from=20240101),
        lambda a: a.users.update("jdoe", USER, override=5),
        lambda a: a.users.create(USER, send_pin_number_letter="yes"),
        lambda a: a.users.loans("jdoe", direction=1),
        lambda a: a.users.test(write="yes"),
        lambda a: a.users.list(source_user_id=7),
    ],
    ids=["expand", "order_by", "modify_date_from", "override", "flag", "direction", "write", "source_user_id"],
)
def test_options_of_the_wrong_type_are_input_errors(call: Any) -> None:
    script = Script()
    with pytest.raises(InputError):
        call(make_client(script))
    assert script.requests == []


def test_get_next_page_on_the_last_page_is_an_alma_error_and_still_a_stop_iteration() -> None:
    page = make_client(Script(default=Directory(3))).users.list(limit=10)
    with pytest.raises(NoNextPageError) as caught:
        page.get_next_page()
    assert isinstance(caught.value, AlmaError)
    assert isinstance(caught.value, StopIteration)


async def test_async_page_errors_are_alma_errors() -> None:
    async with make_async_client(Script(default=Directory(3))) as alma:
        page = await alma.users.list(limit=10)
        with pytest.raises(NoNextPageError):
            await page.get_next_page()
        with pytest.raises(StopAsyncIteration):
            await page.get_next_page()
        with pytest.raises(InputError, match="max_concurrency"):
            await page.to_list(max_concurrency=0)


def test_the_users_resource_says_what_it_is() -> None:
    alma = make_client(Script())
    assert repr(alma.users) == (
        "<Users: the Alma Users API through AlmaClient(base_url='https://api-na.hosted.exlibrisgroup.com/almaws/v1')>"
    )
    assert "AsyncUsers" in repr(make_async_client(Script()).users)
