"""Strict, canonical on write: ``to_alma()`` produces the JSON Alma documents, whatever was read."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from alma_onelink.models import (
    Address,
    Code,
    ContactInfo,
    Email,
    Fee,
    FeeList,
    FeeTransaction,
    Loan,
    User,
    UserBlock,
    UserList,
    UserNote,
    UserRequest,
)

CANONICAL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}Z$")
CANONICAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$")


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["2027-06-30Z", "2027-06-30z", "2027-06-30", "2027-06-30+00:00", date(2027, 6, 30)],
)
def test_dates_are_written_with_a_trailing_z(raw: object) -> None:
    user = User.model_validate({"expiry_date": raw})
    assert user.to_alma() == {"expiry_date": "2027-06-30Z"}


def test_dates_set_in_python_are_written_with_z_everywhere() -> None:
    user = User(
        birth_date=date(1990, 3, 1),
        contact_info=ContactInfo(
            address=[Address(line1="x", start_date=date(2020, 1, 2), end_date=date(2021, 12, 31))]
        ),
    )
    out = user.to_alma()
    assert out["birth_date"] == "1990-03-01Z"
    address = out["contact_info"]["address"][0]
    assert address["start_date"] == "2020-01-02Z"
    assert address["end_date"] == "2021-12-31Z"
    assert all(CANONICAL_DATE.match(v) for v in (address["start_date"], address["end_date"]))


def test_a_datetime_given_for_a_date_keeps_the_calendar_day() -> None:
    user = User.model_validate({"expiry_date": datetime(2027, 6, 30, 15, 0, tzinfo=UTC)})
    assert user.to_alma() == {"expiry_date": "2027-06-30Z"}


# --- timestamps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "written"),
    [
        ("2018-01-05T04:49:27.349Z", "2018-01-05T04:49:27.349Z"),
        ("2018-01-05T04:49:27.349z", "2018-01-05T04:49:27.349Z"),
        ("2018-01-05T04:49:27Z", "2018-01-05T04:49:27Z"),
        ("2018-01-05T04:49:27z", "2018-01-05T04:49:27Z"),
        ("2018-01-05T06:49:27.349+02:00", "2018-01-05T04:49:27.349Z"),
        ("2018-01-04T23:49:27-05:00", "2018-01-05T04:49:27Z"),
        ("2018-01-05T04:49:27.123456Z", "2018-01-05T04:49:27.123Z"),
        (datetime(2018, 1, 5, 4, 49, 27, 349000, tzinfo=UTC), "2018-01-05T04:49:27.349Z"),
        (datetime(2018, 1, 5, 13, 49, 27, tzinfo=timezone(timedelta(hours=9))), "2018-01-05T04:49:27Z"),
        (datetime(2018, 1, 5, 4, 49, 27), "2018-01-05T04:49:27Z"),
    ],
)
def test_timestamps_are_written_in_utc_with_z(raw: object, written: str) -> None:
    fee = Fee.model_validate({"creation_time": raw})
    out = fee.to_alma()
    assert out == {"creation_time": written}
    assert CANONICAL_DATETIME.match(out["creation_time"])


def test_assigned_non_utc_timestamp_is_converted() -> None:
    note = UserNote(note_text="x")
    note.created_date = datetime(2024, 3, 10, 20, 30, tzinfo=timezone(timedelta(hours=-4)))
    assert note.to_alma()["created_date"] == "2024-03-11T00:30:00Z"


@pytest.mark.parametrize("microsecond", [1, 500, 999])
def test_sub_millisecond_timestamps_write_one_canonical_form(microsecond: int) -> None:
    # Writing truncates to milliseconds; what is written must read back and write out unchanged
    # (a fixed point), else the same instant has two canonical forms.
    fee = Fee(creation_time=datetime(2018, 1, 5, 4, 49, 27, microsecond, tzinfo=UTC))
    once = fee.to_alma()
    assert CANONICAL_DATETIME.match(once["creation_time"])
    assert Fee.from_alma(once).to_alma() == once


def test_every_timestamp_field_is_written_canonically() -> None:
    stamp = "2020-02-29T12:00:00.5+01:00"
    loan = Loan.from_alma(dict.fromkeys(("loan_date", "due_date", "return_date", "last_renew_date"), stamp))
    for value in loan.to_alma().values():
        assert value == "2020-02-29T11:00:00.500Z"
    block = UserBlock.from_alma({"created_date": stamp, "expiry_date": stamp})
    assert set(block.to_alma().values()) == {"2020-02-29T11:00:00.500Z"}
    request = UserRequest.from_alma({"request_time": stamp, "booking_start_date": stamp})
    assert set(request.to_alma().values()) == {"2020-02-29T11:00:00.500Z"}
    txn = FeeTransaction.from_alma({"transaction_time": stamp})
    assert txn.to_alma() == {"transaction_time": "2020-02-29T11:00:00.500Z"}


# --- codes -------------------------------------------------------------------------------------


def test_code_from_plain_string_is_written_as_value_object() -> None:
    assert User.from_alma({"user_group": "ALUM"}).to_alma() == {"user_group": {"value": "ALUM"}}
    assert User(user_group=Code(value="ALUM")).to_alma() == {"user_group": {"value": "ALUM"}}


def test_code_desc_is_written_only_if_given() -> None:
    given = User.from_alma({"user_group": {"value": "ALUM", "desc": "Alumni"}})
    assert given.to_alma() == {"user_group": {"value": "ALUM", "desc": "Alumni"}}
    missing = User.from_alma({"user_group": {"value": "ALUM"}})
    assert missing.to_alma() == {"user_group": {"value": "ALUM"}}
    null = User.from_alma({"user_group": {"value": "ALUM", "desc": None}})
    assert null.to_alma() == {"user_group": {"value": "ALUM", "desc": None}}


def test_code_lists_from_strings_are_written_as_value_objects() -> None:
    email = Email.from_alma({"email_address": "a@b.c", "email_type": "work"})
    assert email.to_alma() == {"email_address": "a@b.c", "email_type": [{"value": "work"}]}


def test_assigning_a_plain_string_code_writes_a_value_object() -> None:
    user = User.from_alma({"primary_id": "x"})
    user.user_group = "GRAD"  # type: ignore[assignment]
    assert user.to_alma() == {"primary_id": "x", "user_group": {"value": "GRAD"}}


# --- booleans, numbers, lists --------------------------------------------------------------------


def test_booleans_and_numbers_are_written_as_json_types() -> None:
    email = Email.from_alma({"preferred": "TRUE"})
    assert email.to_alma() == {"preferred": True}
    fee = Fee.from_alma({"balance": "7.50", "transaction": {"amount": "2"}})
    assert fee.to_alma() == {"balance": 7.5, "transaction": [{"amount": 2.0}]}
    assert isinstance(fee.to_alma()["balance"], float)
    request = UserRequest.from_alma({"place_in_queue": "4"})
    assert request.to_alma() == {"place_in_queue": 4}


def test_null_and_lone_object_lists_are_written_as_lists() -> None:
    user = User.from_alma({"user_role": None, "user_statistic": {"statistic_category": "EM"}})
    assert user.to_alma() == {
        "user_role": [],
        "user_statistic": [{"statistic_category": {"value": "EM"}}],
    }
    assert FeeList.from_alma({"fee": {"id": "1"}}).to_alma() == {"fee": [{"id": "1"}]}


def test_output_is_plain_json() -> None:
    user = User.from_alma(
        {
            "expiry_date": "2027-06-30",
            "user_block": [{"created_date": "2020-01-01T00:00:00.1Z"}],
            "is_researcher": "false",
        }
    )
    out = user.to_alma()
    assert json.loads(json.dumps(out)) == out
    assert out == {
        "expiry_date": "2027-06-30Z",
        "user_block": [{"created_date": "2020-01-01T00:00:00.100Z"}],
        "is_researcher": False,
    }


# --- secrets stay out of repr ----------------------------------------------------------------------


def test_password_and_pin_are_hidden_from_repr_but_still_sent() -> None:
    user = User.from_alma({"primary_id": "u1", "password": "Sup3rSecret!", "pin_number": "918273"})
    for text in (repr(user), str(user), repr(UserList(user=[user])), f"{user!r}"):
        assert "Sup3rSecret!" not in text
        assert "918273" not in text
    assert "u1" in repr(user)
    out = user.to_alma()
    assert out["password"] == "Sup3rSecret!"
    assert out["pin_number"] == "918273"


def test_password_assigned_later_is_hidden_from_repr() -> None:
    user = User(primary_id="u1")
    user.password = "An0therSecret"
    assert "An0therSecret" not in repr(user)
    assert user.to_alma() == {"primary_id": "u1", "password": "An0therSecret"}
