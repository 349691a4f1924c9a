"""The index reads each user in one pass (`read_whole`) what the reference scan's `Row` reads field by field.

The reference below is how the index read users before: through `Row`, the very object the scan
compares. Well-formed records (seeded ones) and odd ones (wrong types anywhere the search reads,
missing parts, no user at all) must give the same terms, sort key, day, fees and unreadable fields.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alma_onelink.sandbox import Sandbox
from alma_onelink.sandbox._readall import read_whole
from alma_onelink.sandbox._records import build_user
from alma_onelink.sandbox._searchable import SEARCH_FIELDS, SORT_FIELDS, WORD_FIELDS, Row, unpaid_total
from alma_onelink.sandbox._seed import at_midnight, patron_body
from alma_onelink.sandbox._store import make_entry
from alma_onelink.sandbox._tokens import FEES, FIELD_CODES, MODIFIED, REVERSED_PHONE, SORT, Indexed, index_entry

NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
NAMES = ("first_name", "middle_name", "last_name", "note_text")


def by_row(entry: Mapping[str, Any], fees: Iterable[Any] = ()) -> Indexed:
    """What the index kept for a user when it read the user through `Row`."""
    row = Row(0, dict(entry))
    unreadable: list[str] = []
    found: list[tuple[int, str]] = []
    words: dict[str, set[str]] = {}
    for field in SEARCH_FIELDS:
        try:
            if field in WORD_FIELDS:
                words[field] = set(row.text(field).split("\0")) - {""}
            else:
                values = row.values(field)
                found += [(FIELD_CODES[field], value) for value in values]
                if field == "phone_number":
                    found += [(FIELD_CODES[REVERSED_PHONE], value[::-1]) for value in values]
        except Exception:
            unreadable.append(field)
    if any(name not in words for name in NAMES):
        unreadable.extend(name for name in ("general_info", "ALL") if words.pop(name, None) is not None)
    below: set[str] = set()
    for field in NAMES:
        found += [(FIELD_CODES[field], word) for word in words.get(field, set())]
        below |= words.get(field, set())
    if "general_info" in words:
        found += [(FIELD_CODES["general_info"], word) for word in words["general_info"] - below]
        if "ALL" in words:
            found += [(FIELD_CODES["ALL"], word) for word in words["ALL"] - words["general_info"]]
    elif "ALL" in words:
        unreadable.append("ALL")
    terms = frozenset((code, token.encode("utf-8", "surrogatepass")) for code, token in found)
    sort = None
    try:
        sort = tuple(part.encode("utf-8", "surrogatepass") for part in row.sort_key(SORT_FIELDS))
    except Exception:
        unreadable.append(SORT)
    modified = None
    try:
        modified = date.fromisoformat(entry.get("modified", "1970-01-01")).isoformat()
    except Exception:
        unreadable.append(MODIFIED)
    owed = None
    try:
        owed = f"{unpaid_total(fees):.2f}"
    except Exception:
        unreadable.append(FEES)
    return Indexed(terms, sort, modified, owed, tuple(unreadable))  # type: ignore[arg-type]


def test_seeded_users_are_read_whole_as_row_reads_them() -> None:
    env = at_midnight(Sandbox(seed=1, now=lambda: NOW).env())
    rng, times = random.Random(3), random.Random("3:times")
    for number in range(1500):
        entry = make_entry(build_user(env, patron_body(rng, env, f"p{number}", f"D{number:012d}", times)), None, NOW)
        read_whole(entry["user"])  # a well-formed record is read in one pass: it never falls back
        assert index_entry(entry) == by_row(entry)


TEXT = st.one_of(
    st.sampled_from(["Müller", "ǅemal", "ﬁona", "Straße", "+1 (919) 555-0101", "1990-03-01Z", "a_b", " ", ""]),
    st.text(max_size=5),
)
KEYS = st.sampled_from(
    ["value", "desc", "email_address", "phone_number", "line1", "city", "country", "note_text", "id_type",
     "statistic_category", "statistic_note", "block_type", "block_description", "note_type"]
)  # fmt: skip
ANY = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False), TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=10,
)
USER_KEYS = st.sampled_from(
    ["primary_id", "first_name", "middle_name", "last_name", "job_description", "pref_first_name", "pref_last_name",
     "user_title", "job_category", "user_group", "campus_code", "birth_date", "contact_info", "user_identifier",
     "user_note", "user_statistic", "user_block"]
)  # fmt: skip
CONTACT = st.dictionaries(st.sampled_from(["email", "phone", "address"]), st.lists(ANY, max_size=2), max_size=3)
USERS = st.one_of(
    st.dictionaries(USER_KEYS, ANY, max_size=8),
    st.builds(lambda user, contact: {**user, "contact_info": contact}, st.dictionaries(USER_KEYS, TEXT), CONTACT),
    ANY,  # not a user object at all
)
ENTRIES = st.one_of(
    st.builds(lambda user, day: {"user": user, "modified": day}, USERS, st.sampled_from(["2026-03-14", "x", 3])),
    st.dictionaries(st.sampled_from(["password", "modified"]), ANY),  # no user
)
FEES_OWED = st.lists(st.one_of(st.dictionaries(st.sampled_from(["balance", "status"]), ANY), ANY), max_size=2)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entry=ENTRIES, fees=FEES_OWED)
def test_any_record_is_indexed_as_row_reads_it(entry: dict[str, Any], fees: list[Any]) -> None:
    assert index_entry(entry, fees) == by_row(entry, fees)
