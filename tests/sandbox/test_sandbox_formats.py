"""Contract: Alma's two formats, through the three ways in.

Alma answers JSON or XML as ``format`` and then ``Accept`` choose, XML when neither names JSON
(``Accept: */*`` included), and takes a ``<user>`` document as a create or update body. The XML
is the JSON by the rules of ``rest_user.xsd``: codes with a ``desc`` attribute, wrapped lists,
``segment_type``/``preferred``/``link`` as attributes, counts as attributes of a list's root.
"""

from __future__ import annotations

from typing import Any

import pytest

from alma_onelink.models import User
from alma_onelink.sandbox._xml import from_xml, parse_xml, to_xml
from tests.sandbox.conftest import Api, error_code, user_body

XML_USER = b"""<?xml version="1.0" encoding="UTF-8"?>
<user>
  <primary_id>xml01</primary_id>
  <first_name>Grace</first_name>
  <last_name>Hopper</last_name>
  <user_group>GRAD</user_group>
  <account_type>INTERNAL</account_type>
  <birth_date>1906-12-09Z</birth_date>
  <contact_info>
    <emails>
      <email preferred="true" segment_type="Internal">
        <email_address>grace@example.org</email_address>
        <email_types><email_type>work</email_type></email_types>
      </email>
    </emails>
  </contact_info>
  <user_identifiers>
    <user_identifier segment_type="Internal"><id_type>BARCODE</id_type><value>XB-1</value></user_identifier>
  </user_identifiers>
  <user_notes><user_note><note_type>OTHER</note_type><note_text>Made in XML.</note_text></user_note></user_notes>
</user>
"""


def _plain(value: Any) -> Any:
    """JSON with every scalar as XML writes it, and nulls and empty lists left out: what survives XML."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if item is not None and item != []}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.mark.parametrize(
    ("params", "headers", "expected"),
    [
        ({}, {"Accept": "*/*"}, "xml"),
        ({}, {"Accept": ""}, "xml"),
        ({}, {"Accept": "application/xml"}, "xml"),
        ({}, {"Accept": "text/html, */*;q=0.8"}, "xml"),
        ({}, {"Accept": "application/json"}, "json"),
        ({}, {"Accept": "application/json, */*"}, "json"),
        ({}, {"Accept": "application/xml;q=0.5, application/json"}, "json"),
        ({}, {"Accept": "application/json;q=0.5, application/xml"}, "xml"),
        ({"format": "json"}, {"Accept": "*/*"}, "json"),
        ({"format": "xml"}, {"Accept": "application/json"}, "xml"),
    ],
)
def test_the_format_is_chosen_as_alma_chooses_it(
    api: Api, params: dict[str, str], headers: dict[str, str], expected: str
) -> None:
    api.sandbox.users.create(user_body("fmt01"))
    response = api.client.get("/users/fmt01", params=params, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(f"application/{expected}")
    if expected == "xml":
        assert response.text.startswith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><user>')
    else:
        assert response.json()["primary_id"] == "fmt01"


def test_a_user_in_xml_is_the_json_user_by_the_xsd_rules(api: Api) -> None:
    api.client.post("/users", json=user_body("fmt02", user_identifier=[{"id_type": "BARCODE", "value": "F-2"}]))
    as_json = api.client.get("/users/fmt02", params={"expand": "loans,fees"}).json()
    response = api.client.get("/users/fmt02", params={"expand": "loans,fees", "format": "xml"})
    root = parse_xml(response.content)
    assert root.find("user_group").attrib == {"desc": "Public"}  # type: ignore[union-attr]
    assert root.find("user_group").text == "PUBLIC"  # type: ignore[union-attr]
    assert root.find("user_identifiers/user_identifier").attrib == {"segment_type": "Internal"}  # type: ignore[union-attr]
    assert root.find("loans").attrib["link"].endswith("/users/fmt02/loans")  # type: ignore[union-attr]
    assert root.find("link") is None
    assert "link" not in root.attrib  # null in a single GET: left out
    assert root.find("password").text is None  # type: ignore[union-attr]  # always empty
    name, back = from_xml(response.content)
    assert name == "user"
    assert _plain(back) == _plain(as_json)


def test_a_search_in_xml_carries_its_count_on_the_root(api: Api) -> None:
    for pid in ("s1", "s2", "s3"):
        api.sandbox.users.create(user_body(pid))
    response = api.client.get("/users", params={"limit": 2, "format": "xml"})
    root = parse_xml(response.content)
    assert (root.tag, root.attrib["total_record_count"]) == ("users", "3")
    assert [user.attrib["link"].rsplit("/", 1)[-1] for user in root.findall("user")] == ["s1", "s2"]
    empty = api.client.get("/users", params={"q": "last_name~nobody", "format": "xml"})
    assert from_xml(empty.content) == ("users", {"total_record_count": 0})


def test_lists_in_xml(api: Api) -> None:
    api.sandbox.users.create(user_body("lst01"))
    api.sandbox.users.add_loan("lst01")
    api.sandbox.users.add_fee("lst01", balance=3)
    for path, root, key in (
        ("loans", "item_loans", "item_loan"),
        ("fees", "fees", "fee"),
        ("requests", "user_requests", None),
    ):
        as_json = api.client.get(f"/users/lst01/{path}").json()
        name, back = from_xml(api.client.get(f"/users/lst01/{path}", params={"format": "xml"}).content)
        assert name == root
        assert _plain(back) == _plain(as_json)
        assert (key in back) == (key is not None)


def test_a_user_document_creates_a_user(api: Api) -> None:
    response = api.client.post("/users", content=XML_USER, headers={"Content-Type": "application/xml"})
    assert response.status_code == 200, response.text
    user = User.from_alma(response.json())
    assert (user.record_type.value if user.record_type else None) == "PUBLIC"  # none sent: a Public user
    assert user.user_group
    assert user.user_group.desc == "Graduate student"
    assert user.preferred_email == "grace@example.org"
    assert user.identifier_values("BARCODE") == ["XB-1"]
    assert user.user_note[0].note_text == "Made in XML."
    assert response.json()["birth_date"] == "1906-12-09Z"


def test_a_user_document_updates_a_user_and_the_answer_follows_accept(api: Api) -> None:
    api.client.post("/users", content=XML_USER, headers={"Content-Type": "application/xml"})
    current = api.client.get("/users/xml01", params={"format": "xml"}).content
    changed = current.replace(b"<last_name>Hopper</last_name>", b"<last_name>Hopper-Murray</last_name>")
    response = api.client.put(
        "/users/xml01", content=changed, headers={"Content-Type": "application/xml", "Accept": "application/xml"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    _, after = from_xml(response.content)
    assert after["last_name"] == "Hopper-Murray"
    assert after["contact_info"]["email"][0]["email_address"] == "grace@example.org"  # nothing lost on the way


def test_errors_follow_the_format_too(api: Api) -> None:
    as_xml = api.client.get("/users/nobody", headers={"Accept": "*/*"})
    assert as_xml.headers["content-type"].startswith("application/xml")
    assert as_xml.text.startswith("<?xml")
    assert error_code(as_xml) == "401861"
    as_json = api.client.get("/users/nobody")
    assert as_json.json()["errorList"]["error"][0]["errorCode"] == "401861"


def test_the_xml_writer_and_reader_round_trip_every_shape() -> None:
    user = {
        "primary_id": "rt1",
        "user_group": {"value": "GRAD", "desc": "Graduate"},
        "requests": None,
        "loans": {"value": 2, "link": "https://x/loans"},
        "is_researcher": False,
        "contact_info": {"address": [], "phone": [], "email": [
            {"email_address": "a@example.org", "preferred": True, "segment_type": "External",
             "email_type": [{"value": "work", "desc": "Work"}]}]},
        "user_role": [{"role_type": {"value": "200", "desc": "Patron"},
                       "parameter": [{"type": {"value": "CirculationDesk", "desc": "Circulation desk"},
                                      "value": {"value": "DESK", "desc": ""}}]}],
        "library_notice": [{"code": {"value": "Notice", "desc": "A notice"}, "value": True}],
    }  # fmt: skip
    name, back = from_xml(to_xml("user", user))
    assert name == "user"
    assert _plain(back) == _plain(user)
