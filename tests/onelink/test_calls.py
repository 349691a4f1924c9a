"""Alma calls per registration: every outcome at its minimum, with two searches or one (OR), sync and async.

The calls are the requests the sandbox received (its request log). Without ``OR`` a patron with no
OneLink account is looked for by email and by name, two searches; where the institution's Alma
accepts ``OR`` in a user search (`Policy.search_with_or`), one. Either way the accounts found, the
outcome and what is written are the same; the record a write returns is the one verified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from alma_onelink import Patron
from alma_onelink.onelink import RegistrationResult, aregister_patron, register_patron
from alma_onelink.policy import Policy, PolicyError, hookimpl, load_policy
from alma_onelink.sandbox import DUKE_SCENARIOS, DUKE_UNIQUE_IDS, LogEntry, Sandbox
from tests.onelink.conftest import (
    TODAY,
    async_client,
    former_staff,
    make_sandbox,
    netid_era_alumna,
    new_registrant,
    onelink_alumnus,
    recent_graduate,
    sync_client,
    trln_borrower_as_alumna,
)


class SearchWithOr:
    """A policy plugin that says whether the institution's Alma accepts OR in a user search."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer

    @hookimpl
    def alma_onelink_search_with_or(self) -> bool:
        return self.answer


def duke(with_or: bool, *plugins: object) -> Policy:
    """The Duke policy, searching with OR or not."""
    return load_policy("duke", plugins=[*plugins, SearchWithOr(with_or)])


SWITCH = pytest.mark.parametrize("with_or", [False, True], ids=["two-searches", "one-search-or"])
DRIVER = pytest.mark.parametrize("driver", ["sync", "async"])


def call(entry: LogEntry) -> str:
    """A request as the tables below write it: ``search``, or the method and the id (``GET jd123``)."""
    if entry.method == "GET" and entry.path.rstrip("/").endswith("/users"):
        return "search"
    tail = entry.path.rstrip("/").rsplit("/", 1)[-1]
    return entry.method if tail == "users" else f"{entry.method} {tail}"


def calls(sandbox: Sandbox) -> list[str]:
    return [call(entry) for entry in sandbox.request_log]


async def register(
    driver: str, sandbox: Sandbox, policy: Policy, patron: Patron, journal: Path, **options: Any
) -> RegistrationResult:
    """One registration with the sync or the async client on ``sandbox``, dated `TODAY`."""
    if driver == "sync":
        with sync_client(sandbox) as alma:
            return register_patron(alma, policy, patron, today=TODAY, journal=journal, **options)
    async with async_client(sandbox) as aalma:
        return await aregister_patron(aalma, policy, patron, today=TODAY, journal=journal, **options)


def tobias(**change: Any) -> Patron:
    """A Durham community borrower; another Tobias Whitfield (the Duke namesake scenario) had a card."""
    facts: dict[str, Any] = {
        "onelink_id": "2100003",
        "first_name": "Tobias",
        "last_name": "Whitfield",
        "email": "tobias.whitfield@example.org",
        "affiliation": "community",
        "address": {"line1": "305 W Main St", "city": "Durham", "state_province": "NC", "postal_code": "27701"},
    }
    return Patron(**{**facts, **change})


def add_account(sandbox: Sandbox, primary_id: str, first: str, last: str, email: str | None = None) -> None:
    """An account from before OneLink: no OneLink ID, maybe the patron's name or email."""
    body: dict[str, Any] = {
        "primary_id": primary_id,
        "first_name": first,
        "last_name": last,
        "record_type": "PUBLIC",
        "account_type": "INTERNAL",
        "user_group": "PUBLIC",
    }
    if email:
        body["contact_info"] = {"email": [{"email_address": email, "email_type": "personal", "preferred": True}]}
    sandbox.users.create(body)
    sandbox.clear_log()


NEW = DUKE_UNIQUE_IDS["new_registrant"]
JANE, JD123 = DUKE_UNIQUE_IDS["netid_era_alumna"], DUKE_SCENARIOS["netid_era_alumna"]
RAFAEL, RM56 = DUKE_UNIQUE_IDS["former_staff_with_loans"], DUKE_SCENARIOS["former_staff_with_loans"]
NAMESAKE = DUKE_SCENARIOS["durham_namesake"]


@dataclass(frozen=True)
class Case:
    """A registration, its outcome, and the calls it takes with two searches and with one (OR)."""

    patron: Callable[[], Patron]
    outcome: str
    two_searches: list[str]
    one_search: list[str]
    setup: Callable[[Sandbox], None] = field(default=lambda sandbox: None)

    def expected(self, with_or: bool) -> list[str]:
        return self.one_search if with_or else self.two_searches


FIND_NEW = [f"GET {NEW}", "search", "search"], [f"GET {NEW}", "search"]
"""The finding of a new patron without OR, and with it."""
RENEW = ["GET 1056789", "PUT 1056789"]

CASES: dict[str, Case] = {
    "created": Case(new_registrant, "created", [*FIND_NEW[0], "POST"], [*FIND_NEW[1], "POST"]),
    "already_registered": Case(onelink_alumnus, "already_registered", ["GET 0123456"], ["GET 0123456"]),
    "renewed": Case(trln_borrower_as_alumna, "renewed", RENEW, RENEW),
    "needs_merge_moved": Case(
        netid_era_alumna, "needs_merge",
        [f"GET {JANE}", "search", "search", f"PUT {JD123}", "POST"], [f"GET {JANE}", "search", f"PUT {JD123}", "POST"],
    ),
    "needs_merge_staff": Case(
        former_staff, "needs_merge",
        [f"GET {RAFAEL}", "search", "search", f"PUT {RM56}", "POST"],
        [f"GET {RAFAEL}", "search", f"PUT {RM56}", "POST"],
    ),
    "needs_merge_found": Case(
        new_registrant, "needs_merge", [*FIND_NEW[0], "GET ann.old", "POST"], [*FIND_NEW[1], "GET ann.old", "POST"],
        setup=lambda sandbox: add_account(sandbox, "ann.old", "Ann", "Newcombe", "ann.newcombe@example.org"),
    ),
    "created_beside_namesake": Case(
        tobias, "created",
        ["GET 2100003", "search", "search", "POST"], ["GET 2100003", "search", f"GET {NAMESAKE}", "POST"],
    ),
    "blocked_recent_graduate": Case(recent_graduate, "blocked", ["GET 1045678", "search"], ["GET 1045678", "search"]),
    "blocked_recent_with_email": Case(
        lambda: recent_graduate(email="lea.kowalczyk@duke.edu"), "blocked",
        ["GET 1045678", "search", "search"], ["GET 1045678", "search"],
    ),
    "blocked_id_taken": Case(
        lambda: new_registrant(onelink_id=DUKE_UNIQUE_IDS["onelink_alumnus"]), "blocked",
        ["GET 0123456"], ["GET 0123456"],
    ),
}  # fmt: skip


@DRIVER
@SWITCH
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_each_outcome_takes_its_minimum_of_calls(case: Case, with_or: bool, driver: str, tmp_path: Path) -> None:
    with make_sandbox() as sandbox:
        case.setup(sandbox)
        result = await register(driver, sandbox, duke(with_or), case.patron(), tmp_path / "journal.jsonl")

        assert result.outcome == case.outcome, result.reason
        assert calls(sandbox) == case.expected(with_or)
        assert [c.method for c in result.calls] == [e.method for e in sandbox.request_log]  # what the result says


def test_a_new_patron_takes_four_calls_and_three_where_alma_accepts_or(tmp_path: Path) -> None:
    counts = {}
    for with_or in (False, True):
        with make_sandbox() as sandbox, sync_client(sandbox) as alma:
            result = register_patron(alma, duke(with_or), new_registrant(), today=TODAY, journal=tmp_path / "j.jsonl")
            assert result.outcome == "created"
            counts[with_or] = len(sandbox.request_log)
    assert counts == {False: 4, True: 3}


@DRIVER
@SWITCH
@pytest.mark.parametrize("case", ["created", "needs_merge_found", "renewed"])
async def test_a_rerun_of_a_registered_patron_is_one_read(
    case: str, with_or: bool, driver: str, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.jsonl"
    with make_sandbox() as sandbox:
        CASES[case].setup(sandbox)
        patron = CASES[case].patron()
        first = await register(driver, sandbox, duke(with_or), patron, journal)
        assert first.ok, first.reason
        sandbox.clear_log()

        again = await register(driver, sandbox, duke(with_or), patron, tmp_path / "another-journal.jsonl")

        assert again.outcome == "already_registered"
        assert calls(sandbox) == [f"GET {patron.onelink_id}"]


def test_the_one_search_asks_for_the_email_or_the_name(tmp_path: Path) -> None:
    with make_sandbox() as sandbox, sync_client(sandbox) as alma:
        register_patron(alma, duke(True), new_registrant(), today=TODAY, journal=tmp_path / "j.jsonl")
        [search] = [entry for entry in sandbox.request_log if call(entry) == "search"]
    assert search.query["q"] == "email~ann.newcombe@example.org OR last_name~Newcombe AND first_name~Ann"


# --- the same outcomes with either setting ------------------------------------------------------------


def outcome_of(result: RegistrationResult) -> dict[str, Any]:
    """What a registration decided and wrote: the same with two searches as with one."""
    user = result.user
    return {
        "outcome": result.outcome,
        "merge_from": result.merge_from,
        "candidates": sorted((c.primary_id or "", tuple(sorted(c.reasons)), c.acted_on) for c in result.candidates),
        "issues": sorted(issue.code for issue in result.issues),
        "user": None if user is None else (user.primary_id, str(user.user_group), user.expiry_date),
    }


def similar_name_same_email(sandbox: Sandbox) -> None:
    """An account with the patron's email and a name like hers: the search by email finds it, not by name."""
    add_account(sandbox, "anne.n", "Anne", "Newcombe", "ann.newcombe@example.org")


def two_namesakes(sandbox: Sandbox) -> None:
    """Two accounts named like the patron: the one search cannot say which has her email; a search by email does."""
    add_account(sandbox, "ann.one", "Ann", "Newcombe", "ann.newcombe@example.org")
    add_account(sandbox, "ann.two", "Ann", "Newcombe", "someone.else@example.org")


def a_full_page(sandbox: Sandbox) -> None:
    """More matches than a page holds: the two searches, as without OR."""
    for number in range(40):
        add_account(sandbox, f"aaron{number:02d}", "Bob", "Aaron", "ann.newcombe@example.org")


ODD_CASES: dict[str, tuple[Callable[[], Patron], Callable[[Sandbox], None]]] = {
    "similar_name_same_email": (new_registrant, similar_name_same_email),
    "two_namesakes": (new_registrant, two_namesakes),
    "a_full_page": (new_registrant, a_full_page),
    # A value the query cannot carry: both searches apart, the one refused said so.
    "an_email_with_a_tilde": (lambda: new_registrant(email="ann~newcombe@example.org"), lambda sandbox: None),
}


@pytest.mark.parametrize("case", [*CASES, *ODD_CASES])
def test_both_settings_reach_the_same_outcome_with_the_same_writes(case: str, tmp_path: Path) -> None:
    if case in CASES:
        make, setup = CASES[case].patron, CASES[case].setup
    else:
        make, setup = ODD_CASES[case]
    seen, written, counts = [], [], []
    for with_or in (False, True):
        with make_sandbox() as sandbox, sync_client(sandbox) as alma:
            setup(sandbox)
            result = register_patron(alma, duke(with_or), make(), today=TODAY, journal=tmp_path / f"{with_or}.jsonl")
            seen.append(outcome_of(result))
            written.append([(e.method, e.path) for e in sandbox.request_log if e.method != "GET"])
            counts.append(len(sandbox.request_log))

    assert seen[1] == seen[0]
    assert written[1] == written[0]
    if case == "a_full_page":
        assert counts[1] == counts[0] + 1, "the one search, then the two"
    else:
        assert counts[1] <= counts[0]
    if case == "an_email_with_a_tilde":
        assert "search_skipped" in seen[1]["issues"]


def test_two_namesakes_cost_no_more_than_two_searches(tmp_path: Path) -> None:
    setup = ODD_CASES["two_namesakes"][1]
    with make_sandbox() as sandbox, sync_client(sandbox) as alma:
        setup(sandbox)
        result = register_patron(alma, duke(True), new_registrant(), today=TODAY, journal=tmp_path / "j.jsonl")
        assert calls(sandbox) == [f"GET {NEW}", "search", "search", "GET ann.one", "POST"]
    assert (result.outcome, result.merge_from) == ("needs_merge", "ann.one")


# --- the switch ---------------------------------------------------------------------------------------------


def test_the_defaults_search_apart_and_a_plugin_may_say_otherwise() -> None:
    assert load_policy("default").search_with_or is False
    assert load_policy("duke").search_with_or is False  # Duke's settings as shipped: [alma] search_with_or = false
    assert duke(True).search_with_or is True


def test_a_plugin_that_answers_the_switch_with_no_boolean_is_named() -> None:
    class Sloppy:
        @hookimpl
        def alma_onelink_search_with_or(self) -> object:
            return "yes"

    policy = load_policy("duke", plugins=[Sloppy()])
    with pytest.raises(PolicyError) as caught:
        _ = policy.search_with_or
    assert caught.value.hook == "alma_onelink_search_with_or"
    assert "must return True or False, or None" in str(caught.value)
