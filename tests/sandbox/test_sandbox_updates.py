"""Contract: the finer rules of create and update, through the three ways in.

Bodies (JSON only, too deep), descriptions from the code tables, duplicate identifiers in one body,
account-type changes and passwords, renames carried over to loans and requests, and ``override``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.conftest import Api, error_code, user_body

# --- bodies ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"<user><primary_id>xml01</primary_id><last_name>X</last_name",  # not well formed
        b"<users><user><primary_id>xml01</primary_id></user></users>",  # not a user
        b'<!DOCTYPE user [<!ENTITY x "X">]><user><primary_id>xml01</primary_id><last_name>&x;</last_name></user>',
    ],
)
def test_an_xml_body_that_is_not_a_user_document_is_401676(api: Api, body: bytes) -> None:
    response = api.client.post("/users", content=body, headers={"Content-Type": "application/xml"})
    assert (response.status_code, error_code(response)) == (400, "401676")
    assert api.sandbox.users.get("xml01") is None


def test_a_body_nested_too_deeply_is_401676_not_500(api: Api) -> None:
    deep = b'{"primary_id": "deep01", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for response in (
        api.client.post("/users", content=deep, headers={"Content-Type": "application/json"}),
        api.client.put("/users/deep01", content=deep, headers={"Content-Type": "application/json"}),
    ):
        assert (response.status_code, error_code(response)) == (400, "401676")


# --- descriptions come from the code tables ------------------------------------------------------------


ATLANTIS = {"value": "ATL", "desc": "Atlantis"}


def test_desc_always_comes_from_the_code_tables(api: Api) -> None:
    body = user_body(
        "desc01",
        gender={"value": "XX", "desc": "<script>evil</script>"},
        preferred_language={"value": "tlh", "desc": "Klingon"},
        user_group={"value": "PUBLIC", "desc": "Not what the table says"},
        contact_info={"address": [{"line1": "1 Main St", "city": "Oslo", "address_type": "home", "country": ATLANTIS}]},
        user_role=[
            {
                "role_type": {"value": "31337", "desc": "Root"},
                "scope": {"value": "NOWHERE", "desc": "made up"},
                "parameter": [
                    {
                        "type": {"value": "CirculationDesk", "desc": "bogus"},
                        "scope": {"value": "PERKINS", "desc": "bogus"},
                        "value": {"value": "DEFAULT_CIRC_DESK", "desc": "bogus"},
                    }
                ],
            }
        ],
    )
    user = api.client.post("/users", json=body).json()
    assert user["gender"] == {"value": "XX", "desc": ""}
    assert user["preferred_language"] == {"value": "tlh", "desc": ""}
    assert user["user_group"] == {"value": "PUBLIC", "desc": "Public"}
    assert user["contact_info"]["address"][0]["country"] == {"value": "ATL", "desc": ""}
    [role] = user["user_role"]
    assert role["role_type"] == {"value": "31337", "desc": ""}
    assert role["scope"] == {"value": "NOWHERE", "desc": ""}
    assert role["parameter"] == [
        {
            "type": {"value": "CirculationDesk", "desc": "Circulation desk"},
            "scope": {"value": "PERKINS", "desc": "Perkins Library"},
            "value": {"value": "DEFAULT_CIRC_DESK", "desc": "Main circulation desk"},
        }
    ]
    assert "evil" not in api.client.get("/users/desc01").text


def test_validated_tables_still_refuse_unknown_codes(api: Api) -> None:
    body = user_body("desc02", user_group={"value": "NOPE", "desc": "Anything"})
    assert error_code(api.client.post("/users", json=body)) == "401852"


# --- identifiers within one body ---------------------------------------------------------------------


def _ids(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"id_type": id_type, "value": value} for id_type, value in pairs]


@pytest.mark.parametrize(
    "identifiers",
    [_ids(("BARCODE", "Q1"), ("UNIV_ID", "q1")), _ids(("BARCODE", "Q1"), ("BARCODE", "Q1"))],
)
def test_a_body_repeating_an_identifier_value_is_401851(api: Api, identifiers: list[dict[str, str]]) -> None:
    created = api.client.post("/users", json=user_body("dupe01", user_identifier=identifiers))
    assert (created.status_code, error_code(created)) == (400, "401851")
    assert api.sandbox.users.get("dupe01") is None
    api.sandbox.users.create(user_body("dupe02"))
    updated = api.client.put("/users/dupe02", json=user_body("dupe02", user_identifier=identifiers))
    assert (updated.status_code, error_code(updated)) == (400, "401851")
    assert api.sandbox.users.get("dupe02")["user_identifier"] == []  # type: ignore[index]


# --- account type and password -------------------------------------------------------------------------


def test_internal_to_external_drops_the_password(api: Api) -> None:
    api.sandbox.users.create(user_body("acct01"), password="correct-horse-battery")
    auth = {"op": "auth", "password": "correct-horse-battery"}
    assert api.client.post("/users/acct01", params=auth).status_code == 204
    external = user_body("acct01", account_type="EXTERNAL", external_id="SIS")
    assert api.client.put("/users/acct01", json=external).status_code == 200
    refused = api.client.post("/users/acct01", params=auth)
    assert (refused.status_code, error_code(refused)) == (400, "401866")
    assert not api.sandbox.users.password_matches("acct01", "correct-horse-battery")


def test_the_password_header_is_url_decoded(api: Api) -> None:
    api.sandbox.users.create(user_body("pwh01"), password="p@ss wörd&100%")
    encoded = {"Exl-User-Pw": "p%40ss%20w%C3%B6rd%26100%25"}
    assert api.client.post("/users/pwh01", params={"op": "auth"}, headers=encoded).status_code == 204
    raw = api.client.post("/users/pwh01", params={"op": "auth"}, headers={"Exl-User-Pw": "p%40ss"})
    assert error_code(raw) == "401866"


# --- renames carry over to loans and requests ------------------------------------------------------


def test_a_new_primary_id_is_carried_over_to_loans_and_requests(api: Api) -> None:
    api.sandbox.users.create(user_body("before01"))
    api.sandbox.users.add_loan("before01")
    api.sandbox.users.add_request("before01")
    api.sandbox.users.add_fee("before01")
    assert api.client.put("/users/before01", json=user_body("after01")).status_code == 200
    [loan] = api.client.get("/users/after01/loans").json()["item_loan"]
    [request] = api.client.get("/users/after01/requests").json()["user_request"]
    [fee] = api.client.get("/users/after01/fees").json()["fee"]
    assert loan["user_id"] == "after01"
    assert request["user_primary_id"] == "after01"
    assert fee["user_primary_id"]["value"] == "after01"
    assert [loan["user_id"] for loan in api.sandbox.users.loans("after01")] == ["after01"]


# --- override for external users -----------------------------------------------------------------------


def _external(primary_id: str, **fields: Any) -> dict[str, Any]:
    return user_body(primary_id, account_type="EXTERNAL", external_id="SIS", user_group="UNDERGRAD", **fields)


@pytest.mark.parametrize(
    ("override", "field", "before", "after"),
    [
        ("rs_libraries", "rs_library", [{"code": "PERKINS"}], [{"code": "LILLY"}]),
        (
            "library_notices",
            "library_notice",
            [{"code": "FulUserBorrowingActivityLetter", "value": True}],
            [{"code": "FulUserOverdueNotice", "value": False}],
        ),
    ],
)
def test_override_names_map_to_their_list_fields(
    api: Api, override: str, field: str, before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> None:
    api.sandbox.users.create(_external("ovr01", **{field: before}))
    kept = api.client.put("/users/ovr01", json=_external("ovr01", **{field: after})).json()
    assert [item["code"]["value"] for item in kept[field]] == [before[0]["code"]]
    changed = api.client.put("/users/ovr01", json=_external("ovr01", **{field: after}), params={"override": override})
    assert [item["code"]["value"] for item in changed.json()[field]] == [after[0]["code"]]
    desc = changed.json()[field][0]["code"]["desc"]
    assert desc in ("Lilly Library", "Overdue notice")
