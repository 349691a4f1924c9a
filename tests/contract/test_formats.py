"""Contract: JSON or XML, as Alma chooses them (``format`` first, then ``Accept``), and XML bodies."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ._targets import Target
from .conftest import MakeUser


def _root(content: bytes) -> ET.Element:
    return ET.fromstring(content)


@pytest.mark.parametrize(
    ("params", "headers", "expected"),
    [
        ({}, {"Accept": "*/*"}, "xml"),
        ({}, {"Accept": "application/xml"}, "xml"),
        ({}, {"Accept": "application/json"}, "json"),
        ({"format": "json"}, {"Accept": "*/*"}, "json"),
        ({"format": "xml"}, {"Accept": "application/json"}, "xml"),
    ],
    ids=["any", "xml", "json", "format-json", "format-xml"],
)
def test_the_answer_is_in_the_format_asked_for(
    target: Target, params: dict[str, str], headers: dict[str, str], expected: str
) -> None:
    with target.http(headers=headers) as http:
        response = http.get("/users", params={"limit": 1, **params})
    assert response.status_code == 200
    assert expected in response.headers["content-type"]
    if expected == "xml":
        root = _root(response.content)
        assert root.tag == "users"
        assert int(root.attrib["total_record_count"]) >= 1
    else:
        assert response.json()["total_record_count"] >= 1


@pytest.mark.writes
def test_a_user_in_xml_and_back(make_user: MakeUser, target: Target) -> None:
    user = make_user("xml", first="Grace", last="Hopper")
    with target.http(headers={"Accept": "application/xml"}) as http:
        read = http.get(f"/users/{user.primary_id}")
        assert read.status_code == 200
        root = _root(read.content)
        assert root.findtext("primary_id") == user.primary_id
        group = root.find("user_group")
        assert group is not None
        assert group.text == (user.user_group.value if user.user_group else None)
        assert group.get("desc")  # a code's description is an attribute
        assert root.find("contact_info/emails/email") is not None  # lists sit in a plural wrapper
        changed = read.content.replace(b"<last_name>Hopper</last_name>", b"<last_name>Hamilton</last_name>")
        put = http.put(f"/users/{user.primary_id}", content=changed, headers={"Content-Type": "application/xml"})
    assert put.status_code == 200, put.text
    assert _root(put.content).findtext("last_name") == "Hamilton"
