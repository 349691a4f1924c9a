"""Contract: get, create, update (swap all) and delete a user, through both ways in."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.conftest import Api, error_code, user_body

# --- get and not found -----------------------------------------------------------------------------


def test_not_found_is_http_400_with_401861(api: Api) -> None:
    response = api.client.get("/users/nobody")
    assert response.status_code == 400
    [error] = response.json()["errorList"]["error"]
    assert error["errorCode"] == "401861"
    assert error["errorMessage"] == "User with identifier nobody was not found."


def test_not_found_with_an_explicit_id_type_is_401890(api: Api) -> None:
    response = api.client.get("/users/nobody", params={"user_id_type": "BARCODE"})
    assert (response.status_code, error_code(response)) == (400, "401890")


@pytest.mark.parametrize("sub", ["loans", "requests", "fees"])
def test_lists_of_an_unknown_user_are_401861(api: Api, sub: str) -> None:
    assert error_code(api.client.get(f"/users/nobody/{sub}")) == "401861"


@pytest.mark.parametrize("params", [{}, {"user_id_type": "all_unique"}])
def test_put_and_delete_of_an_unknown_user_are_401890_with_the_type(api: Api, params: dict[str, str]) -> None:
    for response in (
        api.client.put("/users/nobody", json=user_body("nobody"), params=params),
        api.client.delete("/users/nobody", params=params),
    ):
        assert (response.status_code, error_code(response)) == (400, "401890")
        [error] = response.json()["errorList"]["error"]
        assert error["errorMessage"] == "User with identifier nobody of type all_unique was not found."


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_put_and_delete_honour_user_id_type(api: Api, method: str) -> None:
    api.sandbox.users.create(user_body("typed01", user_identifier=[{"id_type": "BARCODE", "value": "TB1"}]))
    body = user_body("typed01", first_name="Typed") if method == "PUT" else None
    wrong = api.client.request(method, "/users/TB1", params={"user_id_type": "UNIV_ID"}, json=body)
    assert (wrong.status_code, error_code(wrong)) == (400, "401890")
    assert wrong.json()["errorList"]["error"][0]["errorMessage"] == (
        "User with identifier TB1 of type UNIV_ID was not found."
    )
    assert api.sandbox.users.get("typed01") is not None
    right = api.client.request(method, "/users/TB1", params={"user_id_type": "BARCODE"}, json=body)
    assert right.status_code == (200 if method == "PUT" else 204)
    if method == "PUT":
        assert api.sandbox.users.get("typed01")["first_name"] == "Typed"  # type: ignore[index]
    else:
        assert api.sandbox.users.get("typed01") is None


def test_get_by_any_identifier_ignoring_case(api: Api) -> None:
    ids = [{"id_type": {"value": "BARCODE"}, "value": "BC-777"}, {"id_type": "UNIV_ID", "value": "U42"}]
    api.sandbox.users.create(user_body("Ada01", user_identifier=ids))
    for user_id in ("ada01", "ADA01", "bc-777", "u42"):
        assert api.client.get(f"/users/{user_id}").json()["primary_id"] == "Ada01"


def test_user_id_type_narrows_the_lookup(api: Api) -> None:
    api.sandbox.users.create(user_body("ada01", user_identifier=[{"id_type": "BARCODE", "value": "BC1"}]))
    assert api.client.get("/users/BC1", params={"user_id_type": "BARCODE"}).status_code == 200
    assert api.client.get("/users/ada01", params={"user_id_type": "primary_id"}).status_code == 200
    assert error_code(api.client.get("/users/BC1", params={"user_id_type": "UNIV_ID"})) == "401890"
    assert error_code(api.client.get("/users/BC1", params={"user_id_type": "primary_id"})) == "401890"


def test_expand_adds_counts_and_links_else_null(api: Api) -> None:
    api.sandbox.users.create(user_body("busy01"))
    api.sandbox.users.add_loan("busy01")
    api.sandbox.users.add_loan("busy01", loan_status="COMPLETE")
    api.sandbox.users.add_request("busy01")
    api.sandbox.users.add_fee("busy01", balance=7.5)
    api.sandbox.users.add_fee("busy01", status="CLOSED", balance=0)
    plain = api.client.get("/users/busy01").json()
    assert (plain["loans"], plain["requests"], plain["fees"]) == (None, None, None)
    full = api.client.get("/users/busy01", params={"expand": "loans,requests,fees"}).json()
    assert full["loans"]["value"] == 1
    assert full["requests"]["value"] == 1
    assert full["fees"]["value"] == 7.5
    assert full["loans"]["link"] == f"{api.origin}/almaws/v1/users/busy01/loans"


def test_view_brief_keeps_core_emails_identifiers_statistics(api: Api) -> None:
    contact = {
        "email": [{"email_address": "a@example.org", "email_type": "personal"}],
        "phone": [{"phone_number": "555", "phone_type": "home"}],
    }
    api.sandbox.users.create(
        user_body("brief01", contact_info=contact, user_note=[{"note_type": "OTHER", "note_text": "hi"}])
    )
    brief = api.client.get("/users/brief01", params={"view": "brief"}).json()
    assert brief["contact_info"]["email"][0]["email_address"] == "a@example.org"
    assert brief["contact_info"]["phone"] == []
    assert "user_note" not in brief
    assert "user_role" not in brief
    assert brief["user_statistic"] == []


# --- create ----------------------------------------------------------------------------------------


def test_create_returns_the_full_user_with_defaults_and_descriptions(api: Api) -> None:
    body = user_body(
        "new01",
        middle_name="Byron",
        birth_date="1815-12-10",
        expiry_date="2030-06-30Z",
        user_identifier=[{"id_type": "barcode", "value": "B1"}],
        user_statistic=[{"statistic_category": "PT_ALUMNI"}],
        contact_info={"email": [{"email_address": "ada@example.org", "email_type": [{"value": "personal"}]}]},
    )
    response = api.client.post("/users", json=body)
    assert response.status_code == 200
    user = response.json()
    assert user["full_name"] == "Ada Byron Lovelace"
    assert user["user_group"] == {"value": "PUBLIC", "desc": "Public"}
    assert user["record_type"] == {"value": "PUBLIC", "desc": "Public"}
    assert user["account_type"] == {"value": "INTERNAL", "desc": "Internal"}
    assert user["status"] == {"value": "ACTIVE", "desc": "Active"}
    assert user["status_date"] == "2026-03-14Z"
    assert user["preferred_language"] == {"value": "en", "desc": "English"}
    assert (user["birth_date"], user["expiry_date"]) == ("1815-12-10Z", "2030-06-30Z")
    assert user["user_identifier"][0]["id_type"] == {"value": "BARCODE", "desc": "Barcode"}
    assert user["user_identifier"][0]["segment_type"] == "Internal"
    assert user["user_statistic"][0]["category_type"] == {"value": "PATRON_TYPE", "desc": "Patron type"}
    assert user["contact_info"]["email"][0]["email_type"] == [{"value": "personal", "desc": "Personal"}]
    assert user["contact_info"]["email"][0]["preferred"] is False
    [role] = user["user_role"]
    assert role["role_type"] == {"value": "200", "desc": "Patron"}
    assert role["status"]["value"] == "ACTIVE"
    assert (user["password"], user["loans"], user["link"]) == ("", None, None)
    assert api.client.get("/users/new01").json() == user


def test_create_ignores_fields_alma_does_not_know(api: Api) -> None:
    user = api.client.post("/users", json=user_body("x01", favourite_colour="blue")).json()
    assert "favourite_colour" not in user


@pytest.mark.parametrize("missing", ["primary_id", "last_name", "account_type"])
def test_create_without_a_mandatory_field_is_401664(api: Api, missing: str) -> None:
    body = user_body("m01")
    del body[missing]
    response = api.client.post("/users", json=body)
    assert error_code(response) == "401664"
    assert missing in response.json()["errorList"]["error"][0]["errorMessage"]


@pytest.mark.parametrize("record_type", [None, "", {"value": ""}])
def test_create_without_a_record_type_makes_a_public_user(api: Api, record_type: object) -> None:
    body = user_body("rt01")
    if record_type is None:
        del body["record_type"]
    else:
        body["record_type"] = record_type
    response = api.client.post("/users", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["record_type"] == {"value": "PUBLIC", "desc": "Public"}
    assert response.json()["user_role"][0]["role_type"]["value"] == "200"  # the role rules ran as for PUBLIC


@pytest.mark.parametrize("group", [None, "", {"value": ""}, {"value": None, "desc": ""}])
def test_create_without_a_user_group_is_401852(api: Api, group: object) -> None:
    body = user_body("ug01")
    if group is None:
        del body["user_group"]
    else:
        body["user_group"] = group
    response = api.client.post("/users", json=body)
    assert (response.status_code, error_code(response)) == (400, "401852")
    assert api.sandbox.users.get("ug01") is None


def test_a_put_that_empties_an_internal_users_group_is_401852(api: Api) -> None:
    api.client.post("/users", json=user_body("ug02"))
    response = api.client.put("/users/ug02", json=user_body("ug02", user_group=None))
    assert (response.status_code, error_code(response)) == (400, "401852")
    assert api.client.get("/users/ug02").json()["user_group"]["value"] == "PUBLIC"


@pytest.mark.parametrize(
    ("sub", "item"),
    [
        ("user_identifier", {"id_type": "BARCODE"}),
        ("user_note", {"note_type": "OTHER"}),
        ("user_statistic", {"statistic_note": "no category"}),
    ],
)
def test_segments_need_their_mandatory_fields(api: Api, sub: str, item: dict[str, Any]) -> None:
    assert error_code(api.client.post("/users", json=user_body("m02", **{sub: [item]}))) == "401664"


def test_contact_entries_need_their_mandatory_fields(api: Api) -> None:
    no_type = {"email": [{"email_address": "a@example.org"}]}
    assert error_code(api.client.post("/users", json=user_body("m03", contact_info=no_type))) == "401664"
    no_city = {"address": [{"line1": "1 Main St", "address_type": "home"}]}
    assert error_code(api.client.post("/users", json=user_body("m03", contact_info=no_city))) == "401664"


def test_invalid_code_table_values_are_401864(api: Api) -> None:
    bad_type = user_body("c01", user_identifier=[{"id_type": "SHOE_SIZE", "value": "44"}])
    assert error_code(api.client.post("/users", json=bad_type)) == "401864"
    assert error_code(api.client.post("/users", json=user_body("c02", record_type="ROBOT"))) == "401864"


def test_unknown_user_group_is_401852_until_the_code_table_has_it(api: Api) -> None:
    body = user_body("g01", user_group={"value": "VISITOR"})
    response = api.client.post("/users", json=body)
    assert (response.status_code, error_code(response)) == (400, "401852")
    api.sandbox.code_tables.add("UserGroups", "VISITOR", "Visiting scholar")
    created = api.client.post("/users", json=body).json()
    assert created["user_group"] == {"value": "VISITOR", "desc": "Visiting scholar"}


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"account_type": "INTERNAL", "external_id": "SIS"}, "401853"),
        ({"account_type": "EXTERNAL"}, "401854"),
        ({"account_type": "EXTERNAL", "external_id": "NO_SUCH_SIS"}, "401854"),
        ({"account_type": "INTERNAL_WITH_EXTERNAL_AUTHENTICATION"}, "401855"),
        ({"account_type": "GUEST"}, "401857"),
    ],
)
def test_account_type_rules(api: Api, fields: dict[str, str], code: str) -> None:
    assert error_code(api.client.post("/users", json=user_body("acc01", **fields))) == code


def test_external_user_segments_default_to_external(api: Api) -> None:
    ids = [{"id_type": "BARCODE", "value": "E1"}, {"id_type": "UNIV_ID", "value": "E2", "segment_type": "Internal"}]
    body = user_body("ext01", account_type="EXTERNAL", external_id="SIS", user_identifier=ids)
    user = api.client.post("/users", json=body).json()
    assert [i["segment_type"] for i in user["user_identifier"]] == ["External", "Internal"]
    assert user["external_id"] == "SIS"


@pytest.mark.parametrize("taken", ["dup01", "DUP01", "BC-1", "bc-1"])
def test_an_id_already_used_by_another_user_is_401851(api: Api, taken: str) -> None:
    api.sandbox.users.create(user_body("dup01", user_identifier=[{"id_type": "BARCODE", "value": "BC-1"}]))
    as_primary = api.client.post("/users", json=user_body(taken))
    assert (as_primary.status_code, error_code(as_primary)) == (400, "401851")
    as_identifier = user_body("other01", user_identifier=[{"id_type": "UNIV_ID", "value": taken}])
    assert error_code(api.client.post("/users", json=as_identifier)) == "401851"
    assert api.sandbox.users.get("other01") is None


@pytest.mark.parametrize("password", ["short1", "xxada01xx", "password1", "12345678"])
def test_password_rules_are_500038(api: Api, password: str) -> None:
    response = api.client.post("/users", json=user_body("ada01", password=password))
    assert error_code(response) == "500038"


def test_password_is_kept_but_never_returned(api: Api) -> None:
    created = api.client.post("/users", json=user_body("pw01", password="correct-horse-battery")).json()
    assert created["password"] == ""
    assert api.client.get("/users/pw01").json()["password"] == ""
    assert "correct-horse-battery" not in api.client.get("/users", params={"expand": "full"}).text
    assert api.client.post("/users/pw01", params={"op": "auth", "password": "correct-horse-battery"}).status_code == 204


def test_invalid_json_is_401676(api: Api) -> None:
    response = api.client.post("/users", content=b"{not json", headers={"Content-Type": "application/json"})
    assert error_code(response) == "401676"
    assert error_code(api.client.post("/users", json=["a", "list"])) == "401676"


# --- update: swap all ------------------------------------------------------------------------------


def _full(api: Api, user_id: str) -> dict[str, Any]:
    data: dict[str, Any] = api.client.get(f"/users/{user_id}").json()
    return data


def test_get_then_put_unchanged_keeps_the_record(api: Api) -> None:
    api.sandbox.users.create(user_body("rt01", user_identifier=[{"id_type": "BARCODE", "value": "RT1"}]))
    before = _full(api, "rt01")
    after = api.client.put("/users/rt01", json=before)
    assert after.status_code == 200
    assert after.json() == before


def test_put_replaces_all_and_a_missing_list_deletes_that_segment(api: Api) -> None:
    notes = [{"note_type": "OTHER", "note_text": "keep?"}]
    ids = [{"id_type": "BARCODE", "value": "SW1"}]
    api.sandbox.users.create(user_body("swap01", middle_name="M", user_identifier=ids, user_note=notes))
    body = user_body("swap01", user_identifier=[])  # no middle_name, no user_note, empty identifiers
    user = api.client.put("/users/swap01", json=body).json()
    assert user["middle_name"] == ""
    assert user["user_identifier"] == []
    assert user["user_note"] == []
    assert api.client.get("/users/SW1").status_code == 400  # the identifier is gone from lookups too


def test_put_without_roles_keeps_the_roles(api: Api) -> None:
    custom = [{"role_type": "21", "scope": "PERKINS", "status": "ACTIVE"}]
    api.sandbox.users.create(user_body("roles01", user_role=custom))
    user = api.client.put("/users/roles01", json=user_body("roles01", first_name="Augusta")).json()
    assert user["first_name"] == "Augusta"
    assert [r["role_type"]["value"] for r in user["user_role"]] == ["21"]
    recalculated = api.client.put(
        "/users/roles01", json=user_body("roles01"), params={"recalculate_roles": "true"}
    ).json()
    assert [r["role_type"]["value"] for r in recalculated["user_role"]] == ["200"]


def test_external_users_protected_fields_change_only_when_overridden(api: Api) -> None:
    body = user_body("sis01", account_type="EXTERNAL", external_id="SIS", user_group="UNDERGRAD")
    api.sandbox.users.create(body)
    changed = {**body, "user_group": "ALUM", "preferred_language": "fr", "first_name": "Changed"}
    kept = api.client.put("/users/sis01", json=changed).json()
    assert kept["user_group"]["value"] == "UNDERGRAD"
    assert kept["preferred_language"]["value"] == "en"
    assert kept["first_name"] == "Changed"  # not a protected field
    overridden = api.client.put("/users/sis01", json=changed, params={"override": "user_group"}).json()
    assert overridden["user_group"] == {"value": "ALUM", "desc": "Alumni (generic)"}
    assert overridden["preferred_language"]["value"] == "en"


def test_internal_users_fields_change_without_override(api: Api) -> None:
    api.sandbox.users.create(user_body("int01"))
    user = api.client.put("/users/int01", json=user_body("int01", user_group="ALUM")).json()
    assert user["user_group"]["value"] == "ALUM"


def test_external_id_is_immutable_401858(api: Api) -> None:
    api.sandbox.code_tables.add("ExternalSystems", "OTHER_SIS", "Another SIS")
    api.sandbox.users.create(user_body("imm01", account_type="EXTERNAL", external_id="SIS"))
    moved = user_body("imm01", account_type="EXTERNAL", external_id="OTHER_SIS")
    response = api.client.put("/users/imm01", json=moved)
    assert (response.status_code, error_code(response)) == (400, "401858")
    assert api.sandbox.users.get("imm01")["external_id"] == "SIS"  # type: ignore[index]


def test_an_empty_password_keeps_the_old_one(api: Api) -> None:
    api.sandbox.users.create(user_body("keep01"), password="first-password-ok")
    api.client.put("/users/keep01", json=user_body("keep01", password=""))
    assert api.sandbox.users.password_matches("keep01", "first-password-ok")
    api.client.put("/users/keep01", json=user_body("keep01", password="second-password-ok"))
    assert api.sandbox.users.password_matches("keep01", "second-password-ok")
    assert error_code(api.client.put("/users/keep01", json=user_body("keep01", password="short"))) == "500038"


def test_put_can_change_the_primary_id_but_not_to_a_taken_one(api: Api) -> None:
    api.sandbox.users.create(user_body("old01"))
    api.sandbox.users.create(user_body("taken01"))
    assert error_code(api.client.put("/users/old01", json=user_body("taken01"))) == "401851"
    assert api.client.put("/users/old01", json=user_body("new99")).json()["primary_id"] == "new99"
    assert api.client.get("/users/old01").status_code == 400
    assert api.client.get("/users/new99").status_code == 200


def test_put_status_change_updates_status_date(api: Api) -> None:
    api.sandbox.users.put({**_created(api, "st01"), "status_date": "2020-01-01Z"})
    same = api.client.put("/users/st01", json=_full(api, "st01")).json()
    assert same["status_date"] == "2020-01-01Z"
    inactive = api.client.put("/users/st01", json={**_full(api, "st01"), "status": {"value": "INACTIVE"}}).json()
    assert inactive["status_date"] == "2026-03-14Z"


def _created(api: Api, user_id: str) -> dict[str, Any]:
    return api.sandbox.users.create(user_body(user_id))


# --- delete ----------------------------------------------------------------------------------------


def test_delete_is_204_with_no_body_then_not_found(api: Api) -> None:
    api.sandbox.users.create(user_body("del01"))
    response = api.client.delete("/users/del01")
    assert response.status_code == 204
    assert response.content == b""
    assert error_code(api.client.get("/users/del01")) == "401861"


@pytest.mark.parametrize("activity", ["loan", "request", "fee"])
def test_delete_is_refused_while_the_user_has_activity(api: Api, activity: str) -> None:
    api.sandbox.users.create(user_body("busy01"))
    getattr(api.sandbox.users, f"add_{activity}")("busy01")
    response = api.client.delete("/users/busy01")
    assert (response.status_code, error_code(response)) == (400, "401850")
    assert api.sandbox.users.get("busy01") is not None


def test_delete_is_allowed_with_only_finished_activity(api: Api) -> None:
    api.sandbox.users.create(user_body("done01"))
    api.sandbox.users.add_loan("done01", loan_status="COMPLETE")
    api.sandbox.users.add_request("done01", request_status="History")
    api.sandbox.users.add_fee("done01", status="CLOSED", balance=0)
    assert api.client.delete("/users/done01").status_code == 204
