"""Contract: GET /users search and paging, and the loans/requests/fees lists, through both ways in."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.conftest import Api, error_code, user_body


@pytest.fixture
def people(api: Api) -> Api:
    """Five users with overlapping names, emails, identifiers and groups."""
    rows = [
        ("p1", "Jürgen", "Müller", "UNDERGRAD", "jm@example.org", "BC-001"),
        ("p2", "John", "Smith", "GRAD", "John.Smith@Example.org", "BC-002"),
        ("p3", "Joan", "Smithson", "GRAD", "joan@example.org", "BC-003"),
        ("p4", "Ana María", "Hernández-López", "FACULTY", "ana@example.org", "BC-004"),
        ("p5", "Siobhán", "O'Brien", "ALUM", "sob@example.org", "BC-005"),
    ]
    for pid, first, last, group, email, barcode in rows:
        api.sandbox.users.create(
            user_body(
                pid,
                first_name=first,
                last_name=last,
                user_group=group,
                contact_info={"email": [{"email_address": email, "email_type": "personal"}]},
                user_identifier=[{"id_type": "BARCODE", "value": barcode}],
            )
        )
    return api


def ids(response: Any) -> list[str]:
    return [user["primary_id"] for user in response.json().get("user", [])]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("primary_id~P3", ["p3"]),
        ("first_name~john", ["p2"]),
        ("last_name~smith", ["p2", "p3"]),  # words match from their start
        ("last_name~MULLER", ["p1"]),  # case- and accent-insensitive
        ("last_name~müller", ["p1"]),
        ("last_name~lopez", ["p4"]),  # hyphenated names are two words
        ("last_name~o'brien", ["p5"]),
        ("first_name~ana maria", ["p4"]),
        ("email~JOHN.SMITH@EXAMPLE.ORG", ["p2"]),
        ("identifiers~bc-004", ["p4"]),
        ("user_group~grad", ["p2", "p3"]),
        ("ALL~smith", ["p2", "p3"]),
        ("ALL~bc-005", ["p5"]),
        ("last_name~smith AND first_name~joan", ["p3"]),
        ("user_group~GRAD AND email~joan@example.org", ["p3"]),
        ("last_name~nobody", []),
    ],
)
def test_search_fields(people: Api, q: str, expected: list[str]) -> None:
    response = people.client.get("/users", params={"q": q})
    assert response.status_code == 200
    assert sorted(ids(response)) == expected
    assert response.json()["total_record_count"] == len(expected)


def test_an_empty_result_has_no_user_key(people: Api) -> None:
    assert people.client.get("/users", params={"q": "last_name~nobody"}).json() == {"total_record_count": 0}


def test_search_items_are_brief_unless_expand_full(people: Api) -> None:
    brief = people.client.get("/users", params={"q": "primary_id~p2"}).json()["user"][0]
    assert set(brief) == {
        "primary_id", "first_name", "last_name", "gender", "status", "password", "link", "requests", "loans", "fees"
    }  # fmt: skip
    assert brief["link"] == f"{people.origin}/almaws/v1/users/p2"
    assert brief["password"] == ""
    full = people.client.get("/users", params={"q": "primary_id~p2", "expand": "full"}).json()["user"][0]
    assert full["contact_info"]["email"][0]["email_address"] == "John.Smith@Example.org"
    assert full["link"] == brief["link"]


def test_default_order_is_last_name_first_name_then_primary_id(people: Api) -> None:
    assert ids(people.client.get("/users")) == ["p4", "p1", "p5", "p2", "p3"]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [("first_name", ["p4", "p3", "p2", "p1", "p5"]), ("primary_id", ["p1", "p2", "p3", "p4", "p5"])],
)
def test_order_by(people: Api, order_by: str, expected: list[str]) -> None:
    assert ids(people.client.get("/users", params={"order_by": order_by})) == expected


def test_limit_offset_and_total_record_count(people: Api) -> None:
    pages = [people.client.get("/users", params={"limit": 2, "offset": offset}).json() for offset in (0, 2, 4, 6)]
    assert [p["total_record_count"] for p in pages] == [5, 5, 5, 5]
    assert [len(p.get("user", [])) for p in pages] == [2, 2, 1, 0]
    assert "user" not in pages[3]


def test_default_limit_is_10(api: Api) -> None:
    api.sandbox.seed(12, seed=3)
    body = api.client.get("/users").json()
    assert (len(body["user"]), body["total_record_count"]) == (10, 12)


def test_limit_zero_counts_only(people: Api) -> None:
    assert people.client.get("/users", params={"limit": 0}).json() == {"total_record_count": 5}


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "101"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"offset": "-5"},
        {"q": "smith"},
        {"q": "shoe_size~44"},
        {"q": "last_name~"},
        {"order_by": "birth_date"},
        {"q": "last_name~smith", "modify_date_from": "2026-01-01"},
    ],
)
def test_bad_search_parameters_are_402119(people: Api, params: dict[str, str]) -> None:
    response = people.client.get("/users", params=params)
    assert (response.status_code, error_code(response)) == (400, "402119")


def test_modify_date_from_filters_by_last_change(people: Api) -> None:
    assert people.client.get("/users", params={"modify_date_from": "2026-03-14"}).json()["total_record_count"] == 5
    assert people.client.get("/users", params={"modify_date_from": "20260315"}).json() == {"total_record_count": 0}


def test_overstated_total_record_count(people: Api) -> None:
    people.sandbox.knobs.overstate_total = 3
    body = people.client.get("/users", params={"limit": 100}).json()
    assert (len(body["user"]), body["total_record_count"]) == (5, 8)
    past_the_end = people.client.get("/users", params={"offset": 5}).json()
    assert past_the_end == {"total_record_count": 8}


# --- loans, requests, fees ---------------------------------------------------------------------------


def test_loans_list_active_by_default_with_paging(api: Api) -> None:
    api.sandbox.users.create(user_body("reader01"))
    for _ in range(3):
        api.sandbox.users.add_loan("reader01")
    api.sandbox.users.add_loan("reader01", loan_status="COMPLETE")
    active = api.client.get("/users/reader01/loans").json()
    assert active["total_record_count"] == 3
    assert {loan["loan_status"] for loan in active["item_loan"]} == {"ACTIVE"}
    assert active["item_loan"][0]["user_id"] == "reader01"
    page = api.client.get("/users/reader01/loans", params={"limit": 2, "offset": 2}).json()
    assert (len(page["item_loan"]), page["total_record_count"]) == (1, 3)
    done = api.client.get("/users/reader01/loans", params={"loan_status": "Complete"}).json()
    assert done["total_record_count"] == 1


def test_empty_loans_and_requests_omit_the_array(api: Api) -> None:
    api.sandbox.users.create(user_body("idle01"))
    assert api.client.get("/users/idle01/loans").json() == {"total_record_count": 0}
    assert api.client.get("/users/idle01/requests").json() == {"total_record_count": 0}


def test_requests_list_active_and_history(api: Api) -> None:
    api.sandbox.users.create(user_body("req01"))
    api.sandbox.users.add_request("req01")
    api.sandbox.users.add_request("req01", request_status="History")
    active = api.client.get("/users/req01/requests").json()
    assert active["total_record_count"] == 1
    assert active["user_request"][0]["request_type"] == "HOLD"
    history = api.client.get("/users/req01/requests", params={"status": "history"}).json()
    assert history["user_request"][0]["request_status"] == "History"
    assert api.client.get("/users/req01/requests", params={"request_type": "BOOKING"}).json() == {
        "total_record_count": 0
    }


def test_fees_list_with_total_and_the_empty_shape(api: Api) -> None:
    api.sandbox.users.create(user_body("fee01"))
    assert api.client.get("/users/fee01/fees").json() == {"total_record_count": 0, "total_sum": 0, "currency": None}
    api.sandbox.users.add_fee("fee01", balance=2.5)
    api.sandbox.users.add_fee("fee01", balance=10)
    api.sandbox.users.add_fee("fee01", status="CLOSED", balance=0)
    fees = api.client.get("/users/fee01/fees").json()
    assert (fees["total_record_count"], fees["total_sum"], fees["currency"]) == (2, 12.5, "USD")
    assert fees["fee"][0]["link"].startswith(f"{api.origin}/almaws/v1/users/fee01/fees/")
    assert fees["fee"][0]["user_primary_id"]["value"] == "fee01"
    closed = api.client.get("/users/fee01/fees", params={"status": "CLOSED"}).json()
    assert closed["total_record_count"] == 1
    assert error_code(api.client.get("/users/fee01/fees", params={"status": "LOST"})) == "401666"


def test_lists_are_found_by_identifier_too(api: Api) -> None:
    api.sandbox.users.create(user_body("idf01", user_identifier=[{"id_type": "BARCODE", "value": "IDF-BC"}]))
    api.sandbox.users.add_loan("idf01")
    assert api.client.get("/users/idf-bc/loans").json()["total_record_count"] == 1


def test_a_query_sorts_by_name_without_the_primary_id_tie_break(api: Api) -> None:
    for pid in ("z9", "m5", "a1"):  # equal names, added in reverse primary-id order
        api.sandbox.users.create(user_body(pid, first_name="Sam", last_name="Same"))
    api.sandbox.users.create(user_body("b2", first_name="Sam", last_name="Earlier"))
    assert ids(api.client.get("/users")) == ["b2", "a1", "m5", "z9"]  # no q: primary_id breaks ties
    with_q = api.client.get("/users", params={"q": "first_name~sam"})
    assert ids(with_q) == ["b2", "z9", "m5", "a1"]  # with q: ties keep the store's order


def test_overstated_total_record_count_on_loans_and_requests(api: Api) -> None:
    api.sandbox.users.create(user_body("over01"))
    api.sandbox.users.add_loan("over01")
    api.sandbox.users.add_request("over01")
    api.sandbox.knobs.overstate_total = 4
    loans = api.client.get("/users/over01/loans").json()
    requests = api.client.get("/users/over01/requests").json()
    assert (len(loans["item_loan"]), loans["total_record_count"]) == (1, 5)
    assert (len(requests["user_request"]), requests["total_record_count"]) == (1, 5)
    assert api.client.get("/users/over01/loans", params={"offset": 1}).json() == {"total_record_count": 5}
    assert api.client.get("/users/over01/requests", params={"offset": 1}).json() == {"total_record_count": 5}


# --- every field Alma documents, OR, and queries Alma cannot run ------------------------------------


@pytest.fixture
def detailed(api: Api) -> Api:
    """Three users with every searchable field set, differently."""
    api.sandbox.users.create(
        user_body(
            "d1",
            first_name="Marie",
            last_name="Curie",
            user_group="FACULTY",
            job_category="RESEARCHER",
            campus_code="MED",
            birth_date="1867-11-07",
            job_description="Radium chemistry",
            contact_info={
                "phone": [{"phone_number": "+1 (919) 555-0101", "phone_type": "office"}],
                "address": [{"line1": "11 Rue Pierre", "city": "Paris", "address_type": "work"}],
            },
            user_identifier=[{"id_type": "UNIV_ID", "value": "U-0001"}],
            user_note=[{"note_type": "LIBRARY", "note_text": "Prefers the science reading room."}],
            user_statistic=[{"statistic_category": "DEPT_BIOLOGY"}],
            user_block=[{"block_type": "LOAN", "block_description": "OVERDUE"}],
        )
    )
    api.sandbox.users.create(
        user_body(
            "d2",
            first_name="Pierre",
            last_name="Curie",
            job_category="LIBRARIAN",
            campus_code="EAST",
            birth_date="1859-05-15Z",
            user_identifier=[{"id_type": "BARCODE", "value": "B-0002"}],
            user_note=[{"note_type": "CIRCULATION", "note_text": "Reading room key holder."}],
            user_statistic=[{"statistic_category": "DEPT_HISTORY"}],
        )
    )
    api.sandbox.users.create(user_body("d3", first_name="Irène", last_name="Joliot"))
    api.sandbox.users.add_fee("d2", balance=12.5)
    api.sandbox.users.add_fee("d2", balance=2.5)
    api.sandbox.users.add_fee("d3", balance=9, status="CLOSED")
    return api


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("job_category~researcher", ["d1"]),
        ("campus_code~EAST", ["d2"]),
        ("birth_date~1867-11-07", ["d1"]),
        ("birth_date~18590515", ["d2"]),
        ("birth_date~1859*", ["d2"]),
        ("phone_number~919-555-0101", ["d1"]),
        ("id_type~BARCODE", ["d2"]),
        ("id_type~univ_id", ["d1"]),
        ("block_type~LOAN", ["d1"]),
        ("note_type~circulation", ["d2"]),
        ("note_text~reading room", ["d1", "d2"]),
        ("note_text~science", ["d1"]),
        ("statistic_category~DEPT_HISTORY", ["d2"]),
        ("fines_fees_sum~15", ["d2"]),
        ("fines_fees_sum~0", ["d1", "d3"]),
        ("general_info~radium", ["d1"]),
        ("general_info~paris", ["d1"]),
        ("general_info~biology", ["d1"]),  # a statistic's description
        ("general_info~b-0002", []),  # identifiers are not general information
        ("ALL~b-0002", ["d2"]),  # …but ALL has them
        ("ALL~1867", ["d1"]),
        ("last_name~curie AND job_category~librarian", ["d2"]),
        ("first_name~marie OR first_name~irene", ["d1", "d3"]),
        ("last_name~curie AND first_name~pierre OR last_name~joliot", ["d2", "d3"]),  # AND binds tighter
        ("ALL~joliot OR ALL~radium", ["d1", "d3"]),
    ],
)
def test_every_documented_field_is_searchable(detailed: Api, q: str, expected: list[str]) -> None:
    response = detailed.client.get("/users", params={"q": q})
    assert response.status_code == 200, response.text
    assert sorted(ids(response)) == expected
    assert response.json()["total_record_count"] == len(expected)


@pytest.mark.parametrize(
    "q", ["shoe_size~44", "smith", "last_name~", "ALL~curie AND last_name~curie", "fines_fees_sum~x"]
)
def test_a_query_alma_cannot_run_is_402119_or_minus_one_as_the_knob_says(detailed: Api, q: str) -> None:
    refused = detailed.client.get("/users", params={"q": q})
    assert (refused.status_code, error_code(refused)) == (400, "402119")
    detailed.sandbox.knobs.unsupported_query = "-1"
    answered = detailed.client.get("/users", params={"q": q, "limit": 5})
    assert answered.status_code == 200
    assert answered.json() == {"total_record_count": -1}
    assert detailed.client.get("/users", params={"q": "last_name~curie"}).json()["total_record_count"] == 2


def test_the_unsupported_query_knob_checks_its_value() -> None:
    from alma_onelink.sandbox import Knobs

    with pytest.raises(ValueError, match="unsupported_query"):
        Knobs(unsupported_query="0")
    assert Knobs(unsupported_query="-1").unsupported_query == "-1"
