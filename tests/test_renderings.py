"""Notebook and terminal renderings, and flat records / DataFrames of users, pages and results.

HTML escapes every value; rich never reads data as markup; records are JSON; a DataFrame has the
documented columns, and without pandas the error says how to install it.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from alma_onelink import AlmaClient, AsyncAlmaClient, Patron
from alma_onelink.merge import plan_merge
from alma_onelink.models import Code, ContactInfo, Email, User, UserIdentifier
from alma_onelink.models._render import USER_COLUMNS, USER_TABLE_COLUMNS
from alma_onelink.onelink import Journal, register_patron, to_dataframe, to_records
from alma_onelink.onelink._records import RESULT_COLUMNS
from alma_onelink.pagination import items_dataframe, items_records
from alma_onelink.policy import Policy, load_policy
from alma_onelink.sandbox import DUKE_SCENARIOS, DUKE_UNIQUE_IDS, Sandbox

NOW = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)
TODAY: date = NOW.date()
HOSTILE_FIRST = "<script>alert(1)</script>"
HOSTILE_LAST = "Lovelace[/] [bold]x"


def no_sleep(seconds: float) -> None:
    """Nothing in these tests waits."""


def rendered(renderable: Any) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined, no-any-return]


@pytest.fixture(autouse=True)
def _shipped_duke_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALMA_ONELINK_DUKE_CONFIG", raising=False)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.demo(now=lambda: NOW, per_second_limit=None, sleep=no_sleep) as made:
        yield made


@pytest.fixture
def alma(sandbox: Sandbox) -> Iterator[AlmaClient]:
    with AlmaClient.sandbox(sandbox, rate_limit=None, sleep=no_sleep) as client:
        yield client


@pytest.fixture
def duke() -> Policy:
    return load_policy("duke")


def hostile_user() -> User:
    return User(
        primary_id="h<1>",
        first_name=HOSTILE_FIRST,
        last_name=HOSTILE_LAST,
        user_group=Code(value="PUBLIC", desc="Public & <others>"),
        status=Code(value="ACTIVE"),
        expiry_date=date(2027, 6, 30),
        contact_info=ContactInfo(
            email=[Email(email_address="x@example.org", preferred=True, email_type=[Code(value="personal")])]
        ),
        user_identifier=[UserIdentifier(id_type=Code(value="BARCODE"), value="B<1>")],
    )


# --- User -----------------------------------------------------------------------------------------


def test_a_user_renders_as_escaped_html() -> None:
    shown = hostile_user()._repr_html_()
    assert "<script>" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    for expected in (
        "h&lt;1&gt;",
        "PUBLIC (Public &amp; &lt;others&gt;)",
        "ACTIVE",
        "2027-06-30",
        "BARCODE B&lt;1&gt;",
    ):
        assert expected in shown
    assert "x@example.org (personal; preferred)" in shown


def test_a_user_renders_in_a_terminal_with_nothing_read_as_markup() -> None:
    shown = rendered(hostile_user())
    assert HOSTILE_LAST in shown
    assert HOSTILE_FIRST in shown
    for expected in ("primary id", "h<1>", "PUBLIC (Public & <others>)", "expires", "2027-06-30", "BARCODE B<1>"):
        assert expected in shown


def test_a_user_record_is_flat_json(alma: AlmaClient) -> None:
    record = alma.users.get("jd123").to_record()
    assert tuple(record) == USER_COLUMNS
    assert json.loads(json.dumps(record)) == record
    assert record["primary_id"] == "jd123"
    assert record["name"] == "Jane Doe"
    assert record["user_group"] == "UNDERGRAD"
    assert record["status"] == "INACTIVE"
    assert record["email"] == "jane.doe@alumni.duke.edu"
    assert record["identifiers"] == "DUKE_UNIQUE_ID 0456789; NET_ID jd123; BARCODE DK250000123456"
    assert isinstance(record["expiry_date"], str)
    assert date.fromisoformat(record["expiry_date"]) < TODAY


def test_an_empty_user_renders_too() -> None:
    assert "(no name)" in User()._repr_html_()
    assert "(no name)" in rendered(User())
    assert User().to_record()["notes"] == 0


# --- pages ----------------------------------------------------------------------------------------


def test_a_page_renders_its_items_and_where_it_is(alma: AlmaClient, sandbox: Sandbox) -> None:
    total = len(sandbox.users)
    page = alma.users.list(limit=10, offset=10, expand="full")
    pages = -(-total // 10)
    caption = f"page 2 of {pages}: users 11-20 of {total}"
    assert page.caption() == caption
    html = page._repr_html_()
    assert caption in html
    assert html.count("<tr>") == 1 + 10  # the header and this page's ten users
    assert "This page only" in html
    shown = rendered(page)
    assert caption in shown
    for column in USER_TABLE_COLUMNS:
        assert column in shown
    last = alma.users.list(limit=10, offset=(pages - 1) * 10)
    assert "This page only" not in last._repr_html_()


def test_a_page_escapes_its_items(alma: AlmaClient) -> None:
    hostile = hostile_user().model_copy(
        update={
            "primary_id": "hostile1",
            "user_identifier": [],
            "record_type": Code(value="PUBLIC"),
            "account_type": Code(value="INTERNAL"),
        }
    )
    alma.users.create(hostile)
    page = alma.users.list(q="primary_id~hostile1", expand="full")
    assert "&lt;script&gt;" in page._repr_html_()
    assert "<script>" not in page._repr_html_()
    assert HOSTILE_LAST in rendered(page)


def test_page_records_are_this_page_unless_every_page_is_asked_for(alma: AlmaClient, sandbox: Sandbox) -> None:
    page = alma.users.list(limit=10, expand="full")
    records = page.to_records()
    assert [r["primary_id"] for r in records] == [u.primary_id for u in page.items]
    assert json.loads(json.dumps(records)) == records
    everyone = page.to_records(all_pages=True)
    assert len(everyone) == len(sandbox.users)
    assert {tuple(r) for r in everyone} == {USER_COLUMNS}


def test_a_page_of_loans_shows_loan_columns(alma: AlmaClient) -> None:
    loans = alma.users.loans(DUKE_SCENARIOS["former_staff_with_loans"])
    assert loans.caption() == "page 1 of 1: loans 1-2 of 2"
    shown = loans._repr_html_()
    for column in ("loan_id", "title", "item_barcode", "loan_status", "due_date"):
        assert f">{column}<" in shown
    assert "Sult" in shown
    records = loans.to_records()
    assert records[0]["title"] == "Sult"
    assert json.loads(json.dumps(records)) == records


def test_an_empty_page_renders(alma: AlmaClient) -> None:
    page = alma.users.list(q="last_name~Nobody-Has-This-Name")
    assert page.caption() == "page 1 of 1: users none of 0"
    assert "<tbody></tbody>" in page._repr_html_()
    assert "page 1 of 1: users none of 0" in rendered(page)
    assert page.to_records() == []
    frame = page.to_dataframe()
    assert frame.empty
    assert list(frame.columns) == list(USER_COLUMNS)


async def test_an_async_page_gives_this_page_and_every_page_on_request(sandbox: Sandbox) -> None:
    async def no_async_sleep(seconds: float) -> None:
        """Nothing waits."""

    async with AsyncAlmaClient.sandbox(sandbox, rate_limit=None, sleep=no_async_sleep) as client:
        page = await client.users.list(limit=10, expand="full")
        assert len(page.to_records()) == 10
        assert "page 1 of" in page._repr_html_()
        assert "This page only: async for over the page" in page._repr_html_()
        assert "page 1 of" in rendered(page)
        assert list(page.to_dataframe().columns) == list(USER_COLUMNS)
        everyone = items_records(await page.to_list())
        assert len(everyone) == len(sandbox.users)
        assert len(items_dataframe(await page.to_list())) == len(sandbox.users)


def test_a_page_dataframe_has_the_record_columns(alma: AlmaClient, sandbox: Sandbox) -> None:
    page = alma.users.list(limit=10, expand="full")
    frame = page.to_dataframe()
    assert list(frame.columns) == list(USER_COLUMNS)
    assert len(frame) == 10
    assert str(frame["expiry_date"].dtype).startswith("datetime64")
    assert len(page.to_dataframe(all_pages=True)) == len(sandbox.users)


def test_without_pandas_to_dataframe_says_how_to_install_it(alma: AlmaClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails as if it were not installed
    page = alma.users.list(limit=3)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'alma-onelink\[pandas\]'") as raised:
        page.to_dataframe()
    assert raised.value.name == "pandas"
    assert raised.value.__cause__ is None
    with pytest.raises(ModuleNotFoundError, match="alma-onelink"):
        to_dataframe([])


# --- registration results -------------------------------------------------------------------------


def register(alma: AlmaClient, duke: Policy, tmp_path: Path, **fields: Any) -> Any:
    patron = Patron(**{"affiliation": "trln", "home_institution": "UNC", **fields})
    return register_patron(alma, duke, patron, today=TODAY, journal=tmp_path / "j.jsonl", staff="t")


def test_a_result_with_markup_in_a_name_renders_in_a_terminal(alma: AlmaClient, duke: Policy, tmp_path: Path) -> None:
    result = register(alma, duke, tmp_path, onelink_id="2100009", first_name="Ada", last_name=HOSTILE_LAST)
    shown = rendered(result.render(verbose=True))  # "[/]" in a step's calls used to raise rich's MarkupError
    assert f"Ada {HOSTILE_LAST} (OneLink ID 2100009): CREATED" in shown
    assert "last_name~Lovelace[/]" in shown  # the search in the find step, as sent
    assert "last_name~" not in rendered(result)  # the calls only when verbose
    scripted = register(alma, duke, tmp_path, onelink_id="2100010", first_name=HOSTILE_FIRST, last_name="B")
    assert "<script>" not in scripted._repr_html_()
    assert "&lt;script&gt;" in scripted._repr_html_()


def test_result_records_are_flat_json_with_the_documented_columns(
    alma: AlmaClient, duke: Policy, tmp_path: Path
) -> None:
    jane = register(
        alma,
        duke,
        tmp_path,
        onelink_id=DUKE_UNIQUE_IDS["netid_era_alumna"],
        first_name="Jane",
        last_name="Doe",
        affiliation="alumni",
        graduated_on="2019-05-12",
    )
    lea = register(
        alma,
        duke,
        tmp_path,
        onelink_id=DUKE_UNIQUE_IDS["recent_graduate"],
        first_name="Léa",
        last_name="Kowalczyk",
        affiliation="alumni",
        graduated_on=date(2026, 2, 15),
    )
    records = to_records([jane, lea])
    assert json.loads(json.dumps(records)) == records
    assert [tuple(record) for record in records] == [RESULT_COLUMNS, RESULT_COLUMNS]
    assert records[0] == jane.to_record()
    assert {k: records[0][k] for k in ("outcome", "onelink_id", "merge_from", "primary_id", "ok")} == {
        "outcome": "needs_merge",
        "onelink_id": "0456789",
        "merge_from": "jd123",
        "primary_id": "0456789",
        "ok": True,
    }
    assert records[1]["outcome"] == "blocked"
    assert records[1]["issues"] is not None
    assert "recent_alum" in str(records[1]["issues"])
    frame = to_dataframe([jane, lea])
    assert list(frame.columns) == list(RESULT_COLUMNS)
    assert list(frame["outcome"]) == ["needs_merge", "blocked"]


# --- merge plans and journal entries --------------------------------------------------------------


def test_a_merge_plan_renders(alma: AlmaClient, duke: Policy, tmp_path: Path) -> None:
    register(
        alma,
        duke,
        tmp_path,
        onelink_id=DUKE_UNIQUE_IDS["former_staff_with_loans"],
        first_name="Rafael",
        last_name="Martínez",
        affiliation="former_affiliate",
        prior_role="staff",
        left_on=date(2026, 4, 16),
    )
    plan = plan_merge(alma, "rm56", "0567890", policy=duke, today=TODAY)
    html = plan._repr_html_()
    assert "Merge rm56 (Rafael Martínez) into 0567890 (Rafael Martínez)" in html
    assert plan.token in html
    shown = rendered(plan)
    assert "What changes" in shown
    assert plan.token in shown.replace("\n", "").replace("│", "").replace(" ", "")


def test_a_journal_entry_renders_with_its_changes_and_nothing_read_as_markup(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    before = {"primary_id": "x1", "status": {"value": "ACTIVE"}}
    entry = journal.intend(
        action="update", target="x1", before=before, staff="[bold]eve[/]", reason="line one\nline two\x1b[31m"
    )
    done = journal.complete(entry, result="done", after={"primary_id": "x1", "status": {"value": "INACTIVE"}})
    shown = rendered(done)
    assert "update x1: done" in shown
    assert "[bold]eve[/]" in shown
    assert "line one\\nline two\\x1b[31m" in shown  # control characters shown escaped, on one line
    assert "~ status: ACTIVE → INACTIVE" in shown
    created = journal.intend(action="create", target="<b>", before=None)
    pending = rendered(journal.entries()[-1])
    assert "create <b>: pending" in pending
    assert created.id in pending
    assert "&lt;b&gt;" in journal.entries()[-1]._repr_html_()
