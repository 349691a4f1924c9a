"""Patron and friends: validation messages a person understands."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from alma_onelink.errors import InputError
from alma_onelink.models import Code, User, UserIdentifier
from alma_onelink.policy import (
    Affiliation,
    Donation,
    EligibilityIssue,
    EligibilityIssues,
    Patron,
    PostalAddress,
    add_months,
    blocking,
    onelink_id_clash,
)
from alma_onelink.policy.types import affiliation_code

BASE: dict[str, Any] = {"onelink_id": "0123456", "first_name": "Ada", "last_name": "Lovelace", "affiliation": "alumni"}


def test_a_minimal_patron() -> None:
    patron = Patron(**BASE)
    assert patron.onelink_id == "0123456"
    assert patron.extra == {}
    assert patron.has_active_netid is False
    assert patron.full_name == "Ada Lovelace"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"onelink_id": 123456}, "type the ID exactly as OneLink shows it (at Duke, the 7-digit ID), leading zeros"),
        ({"onelink_id": "   "}, "onelink_id must not be blank"),
        ({"onelink_id": "012 3456"}, "onelink_id must not contain spaces"),
        ({"first_name": " "}, "first_name must not be blank"),
        ({"last_name": ""}, "last_name must not be blank"),
        ({"affiliation": ""}, "affiliation must not be blank"),
        ({"email": "ada.example.org"}, "does not look like an address; expected name@example.org"),
        ({"email": "ada@localhost"}, "does not look like an address"),
        ({"phone": "call me"}, "must be a number with at least 7 digits"),
        ({"phone": "555"}, "must be a number with at least 7 digits"),
        ({"graduated_on": "last May"}, "graduated_on must be a date written YYYY-MM-DD, like 2024-05-12"),
        ({"graduated_on": date(2999, 5, 1)}, "graduated_on 2999-05-01 is in the future; enter the date it happened"),
        ({"left_on": "1850-01-01"}, "left_on 1850-01-01 is implausibly early; check the year"),
        ({"prior_role": "dean"}, "prior_role must be one of faculty, staff, sponsored, student (or left empty)"),
        ({"donation": {"amount": "-5", "given_on": "2024-01-01"}}, "donation.amount must be zero or more"),
        ({"donation": {"amount": "lots", "given_on": "2024-01-01"}}, "amount must be a number of dollars"),
        ({"address": {"line1": "1 Main St"}}, "address.city is required"),
        ({"netid": "ada1"}, "netid is not a known field; put institution-specific facts in extra={...}"),
    ],
)
def test_bad_input_says_what_to_fix(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=r"^Patron: ") as caught:
        Patron(**{**BASE, **change})
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)  # callers may catch ValueError


@pytest.mark.parametrize("number", [123456, 1234567, 123456.0])
def test_a_numeric_onelink_id_is_not_echoed_back_as_the_value_to_type(number: float) -> None:
    # A number has lost its leading zeros: "123456" in quotes could be the wrong id (0123456).
    with pytest.raises(InputError) as caught:
        Patron(**{**BASE, "onelink_id": number})
    message = str(caught.value)
    assert "exactly as OneLink shows it" in message
    assert "leading zeros included, in quotes" in message
    assert f'"{number}"' not in message
    assert f'"{int(number)}"' not in message


def test_every_missing_field_is_listed_at_once() -> None:
    with pytest.raises(InputError) as caught:
        Patron(first_name="Ada")  # type: ignore[call-arg]
    assert str(caught.value) == "Patron: onelink_id is required; last_name is required; affiliation is required"


@pytest.mark.parametrize(
    ("field", "given", "kept"),
    [
        ("onelink_id", " 0123456 ", "0123456"),
        ("affiliation", "Former affiliate", "former_affiliate"),
        ("affiliation", "former-affiliate", "former_affiliate"),
        ("email", "  ", None),
        ("phone", "+1 (919) 555-0100", "+1 (919) 555-0100"),
        ("graduated_on", "2020-05-10", date(2020, 5, 10)),
        ("graduated_on", "2020-05-10Z", date(2020, 5, 10)),
        ("graduated_on", "2020-05-10T14:00:00Z", date(2020, 5, 10)),
        ("graduated_on", " ", None),
        ("prior_role", "Sponsored researcher", "sponsored"),
        ("prior_role", "FACULTY", "faculty"),
        ("prior_role", "", None),
    ],
)
def test_lenient_where_the_meaning_is_clear(field: str, given: Any, kept: Any) -> None:
    assert getattr(Patron(**{**BASE, field: given}), field) == kept


def test_donation_amounts() -> None:
    assert Donation(amount="$1,250.50", given_on="2024-03-01").amount == Decimal("1250.50")
    assert Donation(amount=100.1, given_on=date(2024, 3, 1)).amount == Decimal("100.1")
    with pytest.raises(InputError, match="given_on 2999-01-01 is in the future"):
        Donation(amount=100, given_on="2999-01-01")
    with pytest.raises(InputError, match=r"^Donation: given_on is required: the date of the gift"):
        Donation(amount=100, given_on=" ")


def test_address_needs_line1_and_city() -> None:
    with pytest.raises(InputError, match="line1 must not be blank"):
        PostalAddress(line1=" ", city="Durham")


def test_affiliation_requires_known_patron_fields() -> None:
    assert Affiliation("trln", "TRLN", ["home_institution"]).requires == ("home_institution",)
    with pytest.raises(ValueError, match="requires unknown Patron field"):
        Affiliation("trln", "TRLN", ["home_school"])
    with pytest.raises(ValueError, match="needs a code and a label"):
        Affiliation(" ", "TRLN")


@pytest.mark.parametrize(("code", "chosen"), [("Former-Affiliate", "former_affiliate"), ("TRLN", "trln")])
def test_an_affiliation_code_is_written_as_staff_input_is_read(code: str, chosen: str) -> None:
    assert affiliation_code(code) == chosen
    assert Patron(**{**BASE, "affiliation": code}).affiliation == chosen
    with pytest.raises(ValueError, match=f"the affiliation code '{code}' could never be .*: write it as '{chosen}'"):
        Affiliation(code, "X")
    assert Affiliation(chosen, "X").code == chosen


def test_onelink_id_clash() -> None:
    barcode = UserIdentifier(id_type=Code(value="BARCODE"), value="a1234")
    assert onelink_id_clash(User(primary_id="a1234"), "A1234") == ("account_exists", ())
    assert onelink_id_clash(User(primary_id="OLD", user_identifier=[barcode]), "A1234") == (
        "identifier_in_use",
        (barcode,),
    )
    assert onelink_id_clash(User(primary_id="OLD", user_identifier=[barcode]), "A12345") is None


def test_affiliation_missing_facts() -> None:
    friends = Affiliation("friends", "Friends", ["donation", "email"])
    assert friends.missing(Patron(**BASE)) == ["donation", "email"]


def test_issue_severity_is_checked() -> None:
    with pytest.raises(ValueError, match='severity must be "block" or "warn"'):
        EligibilityIssue(code="x", message="y", severity="stop")  # type: ignore[arg-type]
    issue = EligibilityIssue.block("recent_alum", "Wait.", hint="Come back later.")
    assert issue.is_blocking
    assert str(issue) == "[block] recent_alum: Wait. (hint: Come back later.)"


def test_issue_lists_split_blocks_from_warnings() -> None:
    block, warn = EligibilityIssue.block("a", "A"), EligibilityIssue.warn("b", "B")
    issues = EligibilityIssues([warn, block])
    assert issues.blocking == [block] == blocking(issues)
    assert issues.warnings == [warn]
    assert not issues.ok
    assert EligibilityIssues([warn]).ok


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2025, 7, 1), 12, date(2026, 7, 1)),
        (date(2025, 7, 1), -60, date(2020, 7, 1)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


# --- patron input is bounded ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1e7000000", "written in digits"),
        ("1E+3", "written in digits"),
        (Decimal("1E+3"), "written in digits"),
        ("Infinity", "written in digits"),
        ("NaN", "written in digits"),
        ("-0", "zero or more"),
        ("-0.00", "zero or more"),
        (Decimal("-0"), "zero or more"),
        ("1000000.01", "at most 1,000,000 dollars"),
        (10**12, "at most 1,000,000 dollars"),
        ("1" * 5000, "written in digits"),
    ],
)
def test_a_donation_amount_is_bounded_and_written_in_digits(amount: object, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        Donation(amount=amount, given_on=date(2024, 1, 1))
    assert len(str(caught.value)) < 300  # a 5,000-digit amount is not echoed whole


@pytest.mark.parametrize("amount", ["0", "100", "$1,000,000", "250.00", 99.5, Decimal("12.50")])
def test_plausible_donation_amounts_are_taken(amount: object) -> None:
    assert Donation(amount=amount, given_on=date(2024, 1, 1)).amount <= Decimal("1000000")


@pytest.mark.parametrize(
    "name",
    ["Ada\nLovelace", "Ada\tLovelace", "Ada\x00", "Ada\u2028Lovelace", "\u202eecalevol", "A" * 101],
)
def test_names_with_control_characters_or_implausible_length_are_refused(name: str) -> None:
    for field in ("first_name", "last_name"):
        with pytest.raises(InputError, match=field):
            Patron(**{**BASE, field: name})


PERSIAN_WITH_ZWNJ = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # a joiner is part of the name


@pytest.mark.parametrize("name", ["Zoë", "O'Brien-Smith", "José María", "محمد", PERSIAN_WITH_ZWNJ, "A" * 100])
def test_real_names_are_taken(name: str) -> None:
    assert Patron(**{**BASE, "first_name": name}).first_name == name
