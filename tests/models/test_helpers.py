"""Conveniences on User, Loan, UserRequest and Fee that notebooks and policies rely on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alma_onelink.models import Fee, FeeList, Loan, LoanList, User, UserRequest

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "alma-examples"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data


def emails(*entries: dict[str, Any]) -> User:
    return User.from_alma({"contact_info": {"email": list(entries)}})


# --- preferred_email -------------------------------------------------------------------------------


def test_preferred_email_picks_the_preferred_one() -> None:
    user = emails(
        {"email_address": "first@x.org", "preferred": False},
        {"email_address": "pref@x.org", "preferred": "TRUE"},
    )
    assert user.preferred_email == "pref@x.org"


def test_preferred_email_falls_back_to_the_first() -> None:
    user = emails({"email_address": "first@x.org"}, {"email_address": "second@x.org", "preferred": "false"})
    assert user.preferred_email == "first@x.org"


def test_preferred_email_is_none_without_emails() -> None:
    assert User().preferred_email is None
    assert User.from_alma({"contact_info": {"email": None}}).preferred_email is None
    assert User.from_alma({"contact_info": None}).preferred_email is None


def test_preferred_email_on_real_users() -> None:
    assert User.from_alma(load("scriptotek_user_response.json")).preferred_email == "dan@banan.com"
    assert User.from_alma(load("user_full_internal_staff_slsp.json")).preferred_email == "test.test@test.ch"


def test_preferred_email_follows_a_later_append() -> None:
    user = emails({"email_address": "first@x.org"})
    assert user.contact_info is not None
    user.contact_info.email.append(user.contact_info.email[0].model_copy(update={"email_address": "n@x.org"}))
    user.contact_info.email[1].preferred = True
    assert user.preferred_email == "n@x.org"


# --- identifier_values ------------------------------------------------------------------------------


IDENTIFIED = {
    "user_identifier": [
        {"id_type": {"value": "BARCODE", "desc": "Barcode"}, "value": "B1"},
        {"id_type": "UNIV_ID", "value": "U1"},
        {"id_type": {"value": "BARCODE"}, "value": "B2"},
        {"id_type": {"value": "BARCODE"}, "value": None},
        {"value": "NOTYPE"},
    ]
}


def test_identifier_values_all() -> None:
    assert User.from_alma(IDENTIFIED).identifier_values() == ["B1", "U1", "B2", "NOTYPE"]


@pytest.mark.parametrize("id_type", ["BARCODE", "barcode", "Barcode"])
def test_identifier_values_by_type_ignores_case(id_type: str) -> None:
    assert User.from_alma(IDENTIFIED).identifier_values(id_type) == ["B1", "B2"]


def test_identifier_values_of_unknown_type_is_empty() -> None:
    assert User.from_alma(IDENTIFIED).identifier_values("OTHER_ID_1") == []
    assert User().identifier_values() == []


def test_identifier_values_lone_object() -> None:
    user = User.from_alma({"user_identifier": {"id_type": "UNIV_ID", "value": "U9"}})
    assert user.identifier_values("univ_id") == ["U9"]


# --- statistic ---------------------------------------------------------------------------------------


def test_statistic_by_category_type_ignores_case() -> None:
    user = User.from_alma(
        {
            "user_statistic": [
                {"statistic_category": "RC_60", "category_type": {"value": "RESPONSIBILITY_CENTER"}},
                {"statistic_category": {"value": "ALUM"}, "category_type": {"value": "PATRON_TYPE"}},
                {"statistic_category": {"value": "OTHER"}, "category_type": {"value": "PATRON_TYPE"}},
                {"statistic_category": {"value": "NOTYPE"}},
            ]
        }
    )
    found = user.statistic("patron_type")
    assert found is not None
    assert found.statistic_category is not None
    assert found.statistic_category.value == "ALUM"
    assert user.statistic("NOPE") is None
    assert User().statistic("PATRON_TYPE") is None


# --- is_patron_only -------------------------------------------------------------------------------------


def test_is_patron_only() -> None:
    patron = User.from_alma({"user_role": [{"role_type": {"value": "200", "desc": "Patron"}}]})
    assert patron.is_patron_only is True
    two_patron_roles = User.from_alma({"user_role": [{"role_type": "200"}, {"role_type": {"value": "200"}}]})
    assert two_patron_roles.is_patron_only is True
    staff = User.from_alma({"user_role": [{"role_type": "200"}, {"role_type": "225"}]})
    assert staff.is_patron_only is False
    untyped = User.from_alma({"user_role": [{"role_type": "200"}, {"scope": "LIB"}]})
    assert untyped.is_patron_only is False


def test_is_patron_only_on_a_real_staff_user() -> None:
    assert User.from_alma(load("user_full_internal_staff_slsp.json")).is_patron_only is False


# --- str(user) -------------------------------------------------------------------------------------------


def test_str_user() -> None:
    assert str(User.from_alma(load("scriptotek_user_response.json"))) == "Dan Banan <12345>"
    assert str(User(first_name="Ada", last_name="Lovelace", primary_id="al1")) == "Ada Lovelace <al1>"
    assert str(User(last_name="Lovelace", primary_id="al1")) == "Lovelace <al1>"
    assert str(User(full_name="Grace Hopper", first_name="G", primary_id="gh")) == "Grace Hopper <gh>"
    assert str(User()) == "(no name) <no primary id>"


# --- Loan, UserRequest, Fee ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "active"),
    [("ACTIVE", True), ("active", True), ("COMPLETE", False), (None, False), ("", False)],
)
def test_loan_is_active(status: str | None, active: bool) -> None:
    assert Loan(loan_status=status).is_active is active


def test_real_loans_are_active() -> None:
    loans = LoanList.from_alma(load("scriptotek_loans_response.json")).item_loan
    assert [loan.is_active for loan in loans] == [True, True]
    assert Loan.from_alma(load("scriptotek_create_loan_response.json")).is_active


@pytest.mark.parametrize(
    ("status", "active"),
    [
        ("Not Started", True),
        ("In Process", True),
        ("On Hold Shelf", True),
        (None, True),
        ("History", False),
        ("HISTORY", False),
        (" history ", False),
    ],
)
def test_request_is_active(status: str | None, active: bool) -> None:
    assert UserRequest(request_status=status).is_active is active


@pytest.mark.parametrize(
    ("fee", "unpaid"),
    [
        ({"balance": 750, "status": {"value": "ACTIVE"}}, True),
        ({"balance": "0.01"}, True),
        ({"balance": 0, "status": {"value": "ACTIVE"}}, False),
        ({"balance": "0"}, False),
        ({"balance": -5, "type": "CREDIT"}, False),
        ({"balance": 10, "status": {"value": "CLOSED"}}, False),
        ({"status": {"value": "ACTIVE"}}, False),
    ],
)
def test_fee_is_unpaid(fee: dict[str, Any], unpaid: bool) -> None:
    assert Fee.from_alma(fee).is_unpaid is unpaid


def test_real_fees_are_unpaid() -> None:
    assert Fee.from_alma(load("scriptotek_fee_response.json")).is_unpaid
    fees = FeeList.from_alma(load("scriptotek_fees_response.json")).fee
    assert [fee.is_unpaid for fee in fees] == [True]
