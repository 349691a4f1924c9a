"""``alma.users``: get, create, update, edit, delete, loans, requests, fees and the key test."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from alma_onelink import AuthenticationError, BadRequestError, InputError, NotFoundError, PermissionDeniedError
from alma_onelink.models import Loan, User, UserNote, UserRequest
from tests.client.conftest import (
    Script,
    alma_error,
    body_of,
    example,
    make_client,
    not_found,
    ok,
    params_of,
    user_json,
    xml_error,
)

BBIRD_FILE = "user_full_external_pulibrary_bbird.json"


def echo(request: httpx.Request) -> httpx.Response:
    """Alma answers a PUT/POST with the record it stored."""
    return httpx.Response(200, content=request.content, headers={"Content-Type": "application/json"})


# --- get -------------------------------------------------------------------------------------------------


def test_get_returns_a_typed_user() -> None:
    script = Script(ok(example("scriptotek_user_response.json")))
    user = make_client(script).users.get("1234567")
    assert isinstance(user, User)
    assert user.account_type is not None
    assert user.account_type.value == "INTERNAL"
    assert script.calls == [("GET", "/users/1234567")]


def test_get_options() -> None:
    script = Script(ok(user_json("jdoe")), ok(user_json("jdoe")))
    alma = make_client(script)
    alma.users.get("00000000000000", user_id_type="BARCODE", view="full", expand="loans, requests,fees")
    assert params_of(script.last) == {
        "user_id_type": "BARCODE",
        "view": "full",
        "expand": "loans,requests,fees",
    }
    alma.users.get("jdoe", expand="none")
    assert params_of(script.last) == {}


@pytest.mark.parametrize("options", [{"view": "summary"}, {"expand": "history"}, {"expand": ["loans", "holds"]}])
def test_get_rejects_bad_options_before_any_request(options: dict[str, Any]) -> None:
    script = Script()
    with pytest.raises(InputError) as info:
        make_client(script).users.get("jdoe", **options)
    assert next(iter(options)) in str(info.value)
    assert script.requests == []


def test_get_unknown_user_is_not_found() -> None:
    script = Script(not_found("ghost"))
    with pytest.raises(NotFoundError) as info:
        make_client(script).users.get("ghost")
    assert info.value.hint is not None


# --- create --------------------------------------------------------------------------------------------


def test_create_accepts_a_dict_and_posts_its_canonical_form() -> None:
    record = user_json("jdoe", "Jane", "Doe", expiry_date="2027-06-30Z", user_identifier={"value": "bc1"})
    script = Script(echo)
    user = make_client(script).users.create(record)
    assert script.calls == [("POST", "/users")]
    assert body_of(script.last) == User.from_alma(record).to_alma()
    assert isinstance(user, User)
    assert user.primary_id == "jdoe"


def test_create_accepts_a_user() -> None:
    user = User(primary_id="jdoe", record_type="PUBLIC", account_type="INTERNAL", first_name="Jane")
    script = Script(echo)
    make_client(script).users.create(user, source_institution_code="01NET")
    assert body_of(script.last) == user.to_alma()
    assert body_of(script.last)["record_type"] == {"value": "PUBLIC"}
    assert params_of(script.last) == {"source_institution_code": "01NET"}


@pytest.mark.parametrize("missing", ["primary_id", "record_type", "account_type"])
def test_create_without_a_required_field_is_rejected(missing: str) -> None:
    record = user_json("jdoe")
    del record[missing]
    script = Script()
    with pytest.raises(InputError, match=missing):
        make_client(script).users.create(record)
    assert script.requests == []


def test_create_with_a_blank_primary_id_is_rejected() -> None:
    script = Script()
    with pytest.raises(InputError, match="primary_id"):
        make_client(script).users.create(user_json("   "))
    assert script.requests == []


def test_create_with_a_short_password_is_rejected() -> None:
    script = Script()
    with pytest.raises(InputError, match="password"):
        make_client(script).users.create(user_json("jdoe", password="short"))
    assert script.requests == []


def test_create_with_a_long_enough_password_is_sent() -> None:
    script = Script(echo)
    make_client(script).users.create(user_json("jdoe", password="long-enough-1"))
    assert body_of(script.last)["password"] == "long-enough-1"


def test_create_rejects_something_that_is_not_a_user() -> None:
    script = Script()
    with pytest.raises(InputError):
        make_client(script).users.create(["jdoe"])  # type: ignore[arg-type]
    assert script.requests == []


# --- update --------------------------------------------------------------------------------------------


def test_update_puts_the_whole_record() -> None:
    record = user_json("jdoe", "Jane", "Doe")
    script = Script(echo)
    user = make_client(script).users.update("jdoe", record, user_id_type="all_unique")
    assert script.calls == [("PUT", "/users/jdoe")]
    assert body_of(script.last) == User.from_alma(record).to_alma()
    assert params_of(script.last) == {"user_id_type": "all_unique"}
    assert user.first_name == "Jane"


def test_update_override_fields() -> None:
    script = Script(echo, echo)
    alma = make_client(script)
    alma.users.update("jdoe", user_json("jdoe"), override=["user_group", "pin_number"])
    assert params_of(script.last) == {"override": "user_group,pin_number"}
    alma.users.update("jdoe", user_json("jdoe"), override="user_group, campus_code")
    assert params_of(script.last) == {"override": "user_group,campus_code"}


def test_update_rejects_an_override_alma_does_not_protect() -> None:
    script = Script()
    with pytest.raises(InputError) as info:
        make_client(script).users.update("jdoe", user_json("jdoe"), override=["first_name"])
    message = str(info.value)
    assert "first_name" in message
    assert "user_group" in message  # lists the valid ones
    assert script.requests == []


def test_update_without_required_fields_points_to_edit() -> None:
    script = Script()
    with pytest.raises(InputError) as info:
        make_client(script).users.update("jdoe", {"first_name": "Jane"})
    assert "edit" in str(info.value)
    assert script.requests == []


# --- edit ----------------------------------------------------------------------------------------------


def test_edit_puts_back_everything_alma_sent_plus_the_change() -> None:
    original = example(BBIRD_FILE)
    script = Script(ok(copy.deepcopy(original)), echo)
    alma = make_client(script)
    with alma.users.edit("100000000") as user:
        user.first_name = "Large"
    assert script.calls == [("GET", "/users/100000000"), ("PUT", "/users/100000000")]
    assert body_of(script.last) == {**original, "first_name": "Large"}


def test_edit_reports_what_alma_saved() -> None:
    script = Script(ok(example(BBIRD_FILE)), ok(user_json("100000000", "Large", "Bird")))
    editing = make_client(script).users.edit("100000000")
    with editing as user:
        user.first_name = "Large"
    assert editing.changed
    assert editing.saved is not None
    assert editing.saved.first_name == "Large"


def test_edit_sees_changes_inside_lists() -> None:
    original = example(BBIRD_FILE)
    script = Script(ok(copy.deepcopy(original)), echo)
    with make_client(script).users.edit("100000000") as user:
        user.user_note.append(UserNote(note_text="Moved to Sesame Street"))
    assert script.methods == ["GET", "PUT"]
    sent = body_of(script.last)
    assert sent["user_note"] == [{"note_text": "Moved to Sesame Street"}]
    assert {k: v for k, v in sent.items() if k != "user_note"} == {
        k: v for k, v in original.items() if k != "user_note"
    }


def test_edit_without_a_change_sends_nothing() -> None:
    script = Script(ok(example(BBIRD_FILE)))
    editing = make_client(script).users.edit("100000000")
    with editing as user:
        assert user.last_name == "Bird"
    assert script.methods == ["GET"]
    assert editing.saved is None
    assert not editing.changed


def test_edit_sends_nothing_when_the_block_raises() -> None:
    script = Script(ok(example(BBIRD_FILE)))
    editing = make_client(script).users.edit("100000000")

    def change_then_fail() -> None:
        with editing as user:
            user.first_name = "Large"
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError, match="changed my mind"):
        change_then_fail()
    assert script.methods == ["GET"]
    assert editing.saved is None


def test_edit_passes_id_type_and_override() -> None:
    script = Script(ok(example(BBIRD_FILE)), echo)
    with make_client(script).users.edit("bbird", user_id_type="NET_ID", override=["user_group"]) as user:
        user.user_group = "GR"  # type: ignore[assignment]
    get, put = script.requests
    assert params_of(get) == {"user_id_type": "NET_ID"}
    assert params_of(put) == {"user_id_type": "NET_ID", "override": "user_group"}
    assert body_of(put)["user_group"] == {"value": "GR"}


def test_edit_of_an_unknown_user_raises_on_entry() -> None:
    script = Script(not_found("ghost"))
    with pytest.raises(NotFoundError), make_client(script).users.edit("ghost"):
        pytest.fail("the block must not run")
    assert script.methods == ["GET"]


# --- delete ---------------------------------------------------------------------------------------------


def test_delete() -> None:
    script = Script(httpx.Response(204))
    make_client(script).users.delete("jdoe", user_id_type="BARCODE")
    assert script.calls == [("DELETE", "/users/jdoe")]
    assert params_of(script.last) == {"user_id_type": "BARCODE"}


def test_delete_refused_by_alma() -> None:
    script = Script(alma_error(400, "401850", "Failed to delete user with identifier jdoe of type X."))
    with pytest.raises(BadRequestError, match="401850"):
        make_client(script).users.delete("jdoe")


# --- loans, requests, fees -------------------------------------------------------------------------------


def test_loans_are_typed() -> None:
    script = Script(ok(example("scriptotek_loans_response.json")))
    page = make_client(script).users.loans("123435", loan_status="active", order_by="due_date", direction="desc")
    loans = list(page)
    assert [loan.loan_id for loan in loans] == ["1822301570002204", "7378239410002204"]
    assert all(isinstance(loan, Loan) for loan in loans)
    assert params_of(script.last) == {
        "limit": "100",
        "offset": "0",
        "loan_status": "Active",
        "order_by": "due_date",
        "direction": "DESC",
    }


def test_no_loans() -> None:
    script = Script(ok(example("scriptotek_zero_loans_response.json")))
    assert list(make_client(script).users.loans("jdoe")) == []


@pytest.mark.parametrize(
    "options", [{"loan_status": "Lost"}, {"order_by": "price"}, {"direction": "up"}, {"expand": "all"}]
)
def test_loans_reject_bad_options(options: dict[str, Any]) -> None:
    script = Script()
    with pytest.raises(InputError):
        make_client(script).users.loans("jdoe", **options)
    assert script.requests == []


def test_requests_are_typed() -> None:
    request = {**example("request_post_body_slsp.json"), "request_id": "777"}
    script = Script(ok({"user_request": [request], "total_record_count": 1}))
    page = make_client(script).users.requests("testRequestUser1", request_type="hold", status="active")
    requests = list(page)
    assert len(requests) == 1
    assert isinstance(requests[0], UserRequest)
    assert requests[0].request_id == "777"
    assert script.calls == [("GET", "/users/testRequestUser1/requests")]
    assert params_of(script.last) == {"limit": "100", "offset": "0", "request_type": "HOLD", "status": "active"}


def test_requests_reject_bad_type() -> None:
    script = Script()
    with pytest.raises(InputError, match="request_type"):
        make_client(script).users.requests("jdoe", request_type="PURCHASE")
    assert script.requests == []


def test_fees_are_typed_with_their_balance() -> None:
    script = Script(ok(example("scriptotek_fees_response.json")))
    page = make_client(script).users.fees("12345", status="active")
    fees = list(page)
    assert fees[0].balance == 750
    assert page.envelope.total_sum == 750
    assert params_of(script.last) == {"status": "ACTIVE"}
    assert script.calls == [("GET", "/users/12345/fees")]


def test_no_fees() -> None:
    script = Script(ok(example("scriptotek_zero_fees_response.json")))
    page = make_client(script).users.fees("jdoe")
    assert list(page) == []
    assert page.envelope.total_sum == 0


# --- the key test ----------------------------------------------------------------------------------------


def test_test_reads() -> None:
    script = Script(ok({}))
    assert make_client(script).users.test() is None  # type: ignore[func-returns-value]
    assert script.calls == [("GET", "/users/operation/test")]


def test_test_write() -> None:
    script = Script(ok({}))
    make_client(script).users.test(write=True)
    assert script.calls == [("POST", "/users/operation/test")]


def test_test_with_a_bad_key() -> None:
    script = Script(xml_error(400, "UNAUTHORIZED", "API-key not defined or not configured to allow this API."))
    with pytest.raises(AuthenticationError) as info:
        make_client(script).users.test()
    assert "ALMA_API_KEY" in str(info.value)


def test_test_write_with_a_read_only_key() -> None:
    script = Script(httpx.Response(403))
    with pytest.raises(PermissionDeniedError):
        make_client(script).users.test(write=True)
