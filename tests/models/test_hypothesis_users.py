"""Generated users in Alma's shape (quirks, unknown keys, non-ASCII, nulls) survive parse → dump."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alma_onelink.models import Fee, User

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
EXTRA_PREFIX = "x_"  # no Alma field starts with this, so generated unknown keys never shadow a field

# --- leaves ------------------------------------------------------------------------------------------

TEXT = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=8),
    st.sampled_from(["Zoë", "Дмитрий", "北京大学", "O'Brien", "😀 emoji", "a\nb", "  padded  ", ""]),
)
OPT_TEXT = st.none() | TEXT
BOOL = st.sampled_from([True, False, "true", "TRUE", "True", "false", "FALSE", None])
OFFSETS = st.sampled_from(
    [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
)
DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31))


@st.composite
def alma_date(draw: st.DrawFn) -> str:
    return draw(DATES).isoformat() + draw(st.sampled_from(["Z", "z", ""]))


@st.composite
def alma_datetime(draw: st.DrawFn) -> str:
    naive = draw(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2199, 12, 30)))
    tz = draw(OFFSETS)
    with_ms = draw(st.booleans())
    value = naive.replace(microsecond=(naive.microsecond // 1000) * 1000 if with_ms else 0, tzinfo=tz)
    text = value.isoformat(timespec="milliseconds" if with_ms else "seconds")
    if tz is UTC:
        text = text.removesuffix("+00:00") + draw(st.sampled_from(["Z", "z"]))
    return text


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | TEXT | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(TEXT, inner, max_size=2),
    max_leaves=4,
)
EXTRAS = st.dictionaries(TEXT.map(lambda k: EXTRA_PREFIX + k), JSON_VALUE, max_size=2)


def opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def obj(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """An object where every field may be missing, plus unknown extra keys."""
    return st.builds(lambda known, extra: {**known, **extra}, st.fixed_dictionaries({}, optional=fields), EXTRAS)


def list_of(item: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Alma's list quirks: null, a real list, or a lone object."""
    return st.none() | st.lists(item, max_size=2) | item


CODE = st.one_of(
    TEXT,
    obj(value=OPT_TEXT, desc=OPT_TEXT),
)
SEGMENT = st.sampled_from(["Internal", "External", None])

ADDRESS = obj(
    line1=OPT_TEXT,
    line2=OPT_TEXT,
    city=OPT_TEXT,
    state_province=OPT_TEXT,
    postal_code=OPT_TEXT,
    country=opt(CODE),
    address_note=OPT_TEXT,
    start_date=opt(alma_date()),
    end_date=opt(alma_date()),
    address_type=list_of(CODE),
    preferred=BOOL,
    segment_type=SEGMENT,
)
EMAIL = obj(
    email_address=OPT_TEXT, description=OPT_TEXT, email_type=list_of(CODE), preferred=BOOL, segment_type=SEGMENT
)
PHONE = obj(phone_number=OPT_TEXT, phone_type=list_of(CODE), preferred=BOOL, preferred_sms=BOOL, segment_type=SEGMENT)
CONTACT_INFO = obj(address=list_of(ADDRESS), email=list_of(EMAIL), phone=list_of(PHONE))
IDENTIFIER = obj(
    id_type=opt(CODE), value=opt(TEXT | st.integers(0, 10**9)), note=OPT_TEXT, status=OPT_TEXT, segment_type=SEGMENT
)
ROLE = obj(
    status=opt(CODE),
    scope=opt(CODE),
    role_type=opt(CODE),
    expiry_date=opt(alma_date()),
    parameter=list_of(obj(type=opt(CODE), scope=opt(CODE), value=opt(CODE))),
)
BLOCK = obj(
    block_type=opt(CODE),
    block_description=opt(CODE),
    block_status=OPT_TEXT,
    block_note=OPT_TEXT,
    created_date=opt(alma_datetime()),
    expiry_date=opt(alma_datetime()),
    segment_type=SEGMENT,
)
NOTE = obj(
    note_type=opt(CODE),
    note_text=OPT_TEXT,
    user_viewable=BOOL,
    popup_note=BOOL,
    created_by=OPT_TEXT,
    created_date=opt(alma_datetime()),
    segment_type=SEGMENT,
)
STATISTIC = obj(statistic_category=opt(CODE), category_type=opt(CODE), statistic_note=OPT_TEXT, segment_type=SEGMENT)
LINKED_COUNT = opt(obj(value=st.integers(0, 500), link=OPT_TEXT))

USER = obj(
    record_type=opt(CODE),
    primary_id=opt(TEXT | st.integers(0, 10**9)),
    first_name=OPT_TEXT,
    last_name=OPT_TEXT,
    full_name=OPT_TEXT,
    user_group=opt(CODE),
    account_type=opt(CODE),
    status=opt(CODE),
    preferred_language=opt(CODE),
    birth_date=opt(alma_date()),
    expiry_date=opt(alma_date()),
    purge_date=opt(alma_date()),
    status_date=opt(alma_date()),
    external_id=OPT_TEXT,
    password=OPT_TEXT,
    pin_number=OPT_TEXT,
    force_password_change=OPT_TEXT,
    is_researcher=BOOL,
    researcher=opt(st.dictionaries(TEXT, JSON_VALUE, max_size=2)),
    loans=LINKED_COUNT,
    fees=LINKED_COUNT,
    contact_info=opt(CONTACT_INFO),
    user_identifier=list_of(IDENTIFIER),
    user_role=list_of(ROLE),
    user_block=list_of(BLOCK),
    user_note=list_of(NOTE),
    user_statistic=list_of(STATISTIC),
    library_notice=list_of(obj(code=opt(CODE), value=BOOL)),
    rs_library=list_of(obj(code=opt(CODE))),
    proxy_for_user=list_of(obj(primary_id=OPT_TEXT, full_name=OPT_TEXT)),
)

# --- comparison after canonical normalisation ------------------------------------------------------------


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


def _instant(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=value.microsecond // 1000 * 1000)


def _same_scalar(sent: Any, written: Any) -> bool:
    if sent is None:
        return written is None or written == []
    if isinstance(sent, bool) or isinstance(written, bool):
        return isinstance(written, bool) and str(sent).casefold() == str(written).casefold()
    if isinstance(sent, int | float) and not isinstance(written, str):
        return bool(sent == written)
    if isinstance(sent, int | float):
        return bool(str(sent) == written)  # a number where Alma has text
    if isinstance(written, int | float):
        return bool(float(sent) == written)
    if isinstance(written, dict):  # a plain string where a code is expected
        return written == {"value": sent}
    if isinstance(written, list):  # a plain string where a list of codes is expected
        return written == [{"value": sent}]
    if sent == written:
        return True
    if written.endswith("Z") and "T" not in written:  # a date: only the Z may change
        return bool(sent.rstrip("zZ") == written[:-1])
    return _instant(sent) is not None and _instant(sent) == _instant(written)


def equivalent(sent: Any, written: Any) -> bool:
    """Whether ``written`` is ``sent`` after canonical normalisation only."""
    if isinstance(sent, dict):
        if isinstance(written, list) and len(written) == 1:  # a lone object where a list is expected
            written = written[0]
        if not isinstance(written, dict) or set(sent) != set(written):
            return False
        return all(
            json.dumps(sent[k]) == json.dumps(written[k])  # unknown fields are kept verbatim
            if k.startswith(EXTRA_PREFIX)
            else equivalent(sent[k], written[k])
            for k in sent
        )
    if isinstance(sent, list):
        return (
            isinstance(written, list)
            and len(sent) == len(written)
            and all(equivalent(a, b) for a, b in zip(sent, written, strict=True))
        )
    return _same_scalar(sent, written)


# --- properties ----------------------------------------------------------------------------------------


@SETTINGS
@given(USER)
def test_generated_user_round_trips_losslessly(sent: dict[str, Any]) -> None:
    once = User.from_alma(sent).to_alma()
    assert User.from_alma(once).to_alma() == once
    assert key_paths(sent) <= key_paths(once)
    assert equivalent(sent, once), (sent, once)
    assert json.loads(json.dumps(once)) == once
    assert User.from_alma(json.dumps(sent)).to_alma() == once


@SETTINGS
@given(
    st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2199, 12, 30), timezones=OFFSETS),
    st.booleans(),
)
def test_any_millisecond_timestamp_is_written_in_utc_and_read_back(value: datetime, ms: bool) -> None:
    value = value.replace(microsecond=value.microsecond // 1000 * 1000 if ms else 0)
    written = Fee(creation_time=value).to_alma()["creation_time"]
    assert written.endswith("Z")
    assert ("." in written) is bool(value.microsecond)
    back = Fee.from_alma({"creation_time": written}).creation_time
    assert back == value
    assert back is not None
    assert back.utcoffset() == timedelta(0)


@SETTINGS
@given(DATES, st.sampled_from(["Z", "z", ""]))
def test_any_date_reads_and_writes_with_z(value: date, suffix: str) -> None:
    user = User.from_alma({"expiry_date": value.isoformat() + suffix})
    assert user.expiry_date == value
    assert user.to_alma() == {"expiry_date": value.isoformat() + "Z"}
