"""Lossless: parse → dump keeps every key and value Alma sent, unknown fields and changes included."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from alma_onelink.models import (
    AlmaModel,
    Code,
    ContactInfo,
    Email,
    Fee,
    FeeList,
    Loan,
    LoanList,
    Phone,
    User,
    UserIdentifier,
    UserList,
    UserNote,
    UserRequest,
    UserRole,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "alma-examples"

MODEL_FOR_EXAMPLE: dict[str, type[AlmaModel]] = {
    "user_full_external_pulibrary_bbird.json": User,
    "user_full_internal_staff_slsp.json": User,
    "scriptotek_user_response.json": User,
    "scriptotek_users_response.json": UserList,
    "scriptotek_loans_response.json": LoanList,
    "scriptotek_zero_loans_response.json": LoanList,
    "scriptotek_create_loan_response.json": Loan,
    "scriptotek_fees_response.json": FeeList,
    "scriptotek_zero_fees_response.json": FeeList,
    "scriptotek_fee_response.json": Fee,
    "fee_post_body_slsp.json": Fee,
    "request_post_body_slsp.json": UserRequest,
}
ERROR_EXAMPLES = {
    "error_400_pulibrary.json",
    "error_429_per_second_threshold_pulibrary.json",
    "scriptotek_error_response.json",
    "scriptotek_per_second_threshold_error_response.json",
}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data


def key_paths(value: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every chain of object keys in a JSON value; list levels are skipped (a lone object may become a list)."""
    paths: set[tuple[str, ...]] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            paths.add((*prefix, key))
            paths |= key_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for item in value:
            paths |= key_paths(item, prefix)
    return paths


def typed_differences(sent: Any, written: Any, path: tuple[str | int, ...] = ()) -> set[tuple[str | int, ...]]:
    """Paths where the two JSON values differ in value or in JSON type (so 750 and 750.0 differ)."""
    if isinstance(sent, dict) and isinstance(written, dict):
        diffs: set[tuple[str | int, ...]] = set()
        for key in sent.keys() | written.keys():
            if key not in sent or key not in written:
                diffs.add((*path, key))
            else:
                diffs |= typed_differences(sent[key], written[key], (*path, key))
        return diffs
    if isinstance(sent, list) and isinstance(written, list) and len(sent) == len(written):
        diffs = set()
        for i, (a, b) in enumerate(zip(sent, written, strict=True)):
            diffs |= typed_differences(a, b, (*path, i))
        return diffs
    if type(sent) is not type(written) or sent != written:
        return {path}
    return set()


# --- every real example ---------------------------------------------------------------------------


def test_every_json_example_is_covered() -> None:
    on_disk = {p.name for p in EXAMPLES.glob("*.json")}
    assert on_disk == set(MODEL_FOR_EXAMPLE) | ERROR_EXAMPLES


@pytest.mark.parametrize("name", sorted(MODEL_FOR_EXAMPLE))
def test_real_example_round_trips_exactly(name: str) -> None:
    sent = load(name)
    written = MODEL_FOR_EXAMPLE[name].from_alma(sent).to_alma()
    assert key_paths(sent) <= key_paths(written)
    assert written == sent


@pytest.mark.parametrize("name", sorted(MODEL_FOR_EXAMPLE))
def test_real_example_round_trips_type_for_type(name: str) -> None:
    sent = load(name)
    written = MODEL_FOR_EXAMPLE[name].from_alma(sent).to_alma()
    # Every real payload comes back type for type: whole-number amounts stay integers (750, not 750.0).
    assert typed_differences(sent, written) == set()


@pytest.mark.parametrize("name", sorted(MODEL_FOR_EXAMPLE))
def test_real_example_is_a_fixed_point(name: str) -> None:
    model = MODEL_FOR_EXAMPLE[name]
    once = model.from_alma((EXAMPLES / name).read_bytes()).to_alma()
    assert model.from_alma(once).to_alma() == once
    assert model.from_alma(json.dumps(once)).to_alma() == once


def test_lenient_example_is_normalised_without_losing_anything() -> None:
    sent = load("user_full_external_pulibrary_bbird.json")
    sent["expiry_date"] = "2022-10-31z"
    sent["is_researcher"] = "TRUE"
    sent["user_group"] = "P"
    sent["user_statistic"] = sent["user_statistic"][0]
    sent["user_block"] = None
    written = User.from_alma(sent).to_alma()
    assert key_paths(sent) <= key_paths(written)
    expected = load("user_full_external_pulibrary_bbird.json")
    expected["expiry_date"] = "2022-10-31Z"
    expected["is_researcher"] = True
    expected["user_group"] = {"value": "P"}
    expected["user_block"] = []
    assert written == expected


# --- unknown fields ---------------------------------------------------------------------------------


def test_unknown_fields_are_kept_at_every_level() -> None:
    sent = {
        "primary_id": "u1",
        "brand_new_top": {"nested": [1, "2", None], "when": "2027-06-30"},
        "preferred_pronouns": "they/them",
        "user_group": {"value": "ALUM", "desc": "Alumni", "xml_value": "ALUM"},
        "contact_info": {
            "address": [{"line1": "1 Main St", "geo": {"lat": 35.99, "lon": -78.9}, "préfixe": "é"}],
            "email": [{"email_address": "a@b.c", "verified": True}],
            "future_contact_kind": [{"handle": "@x"}],
        },
        "user_role": [
            {
                "role_type": {"value": "200"},
                "parameter": [{"type": {"value": "CirculationDesk"}, "weight": 3, "flags": ["a"]}],
                "granted_by": "admin",
            }
        ],
        "user_identifier": [{"id_type": "BARCODE", "value": "1", "issued": "2020-01-01T00:00:00Z"}],
    }
    user = User.from_alma(sent)
    written = user.to_alma()
    assert key_paths(sent) <= key_paths(written)
    assert written["brand_new_top"] == sent["brand_new_top"]
    assert written["preferred_pronouns"] == "they/them"
    assert written["user_group"] == {"value": "ALUM", "desc": "Alumni", "xml_value": "ALUM"}
    assert written["contact_info"]["address"][0]["geo"] == {"lat": 35.99, "lon": -78.9}
    assert written["contact_info"]["address"][0]["préfixe"] == "é"
    assert written["contact_info"]["email"][0]["verified"] is True
    assert written["contact_info"]["future_contact_kind"] == [{"handle": "@x"}]
    assert written["user_role"][0]["parameter"][0]["weight"] == 3
    assert written["user_role"][0]["parameter"][0]["flags"] == ["a"]
    assert written["user_role"][0]["granted_by"] == "admin"
    # Unknown values are not reinterpreted: a date-like string stays exactly as sent.
    assert written["user_identifier"][0]["issued"] == "2020-01-01T00:00:00Z"
    assert written == {
        **sent,
        "user_identifier": [{"id_type": {"value": "BARCODE"}, "value": "1", "issued": "2020-01-01T00:00:00Z"}],
    }


def test_unknown_fields_in_real_request_body_are_kept() -> None:
    sent = load("request_post_body_slsp.json")
    written = UserRequest.from_alma(sent).to_alma()
    for key in ("volume", "managed_by_library_code", "managed_by_circulation_desk_code", "date_of_publication"):
        assert written[key] == sent[key]


def test_unknown_fields_survive_a_change_elsewhere() -> None:
    user = User.from_alma({"primary_id": "u1", "new_alma_field": {"x": 1}, "user_role": [{"extra": "r"}]})
    user.last_name = "Changed"
    user.user_role[0].expiry_date = date(2030, 1, 1)
    assert user.to_alma() == {
        "primary_id": "u1",
        "new_alma_field": {"x": 1},
        "user_role": [{"extra": "r", "expiry_date": "2030-01-01Z"}],
        "last_name": "Changed",
    }


def test_unknown_fields_in_list_envelopes_are_kept() -> None:
    sent = {"user": [{"primary_id": "a", "x": 1}], "total_record_count": 1, "next_link": "https://n"}
    assert UserList.from_alma(sent).to_alma() == sent
    fees = {"fee": [{"id": "1", "transaction": [{"amount": 1.5, "new": "y"}]}], "paging": {"o": 0}}
    assert FeeList.from_alma(fees).to_alma() == fees


# --- mutations and untouched defaults ------------------------------------------------------------------


def test_untouched_defaults_are_not_written() -> None:
    assert User().to_alma() == {}
    assert User.from_alma({"primary_id": "u1"}).to_alma() == {"primary_id": "u1"}
    assert Fee.from_alma({"id": "f"}).to_alma() == {"id": "f"}
    assert ContactInfo().to_alma() == {}
    assert User(contact_info=ContactInfo()).to_alma() == {"contact_info": {}}


def test_appending_to_a_list_that_was_not_sent_is_written() -> None:
    user = User.from_alma({"primary_id": "u1"})
    user.user_identifier.append(UserIdentifier(id_type=Code(value="BARCODE"), value="B1"))
    user.user_note.append(UserNote(note_type=Code(value="ERP"), note_text="hello"))
    assert user.to_alma() == {
        "primary_id": "u1",
        "user_identifier": [{"id_type": {"value": "BARCODE"}, "value": "B1"}],
        "user_note": [{"note_type": {"value": "ERP"}, "note_text": "hello"}],
    }


def test_appending_in_a_nested_object_is_written() -> None:
    user = User.from_alma({"contact_info": {"email": [{"email_address": "a@b.c"}]}})
    assert user.contact_info is not None
    user.contact_info.phone.append(Phone(phone_number="555", phone_type=[Code(value="mobile")]))
    user.contact_info.email[0].email_type.append(Code(value="work"))
    assert user.to_alma() == {
        "contact_info": {
            "email": [{"email_address": "a@b.c", "email_type": [{"value": "work"}]}],
            "phone": [{"phone_number": "555", "phone_type": [{"value": "mobile"}]}],
        }
    }


def test_assigned_fields_are_written() -> None:
    user = User.from_alma(load("scriptotek_user_response.json"))
    user.expiry_date = date(2030, 6, 30)
    user.user_group = Code(value="ALUM")
    user.contact_info = ContactInfo(email=[Email(email_address="new@x.org", preferred=True)])
    user.user_role = [UserRole(role_type=Code(value="200"))]
    written = user.to_alma()
    expected = load("scriptotek_user_response.json")
    expected |= {
        "expiry_date": "2030-06-30Z",
        "user_group": {"value": "ALUM"},
        "contact_info": {"email": [{"email_address": "new@x.org", "preferred": True}]},
        "user_role": [{"role_type": {"value": "200"}}],
    }
    assert written == expected


def test_assigning_lenient_values_is_validated() -> None:
    user = User()
    user.expiry_date = "2031-01-31z"  # type: ignore[assignment]
    user.is_researcher = "TRUE"  # type: ignore[assignment]
    assert user.expiry_date == date(2031, 1, 31)
    assert user.to_alma() == {"expiry_date": "2031-01-31Z", "is_researcher": True}


def test_assigning_none_or_empty_is_written_so_alma_clears_it() -> None:
    user = User.from_alma({"primary_id": "u1"})
    user.birth_date = None
    user.user_statistic = []
    assert user.to_alma() == {"primary_id": "u1", "birth_date": None, "user_statistic": []}


def test_clearing_a_sent_list_is_written_as_empty() -> None:
    user = User.from_alma({"user_block": [{"block_description": "X"}]})
    user.user_block.clear()
    assert user.to_alma() == {"user_block": []}


def test_edit_of_real_user_changes_only_what_was_edited() -> None:
    sent = load("user_full_external_pulibrary_bbird.json")
    user = User.from_alma(sent)
    assert user.contact_info is not None
    user.contact_info.email[0].email_address = "big.bird@sesame.org"
    user.user_note.append(UserNote(note_type=Code(value="POPUP"), note_text="Welcome back"))
    written = user.to_alma()
    sent["contact_info"]["email"][0]["email_address"] = "big.bird@sesame.org"
    sent["user_note"] = [{"note_type": {"value": "POPUP"}, "note_text": "Welcome back"}]
    assert written == sent


def test_new_timestamp_in_new_note_is_canonical() -> None:
    user = User.from_alma({"primary_id": "u1"})
    user.user_note.append(UserNote(note_text="x", created_date=datetime.fromisoformat("2024-01-02T03:04:05+01:00")))
    assert user.to_alma()["user_note"] == [{"note_text": "x", "created_date": "2024-01-02T02:04:05Z"}]
