"""The Duke-flavoured scenarios behind the demo and the OneLink workflow tests.

OneLink accounts use the seven-digit Duke Unique ID (leading zeros kept) as primary id. Accounts from
the NetID era use the NetID as primary id and carry the Unique ID as a ``DUKE_UNIQUE_ID`` identifier,
so a returning patron's OneLink id finds the old account through its identifiers. Dates are relative
to the day the store was first seeded (``Sandbox.seeded_on``, midnight UTC), so "graduated less than a
year ago" is true of every freshly seeded demo, and a store's scenarios never move, at midnight or later.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from types import MappingProxyType

from ._fields import Env, Json, stamp_seconds
from ._records import build_user, parse_user
from ._seed import at_midnight, make_fee, make_loan, make_request
from ._store import Store, make_entry

__all__ = ["DUKE_SCENARIOS", "DUKE_UNIQUE_IDS"]

DUKE_SCENARIOS = MappingProxyType(
    {
        "new_registrant": "0345678",
        "onelink_alumnus": "0123456",
        "netid_era_alumna": "jd123",
        "recent_graduate": "kl234",
        "former_staff_with_loans": "rm56",
        "trln_borrower": "1056789",
        "lapsed_friend": "0789012",
        "durham_namesake": "0890123",
    }
)
"""Scenario name → primary id. ``new_registrant`` is deliberately *not* in the sandbox: it is the
OneLink id a first-time registrant brings. The others exist after ``Sandbox.demo()``."""

DUKE_UNIQUE_IDS = MappingProxyType(
    {
        "new_registrant": "0345678",
        "onelink_alumnus": "0123456",
        "netid_era_alumna": "0456789",
        "recent_graduate": "1045678",
        "former_staff_with_loans": "0567890",
        "trln_borrower": "1056789",
        "lapsed_friend": "0789012",
        "durham_namesake": "0890123",
    }
)
"""Scenario name → the person's seven-digit Duke Unique ID (their OneLink id)."""


def _duke_ids(name: str, netid: str) -> list[Json]:
    return [
        {"id_type": "DUKE_UNIQUE_ID", "value": DUKE_UNIQUE_IDS[name], "segment_type": "External"},
        {"id_type": "NET_ID", "value": netid, "segment_type": "External"},
    ]


def _email(address: str, kind: str = "personal") -> Json:
    return {"email": [{"email_address": address, "email_type": kind, "preferred": True}]}


def _onelink_alumnus(env: Env) -> Json:
    return {
        "record_type": "PUBLIC",
        "primary_id": DUKE_SCENARIOS["onelink_alumnus"],
        "first_name": "María José",
        "last_name": "Ibáñez",
        "user_group": "DUKE_ALUMNI",
        "account_type": "INTERNAL",
        "expiry_date": (env.today + timedelta(days=300)).isoformat(),
        "contact_info": _email("mj.ibanez@example.org"),
        "user_statistic": [{"statistic_category": "PT_ALUMNI"}],
        "user_note": [{"note_type": "LIBRARY", "note_text": "OneLink account; alumna (T'09)."}],
    }


def _netid_era_alumna(env: Env) -> Json:
    return {
        "record_type": "PUBLIC",
        "primary_id": DUKE_SCENARIOS["netid_era_alumna"],
        "first_name": "Jane",
        "last_name": "Doe",
        "user_group": "UNDERGRAD",
        "account_type": "EXTERNAL",
        "external_id": "SIS",
        "status": "INACTIVE",
        "expiry_date": (env.today - timedelta(days=6 * 365)).isoformat(),
        "contact_info": _email("jane.doe@alumni.duke.edu", "school"),
        "user_identifier": [*_duke_ids("netid_era_alumna", "jd123"), {"id_type": "BARCODE", "value": "DK250000123456"}],
        "user_statistic": [{"statistic_category": "PT_STUDENT"}],
    }


def _recent_graduate(env: Env) -> Json:
    graduated = env.today - timedelta(days=120)
    return {
        "record_type": "PUBLIC",
        "primary_id": DUKE_SCENARIOS["recent_graduate"],
        "first_name": "Léa",
        "last_name": "Kowalczyk",
        "user_group": "UNDERGRAD",
        "account_type": "EXTERNAL",
        "external_id": "SIS",
        # The NetID stays active for a year after graduation, and the account with it.
        "expiry_date": (graduated + timedelta(days=365)).isoformat(),
        "contact_info": _email("lea.kowalczyk@duke.edu", "school"),
        "user_identifier": _duke_ids("recent_graduate", "kl234"),
        "user_statistic": [{"statistic_category": "PT_STUDENT"}],
        "user_note": [{"note_type": "OTHER", "note_text": f"Graduated {graduated.isoformat()} (B.S.)."}],
    }


def _former_staff(env: Env) -> Json:
    left = env.today - timedelta(days=60)
    return {
        "record_type": "STAFF",
        "primary_id": DUKE_SCENARIOS["former_staff_with_loans"],
        "first_name": "Rafael",
        "last_name": "Martínez",
        "user_group": "STAFF",
        "account_type": "EXTERNAL",
        "external_id": "SIS",
        "job_description": "Library assistant (left Duke)",
        "expiry_date": left.isoformat(),
        "contact_info": _email("rafa.martinez@example.com"),
        "user_identifier": [
            *_duke_ids("former_staff_with_loans", "rm56"),
            {"id_type": "BARCODE", "value": "DK250000987654"},
        ],
        "user_statistic": [{"statistic_category": "PT_EMPLOYEE"}],
        "user_note": [{"note_type": "OTHER", "note_text": f"Employment ended {left.isoformat()}."}],
    }


def _trln_borrower(env: Env) -> Json:
    return {
        "record_type": "PUBLIC",
        "primary_id": DUKE_SCENARIOS["trln_borrower"],
        "first_name": "Mai",
        "last_name": "Nguyễn",
        "user_group": "DUKE_TRLN",
        "account_type": "INTERNAL",
        "expiry_date": (env.today + timedelta(days=200)).isoformat(),
        "contact_info": _email("mai.nguyen@unc.example.edu", "school"),
        "user_statistic": [{"statistic_category": "PT_TRLN"}],
        "user_note": [{"note_type": "CIRCULATION", "note_text": "Home institution: UNC-Chapel Hill."}],
    }


def _lapsed_friend(env: Env) -> Json:
    # A Friends of the Library member whose membership (a year from the gift) ran out 45 days ago.
    lapsed = env.today - timedelta(days=45)
    gift = lapsed - timedelta(days=365)
    return {
        "record_type": "PUBLIC",
        "primary_id": DUKE_SCENARIOS["lapsed_friend"],
        "first_name": "Eudora",
        "last_name": "Welty",
        "user_group": "DUKE_FRIENDS",
        "account_type": "INTERNAL",
        "expiry_date": lapsed.isoformat(),
        "contact_info": _email("eudora.welty@example.net"),
        "user_statistic": [{"statistic_category": "PT_FRIENDS"}],
        "user_note": [
            {
                "note_type": "LIBRARY",
                "note_text": f"Registered {gift.isoformat()} through OneLink as Friends of the Library; "
                f"gift of $150.00 on {gift.isoformat()}.",
                "user_viewable": False,
            }
        ],
    }


def _durham_namesake(env: Env) -> Json:
    # A community borrower from years ago, in Raleigh: another person with the name of the Durham
    # community borrower who registers in the demo. Found by name alone, shown, never acted on.
    return {
        "record_type": "PUBLIC",
        "primary_id": DUKE_SCENARIOS["durham_namesake"],
        "first_name": "Tobias",
        "last_name": "Whitfield",
        "user_group": "DUKE_COMMUNITY",
        "account_type": "INTERNAL",
        "birth_date": "1958-03-02",
        "expiry_date": (env.today - timedelta(days=2 * 365 + 100)).isoformat(),
        "contact_info": {
            **_email("twhitfield58@example.com"),
            "address": [
                {
                    "line1": "412 Glenwood Ave",
                    "city": "Raleigh",
                    "state_province": "NC",
                    "postal_code": "27603",
                    "country": "USA",
                    "address_type": ["home"],
                    "preferred": True,
                }
            ],
        },
        "user_statistic": [{"statistic_category": "PT_COMMUNITY"}],
    }


_BUILDERS: dict[str, Callable[[Env], Json]] = {
    "onelink_alumnus": _onelink_alumnus,
    "netid_era_alumna": _netid_era_alumna,
    "recent_graduate": _recent_graduate,
    "former_staff_with_loans": _former_staff,
    "trln_borrower": _trln_borrower,
    "lapsed_friend": _lapsed_friend,
    "durham_namesake": _durham_namesake,
}


def seed_duke(store: Store, env: Env) -> list[str]:
    """Add the Duke scenarios that are not there yet; returns the primary ids added.

    Timestamps are fixed offsets from midnight UTC of ``env``'s date: only that date matters.
    """
    env = at_midnight(env)
    added = []
    for name, build in _BUILDERS.items():
        primary_id = DUKE_SCENARIOS[name]
        with store.transaction():
            if store.lookup(primary_id):
                continue
            record = build_user(env, parse_user(build(env)))
            uid = store.save(None, make_entry(record, None, env.today))
            for kind, item in _activity(store, env, name, primary_id):
                store.add_item(uid, kind, item)
        added.append(primary_id)
    return added


def _activity(store: Store, env: Env, name: str, primary_id: str) -> list[tuple[str, Json]]:
    if name == "former_staff_with_loans":
        overdue = {"due_date": stamp_seconds(env.now - timedelta(days=12))}
        return [
            ("loans", make_loan(store, env, primary_id, overdue)),
            ("loans", make_loan(store, env, primary_id, {"due_date": stamp_seconds(env.now + timedelta(days=16))})),
            ("requests", make_request(store, env, primary_id)),
            ("fees", make_fee(store, env, primary_id, {"balance": 4.0, "original_amount": 4.0})),
        ]
    if name == "netid_era_alumna":
        returned = {"loan_status": "COMPLETE", "return_date": stamp_seconds(env.now - timedelta(days=2300))}
        closed = {"status": "CLOSED", "balance": 0.0, "original_amount": 15.0}
        return [
            ("loans", make_loan(store, env, primary_id, returned)),
            ("fees", make_fee(store, env, primary_id, closed)),
        ]
    return []
