"""The indexed search answers exactly what the reference scan answers: same users, same order, same count.

Generated users (accents, case, hyphens, apostrophes, ligatures, codes as strings or objects, odd
shapes, now and then a malformed record) and generated queries (every field, prefixes, ``*``, AND/OR,
every ``order_by``, ``modify_date_from``, any page) go to both stores. Between searches the users
change (replaced, deleted, fees paid), so the index must follow every write too. Each result is
compared with `scan_search`, the scan that defines Alma's search semantics in the sandbox.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alma_onelink.sandbox import MemoryStore, SqliteStore, Store
from alma_onelink.sandbox import _index as index_module
from alma_onelink.sandbox._query import UnsupportedQuery, UserQuery
from alma_onelink.sandbox._search import user_query
from alma_onelink.sandbox._searchable import QUERY_FIELDS, field_values
from alma_onelink.sandbox._store import make_entry, scan_search

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)

NAMES = [
    "Müller", "muller", "MÜLLER", "Mueller", "José", "jose", "O'Brien", "Ana María", "Smith", "Smithson",
    "smith-jones", "Nguyễn Thị", "Øvergaard", "ǅemal", "ﬁona", "Straße", "STRASSE", "x_y", "İlkay", "\u210dans",
    "Zoë", "北京", "", " ", "Jo", "Joan", "John", "van der Berg", "Ó Súilleabháin", "a1b2", "ΣΊΣΥΦΟΣ", "σίσυφος",
]  # fmt: skip
WORDS = st.one_of(st.sampled_from(NAMES), st.text(st.characters(codec="utf-8"), max_size=6))
CODES = st.sampled_from(["UNDERGRAD", "grad", "FACULTY", "Staff", "DEPT_BIOLOGY", "PT_STUDENT", "X", ""])
DESCS = st.sampled_from(["Biology", "Overdue fines", "Student", "Café", "", "Radium chemistry"])
PHONES = st.sampled_from(
    ["+1 (919) 555-0101", "919-555-0101", "5550101", "+44 20 7946 0958", "\uff11\uff12\uff13", "", "n/a"]
)
DAYS = st.sampled_from(["1990-03-01Z", "1990-03-01", "19900301", "1867-11-07Z", "", "not a date"])
MODIFIED = st.sampled_from(["2026-01-01", "2026-03-14", "2025-12-31", "2026-03-15"])
FIELDS = sorted(QUERY_FIELDS)
# Every field, one Alma refuses, and more of those read in several ways (words of many fields, endings).
FIELD_CHOICES = [*FIELDS, "all", "shoe_size", *(["general_info", "ALL", "phone_number", "last_name"] * 3)]
MAIL = st.builds(lambda a, b: f"{a}@{b}", WORDS, st.sampled_from(["example.org", "Duke.EDU", "x"]))


def code(value: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """A code as Alma writes it, or as a client might: a string, or ``{"value", "desc"}``."""
    return st.one_of(value, st.builds(lambda v, d: {"value": v, "desc": d}, value, DESCS))


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


USERS = st.fixed_dictionaries(
    {"first_name": WORDS, "last_name": WORDS},
    optional={
        "middle_name": WORDS,
        "user_group": code(CODES),
        "job_category": code(CODES),
        "campus_code": code(CODES),
        "job_description": WORDS,
        "birth_date": DAYS,
        "contact_info": st.fixed_dictionaries(
            {},
            optional={
                "email": st.lists(st.fixed_dictionaries({"email_address": MAIL}), max_size=2),
                "phone": st.lists(st.fixed_dictionaries({"phone_number": PHONES}), max_size=2),
                "address": st.lists(
                    st.fixed_dictionaries({"line1": WORDS, "city": WORDS, "country": code(CODES)}), max_size=1
                ),
            },
        ),
        "user_identifier": st.lists(
            st.fixed_dictionaries({"id_type": code(st.sampled_from(["BARCODE", "univ_id"])), "value": WORDS}),
            max_size=2,
        ),
        "user_note": st.lists(st.fixed_dictionaries({"note_type": code(CODES), "note_text": WORDS}), max_size=2),
        "user_statistic": st.lists(st.fixed_dictionaries({"statistic_category": code(CODES)}), max_size=1),
        "user_block": st.lists(
            st.fixed_dictionaries({"block_type": code(CODES), "block_description": code(CODES)}), max_size=1
        ),
    },
)
FEES = st.lists(
    st.fixed_dictionaries(
        {"balance": st.sampled_from([0, 2.5, 12.5, "4"]), "status": code(st.sampled_from(["ACTIVE", "CLOSED"]))}
    ),
    max_size=2,
)


def held(users: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per searchable field, the texts (and their words) the users hold in it: what a query may look for."""
    found: dict[str, list[str]] = {}
    for user in users:
        for field in FIELDS:
            try:
                values = field_values(user, field) if field != "fines_fees_sum" else []
            except Exception:  # a malformed record holds nothing readable there
                continue
            found.setdefault(field, []).extend(text for value in values for text in (value, *value.split()) if text)
    return found


@st.composite
def terms(draw: st.DrawFn, held: dict[str, list[str]], field: str | None = None) -> str:
    field = field or draw(st.sampled_from(FIELD_CHOICES))
    seen = held.get(field.upper() if field == "all" else field) or held.get("ALL") or []
    if field == "fines_fees_sum":
        value = draw(st.sampled_from(["0", "12.5", "15", "2.50", "x"]))
    else:
        held_here = bool(seen) and draw(st.integers(0, 3)) > 0  # mostly what some user holds there
        value = draw(st.sampled_from(seen) if held_here else st.one_of(WORDS, CODES, MAIL, PHONES, DAYS))
        cut = draw(st.integers(1, max(len(value), 1)))
        variant = draw(st.sampled_from([value, value[:cut], value.upper(), value[:cut] + "*", value[cut - 1 :]]))
        value = variant if variant.strip() else "x"  # an empty value is refused, and with it the whole q
    return f"{field}~{value}"


@st.composite
def queries(draw: st.DrawFn, held: dict[str, list[str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    if draw(st.booleans()):
        groups = draw(st.lists(st.lists(terms(held), min_size=1, max_size=2), min_size=1, max_size=2))
        params["q"] = " OR ".join(" AND ".join(group) for group in groups)
    elif draw(st.booleans()):
        params["modify_date_from"] = draw(st.sampled_from(["2026-01-01", "20260314", "2026-03-15"]))
    order = draw(st.sampled_from(["", "last_name", "first_name", "primary_id"]))
    if order:
        params["order_by"] = order
    return params


STORES: dict[str, Callable[[], Store]] = {"memory": MemoryStore, "sqlite": lambda: SqliteStore(":memory:")}


@pytest.fixture(params=sorted(STORES))
def make_store(request: pytest.FixtureRequest) -> Iterator[Callable[[], Store]]:
    made: list[Store] = []

    def make() -> Store:
        store = STORES[str(request.param)]()
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture(params=["sorted whole", "walked in the index"])
def result_size(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small results are sorted whole; large ones walked along their order's index, and sorted whole when
    the walk finds its matches too far along: test every way, with a walk that reaches as little as can be."""
    if request.param == "walked in the index":
        monkeypatch.setattr(index_module, "_SORTED_AT_ONCE", 0)
        monkeypatch.setattr(index_module, "_REACH", 1)
        monkeypatch.setattr(index_module, "_REACH_MORE", 0)
        monkeypatch.setattr(index_module, "_KEPT_CURSORS", 3)  # and forget page ends now and then


def answer(store: Store, query: UserQuery, limit: int, offset: int, *, indexed: bool) -> object:
    """The page ``(total, ids)`` either way, or the type of what it raised."""
    try:
        if indexed:
            return store.search(query, limit, offset)
        every = scan_search(store, query)
        return len(every), every[offset : offset + limit]
    except Exception as exc:  # a malformed record fails both ways alike
        return type(exc)


def check(store: Store, query: UserQuery, limit: int, offset: int) -> None:
    assert answer(store, query, limit, offset, indexed=True) == answer(store, query, limit, offset, indexed=False)


MALFORMED = st.sampled_from(["none", "none", "none", "none", "none", "contact_info", "fees"])
"""Now and then one record stored as given (`SandboxUsers.put`) that a field cannot be read from:
searches that read that field fall back to the scan, and fail as it does; the others stay indexed."""


def fill(
    store: Store,
    users: list[dict[str, Any]],
    fees: list[list[dict[str, Any]]],
    days: list[str],
    malformed: str = "none",
) -> list[int]:
    if users and malformed == "contact_info":
        users = [{**users[0], "contact_info": "malformed"}, *users[1:]]
    if fees and malformed == "fees":
        fees = [[{"balance": "x"}], *fees[1:]]
    uids = []
    for number, (user, owed, day) in enumerate(zip(users, fees, days, strict=False)):
        record = {"primary_id": f"{user['last_name'][:3]}{number}", **user}
        entry = make_entry(record, None, date.fromisoformat(day))
        uid = store.save(None, entry)
        if owed:
            store.set_items(uid, "fees", owed)
        uids.append(uid)
    return uids


@SETTINGS
@given(
    users=st.lists(USERS, max_size=9),
    fees=st.lists(FEES, max_size=9),
    days=st.lists(MODIFIED, min_size=9, max_size=9),
    malformed=MALFORMED,
    data=st.data(),
    pages=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 10)), min_size=1, max_size=3),
    change=st.tuples(st.integers(0, 8), st.sampled_from(["replace", "delete", "pay", "charge"]), USERS),
)
def test_the_index_answers_what_the_scan_answers(  # noqa: PLR0917 - hypothesis draws each by name
    make_store: Callable[[], Store],
    result_size: None,
    users: list[dict[str, Any]],
    fees: list[list[dict[str, Any]]],
    days: list[str],
    malformed: str,
    data: st.DataObject,
    pages: list[tuple[int, int]],
    change: tuple[int, str, dict[str, Any]],
) -> None:
    store = make_store()
    uids = fill(store, users, fees, days, malformed)
    asked = data.draw(st.lists(queries(held(users)), min_size=1, max_size=3))
    parsed = []
    for params in asked:
        try:
            parsed.append(user_query(params))
        except UnsupportedQuery:
            continue  # refused before any search: nothing to compare
    for query in parsed:
        for limit, offset in pages:
            check(store, query, limit, offset)
    if uids:  # a write between searches: the index (and what it keeps for paging) must follow it
        uid, what, user = uids[change[0] % len(uids)], change[1], change[2]
        if what == "replace":
            store.save(uid, make_entry({"primary_id": f"new{uid}", **user}, None, date(2026, 3, 14)))
        elif what == "delete":
            store.delete(uid)
        else:
            store.set_items(uid, "fees", [] if what == "pay" else [{"balance": 15, "status": "ACTIVE"}])
        for query in parsed:
            for limit, offset in pages:
                check(store, query, limit, offset)


@SETTINGS
@given(users=st.lists(USERS, min_size=1, max_size=9), fees=st.lists(FEES, max_size=9), data=st.data())
def test_every_field_finds_what_the_scan_finds(
    make_store: Callable[[], Store], users: list[dict[str, Any]], fees: list[list[dict[str, Any]]], data: st.DataObject
) -> None:
    store = make_store()
    fill(store, users, fees, ["2026-03-14"] * len(users))
    looked_for = held(users)
    for field in [*FIELDS, "fines_fees_sum"]:  # one term in each field, for something users hold there
        term = data.draw(terms(looked_for, field=field))
        try:
            query = user_query({"q": term, "order_by": data.draw(st.sampled_from(["", "first_name"]))})
        except UnsupportedQuery:
            continue  # fines_fees_sum~x: refused before any search
        check(store, query, 100, 0)


@SETTINGS
@given(users=st.lists(USERS, min_size=1, max_size=12), data=st.data(), limit=st.integers(1, 4))
def test_walking_every_page_reads_every_match_once_in_order(
    make_store: Callable[[], Store], result_size: None, users: list[dict[str, Any]], data: st.DataObject, limit: int
) -> None:
    store = make_store()
    fill(store, users, [[] for _ in users], ["2026-03-14"] * len(users))
    asked = data.draw(queries(held(users)))
    try:
        query = user_query(asked)
        expected = scan_search(store, query)
    except Exception:  # refused, or a malformed record: the other test covers those
        return
    walked: list[int] = []
    for offset in range(0, len(expected) + limit, limit):
        total, page = store.search(query, limit, offset)
        assert total == len(expected)
        walked.extend(page)
    assert walked == expected


def test_an_unreadable_field_fails_only_the_searches_that_read_it(make_store: Callable[[], Store]) -> None:
    store = make_store()
    fill(store, [{"first_name": "Ada", "last_name": "Lovelace", "contact_info": "malformed"}], [[]], ["2026-03-14"])
    fill(store, [{"first_name": "Ada", "last_name": "Byron"}], [[]], ["2026-03-14"])
    by_name = user_query({"q": "first_name~ada"})
    assert store.search(by_name, 10, 0)[0] == 2
    with pytest.raises(AttributeError):  # reading the contact details, as the scan always has
        store.search(user_query({"q": "email~a@b"}), 10, 0)
