"""Seed data: realistic, varied, deterministic patrons, and the Duke OneLink scenarios."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from alma_onelink.models import User
from alma_onelink.sandbox import DUKE_SCENARIOS, DUKE_UNIQUE_IDS, CodeTables, Sandbox
from tests.sandbox.conftest import NOW

TODAY = NOW.date()


def _sandbox(**options: object) -> Sandbox:
    return Sandbox(now=lambda: NOW, per_second_limit=None, **options)  # type: ignore[arg-type]


def test_seed_returns_ids_and_is_deterministic() -> None:
    one, two = _sandbox(), _sandbox()
    assert one.seed(30, seed=1) == two.seed(30, seed=1)
    assert list(one.users) == list(two.users)
    assert _sandbox().seed(30, seed=2) != one.users.ids()


def test_seed_without_a_seed_draws_new_batches_deterministically() -> None:
    one, two = _sandbox(seed=4), _sandbox(seed=4)
    assert one.seed(5) == two.seed(5)
    assert one.seed(5) == two.seed(5)
    assert len(set(one.users.ids())) == 10


def test_seeded_patrons_are_varied_and_valid() -> None:
    sandbox = _sandbox()
    ids = sandbox.seed(120, seed=7)
    users = [User.from_alma(sandbox.users.get(i) or {}) for i in ids]
    names = [f"{u.first_name} {u.last_name}" for u in users]
    assert any(not name.isascii() for name in names)
    assert len({u.user_group.value for u in users if u.user_group}) >= 5
    assert {u.account_type.value for u in users if u.account_type} == {"INTERNAL", "EXTERNAL"}
    assert all(u.user_identifier and u.preferred_email for u in users)
    assert any(u.contact_info and u.contact_info.address for u in users)
    expired = [u for u in users if u.expiry_date and u.expiry_date < TODAY]
    assert 5 <= len(expired) < 60
    with_loans = [i for i in ids if any(loan["loan_status"] == "ACTIVE" for loan in sandbox.users.loans(i))]
    assert with_loans
    assert any(sandbox.users.requests(i) for i in ids)
    assert any(sandbox.users.fees(i) for i in ids)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}Z", u["status_date"]) for u in sandbox.users)


def test_seeded_ids_never_collide_with_existing_users() -> None:
    sandbox = _sandbox()
    first = sandbox.seed(50, seed=1)
    second = sandbox.seed(50, seed=1)  # the same draws again: every id must be re-drawn
    assert not set(first) & set(second)
    assert len(sandbox.users) == 100


def test_code_tables_hold_the_codes_other_components_rely_on() -> None:
    tables = CodeTables()
    assert {"UNDERGRAD", "GRAD", "FACULTY", "STAFF", "PUBLIC", "ALUM"} <= set(tables.codes("UserGroups"))
    assert tables.desc("UserGroups", "DUKE_ALUMNI") == "Alumni"
    assert tables.desc("UserGroups", "DUKE_TRLN") == "TRLN borrower"
    assert tables.desc("UserGroups", "DUKE_BORROWDIRECT") == "BorrowDirect borrower"
    assert tables.desc("UserGroups", "DUKE_FRIENDS") == "Friends of the Library"
    assert tables.desc("UserGroups", "DUKE_FORMER_AFFILIATE") == "Former faculty/staff/sponsored"
    assert tables.desc("UserGroups", "DUKE_COMMUNITY") == "Community borrower"
    patron_types = {"PT_ALUMNI", "PT_TRLN", "PT_BORROWDIRECT", "PT_FRIENDS", "PT_FORMER_FACULTY",
                    "PT_FORMER_STAFF", "PT_FORMER_SPONSORED", "PT_COMMUNITY"}  # fmt: skip
    assert patron_types <= set(tables.codes("UserStatCategories"))
    assert all(tables.category_type(code) == "PATRON_TYPE" for code in patron_types)
    assert tables.desc("UserStatisticalTypes", "PATRON_TYPE") == "Patron type"
    assert set(tables.codes("UserIdentifierTypes")) == {"BARCODE", "UNIV_ID", "NET_ID", "DUKE_UNIQUE_ID"}
    assert set(tables.codes("NoteTypes")) == {"CIRCULATION", "LIBRARY", "OTHER", "POPUP"}
    assert tables.canonical("UserGroups", "duke_alumni") == "DUKE_ALUMNI"


def test_code_tables_are_editable_per_sandbox() -> None:
    one, two = _sandbox(), _sandbox()
    one.code_tables.add("UserGroups", "VISITOR", "Visitor")
    assert one.code_tables.has("UserGroups", "visitor")
    assert not two.code_tables.has("UserGroups", "VISITOR")
    one.code_tables.remove("UserGroups", "visitor")
    assert not one.code_tables.has("UserGroups", "VISITOR")


# --- Duke scenarios ----------------------------------------------------------------------------------


def test_demo_is_deterministic_and_holds_the_duke_scenarios() -> None:
    demo = Sandbox.demo(now=lambda: NOW)
    assert list(demo.users) == list(Sandbox.demo(now=lambda: NOW).users)
    assert len(demo.users) == 40 + len(DUKE_SCENARIOS) - 1
    for name, primary_id in DUKE_SCENARIOS.items():
        assert (demo.users.get(primary_id) is None) == (name == "new_registrant")


def _everything(sandbox: Sandbox) -> list[dict[str, Any]]:
    """Every user with its loans, requests and fees: the whole state seeding produced."""
    return [
        {
            "user": sandbox.users.get(pid),
            "loans": sandbox.users.loans(pid),
            "requests": sandbox.users.requests(pid),
            "fees": sandbox.users.fees(pid),
        }
        for pid in sandbox.users.ids()
    ]


def test_demo_without_now_is_identical_for_the_same_seed() -> None:
    one, two = Sandbox.demo(), Sandbox.demo()
    assert _everything(one) == _everything(two)


def test_demo_does_not_depend_on_the_time_of_day() -> None:
    morning = Sandbox.demo(seed=3, now=lambda: datetime(2026, 3, 14, 0, 0, 1, tzinfo=UTC))
    night = Sandbox.demo(seed=3, now=lambda: datetime(2026, 3, 14, 23, 59, 59, 999_000, tzinfo=UTC))
    state = _everything(morning)
    assert state == _everything(night)
    stamps = re.findall(r"\d{4}-\d{2}-\d{2}T[\d:.]+Z", repr(state))
    assert len({stamp[11:19] for stamp in stamps}) > 10  # varied times of day, drawn from the seed


def test_demo_on_a_database_seeds_only_an_empty_store(tmp_path: Path) -> None:
    path = tmp_path / "demo.sqlite3"
    with Sandbox.demo(db_path=path, patrons=5, now=lambda: NOW) as first:
        first.users.create({"record_type": "PUBLIC", "primary_id": "mine01", "last_name": "Mine",
                            "account_type": "INTERNAL", "user_group": "PUBLIC"})  # fmt: skip
        before = first.users.ids()
    with Sandbox.demo(db_path=path, patrons=5, now=lambda: NOW) as second:
        assert second.users.ids() == before
    assert len(before) == 5 + len(DUKE_SCENARIOS) - 1 + 1


def test_onelink_ids_are_seven_digit_strings_with_leading_zeros() -> None:
    for name in ("new_registrant", "onelink_alumnus", "trln_borrower"):
        assert re.fullmatch(r"\d{7}", DUKE_SCENARIOS[name])
    assert DUKE_SCENARIOS["new_registrant"].startswith("0")
    assert all(re.fullmatch(r"\d{7}", duid) for duid in DUKE_UNIQUE_IDS.values())
    demo = Sandbox.demo(now=lambda: NOW)
    assert demo.users.get("0123456")["primary_id"] == "0123456"  # type: ignore[index]


def test_netid_era_account_is_found_by_its_duke_unique_id() -> None:
    demo = Sandbox.demo(now=lambda: NOW, per_second_limit=None)
    duid = DUKE_UNIQUE_IDS["netid_era_alumna"]
    with httpx.Client(transport=demo.transport(), base_url=demo.base_url + "/almaws/v1") as client:
        key = {"apikey": demo.api_key, "format": "json"}
        user = client.get(f"/users/{duid}", params=key).json()
        found = client.get("/users", params={**key, "q": f"identifiers~{duid}"}).json()
    assert user["primary_id"] == "jd123"
    assert {(i["id_type"]["value"], i["value"]) for i in user["user_identifier"]} >= {
        ("DUKE_UNIQUE_ID", duid),
        ("NET_ID", "jd123"),
    }
    assert [u["primary_id"] for u in found["user"]] == ["jd123"]


def test_recent_graduate_graduated_less_than_a_year_before_the_sandbox_today() -> None:
    for today in (NOW, NOW + timedelta(days=400)):
        demo = Sandbox.demo(now=lambda today=today: today)
        user = User.from_alma(demo.users.get(DUKE_SCENARIOS["recent_graduate"]) or {})
        graduated = date.fromisoformat(re.search(r"\d{4}-\d{2}-\d{2}", user.user_note[0].note_text or "")[0])  # type: ignore[index]
        assert timedelta(0) < today.date() - graduated < timedelta(days=365)
        assert user.identifier_values("DUKE_UNIQUE_ID") == [DUKE_UNIQUE_IDS["recent_graduate"]]
        assert user.expiry_date
        assert user.expiry_date > today.date()


def test_former_staff_member_has_active_loans_and_cannot_be_deleted() -> None:
    demo = Sandbox.demo(now=lambda: NOW, per_second_limit=None)
    staff_id = DUKE_SCENARIOS["former_staff_with_loans"]
    user = User.from_alma(demo.users.get(staff_id) or {})
    assert user.user_group
    assert user.user_group.value == "STAFF"
    assert user.expiry_date
    assert user.expiry_date < TODAY
    active = [loan for loan in demo.users.loans(staff_id) if loan["loan_status"] == "ACTIVE"]
    assert len(active) == 2
    with httpx.Client(transport=demo.transport(), base_url=demo.base_url) as client:
        refused = client.delete(f"/almaws/v1/users/{staff_id}", params={"apikey": demo.api_key})
    assert refused.status_code == 400


def test_seed_duke_is_idempotent() -> None:
    sandbox = _sandbox()
    assert len(sandbox.seed_duke()) == len(DUKE_SCENARIOS) - 1
    assert sandbox.seed_duke() == []


# --- dates: consistent, and fixed per store -------------------------------------------------------


def test_no_seeded_loan_is_due_or_returned_before_it_was_lent() -> None:
    demo = Sandbox.demo(patrons=300, seed=11, now=lambda: NOW)
    loans = [loan for pid in demo.users.ids() for loan in demo.users.loans(pid)]
    assert len(loans) > 50
    for loan in loans:
        assert loan["loan_date"] < loan["due_date"], loan
        if loan.get("return_date"):
            assert loan["loan_date"] < loan["return_date"], loan
    midnight = f"{TODAY.isoformat()}T00:00:00Z"
    for pid in demo.users.ids():
        assert all(req["request_time"] <= midnight for req in demo.users.requests(pid))
        assert all(fee["creation_time"] <= midnight for fee in demo.users.fees(pid))


def test_a_loan_given_only_a_due_or_return_date_is_dated_before_it() -> None:
    sandbox = _sandbox()
    sandbox.users.create(
        {"record_type": "PUBLIC", "primary_id": "ln01", "last_name": "L", "account_type": "INTERNAL",
         "user_group": "PUBLIC"}
    )  # fmt: skip
    overdue = sandbox.users.add_loan("ln01", due_date="2020-01-29T20:00:00Z")
    returned = sandbox.users.add_loan("ln01", loan_status="COMPLETE", return_date="2019-06-22T10:00:00Z")
    assert overdue["loan_date"] == "2020-01-01T20:00:00Z"
    assert returned["loan_date"] == "2019-06-01T10:00:00Z"
    assert returned["due_date"] == "2019-06-29T10:00:00Z"


def test_seed_data_is_dated_from_the_day_the_store_was_first_seeded(tmp_path: Path) -> None:
    path = tmp_path / "anchored.sqlite3"
    late = datetime(2026, 3, 14, 23, 59, 30, tzinfo=UTC)
    with Sandbox.demo(db_path=path, patrons=5, now=lambda: late) as first:
        assert first.seeded_on == TODAY
        before = _everything(first)
    a_month_later = late + timedelta(minutes=1, days=30)  # past midnight, and a restart
    with Sandbox(db_path=path, now=lambda: a_month_later) as later:
        assert later.seeded_on == TODAY  # kept in the store
        assert _everything(later) == before
        added = later.seed(5, seed=99)
        new_users = [later.users.get(pid) for pid in added]
    assert all(user and user["status_date"] == f"{TODAY.isoformat()}Z" for user in new_users)
    same_day = Sandbox(now=lambda: NOW)
    same_day.seed(5, seed=99)
    assert list(same_day.users) == new_users  # as if seeded on the store's day


def test_reset_forgets_the_seed_day() -> None:
    day = [NOW]
    sandbox = Sandbox(now=lambda: day[0])
    sandbox.seed(1, seed=1)
    day[0] = NOW + timedelta(days=3)
    sandbox.reset()
    assert sandbox.seeded_on is None
    sandbox.seed(1, seed=1)
    assert sandbox.seeded_on == TODAY + timedelta(days=3)


def test_the_recent_graduate_is_recent_whenever_a_fresh_demo_is_seeded() -> None:
    for today in (NOW - timedelta(days=800), NOW, NOW + timedelta(days=3000)):
        demo = Sandbox.demo(now=lambda today=today: today)
        note = (demo.users.get(DUKE_SCENARIOS["recent_graduate"]) or {})["user_note"][0]["note_text"]
        graduated = date.fromisoformat(re.search(r"\d{4}-\d{2}-\d{2}", note)[0])  # type: ignore[index]
        assert today.date() - graduated == timedelta(days=120)
