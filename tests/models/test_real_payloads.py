"""Read everything real Alma sends, write back exactly what it sent; caller mistakes are InputErrors.

Numbers as blank text, as text with separators, as ``"NaN"`` or ``"1e999"``; timestamps as epoch
seconds or milliseconds; dates with a zone offset or compact; a naive Python ``datetime`` is local
time; ``repr(User)`` is one short line.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from alma_onelink.errors import InputError
from alma_onelink.models import Fee, FeeList, Loan, LoanList, User, UserBlock, UserNote, UserRequest
from alma_onelink.models._base import KeptNumber

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "alma-examples"


# --- numbers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["NaN", "nan", "1e999", "-1e999", "Infinity", "-inf"])
def test_numbers_no_float_holds_are_kept_and_written_back_as_sent(text: str) -> None:
    # Before: read as nan/inf and written back as null.
    fee = Fee.from_alma({"id": "1", "balance": text, "original_amount": text})
    assert isinstance(fee.balance, KeptNumber)
    assert fee.to_alma()["balance"] == text
    assert json.loads(fee.model_dump_json(by_alias=True))["original_amount"] == text
    assert fee.is_unpaid in (True, False)  # still usable as a number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", None),
        ("  ", None),
        ("7.50", 7.5),
        ("42", 42),
        ("1,234.50", 1234.5),
        (" 3 ", 3),
        ("12345678901234567890", 12345678901234567890),
    ],
)
def test_numbers_sent_as_text_read_as_numbers(raw: str, expected: float | None) -> None:
    fee = Fee.from_alma({"balance": raw})
    assert fee.balance == expected
    assert type(fee.balance) is type(expected)


def test_a_blank_count_in_an_expanded_user_is_unset_not_an_error() -> None:
    user = User.from_alma({"primary_id": "x", "loans": {"value": "", "link": "l"}, "fees": {"value": "12.5"}})
    assert user.loans is not None
    assert user.loans.value is None
    assert user.fees is not None
    assert user.fees.value == 12.5


def test_a_blank_count_in_an_envelope_is_unset() -> None:
    assert LoanList.from_alma({"total_record_count": ""}).total_record_count is None


# --- timestamps and dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [1515126567349, 1515126567.349, "1515126567349", 1515126567349.0],
    ids=["ms", "seconds", "ms as text", "ms as float"],
)
def test_epoch_timestamps_read_as_utc(raw: Any) -> None:
    fee = Fee.from_alma({"creation_time": raw})
    assert fee.creation_time == datetime(2018, 1, 5, 4, 29, 27, 349000, tzinfo=UTC)
    assert fee.to_alma()["creation_time"] == "2018-01-05T04:29:27.349Z"


def test_an_epoch_where_a_date_is_expected_keeps_its_utc_day() -> None:
    assert UserRequest.from_alma({"request_date": 1515126567349}).request_date == date(2018, 1, 5)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2027-06-30+02:00", date(2027, 6, 30)), ("2027-06-30-0500", date(2027, 6, 30)), ("20270630", date(2027, 6, 30))],
)
def test_dates_with_a_zone_or_compact_read_as_the_day_written(raw: str, expected: date) -> None:
    user = User.from_alma({"expiry_date": raw})
    assert user.expiry_date == expected
    assert user.to_alma()["expiry_date"] == "2027-06-30Z"


def test_timestamps_with_a_space_or_a_compact_date_read() -> None:
    assert Loan.from_alma({"due_date": "2018-08-14 20:00:00Z"}).due_date == datetime(2018, 8, 14, 20, tzinfo=UTC)
    assert Loan.from_alma({"due_date": "20180814"}).due_date == datetime(2018, 8, 14, tzinfo=UTC)


@pytest.mark.parametrize("raw", [10**30, -(10**30), "9" * 30])
def test_an_epoch_out_of_range_is_refused_echoing_it(raw: Any) -> None:
    with pytest.raises(InputError, match="out of range"):
        Fee.from_alma({"creation_time": raw})


# --- a naive datetime from Python code is local time --------------------------------------------------------


@pytest.fixture
def in_zurich() -> Iterator[None]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Zurich"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.mark.usefixtures("in_zurich")
def test_a_naive_datetime_is_local_time_never_labelled_utc() -> None:
    # Field case b06: datetime.now() at 10:15:30 in Lucerne (UTC+2 in April) is 08:15:30 UTC.
    local_now = datetime(2024, 4, 9, 10, 15, 30, 123000)
    block = UserBlock(block_description="05", created_date=local_now)
    assert block.to_alma()["created_date"] == "2024-04-09T08:15:30.123Z"
    note = UserNote(note_text="x")
    note.created_date = datetime(2024, 1, 9, 10, 0)  # UTC+1 in January
    assert note.to_alma()["created_date"] == "2024-01-09T09:00:00Z"


@pytest.mark.usefixtures("in_zurich")
def test_a_timestamp_text_without_a_zone_is_still_utc_as_alma_speaks_it() -> None:
    assert Fee.from_alma({"creation_time": "2024-04-09T10:15:30"}).to_alma()["creation_time"] == "2024-04-09T10:15:30Z"


@pytest.mark.usefixtures("in_zurich")
def test_aware_datetimes_and_dates_are_as_given() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert UserBlock(created_date=datetime(2024, 4, 9, 17, 15, tzinfo=tokyo)).to_alma()["created_date"] == (
        "2024-04-09T08:15:00Z"
    )
    assert UserBlock(created_date=date(2024, 4, 9)).to_alma()["created_date"] == "2024-04-09T00:00:00Z"


# --- caller mistakes are InputErrors naming the field ------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: User(birth_date="31/12/2020"), r"User: birth_date: '31/12/2020' is not a date such as 2027-06-30Z"),
        (lambda: UserBlock(created_date="yesterday"), r"UserBlock: created_date: 'yesterday' is not an ISO 8601"),
        (lambda: User(user_note=[{"created_date": "x"}]), r"User: user_note\[0\]\.created_date: 'x' is not"),
        (lambda: User(primary_id=["a"]), r"User: primary_id: "),
        (lambda: Fee(balance="lots"), r"Fee: balance: 'lots' is not a number such as 7.50"),
    ],
)
def test_a_model_built_with_a_value_that_does_not_fit_raises_input_error(build: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        build()


def test_an_assignment_that_does_not_fit_raises_input_error() -> None:
    user = User(primary_id="x")
    with pytest.raises(InputError, match="User: expiry_date: 'soon'"):
        user.expiry_date = "soon"  # type: ignore[assignment]
    assert user.expiry_date is None


def test_a_record_nested_too_deeply_to_write_is_an_input_error() -> None:
    deep: dict[str, Any] = {}
    for _ in range(300):
        deep = {"a": deep}
    user = User(primary_id="x", researcher=deep)
    with pytest.raises(InputError, match="cannot be written as JSON"):
        user.to_alma()


# --- repr and conveniences --------------------------------------------------------------------------------


def test_repr_of_a_full_user_is_one_short_readable_line() -> None:
    user = User.from_alma((EXAMPLES / "user_full_external_pulibrary_bbird.json").read_text())
    text = repr(user)
    assert "\n" not in text
    assert len(text) <= 120
    assert text.startswith("User(primary_id=")
    assert repr(user.primary_id) in text
    assert repr(user.display_name) in text
    assert repr(str(user.user_group)) in text
    assert repr(str(user.status)) in text


def test_repr_of_a_brief_user_says_so_and_long_names_are_cut() -> None:
    brief = User.from_alma({"primary_id": "b1", "first_name": "Ann", "last_name": "Lee", "link": "https://x/users/b1"})
    assert brief.is_brief
    assert repr(brief) == "User(primary_id='b1', name='Ann Lee', brief)"
    long = User(primary_id="p" * 80, first_name="N" * 80)
    assert len(repr(long)) <= 120
    assert repr(long).endswith("…)")


def test_the_contact_placeholder_is_not_a_primary_id() -> None:
    # Field case b01: contacts come back as "no primary id (<internal number>)".
    contact = User.from_alma({"primary_id": "no primary id (100000000001)", "link": ".../users/-"})
    assert not contact.has_primary_id
    assert User(primary_id="jdoe").has_primary_id
    assert not User(primary_id="  ").has_primary_id
    assert contact.to_alma()["primary_id"] == "no primary id (100000000001)"  # kept as Alma sent it


def test_a_fee_envelope_is_typed() -> None:
    fees = FeeList.from_alma({"fee": [{"id": "1", "balance": 5}], "total_sum": "5.0", "currency": "USD"})
    assert fees.total_sum == 5.0
