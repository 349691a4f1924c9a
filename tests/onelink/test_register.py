"""`register_patron` on the Duke sandbox: every outcome, every branch, dry runs, reruns and the result."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from alma_onelink import AlmaClient, Patron
from alma_onelink.errors import BadRequestError, InputError
from alma_onelink.models import Code, User
from alma_onelink.onelink import Journal, Outcome, RegistrationResult, register_patron
from alma_onelink.policy import Policy, hookimpl, load_policy
from alma_onelink.sandbox import DUKE_SCENARIOS, DUKE_UNIQUE_IDS, Sandbox
from tests.onelink.conftest import (
    TODAY,
    accounts_with_primary_id,
    api_calls,
    former_staff,
    identifier_values,
    make_sandbox,
    netid_era_alumna,
    new_registrant,
    onelink_alumnus,
    recent_graduate,
    record,
    sync_client,
    trln_borrower_as_alumna,
    without,
    writes,
)
from tests.onelink.test_calls import duke

JD123 = DUKE_SCENARIOS["netid_era_alumna"]
RM56 = DUKE_SCENARIOS["former_staff_with_loans"]
KL234 = DUKE_SCENARIOS["recent_graduate"]


class IllegalGroup:
    """A policy plugin that gives the new record a user group the institution does not have."""

    @hookimpl
    def alma_onelink_prepare_user(self, patron: Patron, user: User, today: date) -> None:
        user.user_group = Code(value="NO_SUCH_GROUP")


@pytest.fixture(params=[False, True], ids=["two-searches", "one-search-or"])
def policy(request: pytest.FixtureRequest) -> Policy:
    """The Duke policy, with the searches for older accounts apart and joined with OR: the same outcomes."""
    return duke(request.param)


def register(alma: AlmaClient, policy: Policy, patron: Patron, **options: Any) -> RegistrationResult:
    """`register_patron` dated `TODAY`."""
    return register_patron(alma, policy, patron, today=TODAY, **options)


def statistic_categories(user: dict[str, Any]) -> list[str]:
    return [str((stat.get("statistic_category") or {}).get("value")) for stat in user.get("user_statistic") or []]


def code(user: dict[str, Any], field: str) -> str | None:
    value = user.get(field)
    return value.get("value") if isinstance(value, dict) else None


def alma_date(value: date) -> str:
    return f"{value.isoformat()}Z"


def expire(sandbox: Sandbox, primary_id: str, on: date) -> dict[str, Any]:
    """Set the account's expiry date (directly in the sandbox); returns the record as it is then."""
    user = record(sandbox, primary_id)
    user["expiry_date"] = alma_date(on)
    sandbox.users.put(user)
    return record(sandbox, primary_id)


def add_account(sandbox: Sandbox, primary_id: str, first: str, last: str, email: str | None = None) -> None:
    body: dict[str, Any] = {
        "primary_id": primary_id,
        "first_name": first,
        "last_name": last,
        "record_type": {"value": "PUBLIC"},
        "account_type": {"value": "INTERNAL"},
        "user_group": {"value": "PUBLIC"},
    }
    if email:
        body["contact_info"] = {
            "email": [{"email_address": email, "email_type": [{"value": "personal"}], "preferred": True}]
        }
    sandbox.users.create(body)
    sandbox.clear_log()


# --- every outcome -------------------------------------------------------------------------------------


def test_a_new_registrant_is_created(alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal) -> None:
    patron = new_registrant()
    result = register(alma, policy, patron, journal=journal)

    assert result.outcome == "created"
    assert result.outcome is Outcome.CREATED
    assert result.ok
    assert result.merge_from is None
    assert not result.dry_run
    [account] = accounts_with_primary_id(sandbox, patron.onelink_id)
    assert (account["first_name"], account["last_name"]) == ("Ann", "Newcombe")
    assert code(account, "user_group") == "DUKE_ALUMNI"
    assert statistic_categories(account) == ["PT_ALUMNI"]
    expiry = policy.expiry_date(patron, today=TODAY)
    assert account["expiry_date"] == alma_date(expiry)
    assert not account.get("password")
    assert result.user is not None
    assert result.user.primary_id == patron.onelink_id
    assert result.user.expiry_date == expiry
    [entry] = journal.entries()
    assert (entry.action, entry.target, entry.result) == ("create", patron.onelink_id, "done")
    assert entry.registration == result.registration_id
    assert [step.name for step in result.steps] == ["check", "find", "eligibility", "decide", "create", "verify"]
    assert all(step.status == "done" for step in result.steps)


def test_an_up_to_date_onelink_account_is_already_registered(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    before = record(sandbox, DUKE_UNIQUE_IDS["onelink_alumnus"])
    result = register(alma, policy, onelink_alumnus(), journal=journal)

    assert result.outcome == "already_registered"
    assert result.user is not None
    assert result.user.primary_id == DUKE_UNIQUE_IDS["onelink_alumnus"]
    assert writes(sandbox) == []
    assert len(sandbox.request_log) == 1
    assert record(sandbox, DUKE_UNIQUE_IDS["onelink_alumnus"]) == before
    assert journal.entries() == []
    assert not journal.path.exists()


def test_a_rerun_of_a_created_patron_is_already_registered_in_one_call(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    patron = new_registrant()
    first = register(alma, policy, patron, journal=journal)
    assert first.outcome == "created"
    new_patron = 3 if policy.search_with_or else 4
    assert len(sandbox.request_log) == new_patron, "read, search(es), create: the create's answer is verified"
    sandbox.clear_log()

    again = register(alma, policy, patron, journal=journal)

    assert again.outcome == "already_registered"
    assert len(sandbox.request_log) == 1
    assert writes(sandbox) == []
    assert len(accounts_with_primary_id(sandbox, patron.onelink_id)) == 1
    assert len(journal.entries()) == 1


RerunCase = tuple[Callable[[], Patron], str, str | None]


@pytest.mark.parametrize(
    "case",
    [
        (netid_era_alumna, "needs_merge", JD123),
        (former_staff, "needs_merge", RM56),
        (trln_borrower_as_alumna, "renewed", None),
    ],
    ids=["needs_merge", "needs_merge_staff", "renewed"],
)
def test_a_rerun_after_any_write_writes_nothing(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal, case: RerunCase
) -> None:
    make_patron, first_outcome, merge_from = case
    patron = make_patron()
    first = register(alma, policy, patron, journal=journal)
    assert first.outcome == first_outcome
    sandbox.clear_log()

    again = register(alma, policy, patron, journal=journal)

    # Until the old account is merged, the journal remembers it: the rerun still says needs_merge.
    assert again.outcome == ("needs_merge" if merge_from else "already_registered")
    assert again.merge_from == merge_from
    assert len(sandbox.request_log) <= 2
    assert writes(sandbox) == []
    assert len(accounts_with_primary_id(sandbox, patron.onelink_id)) == 1
    assert len(journal.entries()) == len(first.journal_entries)


def test_a_rerun_with_another_journal_finds_the_account_already_registered(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal, tmp_path: Path
) -> None:
    patron = netid_era_alumna()
    assert register(alma, policy, patron, journal=journal).outcome == "needs_merge"
    sandbox.clear_log()

    again = register(alma, policy, patron, journal=tmp_path / "other.jsonl")

    assert again.outcome == "already_registered"
    assert len(sandbox.request_log) <= 2
    assert writes(sandbox) == []


RENEWED_FIELDS = ("user_group", "user_statistic", "expiry_date", "purge_date", "status")


def test_an_expired_onelink_account_is_renewed_and_nothing_else_changes(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    primary_id = DUKE_UNIQUE_IDS["onelink_alumnus"]
    before = expire(sandbox, primary_id, TODAY - timedelta(days=30))
    patron = onelink_alumnus()

    result = register(alma, policy, patron, journal=journal)

    assert result.outcome == "renewed"
    assert "expired" in result.reason
    after = record(sandbox, primary_id)
    expiry = policy.expiry_date(patron, today=TODAY)
    assert after["expiry_date"] == alma_date(expiry)
    purge = policy.purge_date(patron, expiry=expiry)
    assert purge is not None
    assert after["purge_date"] == alma_date(purge)
    assert code(after, "user_group") == "DUKE_ALUMNI"
    assert code(after, "status") == "ACTIVE"
    assert statistic_categories(after) == ["PT_ALUMNI"]
    assert without(after, *RENEWED_FIELDS) == without(before, *RENEWED_FIELDS)
    assert writes(sandbox) == [("PUT", f"/almaws/v1/users/{primary_id}")]
    [entry] = journal.entries()
    assert (entry.action, entry.target, entry.result) == ("update", primary_id, "done")
    assert entry.before is not None
    assert entry.before["expiry_date"] == before["expiry_date"]


def test_a_trln_borrower_registering_as_alumna_is_renewed_with_the_alumni_group(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    primary_id = DUKE_UNIQUE_IDS["trln_borrower"]
    before = record(sandbox, primary_id)
    assert code(before, "user_group") == "DUKE_TRLN"

    result = register(alma, policy, trln_borrower_as_alumna(), journal=journal)

    assert result.outcome == "renewed"
    after = record(sandbox, primary_id)
    assert code(after, "user_group") == "DUKE_ALUMNI"
    assert statistic_categories(after) == ["PT_ALUMNI"]
    assert after["expiry_date"] == alma_date(policy.expiry_date(trln_borrower_as_alumna(), today=TODAY))
    assert without(after, *RENEWED_FIELDS) == without(before, *RENEWED_FIELDS)
    assert result.user is not None
    assert result.user.user_group is not None
    assert result.user.user_group.value == "DUKE_ALUMNI"


def test_renewing_an_external_account_overrides_its_user_group(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    # An account loaded from another system keeps its loaded user group on a PUT unless told to override it.
    primary_id = DUKE_UNIQUE_IDS["trln_borrower"]
    user = record(sandbox, primary_id)
    user.update(account_type={"value": "EXTERNAL"}, external_id="SIS", expiry_date=alma_date(TODAY - timedelta(days=1)))
    sandbox.users.put(user)
    sandbox.clear_log()

    result = register(alma, policy, trln_borrower_as_alumna(), journal=journal)

    assert result.outcome == "renewed", result.reason
    [put] = [e for e in sandbox.request_log if e.method == "PUT"]
    assert put.query.get("override") == "user_group"
    assert code(record(sandbox, primary_id), "user_group") == "DUKE_ALUMNI"


def test_a_renewal_never_shortens_the_time_a_patron_already_has(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    # The TRLN account runs until later than a new alumni account would: it keeps its date.
    primary_id = DUKE_UNIQUE_IDS["trln_borrower"]
    later = policy.expiry_date(trln_borrower_as_alumna(), today=TODAY) + timedelta(days=90)
    expire(sandbox, primary_id, later)

    result = register(alma, policy, trln_borrower_as_alumna(), journal=journal)

    assert result.outcome == "renewed"
    assert record(sandbox, primary_id)["expiry_date"] == alma_date(later)


def test_the_netid_era_alumna_gets_a_new_account_and_needs_a_merge(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    patron = netid_era_alumna()
    old_before = record(sandbox, JD123)
    assert patron.onelink_id in identifier_values(old_before)

    result = register(alma, policy, patron, journal=journal)

    assert result.outcome == "needs_merge"
    assert result.ok
    assert result.merge_from == JD123
    [account] = accounts_with_primary_id(sandbox, patron.onelink_id)
    assert (account["first_name"], account["last_name"]) == ("Jane", "Doe")
    old_after = record(sandbox, JD123)
    assert patron.onelink_id not in identifier_values(old_after)
    kept = [ident for ident in old_before["user_identifier"] if ident["value"] != patron.onelink_id]
    assert old_after["user_identifier"] == kept
    assert without(old_after, "user_identifier") == without(old_before, "user_identifier")
    assert writes(sandbox) == [("PUT", f"/almaws/v1/users/{JD123}"), ("POST", "/almaws/v1/users")]
    moved, created = journal.entries()
    assert (moved.action, moved.target, moved.result) == ("update", JD123, "done")
    assert (created.action, created.target, created.result) == ("create", patron.onelink_id, "done")
    assert result.journal_entries == [moved.id, created.id]
    assert any(JD123 in line and "merged" in line for line in result.instructions)
    # jd123 is EXTERNAL (loaded from SIS): staff are told a later load may put the identifier back.
    assert any("EXTERNAL" in issue.message and not issue.is_blocking for issue in result.issues)
    [candidate] = result.candidates
    assert candidate.primary_id == JD123
    assert candidate.acted_on


def test_former_staff_with_loans_needs_a_merge_and_keeps_the_loans(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    patron = former_staff()
    loans = sandbox.users.loans(RM56)
    assert loans
    old_before = record(sandbox, RM56)

    result = register(alma, policy, patron, journal=journal)

    assert result.outcome == "needs_merge"
    assert result.merge_from == RM56
    [account] = accounts_with_primary_id(sandbox, patron.onelink_id)
    assert code(account, "user_group") == "DUKE_FORMER_AFFILIATE"
    assert statistic_categories(account) == ["PT_FORMER_STAFF"]
    assert sandbox.users.loans(RM56) == loans
    old_after = record(sandbox, RM56)
    assert patron.onelink_id not in identifier_values(old_after)
    assert without(old_after, "user_identifier") == without(old_before, "user_identifier")


def test_a_recent_graduate_is_blocked_and_nothing_is_written(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    before = record(sandbox, KL234)
    result = register(alma, policy, recent_graduate(), journal=journal)

    assert result.outcome == "blocked"
    assert not result.ok
    assert [issue.code for issue in result.blocking] == ["recent_alum"]
    assert result.instructions == [issue.hint or issue.message for issue in result.blocking]
    assert writes(sandbox) == []
    assert record(sandbox, KL234) == before
    assert accounts_with_primary_id(sandbox, DUKE_UNIQUE_IDS["recent_graduate"]) == []
    assert not journal.path.exists()


def test_another_persons_onelink_account_is_blocked_as_a_mistyped_id(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    primary_id = DUKE_UNIQUE_IDS["onelink_alumnus"]
    before = record(sandbox, primary_id)
    patron = new_registrant(onelink_id=primary_id)  # Ann Newcombe typed María José's ID

    result = register(alma, policy, patron, journal=journal)

    assert result.outcome == "blocked"
    assert [issue.code for issue in result.blocking] == ["onelink_id_taken"]
    assert writes(sandbox) == []
    assert record(sandbox, primary_id) == before
    assert not journal.path.exists()


def test_an_old_account_of_another_person_holding_the_id_is_not_taken_over(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    # Ann Newcombe typed the Unique ID that Jane Doe's NetID-era account jd123 carries. Moving it off
    # Jane's account and asking for jd123 to be merged into Ann's would hand Jane's account to Ann.
    before = record(sandbox, JD123)
    patron = new_registrant(onelink_id=DUKE_UNIQUE_IDS["netid_era_alumna"])

    result = register(alma, policy, patron, journal=journal)

    assert result.outcome == "blocked", result.reason
    assert result.blocking
    assert result.merge_from is None
    assert writes(sandbox) == []
    assert record(sandbox, JD123) == before
    assert accounts_with_primary_id(sandbox, patron.onelink_id) == []


def test_an_active_netid_is_blocked(alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal) -> None:
    result = register(alma, policy, new_registrant(has_active_netid=True), journal=journal)

    assert result.outcome == "blocked"
    assert "active_netid" in [issue.code for issue in result.blocking]
    assert writes(sandbox) == []
    assert accounts_with_primary_id(sandbox, DUKE_UNIQUE_IDS["new_registrant"]) == []


def test_a_create_alma_refuses_fails_with_the_reason(alma: AlmaClient, sandbox: Sandbox, journal: Journal) -> None:
    policy = load_policy("duke", plugins=[IllegalGroup()])
    result = register(alma, policy, new_registrant(), journal=journal)

    assert result.outcome == "failed"
    assert not result.ok
    assert isinstance(result.error, BadRequestError)
    assert "refused" in result.reason
    assert accounts_with_primary_id(sandbox, DUKE_UNIQUE_IDS["new_registrant"]) == []
    [entry] = journal.entries()
    assert (entry.action, entry.result) == ("create", "failed")
    assert entry.error
    assert journal.pending() == []
    assert result.instructions
    assert result.instructions[0].startswith("Nothing is ready for the patron yet")


def test_a_create_that_keeps_failing_beyond_the_retries_fails(policy: Policy, journal: Journal) -> None:
    # find: GET + the search(es); then the create is tried 1 + 3 times, each 500 checked with a GET.
    script = [*[None] * (2 if policy.search_with_or else 3), *(["500", None] * 4)]
    with make_sandbox(faults=script) as sandbox, sync_client(sandbox) as alma:
        result = register(alma, policy, new_registrant(), journal=journal)

        assert result.outcome == "failed"
        assert "500" in result.reason
        assert accounts_with_primary_id(sandbox, DUKE_UNIQUE_IDS["new_registrant"]) == []
        assert [e.method for e in sandbox.request_log].count("POST") == 4
    [entry] = journal.entries()
    assert (entry.action, entry.result) == ("create", "failed")


# --- every branch of the search ---------------------------------------------------------------------


def test_an_account_found_by_email_and_name_is_acted_on_with_its_full_record(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    patron = new_registrant()
    add_account(sandbox, "ann.old", "Ann", "Newcombe", email=patron.email)

    result = register(alma, policy, patron, journal=journal)

    [candidate] = result.candidates
    assert candidate.primary_id == "ann.old"
    assert set(candidate.reasons) == {"same email", "same name"}
    assert candidate.acted_on
    assert ("GET", "/almaws/v1/users/ann.old") in [(e.method, e.path) for e in sandbox.request_log]
    assert candidate.user.user_group is not None  # the full record, not the brief one the search gives
    assert result.outcome == "needs_merge"
    assert result.merge_from == "ann.old"
    assert len(accounts_with_primary_id(sandbox, patron.onelink_id)) == 1
    assert ("PUT", "/almaws/v1/users/ann.old") not in writes(sandbox)


@pytest.mark.parametrize(
    "case",
    [
        ("Ann", "Newcombe", None, "same name"),
        ("Ann", "Newcombe", "someone.else@example.org", "same name"),
        ("Bob", "Otherton", "ann.newcombe@example.org", "same email"),
    ],
    ids=["name-no-email", "name-other-email", "email-other-name"],
)
def test_an_account_found_by_name_or_email_alone_is_a_candidate_never_acted_on(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal, case: tuple[str, str, str | None, str]
) -> None:
    first, last, email, reason = case
    add_account(sandbox, "maybe.ann", first, last, email=email)
    before = record(sandbox, "maybe.ann")

    result = register(alma, policy, new_registrant(), journal=journal)

    [candidate] = result.candidates
    assert candidate.primary_id == "maybe.ann"
    assert candidate.reasons == (reason,)
    assert not candidate.acted_on
    assert result.outcome == "created"
    assert result.merge_from is None
    assert record(sandbox, "maybe.ann") == before
    assert all("maybe.ann" not in path for _, path in writes(sandbox))
    read = ("GET", "/almaws/v1/users/maybe.ann") in [(e.method, e.path) for e in sandbox.request_log]
    # One search by email OR name cannot say whether an account named like the patron has her email: read it.
    assert read == (policy.search_with_or and reason == "same name")
    assert any("maybe.ann" in line for line in result.staff_notes), "staff are told to check it"
    assert not any("maybe.ann" in line for line in result.instructions), "the patron is not told of it"


@pytest.mark.parametrize(
    "change",
    [
        {"onelink_id": "345678"},  # a leading zero dropped
        {"onelink_id": "03456789"},
        {"onelink_id": "A345678"},
        {"affiliation": "martian"},
        {"graduated_on": None},  # alumni need it
        {"affiliation": "trln", "graduated_on": None},  # TRLN needs a home institution
        {"affiliation": "former_affiliate", "graduated_on": None},  # a prior role
    ],
    ids=["short-id", "long-id", "letter-id", "unoffered-affiliation", "no-graduation", "no-home", "no-role"],
)
def test_a_bad_application_raises_before_any_request(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, alma_journal: Journal, change: dict[str, Any]
) -> None:
    with pytest.raises(InputError) as raised:
        register(alma, policy, new_registrant(**change))
    assert str(raised.value).strip()
    assert sandbox.request_log == []
    assert not alma_journal.path.exists()


@pytest.mark.parametrize(
    "options",
    [
        {"today": "2026-11-30"},
        {"staff": "  "},
        {"journal": 42},
        {"journal": 42, "dry_run": True},
        {"journal": Path("/no/such/folder/journal.jsonl")},
    ],
    ids=["today-text", "blank-staff", "journal-number", "dry-run-journal-number", "journal-folder-missing"],
)
def test_bad_arguments_raise_before_any_request(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, options: dict[str, Any]
) -> None:
    with pytest.raises(InputError):
        register_patron(alma, policy, new_registrant(), **{"today": TODAY, **options})
    assert sandbox.request_log == []


def test_a_failed_read_fails_the_registration_and_writes_nothing(policy: Policy, journal: Journal) -> None:
    with make_sandbox(faults=["500"] * 4) as sandbox, sync_client(sandbox) as alma:
        result = register(alma, policy, new_registrant(), journal=journal)
        assert result.outcome == "failed"
        assert result.error is not None
        assert writes(sandbox) == []
    assert journal.entries() == []


def test_a_created_account_is_verified_on_the_record_the_create_returned(policy: Policy, journal: Journal) -> None:
    # Everything after the create fails: nothing after it is needed, so nothing after it is sent.
    finds = 2 if policy.search_with_or else 3
    script = [*[None] * (finds + 1), "500", "500", "500", "500"]
    with make_sandbox(faults=script) as sandbox, sync_client(sandbox) as alma:
        result = register(alma, policy, new_registrant(), journal=journal)
        assert result.outcome == "created"
        assert result.warnings == []
        assert result.steps[-1].name == "verify"
        assert result.steps[-1].calls == []
        assert [e.method for e in sandbox.request_log][finds:] == ["POST"]
        assert len(accounts_with_primary_id(sandbox, DUKE_UNIQUE_IDS["new_registrant"])) == 1


# --- the identifier move and its undo -----------------------------------------------------------------


@pytest.mark.parametrize("how", ["refused", "500s"])
def test_the_identifier_goes_back_when_the_create_fails(how: str, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    if how == "refused":
        policy, script = load_policy("duke", plugins=[IllegalGroup()]), []
    else:  # find (3 calls), the move PUT, then every try of the create fails with a 500
        policy, script = load_policy("duke"), [None, None, None, None, *(["500", None] * 4)]
    patron = netid_era_alumna()
    with make_sandbox(faults=script) as sandbox, sync_client(sandbox) as alma:
        before = record(sandbox, JD123)
        result = register(alma, policy, patron, journal=journal)

        assert result.outcome == "failed"
        assert JD123 in result.reason
        after = record(sandbox, JD123)
        assert patron.onelink_id in identifier_values(after)
        assert without(after) == without(before)
        assert accounts_with_primary_id(sandbox, patron.onelink_id) == []
        assert sandbox.users.get(patron.onelink_id) is not None, "the ID finds the old account again"
        assert [step.name for step in result.steps][-3:] == ["move_identifier", "create", "restore_identifier"]
    moved, create, back = journal.entries()
    assert (moved.action, moved.target, moved.result) == ("update", JD123, "done")
    assert (create.action, create.target, create.result) == ("create", patron.onelink_id, "failed")
    assert (back.action, back.target, back.result) == ("update", JD123, "done")
    assert journal.pending() == []
    assert result.journal_entries == [moved.id, create.id, back.id]
    assert {e.registration for e in (moved, create, back)} == {result.registration_id}


# --- dry runs ------------------------------------------------------------------------------------------


def _illegal_group_policy() -> Policy:
    return load_policy("duke", plugins=[IllegalGroup()])


DRY_CASES: dict[str, tuple[Callable[[], Patron], str]] = {
    "created": (new_registrant, "created"),
    "already_registered": (onelink_alumnus, "already_registered"),
    "renewed": (trln_borrower_as_alumna, "renewed"),
    "needs_merge": (netid_era_alumna, "needs_merge"),
    "needs_merge_staff": (former_staff, "needs_merge"),
    "blocked": (recent_graduate, "blocked"),
    "blocked_taken": (lambda: new_registrant(onelink_id=DUKE_UNIQUE_IDS["onelink_alumnus"]), "blocked"),
}


@pytest.mark.parametrize(("make_patron", "outcome"), DRY_CASES.values(), ids=DRY_CASES.keys())
def test_a_dry_run_reaches_the_real_outcome_and_writes_nothing(
    policy: Policy, tmp_path: Path, alma_journal: Journal, make_patron: Callable[[], Patron], outcome: str
) -> None:
    patron = make_patron()
    dry_journal = tmp_path / "dry.jsonl"
    with make_sandbox() as sandbox, sync_client(sandbox) as alma:
        before = list(sandbox.users)
        dry = register(alma, policy, patron, dry_run=True, journal=dry_journal)
        assert writes(sandbox) == []
        assert list(sandbox.users) == before
        dry_calls = api_calls(sandbox)
    assert not dry_journal.exists()
    assert not alma_journal.path.exists()
    with make_sandbox() as sandbox, sync_client(sandbox) as alma:
        real = register(alma, policy, patron, journal=tmp_path / "real.jsonl")
        real_reads = [call for call in api_calls(sandbox) if call[0] == "GET"]

    assert dry.dry_run
    assert not real.dry_run
    assert dry.outcome == real.outcome == outcome
    assert dry.merge_from == real.merge_from
    assert dry.journal_entries == []
    assert dry.journal_path is None
    # A dry run makes the reads of the real run, up to the first write.
    assert dry_calls == real_reads[: len(dry_calls)]
    if outcome in ("created", "needs_merge"):
        assert dry.user is not None
        assert dry.user.to_alma() == policy.build_user(patron, today=TODAY).to_alma()
    if outcome in ("renewed", "already_registered", "needs_merge"):
        assert dry.user is not None
        assert real.user is not None
        assert dry.user.primary_id == real.user.primary_id
        assert dry.user.expiry_date == real.user.expiry_date
        assert dry.user.purge_date == real.user.purge_date
        assert dry.user.user_group is not None
        assert real.user.user_group is not None
        assert dry.user.user_group.value == real.user.user_group.value
    if outcome == "blocked":
        assert [i.code for i in dry.blocking] == [i.code for i in real.blocking]
    assert str(dry).startswith("DRY RUN")


def test_a_dry_run_of_a_failed_read_fails_too(policy: Policy) -> None:
    with make_sandbox(faults=["503"] * 4) as sandbox, sync_client(sandbox) as alma:
        result = register(alma, policy, new_registrant(), dry_run=True)
        assert result.outcome == "failed"
        assert result.dry_run
        assert writes(sandbox) == []


def test_a_dry_run_of_a_renewal_shows_the_change_it_would_make(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy
) -> None:
    before = record(sandbox, DUKE_UNIQUE_IDS["trln_borrower"])
    result = register(alma, policy, trln_borrower_as_alumna(), dry_run=True)

    assert result.outcome == "renewed"
    assert result.user is not None
    assert result.user.user_group is not None
    assert result.user.user_group.value == "DUKE_ALUMNI"
    assert result.user.statistic("PATRON_TYPE") is not None
    assert record(sandbox, DUKE_UNIQUE_IDS["trln_borrower"]) == before
    assert [step.status for step in result.steps][-1] == "planned"


# --- the result -------------------------------------------------------------------------------------------


def test_str_reads_like_a_staff_note(alma: AlmaClient, policy: Policy, journal: Journal) -> None:
    result = register(alma, policy, netid_era_alumna(), journal=journal)
    text = str(result)

    assert "NEEDS MERGE" in text
    assert "Jane Doe" in text
    assert "Steps:" in text
    for step in result.steps:
        assert step.name in text
    for line in result.instructions:
        assert line in text
    assert str(journal.path) in text


def test_to_dict_is_json_and_round_trips_the_outcome(alma: AlmaClient, policy: Policy, journal: Journal) -> None:
    result = register(alma, policy, netid_era_alumna(), journal=journal)
    data = json.loads(json.dumps(result.to_dict()))

    assert Outcome(data["outcome"]) is result.outcome
    assert data["onelink_id"] == DUKE_UNIQUE_IDS["netid_era_alumna"]
    assert data["merge_from"] == JD123
    assert data["user"]["primary_id"] == DUKE_UNIQUE_IDS["netid_era_alumna"]
    assert data["journal_entries"] == result.journal_entries
    assert data["journal_path"] == str(journal.path)
    assert [step["name"] for step in data["steps"]] == [step.name for step in result.steps]
    assert len(data["calls"]) == len(result.calls)


def test_to_dict_of_a_failure_is_json_too(alma: AlmaClient, journal: Journal) -> None:
    result = register(alma, _illegal_group_policy(), netid_era_alumna(), journal=journal)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["outcome"] == "failed"
    assert data["error"]


def test_html_escapes_what_people_typed(alma: AlmaClient, policy: Policy, journal: Journal) -> None:
    patron = new_registrant(first_name="<b>X</b>", last_name="<script>alert(1)</script>")
    result = register(alma, policy, patron, journal=journal)
    assert result.outcome == "created"

    html = result._repr_html_()

    assert "<b>X</b>" not in html
    assert "<script>" not in html
    assert "&lt;b&gt;X&lt;/b&gt;" in html
    assert "&lt;script&gt;" in html


def test_rich_renders_in_a_console_without_reading_names_as_markup(
    alma: AlmaClient, policy: Policy, journal: Journal
) -> None:
    patron = new_registrant(first_name="[bold]Ann[/bold]")
    result = register(alma, policy, patron, journal=journal)
    out = io.StringIO()

    Console(file=out, width=200, color_system=None).print(result)

    text = out.getvalue()
    assert "[bold]Ann[/bold]" in text
    assert "CREATED" in text
    assert "verify" in text


def test_calls_are_the_requests_alma_received(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    result = register(alma, policy, netid_era_alumna(), journal=journal)

    log = sandbox.request_log
    assert len(result.calls) == len(log)
    assert [c.method for c in result.calls] == [e.method for e in log]
    assert all(entry.path.endswith(call.path.split("?")[0]) for call, entry in zip(result.calls, log, strict=True))
    assert all(call.outcome == "ok" for call in result.calls)
    assert sum(len(step.calls) for step in result.steps) == len(result.calls)


@pytest.mark.parametrize("make_patron", [new_registrant, onelink_alumnus, trln_borrower_as_alumna, netid_era_alumna])
def test_ok_outcomes_give_links_and_instructions(
    alma: AlmaClient, policy: Policy, journal: Journal, make_patron: Callable[[], Patron]
) -> None:
    patron = make_patron()
    result = register(alma, policy, patron, journal=journal)

    assert result.ok
    assert result.links == policy.links()
    assert result.links["onelink_sign_in"].startswith("https://")
    assert result.instructions
    assert patron.onelink_id in result.instructions[0]
    assert any(result.links["onelink_sign_in"] in line for line in result.instructions)
    assert result.user is not None
    assert result.user.expiry_date is not None
    assert any(result.user.expiry_date.isoformat() in line for line in result.instructions)


def test_journal_entries_named_in_the_result_are_in_its_journal(
    alma: AlmaClient, policy: Policy, tmp_path: Path
) -> None:
    result = register(alma, policy, netid_era_alumna(), journal=str(tmp_path / "by-path.jsonl"))

    assert result.journal_path == tmp_path / "by-path.jsonl"
    reread = Journal(result.journal_path)
    assert len(result.journal_entries) == 2
    for entry_id in result.journal_entries:
        entry = reread.get(entry_id)
        assert entry.registration == result.registration_id
        assert entry.result == "done"
    assert reread.pending() == []


def test_the_default_journal_is_used_when_none_is_given(
    alma: AlmaClient, policy: Policy, alma_journal: Journal
) -> None:
    result = register(alma, policy, new_registrant(), journal=None, staff="jsmith")

    assert result.journal_path == alma_journal.path
    [entry] = alma_journal.entries()
    assert entry.id in result.journal_entries
    assert entry.staff == "jsmith"
    assert entry.action == "create"
