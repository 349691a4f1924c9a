"""The field cases in ``../shared/field-cases/``, each a test of our own (and the kind of fault it stands for).

b01 a contact's "no primary id (…)" placeholder; b02 ``total_record_count: -1`` (in ``test_queries``);
b05 a dict with a malformed date given to ``create``; b06 a naive local timestamp (also in
``tests/models/test_real_payloads``); b07 an HTML page with status 200 from a firewall.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from alma_onelink import AlmaClient, AlmaError, APIResponseValidationError, InputError
from alma_onelink.errors import BadRequestError
from alma_onelink.models import UserBlock
from tests.client.conftest import Script, make_client, ok, user_json

# --- b01: a contact without a primary id ------------------------------------------------------------------

CONTACT = {
    "primary_id": "no primary id (100000000001)",
    "first_name": "Ola",
    "last_name": "Nordmann",
    "gender": {"value": "", "desc": ""},
    "status": {"value": "ACTIVE", "desc": "Active"},
    "requests": None,
    "loans": None,
    "fees": None,
    "link": "https://api-eu.hosted.exlibrisgroup.com/almaws/v1/users/-",
}


@pytest.mark.parametrize(
    "call",
    [
        lambda alma, pid: alma.users.get(pid),
        lambda alma, pid: alma.users.edit(pid).__enter__(),
        lambda alma, pid: alma.users.delete(pid),
        lambda alma, pid: alma.users.loans(pid),
        lambda alma, pid: alma.users.fees(pid),
        lambda alma, pid: alma.users.update(pid, user_json("x")),
        lambda alma, pid: alma.users.create(user_json(pid)),
    ],
    ids=["get", "edit", "delete", "loans", "fees", "update", "create"],
)
def test_the_contact_placeholder_is_never_sent_as_an_id(call: Any) -> None:
    script = Script(ok({"user": [CONTACT], "total_record_count": 1}))
    alma = make_client(script)
    contact = next(iter(alma.users.list(last_name="Nordmann")))
    assert not contact.has_primary_id
    with pytest.raises(InputError, match=r"placeholder for a contact without a primary id.*identifiers"):
        call(alma, contact.primary_id)
    assert len(script.requests) == 1  # only the search


# --- b05: a form's dict with a malformed date -------------------------------------------------------------

FORM_USER = {
    "password": "",
    "status": {"value": "ACTIVE"},
    "record_type": {"value": "PUBLIC"},
    "primary_id": "test.person@example.org",
    "first_name": "Test",
    "last_name": "Person",
    "user_group": {"value": "PUBLIC"},
    "expiry_date": "2027-05-14Z",
    "account_type": {"value": "INTERNAL"},
    "external_id": "",
    "user_note": [
        {
            "segment_type": "Internal",
            "note_type": {"value": "POPUP"},
            "note_text": "Guarantor on file",
            "user_viewable": False,
            "popup_note": True,
            "created_by": "forms",
            "created_date": "'. date('Y-m-d') . 'Z",
        }
    ],
}


def test_a_dict_with_a_malformed_date_is_an_input_error_naming_the_field() -> None:
    script = Script()
    with pytest.raises(InputError) as caught:
        make_client(script).users.create(FORM_USER)
    message = str(caught.value)
    assert "user_note[0].created_date" in message
    assert "'. date('Y-m-d') . 'Z" in message  # the value as typed
    assert "2018-01-05T04:49:27.349Z" in message  # what to type instead
    assert script.requests == []


def test_every_kind_of_bad_field_in_a_dict_is_an_input_error() -> None:
    script = Script()
    alma = make_client(script)
    for bad in ({"birth_date": "soon"}, {"user_role": 5}, {"contact_info": "none"}, {"user_identifier": [1]}):
        with pytest.raises(InputError):
            alma.users.create({**FORM_USER, "user_note": [], **bad})
    assert script.requests == []


def test_a_value_json_cannot_carry_is_refused_before_sending() -> None:
    script = Script()
    alma = make_client(script)
    with pytest.raises(InputError, match=r"user\.job_description"):
        alma.users.create({**FORM_USER, "user_note": [], "job_description": "broken \udc80 text"})
    with pytest.raises(InputError, match=r"user\.custom_score"):
        alma.users.update("jdoe", {**FORM_USER, "user_note": [], "custom_score": float("nan")})
    assert script.requests == []


# --- b06: a naive local timestamp --------------------------------------------------------------------------


def test_a_naive_local_timestamp_reaches_alma_as_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Zurich")
    time.tzset()
    try:
        local_now = datetime(2024, 4, 9, 10, 15, 30, 123000)
        right = local_now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        block = UserBlock(block_type="CASH", block_description="05", created_date=local_now)
        script = Script(ok(user_json("jdoe")), lambda request: httpx.Response(200, content=request.content))
        with make_client(script).users.edit("jdoe") as user:
            user.user_block.append(block)
        assert right == "2024-04-09T08:15:30.123Z"
        assert user.to_alma()["user_block"][-1]["created_date"] == right
        assert b'"created_date":"2024-04-09T08:15:30.123Z"' in script.last.content
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


# --- b07: an HTML page with status 200 ----------------------------------------------------------------------

PAGE = (
    b"<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. "
    b"Please consult with your administrator.<br><br>Your support ID is: 1234567890123456789</body></html>"
)


def test_an_html_200_is_named_as_html_and_keeps_the_support_id() -> None:
    script = Script(httpx.Response(200, content=PAGE, headers={"content-type": "text/html; charset=utf-8"}))
    with pytest.raises(APIResponseValidationError) as caught:
        make_client(script).users.get("jdoe01")
    text = str(caught.value)
    assert "HTML page" in text
    assert "XML" not in text
    assert "1234567890123456789" in text
    assert caught.value.body_kind == "html"
    assert "Your support ID is: 1234567890123456789" in (caught.value.body_excerpt or "")


@pytest.mark.parametrize("status", [200, 403, 429, 500, 502])
def test_an_html_page_under_any_status_is_named_and_excerpted(status: int) -> None:
    script = Script(default=httpx.Response(status, content=PAGE))  # no content-type: known by its start
    with pytest.raises(AlmaError) as caught:
        make_client(script, max_retries=0).users.get("jdoe01")
    assert "HTML page" in str(caught.value)
    assert "1234567890123456789" in str(caught.value)
    if status != 200:
        assert not isinstance(caught.value, APIResponseValidationError)


def test_xml_where_json_was_asked_for_is_still_called_xml() -> None:
    script = Script(httpx.Response(200, content=b"<?xml version='1.0'?><user><primary_id>x</primary_id></user>"))
    with pytest.raises(APIResponseValidationError, match="XML where JSON was asked for"):
        make_client(script).users.get("x")


def test_the_field_case_clients_agree() -> None:
    """The b07 script's exact check, through a client built the way the script builds it."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=PAGE))
    with (
        AlmaClient(api_key="k", base_url="https://example.org", transport=transport) as alma,
        pytest.raises(AlmaError) as caught,
    ):
        alma.users.get("jdoe01")
    assert "XML" not in str(caught.value)
    assert "1234567890123456789" in str(caught.value)
    assert not isinstance(caught.value, BadRequestError)
