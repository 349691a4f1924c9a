"""Lenient on read: every quirk Alma is known to send parses into clean Python types."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from alma_onelink.errors import InputError
from alma_onelink.models import (
    Address,
    Code,
    ContactInfo,
    Email,
    Fee,
    FeeList,
    LibraryNotice,
    Loan,
    LoanList,
    Phone,
    RequestList,
    User,
    UserList,
    UserNote,
    UserRequest,
    UserRole,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "alma-examples"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data


# --- booleans ----------------------------------------------------------------------------------

BOOL_FIELDS: list[tuple[type[BaseModel], str]] = [
    (Email, "preferred"),
    (Phone, "preferred_sms"),
    (Address, "preferred"),
    (Loan, "renewable"),
    (UserNote, "user_viewable"),
    (UserNote, "popup_note"),
    (User, "is_researcher"),
    (LibraryNotice, "value"),
    (UserRequest, "partial_digitization"),
]


@pytest.mark.parametrize(("model", "field"), BOOL_FIELDS)
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        ("true", True),
        ("TRUE", True),
        ("True", True),
        (False, False),
        ("false", False),
        ("FALSE", False),
    ],
)
def test_booleans_read_from_json_bools_and_any_case_strings(
    model: type[BaseModel], field: str, raw: object, expected: bool
) -> None:
    parsed = model.model_validate({field: raw})
    assert getattr(parsed, field) is expected


def test_booleans_read_from_raw_json_text() -> None:
    email = Email.from_alma('{"email_address": "a@b.c", "preferred": "TRUE"}')
    assert email.preferred is True
    assert email.to_alma()["preferred"] is True


def test_garbage_boolean_is_rejected_naming_the_field() -> None:
    with pytest.raises(InputError, match=r"Email: preferred: .*valid boolean"):
        Email.from_alma({"preferred": "maybe"})


# --- numbers -----------------------------------------------------------------------------------


def test_float_fields_read_numbers_sent_as_strings() -> None:
    fee = Fee.from_alma(
        {
            "balance": "750",
            "original_amount": "7.50",
            "remaining_vat_amount": "0",
            "transaction": [{"amount": "1.25", "vat_amount": "0.5"}],
        }
    )
    assert fee.balance == 750.0
    assert fee.original_amount == 7.5
    assert fee.remaining_vat_amount == 0.0
    assert fee.transaction[0].amount == 1.25
    assert fee.transaction[0].vat_amount == 0.5
    assert fee.to_alma()["balance"] == 750


def test_int_fields_read_numbers_sent_as_strings() -> None:
    assert UserRequest.from_alma({"place_in_queue": "3"}).place_in_queue == 3
    assert FeeList.from_alma({"total_record_count": "12", "total_sum": "750"}).total_record_count == 12
    assert FeeList.from_alma({"total_sum": "750"}).total_sum == 750.0
    assert UserList.from_alma({"total_record_count": "0"}).total_record_count == 0
    assert LoanList.from_alma({"total_record_count": "2"}).total_record_count == 2
    assert RequestList.from_alma({"total_record_count": "5"}).total_record_count == 5


def test_linked_count_reads_a_number_as_string() -> None:
    user = User.from_alma({"loans": {"value": "3", "link": "https://x/loans"}})
    assert user.loans is not None
    assert user.loans.value == 3


def test_numbers_where_text_is_expected_read_as_text() -> None:
    user = User.from_alma({"primary_id": 12345, "user_identifier": [{"value": 987}]})
    assert user.primary_id == "12345"
    assert user.identifier_values() == ["987"]


def test_garbage_number_is_rejected_echoing_it() -> None:
    with pytest.raises(InputError, match=r"Fee: balance: 'seven' is not a number such as 7.50"):
        Fee.from_alma({"balance": "seven"})


# --- blank strings for numbers, booleans, dates --------------------------------------------------

# One field of each lenient scalar type (AlmaBool, AlmaInt, AlmaFloat, AlmaDate, AlmaDateTime).
BLANK_FIELDS: list[tuple[type[BaseModel], str]] = [
    (Email, "preferred"),
    (UserRequest, "place_in_queue"),
    (Fee, "balance"),
    (User, "expiry_date"),
    (Fee, "creation_time"),
]


@pytest.mark.parametrize(("model", "field"), BLANK_FIELDS)
@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_string_reads_as_none(model: type[BaseModel], field: str, blank: str) -> None:
    parsed = model.model_validate({field: blank})
    assert getattr(parsed, field) is None


# --- codes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        {"value": "ALUM", "desc": "Alumni"},
        {"value": "ALUM", "desc": None},
        {"value": "ALUM", "desc": ""},
        {"value": "ALUM", "desc": "  "},
        {"value": "ALUM"},
        "ALUM",
    ],
)
def test_code_reads_with_any_desc_or_as_plain_string(raw: object) -> None:
    user = User.from_alma({"user_group": raw})
    assert user.user_group is not None
    assert user.user_group.value == "ALUM"
    assert str(user.user_group) == "ALUM"
    assert user.user_group.matches("alum")


def test_plain_string_code_has_no_desc() -> None:
    user = User.from_alma({"user_group": "ALUM"})
    assert user.user_group == Code(value="ALUM")
    assert user.user_group is not None
    assert user.user_group.desc is None


def test_empty_codes_alma_sends_are_accepted() -> None:
    user = User.from_alma({"gender": {"value": "", "desc": ""}, "campus_code": {"value": None, "desc": ""}})
    assert user.gender is not None
    assert user.gender.value == ""
    assert user.campus_code is not None
    assert user.campus_code.value is None
    assert not user.campus_code.matches("")
    assert user.campus_code.matches(None)


def test_plain_strings_in_code_lists() -> None:
    email = Email.from_alma({"email_address": "a@b.c", "email_type": "work"})
    assert email.email_type == [Code(value="work")]
    phone = Phone.from_alma({"phone_type": ["mobile", {"value": "home", "desc": None}]})
    assert [c.value for c in phone.phone_type] == ["mobile", "home"]


def test_code_keyword_accepts_a_plain_string() -> None:
    user = User(user_group="ALUM")
    assert user.user_group == Code(value="ALUM")


# --- dates and timestamps ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["2027-06-30Z", "2027-06-30z", "2027-06-30", " 2027-06-30Z ", "2027-06-30+00:00"],
)
def test_dates_read_with_or_without_z(raw: str) -> None:
    user = User.from_alma({"expiry_date": raw, "birth_date": raw, "purge_date": raw})
    for value in (user.expiry_date, user.birth_date, user.purge_date):
        assert type(value) is date
        assert value == date(2027, 6, 30)


def test_dates_in_sub_objects_are_typed() -> None:
    user = User.from_alma(
        {
            "contact_info": {"address": [{"start_date": "2016-08-22Z", "end_date": "2021-11-09z"}]},
            "user_role": [{"expiry_date": "2030-01-01"}],
        }
    )
    assert user.contact_info is not None
    assert user.contact_info.address[0].start_date == date(2016, 8, 22)
    assert user.contact_info.address[0].end_date == date(2021, 11, 9)
    assert user.user_role[0].expiry_date == date(2030, 1, 1)


def test_garbage_date_is_rejected_echoing_it_as_typed() -> None:
    with pytest.raises(InputError, match=r"User: expiry_date: '30/06/2027' is not a date such as 2027-06-30Z"):
        User.from_alma({"expiry_date": "30/06/2027"})


@pytest.mark.parametrize("raw", ["2027-06-3Tx", "tomorrow 2027t", "2027-06-31T00:00:00Z"])
def test_a_bad_date_is_echoed_with_its_letters_as_typed_and_called_a_date(raw: str) -> None:
    with pytest.raises(InputError) as caught:
        User.from_alma({"expiry_date": raw})
    assert repr(raw) in str(caught.value)
    assert "timestamp" not in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2018-01-05T04:49:27.349Z", datetime(2018, 1, 5, 4, 49, 27, 349000, tzinfo=UTC)),
        ("2018-01-05T04:49:27.349z", datetime(2018, 1, 5, 4, 49, 27, 349000, tzinfo=UTC)),
        ("2018-01-05T04:49:27Z", datetime(2018, 1, 5, 4, 49, 27, tzinfo=UTC)),
        ("2018-01-05T04:49:27z", datetime(2018, 1, 5, 4, 49, 27, tzinfo=UTC)),
        ("2018-01-05T04:49:27", datetime(2018, 1, 5, 4, 49, 27, tzinfo=UTC)),
        ("2018-01-05T04:49:27.349", datetime(2018, 1, 5, 4, 49, 27, 349000, tzinfo=UTC)),
        ("2018-01-05T06:49:27+02:00", datetime(2018, 1, 5, 4, 49, 27, tzinfo=UTC)),
        ("2018-01-04T23:49:27.5-05:00", datetime(2018, 1, 5, 4, 49, 27, 500000, tzinfo=UTC)),
        ("2018-01-05", datetime(2018, 1, 5, tzinfo=UTC)),
    ],
)
def test_timestamps_read_as_aware_datetimes(raw: str, expected: datetime) -> None:
    fee = Fee.from_alma({"creation_time": raw})
    assert fee.creation_time is not None
    assert fee.creation_time.tzinfo is not None
    assert fee.creation_time.utcoffset() is not None
    assert fee.creation_time == expected


def test_utc_timestamps_are_in_utc() -> None:
    fee = Fee.from_alma({"creation_time": "2018-01-05T04:49:27.349Z"})
    assert fee.creation_time is not None
    assert fee.creation_time.utcoffset() == timedelta(0)
    assert fee.creation_time.hour == 4


def test_garbage_timestamp_is_rejected() -> None:
    with pytest.raises(InputError, match="'yesterday' is not an ISO 8601 timestamp"):
        Fee.from_alma({"creation_time": "yesterday"})


# --- lists -------------------------------------------------------------------------------------

LIST_CASES: list[tuple[type[BaseModel], str, dict[str, Any]]] = [
    (User, "user_identifier", {"id_type": {"value": "BARCODE"}, "value": "123"}),
    (User, "user_role", {"role_type": {"value": "200"}}),
    (User, "user_statistic", {"statistic_category": {"value": "EM"}}),
    (User, "user_note", {"note_text": "hi"}),
    (User, "user_block", {"block_description": {"value": "X"}}),
    (User, "library_notice", {"code": {"value": "N"}, "value": "true"}),
    (User, "rs_library", {"code": {"value": "L"}}),
    (User, "proxy_for_user", {"primary_id": "p"}),
    (ContactInfo, "email", {"email_address": "a@b.c"}),
    (ContactInfo, "phone", {"phone_number": "1"}),
    (ContactInfo, "address", {"line1": "1 Main St"}),
    (Address, "address_type", {"value": "home"}),
    (UserRole, "parameter", {"type": {"value": "CirculationDesk"}}),
    (Fee, "transaction", {"amount": "1"}),
    (UserList, "user", {"primary_id": "u1"}),
    (LoanList, "item_loan", {"loan_id": "l1"}),
    (FeeList, "fee", {"id": "f1"}),
    (RequestList, "user_request", {"request_id": "r1"}),
]


@pytest.mark.parametrize(("model", "field", "item"), LIST_CASES)
def test_absent_or_null_list_reads_as_empty(model: type[BaseModel], field: str, item: dict[str, Any]) -> None:
    assert getattr(model.model_validate({}), field) == []
    assert getattr(model.model_validate({field: None}), field) == []


@pytest.mark.parametrize(("model", "field", "item"), LIST_CASES)
def test_lone_object_reads_as_one_item_list(model: type[BaseModel], field: str, item: dict[str, Any]) -> None:
    as_list = getattr(model.model_validate({field: [item]}), field)
    lone = getattr(model.model_validate({field: item}), field)
    assert isinstance(lone, list)
    assert len(lone) == 1
    assert lone == as_list


def test_null_nested_list_in_real_shape() -> None:
    user = User.from_alma({"contact_info": {"address": None, "email": None, "phone": None}})
    assert user.contact_info is not None
    assert user.contact_info.address == []
    assert user.contact_info.email == []
    assert user.contact_info.phone == []


# --- typed access on real payloads ---------------------------------------------------------------


def test_real_user_fields_are_typed() -> None:
    user = User.from_alma(load("scriptotek_user_response.json"))
    assert user.birth_date == date(1990, 3, 1)
    assert user.primary_id == "12345"
    assert user.account_type is not None
    assert user.account_type.value == "INTERNAL"
    assert user.contact_info is not None
    address = user.contact_info.address[0]
    assert address.start_date == date(2016, 8, 22)
    assert address.preferred is True
    assert [p.preferred_sms for p in user.contact_info.phone] == [False, True]


def test_real_external_user_dates_are_dates() -> None:
    user = User.from_alma(load("user_full_external_pulibrary_bbird.json"))
    assert user.expiry_date == date(2022, 10, 31)
    assert user.purge_date == date(2021, 10, 31)
    assert user.status_date == date(2020, 12, 7)


def test_real_fee_creation_time_is_aware_utc() -> None:
    fee = Fee.from_alma(load("scriptotek_fee_response.json"))
    assert fee.creation_time == datetime(2018, 1, 5, 4, 49, 27, 349000, tzinfo=UTC)
    assert fee.creation_time is not None
    assert fee.creation_time.utcoffset() == timedelta(0)
    assert fee.balance == 750.0
    assert fee.type is not None
    assert fee.type.value == "LOSTITEMREPLACEMENTFEE"


def test_real_loans_are_typed() -> None:
    loans = LoanList.from_alma(load("scriptotek_loans_response.json"))
    assert loans.total_record_count == 2
    assert [loan.loan_id for loan in loans.item_loan] == ["1822301570002204", "7378239410002204"]
    assert loans.item_loan[0].due_date == datetime(2018, 8, 14, 20, 0, tzinfo=UTC)
    assert loans.item_loan[1].loan_date == datetime(2018, 7, 23, 20, 25, 26, 347000, tzinfo=UTC)
    assert loans.item_loan[0].renewable is None


def test_real_empty_envelopes_read_as_empty_lists() -> None:
    assert LoanList.from_alma(load("scriptotek_zero_loans_response.json")).item_loan == []
    fees = FeeList.from_alma(load("scriptotek_zero_fees_response.json"))
    assert fees.fee == []
    assert fees.total_sum == 0
    assert fees.currency is None


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("scriptotek_user_response.json", User),
        ("user_full_external_pulibrary_bbird.json", User),
        ("scriptotek_fees_response.json", FeeList),
        ("scriptotek_loans_response.json", LoanList),
    ],
)
def test_raw_json_text_and_bytes_parse_like_the_dict(name: str, model: type[User | FeeList | LoanList]) -> None:
    raw = (EXAMPLES / name).read_bytes()
    from_dict = model.from_alma(json.loads(raw))
    assert model.from_alma(raw) == from_dict
    assert model.from_alma(raw.decode("utf-8")) == from_dict
