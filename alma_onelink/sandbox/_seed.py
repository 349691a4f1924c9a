"""Realistic generated patrons, and the loans, requests and fees that hang off them.

Everything is drawn from ``random.Random`` streams seeded by ``seed``: one for the patrons, one for the
times of day of their timestamps. Every timestamp is an offset from midnight UTC of the ``env`` the
sandbox passes, the day its store was first seeded (``Sandbox.seeded_on``), never the wall-clock
time: the same seed from the same day gives the same patrons, to the millisecond.
Generated records pass through the same rules as ``POST /users`` (`build_user`), so they are valid
Alma users; their bodies are written as ``POST /users`` reads them (`parse_user`), so seeding skips
that step (a test holds the two equal). `seed_patrons` (in `_seeding`) writes many at once.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from itertools import accumulate
from typing import Any, Protocol

from alma_onelink.models._base import dump_date

from ._fields import Env, Json, make_code, stamp_seconds
from ._searchable import fold


class Numbers(Protocol):
    """What numbers loans, requests and fees: a `Store`, or a batch's counters."""

    def next_number(self, name: str) -> int:
        """The next value of counter ``name``."""
        ...


FIRST_NAMES = (
    "José", "Zoë", "Chloé", "Björn", "Łukasz", "Siobhán", "Oluwaseun", "Priya", "Mohammed", "Aoife",
    "Søren", "Ana María", "Nguyễn Thị", "Wei", "Yuki", "Amara", "Mateo", "Fatima", "Elif", "Dmitri",
    "Hannah", "James", "Mary", "Robert", "Linda", "Kwame", "Ingrid", "Renée", "François", "Jürgen",
)  # fmt: skip
LAST_NAMES = (
    "Müller", "García", "O'Brien", "Nguyễn", "Kowalski", "Øvergaard", "Zhang", "Smith", "van der Berg",
    "Al-Sayed", "Hernández-López", "Okafor", "Patel", "Johansson", "Dubois", "Rossi", "Kim", "Tanaka",
    "Brown", "Williams", "Ivanova", "Fernández", "Lefèvre", "Ó Súilleabháin", "Mensah", "Šimić", "Yılmaz",  # noqa: RUF001 - a Turkish name
)  # fmt: skip
CITIES = (
    ("Durham", "NC", "27708", "USA"), ("Chapel Hill", "NC", "27514", "USA"), ("Raleigh", "NC", "27601", "USA"),
    ("New York", "NY", "10128", "USA"), ("Toronto", "ON", "M5V 2T6", "CAN"), ("Oslo", "", "0316", "NOR"),
    ("München", "BY", "80331", "DEU"), ("Lagos", "LA", "100001", "NGA"), ("Kyoto", "", "600-8216", "JPN"),
    ("Ciudad de México", "CDMX", "06000", "MEX"),
)  # fmt: skip
STREETS = ("Main St", "Chapel Dr", "Science Dr", "Erwin Rd", "Ninth St", "Duke University Rd", "Oak Ave")
BOOKS = (
    ("Cien años de soledad", "García Márquez, Gabriel", "1967"),
    ("Things Fall Apart", "Achebe, Chinua", "1958"),
    ("Die Verwandlung", "Kafka, Franz", "1915"),
    ("ノルウェイの森", "村上春樹", "1987"),
    ("The Particle Play", "Polkinghorne, John", "1979"),
    ("Beloved", "Morrison, Toni", "1987"),
    ("Sult", "Hamsun, Knut", "1890"),
    ("L'Étranger", "Camus, Albert", "1942"),
    ("Invisible Man", "Ellison, Ralph", "1952"),
    ("Data Structures and Algorithms", "Aho, Alfred V.", "1983"),
)
GROUPS = (("UNDERGRAD", 30), ("GRAD", 20), ("FACULTY", 10), ("STAFF", 10), ("PUBLIC", 15), ("ALUM", 15))
_STAT_FOR_GROUP = {
    "UNDERGRAD": "PT_STUDENT", "GRAD": "PT_STUDENT", "FACULTY": "PT_EMPLOYEE", "STAFF": "PT_EMPLOYEE",
    "PUBLIC": "PT_VISITOR", "ALUM": "PT_ALUMNI",
}  # fmt: skip


def at_midnight(env: Env) -> Env:
    """``env`` with its clock at midnight UTC of its date: what seed data is dated from."""
    day = env.now.astimezone(UTC).date()
    return replace(env, now=datetime.combine(day, time(0), tzinfo=UTC))


def _span(times: random.Random, low: timedelta, high: timedelta) -> timedelta:
    """A span between ``low`` and ``high``, to the second, drawn from ``times``."""
    return timedelta(seconds=times.randrange(int(low.total_seconds()), int(high.total_seconds())))


def _ascii(text: str) -> str:
    return "".join(ch for ch in fold(text) if "a" <= ch <= "z")


LOAN_PERIOD = timedelta(days=28)


def _stamp(value: Any) -> datetime | None:
    """A loan's date-time as the sandbox writes it (``2018-08-14T20:00:00Z``), or ``None``."""
    if value is None:  # "None" never parses: the same answer without a failed parse
        return None
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _loaned_at(env: Env, fields: Mapping[str, Any]) -> datetime:
    """When a loan began: as given, else 28 days before its due date, else 21 days before its return,
    else ten days before ``env``'s today. A loan is never due, nor returned, before it was lent."""
    for key, before in (("loan_date", timedelta(0)), ("due_date", LOAN_PERIOD), ("return_date", timedelta(days=21))):
        given = _stamp(fields.get(key))
        if given is not None:
            return given - before
    return datetime.combine(env.today - timedelta(days=10), time(14, 30), tzinfo=env.now.tzinfo)


def make_loan(store: Numbers, env: Env, primary_id: str, fields: Mapping[str, Any] | None = None) -> Json:
    """A loan as Alma lists it; ``fields`` override the generated values (e.g. ``loan_status``).

    Dates not given follow from those given: a due date alone dates the loan 28 days earlier, a
    return date alone 21 days earlier, and the due date is 28 days after the loan date.
    """
    return _loan(store, env, primary_id, _loaned_at(env, fields or {}), fields)


def _loan(store: Numbers, env: Env, primary_id: str, loaned: datetime, fields: Mapping[str, Any] | None) -> Json:
    """`make_loan` with the moment it was lent already known (seeding knows it: no date read back)."""
    number = store.next_number("loan")
    title, author, year = BOOKS[number % len(BOOKS)]
    loan: Json = {
        "loan_id": str(7_329_587_120_002_204 + number),
        "user_id": primary_id,
        "item_barcode": f"D{39012000000000 + number}",
        "item_id": str(23_100_000_000_008_501 + number),
        "mms_id": str(99_100_000_000_008_501 + number),
        "circ_desk": make_code(env.codes, "CirculationDesks", "DEFAULT_CIRC_DESK"),
        "library": make_code(env.codes, "Libraries", "PERKINS"),
        "location_code": {"value": "PSTAC", "name": "Perkins Stacks"},
        "loan_status": "ACTIVE",
        "process_status": "NORMAL",
        "renewable": True,
        "loan_date": stamp_seconds(loaned),
        "due_date": stamp_seconds(loaned + LOAN_PERIOD),
        "title": title,
        "author": author,
        "description": None,
        "publication_year": year,
        "call_number": f"PQ{6000 + number} .A{number % 90 + 10}",
        "item_policy": {"value": "01", "description": "Regular loan"},
    }
    loan.update(fields or {})
    return loan


def make_request(store: Numbers, env: Env, primary_id: str, fields: Mapping[str, Any] | None = None) -> Json:
    """A hold request as Alma lists it; ``fields`` override the generated values."""
    number = store.next_number("request")
    title, author, _ = BOOKS[(number + 3) % len(BOOKS)]
    request: Json = {
        "request_id": str(1_234_567_890_008_501 + number),
        "user_primary_id": primary_id,
        "request_type": "HOLD",
        "request_sub_type": make_code(env.codes, "RequestSubTypes", "PATRON_PHYSICAL"),
        "request_status": "Not Started",
        "mms_id": str(99_200_000_000_008_501 + number),
        "title": title,
        "author": author,
        "pickup_location": "Perkins Library",
        "pickup_location_type": "LIBRARY",
        "pickup_location_library": "PERKINS",
        "place_in_queue": 1,
        "request_date": dump_date(env.today),
        "request_time": stamp_seconds(env.now),
    }
    request.update(fields or {})
    return request


def make_fee(store: Numbers, env: Env, primary_id: str, fields: Mapping[str, Any] | None = None) -> Json:
    """An active overdue fine as Alma lists it; ``fields`` override (``balance``, ``status``…)."""
    number = store.next_number("fee")
    fee: Json = {
        "id": str(9_854_064_491_211_104 + number),
        "type": make_code(env.codes, "FineFeeTypes", "OVERDUEFINE"),
        "status": make_code(env.codes, "FineFeeStatus", "ACTIVE"),
        "balance": 12.5,
        "remaining_vat_amount": 0,
        "original_amount": 12.5,
        "original_vat_amount": 0,
        "creation_time": stamp_seconds(env.now),
        "status_time": stamp_seconds(env.now),
        "comment": None,
        "owner": make_code(env.codes, "Libraries", "PERKINS"),
        "title": BOOKS[number % len(BOOKS)][0],
        "barcode": None,
    }
    fee.update(fields or {})
    for key, table in (("type", "FineFeeTypes"), ("status", "FineFeeStatus"), ("owner", "Libraries")):
        fee[key] = make_code(env.codes, table, fee[key])
    return fee


_GROUP_CODES = [code for code, _ in GROUPS]
_GROUP_ODDS = list(accumulate(weight for _, weight in GROUPS))  # what choices(weights=) computes on each call


def _pick_group(rng: random.Random) -> str:
    return rng.choices(_GROUP_CODES, cum_weights=_GROUP_ODDS)[0]


def patron_body(rng: random.Random, env: Env, primary_id: str, barcode: str, times: random.Random) -> Json:
    """One generated patron as a ``POST /users`` body; ``times`` draws its timestamps."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    group = _pick_group(rng)
    external = group in ("UNDERGRAD", "GRAD", "FACULTY", "STAFF")
    email_local = f"{_ascii(first) or 'user'}.{_ascii(last) or 'patron'}{rng.randrange(10, 99)}"
    body: Json = {
        "record_type": "STAFF" if group == "STAFF" else "PUBLIC",
        "primary_id": primary_id,
        "first_name": first,
        "last_name": last,
        "user_group": group,
        "account_type": "EXTERNAL" if external else "INTERNAL",
        "external_id": "SIS" if external else "",
        "preferred_language": rng.choice(("en", "en", "en", "es", "fr", "de", "zh")),
        "contact_info": {
            "email": [
                {
                    "email_address": f"{email_local}@{'duke.edu' if external else 'example.org'}",
                    "email_type": "school" if external else "personal",
                    "preferred": True,
                }
            ]
        },
        "user_identifier": [{"id_type": "BARCODE", "value": barcode}],
        "user_statistic": [{"statistic_category": _STAT_FOR_GROUP[group]}],
    }
    if rng.random() < 0.2:
        body["middle_name"] = rng.choice(("Lee", "Marie", "José", "Kofi", "Ann"))
    if external:
        # Nine digits: never mistaken for a seven-digit Duke Unique ID of the scenarios.
        body["user_identifier"].append({"id_type": "UNIV_ID", "value": f"{rng.randrange(10**8, 10**9)}"})
    if rng.random() < 0.7:
        city, state, postal, country = rng.choice(CITIES)
        body["contact_info"]["address"] = [
            {
                "line1": f"{rng.randrange(1, 9999)} {rng.choice(STREETS)}",
                "city": city,
                "state_province": state,
                "postal_code": postal,
                "country": country,
                "address_type": ["home"],
                "preferred": True,
            }
        ]
    if rng.random() < 0.5:
        body["contact_info"]["phone"] = [
            {"phone_number": f"+1 919 555 {rng.randrange(100, 9999):04d}", "phone_type": ["mobile"], "preferred": True}
        ]
    if rng.random() < 0.4:
        body["birth_date"] = dump_date(env.today - timedelta(days=rng.randrange(18 * 365, 80 * 365)))
    expired = rng.random() < 0.2
    days = -rng.randrange(1, 700) if expired else rng.randrange(30, 900)
    body["expiry_date"] = dump_date(env.today + timedelta(days=days))
    if expired and rng.random() < 0.5:
        body["status"] = "INACTIVE"
    if rng.random() < 0.15:
        written = env.now - _span(times, timedelta(hours=1), timedelta(days=400))
        body["user_note"] = [
            {
                "note_type": "CIRCULATION",
                "note_text": "Prefers pick-up at Lilly Library.",
                "created_date": stamp_seconds(written),
            }
        ]
    return body


def patron_activity(
    store: Numbers, env: Env, rng: random.Random, primary_id: str, *, times: random.Random
) -> dict[str, list[Json]]:
    """A generated patron's loans, requests and fees (kind → items); numbered from the store's counters."""
    items: dict[str, list[Json]] = {"loans": [], "requests": [], "fees": []}
    if rng.random() < 0.3:
        for _ in range(rng.randrange(1, 4)):
            due = env.now + timedelta(days=rng.randrange(-20, 40))
            loaned = due - timedelta(days=28) - _span(times, timedelta(0), timedelta(hours=10))
            loan = {"due_date": stamp_seconds(due), "loan_date": stamp_seconds(loaned)}
            items["loans"].append(_loan(store, env, primary_id, loaned, loan))
    if rng.random() < 0.15:
        returned = env.now - timedelta(days=rng.randrange(30, 400))
        loaned = returned - timedelta(days=21) - _span(times, timedelta(0), timedelta(hours=10))
        done = {
            "loan_status": "COMPLETE",
            "loan_date": stamp_seconds(loaned),
            "due_date": stamp_seconds(loaned + timedelta(days=28)),
            "return_date": stamp_seconds(returned),
            "renewable": False,
        }
        items["loans"].append(_loan(store, env, primary_id, loaned, done))
    if rng.random() < 0.15:
        placed = env.now - _span(times, timedelta(minutes=5), timedelta(days=14))
        when = {"request_date": dump_date(placed.date()), "request_time": stamp_seconds(placed)}
        items["requests"].append(make_request(store, env, primary_id, when))
    if rng.random() < 0.15:
        amount = float(rng.choice((2.5, 5, 12.5, 40, 95)))
        charged = stamp_seconds(env.now - _span(times, timedelta(hours=1), timedelta(days=90)))
        fields = {"balance": amount, "original_amount": amount, "creation_time": charged, "status_time": charged}
        items["fees"].append(make_fee(store, env, primary_id, fields))
    return items
