"""XML answers come from the SDK's one writer: text XML cannot carry is refused truly, a CR comes back."""

from __future__ import annotations

import logging

import pytest

from alma_onelink.sandbox._xml import from_xml
from tests.sandbox.conftest import Api, error_code, user_body

XML = {"Accept": "application/xml"}


def test_a_record_xml_cannot_carry_is_refused_in_xml_and_read_in_json(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    api.sandbox.users.put(user_body("ctl01", first_name="Bell\x07"))
    with caplog.at_level(logging.WARNING, logger="alma_onelink.sandbox"):
        refused = api.client.get("/users/ctl01", headers=XML)
    assert (refused.status_code, error_code(refused)) == (400, "402119")
    assert "U+0007" in refused.text
    assert "application/json" in refused.text  # how to read it anyway
    assert not [record for record in caplog.records if record.exc_info]  # no traceback: an answer, not a crash
    assert api.client.get("/users/ctl01").json()["first_name"] == "Bell\x07"


def test_a_write_whose_xml_answer_cannot_be_written_does_not_happen(api: Api) -> None:
    created = api.client.post("/users", json=user_body("ctl02", last_name="Tab\x0bbed"), headers=XML)
    assert (created.status_code, error_code(created)) == (400, "402119")
    assert "ctl02" not in api.sandbox.users  # the refusal is true: nothing was written
    api.sandbox.users.create(user_body("ctl03"))
    updated = api.client.put("/users/ctl03", json=user_body("ctl03", last_name="Tab\x0bbed"), headers=XML)
    assert (updated.status_code, error_code(updated)) == (400, "402119")
    assert api.sandbox.users.get("ctl03")["last_name"] == "Lovelace"  # type: ignore[index]


def test_a_carriage_return_comes_back_from_xml_as_it_was(api: Api) -> None:
    note = {"note_type": "OTHER", "note_text": "line one\r\nline two\r"}
    api.sandbox.users.create(user_body("cr01", user_note=[note]))
    answer = api.client.get("/users/cr01", headers=XML)
    assert answer.status_code == 200
    _, user = from_xml(answer.content)
    assert user["user_note"][0]["note_text"] == "line one\r\nline two\r"
