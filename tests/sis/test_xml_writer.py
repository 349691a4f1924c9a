"""The models' XML writer: Alma's dialect, byte for byte the sandbox's, and nothing a reader cannot read back."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]

from alma_onelink.errors import InputError
from alma_onelink.models import User
from alma_onelink.models._xml import DECLARATION, element_bytes, to_xml, user_to_element, users_document
from alma_onelink.sandbox._xml import from_xml
from alma_onelink.sandbox._xml import to_xml as sandbox_to_xml

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "alma-examples"
ROOTS = {
    "scriptotek_user_response.json": "user",
    "user_full_external_pulibrary_bbird.json": "user",
    "user_full_internal_staff_slsp.json": "user",
    "scriptotek_users_response.json": "users",
    "scriptotek_loans_response.json": "item_loans",
    "scriptotek_zero_loans_response.json": "item_loans",
    "scriptotek_fees_response.json": "fees",
    "scriptotek_fee_response.json": "fee",
    "scriptotek_create_loan_response.json": "item_loan",
    "request_post_body_slsp.json": "user_request",
    "error_400_pulibrary.json": "web_service_result",
}


@pytest.mark.parametrize(("name", "root"), sorted(ROOTS.items()))
def test_recorded_payloads_are_written_byte_for_byte_as_the_sandbox_writes_them(name: str, root: str) -> None:
    data = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    assert to_xml(root, data) == sandbox_to_xml(root, data)


def with_content(value: Any) -> Any:
    """``value`` without its nulls and empty texts: XML has no null, and Alma reads an empty element as blank."""
    if isinstance(value, dict):
        return {key: with_content(item) for key, item in value.items() if item is not None and item != ""}
    if isinstance(value, list):
        return [with_content(item) for item in value]
    return value


@pytest.mark.parametrize("name", [n for n, root in ROOTS.items() if root == "user"])
def test_every_value_of_a_real_user_comes_back_from_xml(name: str) -> None:
    user = User.from_alma((EXAMPLES / name).read_text(encoding="utf-8"))
    _, data = from_xml(DECLARATION.encode() + element_bytes(user_to_element(user.to_alma())))
    assert with_content(User.from_alma(data).to_alma()) == with_content(user.to_alma())


def test_a_document_starts_with_alma_s_declaration_and_has_no_namespace() -> None:
    body = users_document([{"primary_id": "a1"}, {"primary_id": "b2"}])
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><users><user>')
    root = ET.fromstring(body)
    assert root.tag == "users"
    assert [child.findtext("primary_id") for child in root] == ["a1", "b2"]


def test_codes_lists_and_attributes_follow_alma_s_rules() -> None:
    record: dict[str, Any] = {
        "user_group": {"value": "ALUM", "desc": "Alumni"},
        "contact_info": {
            "phone": [{"phone_number": "1", "phone_type": [{"value": "home"}], "preferred": True}],
            "email": [{"email_address": "a@b.org", "email_type": [{"value": "work"}], "segment_type": "External"}],
        },
        "user_identifier": [{"id_type": {"value": "BARCODE"}, "value": "123"}],
    }
    element = user_to_element(record)
    assert element.find("user_group").attrib == {"desc": "Alumni"}  # type: ignore[union-attr]
    # contact_info is a sequence in the schema: addresses, emails, phones, whatever the JSON's order
    assert [child.tag for child in element.find("contact_info")] == ["emails", "phones"]  # type: ignore[union-attr]
    assert element.find("contact_info/emails/email").attrib == {"segment_type": "External"}  # type: ignore[union-attr]
    assert element.find("contact_info/phones/phone").get("preferred") == "true"  # type: ignore[union-attr]
    assert element.findtext("user_identifiers/user_identifier/value") == "123"


def test_an_identifier_without_a_type_keeps_its_value_as_an_element() -> None:
    """Shaped like a code, it is still a record: its note and value are children, as the schema says."""
    element = user_to_element({"user_identifier": [{"value": "123", "note": "n"}]})
    identifier = element.find("user_identifiers/user_identifier")
    assert identifier is not None
    assert identifier.attrib == {}
    assert (identifier.findtext("value"), identifier.findtext("note")) == ("123", "n")


def test_text_comes_back_exactly_carriage_returns_and_markup_included() -> None:
    text = "line one\r\nline two & <three> \"four\" 'five' Zoë 北京 😀"
    body = users_document(
        [{"primary_id": "a", "user_note": [{"note_text": text}], "user_group": {"value": "G", "desc": "a\rb"}}]
    )
    user = etree.fromstring(body)[0]
    assert user.findtext("user_notes/user_note/note_text") == text
    assert user.find("user_group").get("desc") == "a\rb"


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x0b", "\x1f", "\ufffe", "\ud800"])
def test_a_character_xml_cannot_carry_is_refused_naming_the_element(bad: str) -> None:
    with pytest.raises(InputError, match=r"last_name holds the character U\+"):
        user_to_element({"primary_id": "a", "last_name": f"Lo{bad}ve"})
    with pytest.raises(InputError, match=r"user_group/@desc"):
        user_to_element({"user_group": {"value": "G", "desc": bad}, "contact_info": {}})
