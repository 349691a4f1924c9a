"""What goes on the wire: headers, the key's place, path encoding, query strings, bodies, the quota."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alma_onelink import AlmaClient, InputError, NotFoundError, __version__
from alma_onelink.models import User
from tests.client.conftest import (
    KEY,
    Script,
    alma_error,
    body_of,
    make_client,
    ok,
    params_of,
    path_of,
    user_json,
)

# --- headers and the key ----------------------------------------------------------------------------


def test_every_request_carries_auth_accept_and_user_agent() -> None:
    script = Script(default=ok(user_json("jdoe")))
    alma = make_client(script)
    alma.users.get("jdoe")
    alma.users.update("jdoe", user_json("jdoe"))
    for request in script.requests:
        assert request.headers["Authorization"] == f"apikey {KEY}"
        assert request.headers["Accept"] == "application/json"
        assert request.headers["User-Agent"] == f"alma-onelink/{__version__}"


def test_key_is_never_in_the_url() -> None:
    script = Script(default=ok(user_json("jdoe")))
    alma = make_client(script)
    alma.users.get("jdoe", user_id_type="BARCODE", expand="loans")
    alma.users.update("jdoe", user_json("jdoe"), override=["user_group"])
    for request in script.requests:
        assert KEY not in str(request.url)
        assert "apikey" not in request.url.params
        assert KEY not in request.content.decode()


def test_json_bodies_are_sent_as_json() -> None:
    script = Script(ok(user_json("jdoe")))
    make_client(script).users.create(user_json("jdoe"))
    assert script.last.headers["Content-Type"] == "application/json"


# --- path parameters -------------------------------------------------------------------------------------

NASTY = "u0001#x/y?z"
NASTY_SEGMENT = b"u0001%23x%2Fy%3Fz"


def _page(key: str) -> httpx.Response:
    return ok({key: [], "total_record_count": 0})


CALLS: dict[str, tuple[Callable[[AlmaClient, str], Any], httpx.Response, bytes]] = {
    "get": (lambda a, i: a.users.get(i), ok(user_json("x")), b""),
    "update": (lambda a, i: a.users.update(i, user_json("x")), ok(user_json("x")), b""),
    "delete": (lambda a, i: a.users.delete(i), httpx.Response(204), b""),
    "loans": (lambda a, i: a.users.loans(i), _page("item_loan"), b"/loans"),
    "requests": (lambda a, i: a.users.requests(i), _page("user_request"), b"/requests"),
    "fees": (lambda a, i: a.users.fees(i), _page("fee"), b"/fees"),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_path_parameter_arrives_as_one_segment(name: str) -> None:
    call, reply, suffix = CALLS[name]
    script = Script(reply)
    call(make_client(script), NASTY)
    assert path_of(script.last) == b"/almaws/v1/users/" + NASTY_SEGMENT + suffix
    assert "z" not in script.last.url.params  # "?z" did not become a query
    assert script.last.url.fragment == ""


def test_edit_encodes_the_id_for_get_and_put() -> None:
    script = Script(ok(user_json(NASTY)), ok(user_json(NASTY)))
    with make_client(script).users.edit(NASTY) as user:
        user.first_name = "Changed"
    assert [path_of(r) for r in script.requests] == [b"/almaws/v1/users/" + NASTY_SEGMENT] * 2


def test_create_recovery_lookup_encodes_the_primary_id() -> None:
    script = Script(httpx.Response(500), ok(user_json(NASTY)))
    make_client(script).users.create(user_json(NASTY))
    assert path_of(script.requests[1]) == b"/almaws/v1/users/" + NASTY_SEGMENT


@pytest.mark.parametrize("user_id", [".", "..", "%2E%2E"])
@pytest.mark.parametrize("name", ["delete", "loans"])
def test_dot_segments_cannot_change_the_route(name: str, user_id: str) -> None:
    """``users.loans("..")`` must not become ``GET /almaws/v1/loans``: reject it, or send it as one segment."""
    call, reply, suffix = CALLS[name]
    script = Script(reply)
    try:
        call(make_client(script), user_id)
    except InputError:
        assert script.requests == []
        return
    path = path_of(script.last)
    assert path.startswith(b"/almaws/v1/users/")
    assert path.endswith(suffix)
    segment = path.removeprefix(b"/almaws/v1/users/").removesuffix(suffix)
    assert b"/" not in segment
    assert unquote(segment.decode()) == user_id


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=20).filter(lambda s: s.strip() and s.strip(".")))
def test_any_id_round_trips_as_one_segment(user_id: str) -> None:
    """Ids made only of dots are covered by ``test_dot_segments_cannot_change_the_route``."""
    script = Script(ok(user_json("x")))
    make_client(script).users.get(user_id)
    path = path_of(script.last)
    assert path.startswith(b"/almaws/v1/users/")
    segment = path.removeprefix(b"/almaws/v1/users/")
    assert b"/" not in segment
    assert unquote(segment.decode()) == user_id
    assert script.last.url.query == b""


BLANK_CALLS: dict[str, Callable[[AlmaClient, Any], Any]] = {
    "get": lambda a, i: a.users.get(i),
    "update": lambda a, i: a.users.update(i, user_json("x")),
    "delete": lambda a, i: a.users.delete(i),
    "loans": lambda a, i: a.users.loans(i),
    "requests": lambda a, i: a.users.requests(i),
    "fees": lambda a, i: a.users.fees(i),
    "edit": lambda a, i: a.users.edit(i).__enter__(),
}


@pytest.mark.parametrize("user_id", ["", "   ", "\t\n", 12345, None])
@pytest.mark.parametrize("name", sorted(BLANK_CALLS))
def test_blank_or_non_string_ids_are_rejected_before_any_request(name: str, user_id: Any) -> None:
    script = Script()
    with pytest.raises(InputError):
        BLANK_CALLS[name](make_client(script), user_id)
    assert script.requests == []


# --- query parameters -------------------------------------------------------------------------------------


def test_get_without_options_sends_no_query() -> None:
    script = Script(ok(user_json("jdoe")))
    make_client(script).users.get("jdoe")
    assert script.last.url.query == b""


def test_get_query_parameters() -> None:
    script = Script(ok(user_json("jdoe")))
    make_client(script).users.get("jdoe", user_id_type="BARCODE", view="brief", expand=["loans", "fees"])
    assert params_of(script.last) == {"user_id_type": "BARCODE", "view": "brief", "expand": "loans,fees"}


def test_booleans_are_lower_case_and_false_or_none_is_dropped() -> None:
    script = Script(default=ok(user_json("jdoe")))
    alma = make_client(script)
    alma.users.create(user_json("jdoe"), send_pin_number_letter=True)
    assert params_of(script.last) == {"send_pin_number_letter": "true"}
    alma.users.update("jdoe", user_json("jdoe"), send_pin_number_letter=True, recalculate_roles=True)
    assert params_of(script.last) == {"send_pin_number_letter": "true", "recalculate_roles": "true"}
    alma.users.update("jdoe", user_json("jdoe"))
    assert script.last.url.query == b""
    alma.users.create(user_json("jdoe"), source_institution_code=None)
    assert script.last.url.query == b""


def test_lists_are_comma_joined() -> None:
    script = Script(ok(user_json("jdoe")))
    make_client(script).users.update("jdoe", user_json("jdoe"), override=("user_group", "pin_number"))
    assert params_of(script.last) == {"override": "user_group,pin_number"}


def test_list_query_parameters() -> None:
    script = Script(ok({"total_record_count": 0}))
    make_client(script).users.list(
        q="last_name~Smith", limit=25, offset=50, order_by="first_name", expand="full", source_user_id=None
    )
    assert params_of(script.last) == {
        "q": "last_name~Smith",
        "limit": "25",
        "offset": "50",
        "order_by": "first_name",
        "expand": "full",
    }


# --- bodies --------------------------------------------------------------------------------------------


def test_create_body_is_the_canonical_dump() -> None:
    user = User.from_alma(
        user_json("jdoe", expiry_date="2027-06-30Z", is_researcher="FALSE", user_identifier={"value": "123"})
    )
    script = Script(ok(user_json("jdoe")))
    make_client(script).users.create(user)
    body = body_of(script.last)
    assert body == user.to_alma()
    assert body["expiry_date"] == user.to_alma()["expiry_date"]
    assert body["is_researcher"] is False
    assert body["user_identifier"] == [{"value": "123"}]


def test_update_body_is_the_canonical_dump_and_keeps_unknown_fields() -> None:
    user = User.from_alma(user_json("jdoe", some_new_alma_field={"value": "X"}))
    script = Script(ok(user_json("jdoe")))
    make_client(script).users.update("jdoe", user)
    assert body_of(script.last) == user.to_alma()
    assert body_of(script.last)["some_new_alma_field"] == {"value": "X"}


def test_get_and_delete_send_no_body() -> None:
    script = Script(ok(user_json("jdoe")), httpx.Response(204))
    alma = make_client(script)
    alma.users.get("jdoe")
    alma.users.delete("jdoe")
    assert [r.content for r in script.requests] == [b"", b""]


# --- the daily quota ----------------------------------------------------------------------------------


def test_remaining_daily_calls_follows_the_header() -> None:
    script = Script(
        ok(user_json("jdoe"), remaining=1000),
        ok(user_json("jdoe"), remaining=999),
        ok(user_json("jdoe")),
        ok(user_json("jdoe"), headers={"X-Exl-Api-Remaining": "garbage"}),
    )
    alma = make_client(script)
    assert alma.remaining_daily_calls is None
    alma.users.get("jdoe")
    assert alma.remaining_daily_calls == 1000
    alma.users.get("jdoe")
    assert alma.remaining_daily_calls == 999
    alma.users.get("jdoe")  # no header: the last known value stays
    assert alma.remaining_daily_calls == 999
    alma.users.get("jdoe")  # unreadable header: ignored
    assert alma.remaining_daily_calls == 999


def test_remaining_daily_calls_is_read_from_error_responses_too() -> None:
    script = Script(
        alma_error(400, "401861", "User with identifier jdoe was not found.", **{"X-Exl-Api-Remaining": "77"})
    )
    alma = make_client(script)
    with pytest.raises(NotFoundError, match="401861"):
        alma.users.get("jdoe")
    assert alma.remaining_daily_calls == 77


def test_remaining_daily_calls_is_read_from_retried_responses() -> None:
    script = Script(httpx.Response(503, headers={"X-Exl-Api-Remaining": "5"}), ok(user_json("jdoe"), remaining=4))
    alma = make_client(script)
    alma.users.get("jdoe")
    assert alma.remaining_daily_calls == 4
