"""Adversarial tests of the OneLink registration workflow: Alma misbehaving, staff misusing it, races.

Each test states the right behaviour. The fault sweeps aim one fault of every kind the sandbox has
at every single request of a scenario, with the client's retries and without, and check that the
answer is true, nothing is half-written, the journal is settled and agrees with Alma, and `restore`
undoes what was done. Races are played deterministically: a transport runs the rival registration
at a chosen request of the first one. No sleeps, no wall clock (``today=TODAY``, sandbox ``now``).
"""

from __future__ import annotations

import copy
import functools
import io
import json
import os
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from alma_onelink import AlmaClient, Patron
from alma_onelink.engine import comparable
from alma_onelink.engine.journal import JournalError
from alma_onelink.errors import InputError
from alma_onelink.models import User
from alma_onelink.onelink import (
    Journal,
    RegistrationResult,
    Restored,
    register_many,
    register_patron,
    restore,
)
from alma_onelink.policy import Policy, load_policy
from alma_onelink.sandbox import DUKE_SCENARIOS, FAULT_KINDS, Faults, Sandbox
from tests.onelink.conftest import (
    NOW,
    TODAY,
    accounts_with_primary_id,
    identifier_values,
    make_sandbox,
    netid_era_alumna,
    new_registrant,
    no_sleep,
    onelink_alumnus,
    record,
    sync_client,
    trln_borrower_as_alumna,
    writes,
)

JD123 = DUKE_SCENARIOS["netid_era_alumna"]
JANE = netid_era_alumna().onelink_id
ANN = new_registrant().onelink_id
NOTHING_READY = "Nothing is ready for the patron yet"


@functools.cache
def duke() -> Policy:
    """The Duke policy, loaded once for the module (loading reads the entry points: slow in a sweep)."""
    return load_policy("duke")


@pytest.fixture
def policy() -> Policy:
    return duke()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The Duke scenarios alone (no generated patrons): the same accounts, a faster start."""
    with make_sandbox(patrons=0) as made:
        yield made


# --- transports that let a test play Alma's part ---------------------------------------------------


class Gate(httpx.BaseTransport):
    """Runs ``hook`` once, just before the ``nth`` request with ``method`` goes to the sandbox."""

    def __init__(self, inner: httpx.BaseTransport, method: str, hook: Callable[[], None], nth: int = 1) -> None:
        self.inner, self.method, self.hook, self.left = inner, method, hook, nth

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == self.method:
            self.left -= 1
            if self.left == 0:
                self.hook()
        return self.inner.handle_request(request)


class Rewrite(httpx.BaseTransport):
    """Lets ``answer(request, response)`` replace the sandbox's answer (``None`` keeps it)."""

    def __init__(
        self, inner: httpx.BaseTransport, answer: Callable[[httpx.Request, httpx.Response], httpx.Response | None]
    ) -> None:
        self.inner, self.answer = inner, answer

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        replaced = self.answer(request, response)
        return replaced if replaced is not None else response


def client_through(sandbox: Sandbox, transport: httpx.BaseTransport, **options: Any) -> AlmaClient:
    return AlmaClient(
        api_key=sandbox.api_key, base_url=sandbox.base_url, transport=transport, sleep=no_sleep, **options
    )


def json_response(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body, headers={"content-type": "application/json"})


def is_search(request: httpx.Request) -> bool:
    return request.method == "GET" and request.url.path.endswith("/users")


def now(sandbox: Sandbox, user_id: str) -> Any:
    """The record as a client reads it now (faults off), without what Alma fills in by itself; None if absent."""
    sandbox.knobs.faults = Faults()
    found = sandbox.users.get(user_id)
    if found is None or str(found.get("primary_id", "")).casefold() != user_id.casefold():
        return None
    return comparable(User.from_alma(found).to_alma())


# --- one fault at every request ------------------------------------------------------------------------

SCENARIOS: dict[str, tuple[Callable[[], Patron], str | None]] = {
    # patron, and the old account the OneLink ID sits on (None: none)
    "netid_era_alumna": (netid_era_alumna, JD123),
    "new_registrant": (new_registrant, None),
    "renewal": (trln_borrower_as_alumna, None),
}


@functools.cache
def requests_of_a_clean_run(scenario: str) -> int:
    """How many requests the scenario makes when Alma does not fail (the positions a fault can hit)."""
    make, _ = SCENARIOS[scenario]
    with tempfile.TemporaryDirectory() as folder, make_sandbox(patrons=0) as sandbox, sync_client(sandbox) as alma:
        register_patron(alma, duke(), make(), today=TODAY, journal=Path(folder) / "journal.jsonl")
        return len(sandbox.request_log)


@pytest.fixture
def unsynced_journals(monkeypatch: pytest.MonkeyPatch) -> None:
    """Journal lines are written but not fsync'ed: the sweeps test answers, not durability (10x faster)."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


def check_the_truth(
    result: RegistrationResult, *, sandbox: Sandbox, journal: Journal, patron: Patron, old: str | None, before: Any
) -> None:
    """The invariants of one registration against a faulty Alma."""
    where = f"{result.outcome}: {result.reason}"
    accounts = accounts_with_primary_id(sandbox, patron.onelink_id)
    assert len(accounts) <= 1, "never two accounts with one OneLink ID"
    assert journal.pending() == [], "no intent left without its completion"
    if result.outcome in ("created", "needs_merge", "renewed", "already_registered"):
        assert len(accounts) == 1, where
        assert (accounts[0]["first_name"], accounts[0]["last_name"]) == (patron.first_name, patron.last_name)
    if result.outcome == "failed":
        assert result.reason.strip()
        if old is not None:
            holds = patron.onelink_id in identifier_values(record(sandbox, old))
            assert holds or accounts, f"half-written: {old} lost the OneLink ID and no account holds it ({where})"
            if not accounts:
                assert now(sandbox, old) == before[old], f"{old} is not as it was ({where})"
        if accounts and before.get(patron.onelink_id) is None:
            assert "may or may not" in result.reason, f"an account exists but the result says it failed: {where}"
    # every completed write is what Alma holds now
    last_done: dict[str, Any] = {}
    for entry in journal.entries():
        assert entry.result in ("done", "failed", "unknown")
        if entry.result == "done":
            last_done[entry.target.casefold()] = entry
    for target, entry in last_done.items():
        assert now(sandbox, target) == comparable(entry.after), f"journal says done, Alma disagrees: {entry}"


def undo_everything(alma: AlmaClient, sandbox: Sandbox, journal: Journal, before: dict[str, Any]) -> None:
    """Restore the registration's completed writes, newest first: Alma is back as it was."""
    done = [e for e in journal.entries() if e.result == "done" and e.operation == "register"]
    for entry in reversed(done):
        restored = restore(alma, entry, journal=journal, staff="tester")
        assert restored.outcome in (Restored.PUT_BACK, Restored.DELETED, Restored.NOTHING_TO_DO), restored.reason
    for user_id, was in before.items():
        assert now(sandbox, user_id) == was, f"{user_id} is not back as it was"


@pytest.mark.usefixtures("unsynced_journals")
@pytest.mark.parametrize("retries", [None, 0], ids=["retries", "no-retries"])
@pytest.mark.parametrize("kind", FAULT_KINDS)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_one_fault_at_every_request_of_a_registration_leaves_a_true_answer(
    scenario: str, kind: str, retries: int | None, policy: Policy, tmp_path: Path
) -> None:
    make, old = SCENARIOS[scenario]
    patron = make()
    client_options = {} if retries is None else {"max_retries": retries}
    for position in range(requests_of_a_clean_run(scenario)):
        journal = Journal(tmp_path / f"{scenario}-{kind}-{position}.jsonl")
        with make_sandbox(patrons=0) as sandbox:
            watched = [patron.onelink_id] + ([old] if old else [])
            before = {user_id: now(sandbox, user_id) for user_id in watched}
            sandbox.knobs.faults = Faults(script=[*[None] * position, kind])
            with sync_client(sandbox, **client_options) as alma:
                result = register_patron(alma, policy, patron, today=TODAY, journal=journal, staff="tester")
            faults = [entry.fault for entry in sandbox.request_log if entry.fault]
            assert faults in ([kind], []), f"position {position}: one fault at most"  # none: Alma refused that one
            try:
                check_the_truth(result, sandbox=sandbox, journal=journal, patron=patron, old=old, before=before)
                with sync_client(sandbox) as alma:
                    undo_everything(alma, sandbox, journal, before)
            except AssertionError as exc:
                raise AssertionError(f"{kind} at request {position}: {exc}") from exc


# --- restore: a delete whose answer is lost ------------------------------------------------------------


def test_restore_of_a_create_whose_delete_answer_was_lost_says_deleted(policy: Policy, journal: Journal) -> None:
    # restore reads the account, its loans, requests and fees, then DELETEs it. Alma deletes it but the
    # answer is lost; the client retries the DELETE (idempotent), which Alma answers "not found".
    with make_sandbox() as sandbox, sync_client(sandbox) as alma:
        register_patron(alma, policy, new_registrant(), today=TODAY, journal=journal)
        create = journal.entries()[0]
        sandbox.knobs.faults = Faults(script=[None, None, None, None, "commit_then_fail"])
        restored = restore(alma, create, journal=journal, staff="tester")

        assert accounts_with_primary_id(sandbox, ANN) == [], "the account is gone"
        assert restored.outcome == Restored.DELETED, (
            f"the account was deleted, yet: {restored.outcome} {restored.reason}"
        )
    delete = journal.entries()[-1]
    assert (delete.action, delete.result) == ("delete", "done"), f"the journal says the delete {delete.result}"


# --- two registrations of one patron at once -----------------------------------------------------------


@pytest.mark.parametrize("make", [new_registrant, netid_era_alumna], ids=["new_registrant", "netid_era_alumna"])
def test_the_loser_of_a_race_to_register_one_patron_does_not_say_nothing_is_ready(
    make: Callable[[], Patron], policy: Policy, journal: Journal
) -> None:
    # Registration A has searched and decided to create; registration B of the same patron (another
    # desk, a double click) runs entirely just before A's POST. Alma then refuses A's create (401851).
    patron = make()
    with make_sandbox() as sandbox:
        rival: dict[str, RegistrationResult] = {}

        def the_other_desk() -> None:
            with sync_client(sandbox) as other:
                rival["result"] = register_patron(other, policy, make(), today=TODAY, journal=journal, staff="b")

        gate = Gate(sandbox.transport(), "POST", the_other_desk)
        with client_through(sandbox, gate) as alma:
            loser = register_patron(alma, policy, patron, today=TODAY, journal=journal, staff="a")

        assert rival["result"].outcome in ("created", "needs_merge")
        assert len(accounts_with_primary_id(sandbox, patron.onelink_id)) == 1, "exactly one account"
        assert journal.pending() == []
        told = " ".join(loser.instructions)
        assert NOTHING_READY not in told, f"the patron's account exists, yet staff read: {told}"
        assert loser.outcome in ("already_registered", "needs_merge"), loser.reason
        assert "restore journal entry" not in loser.reason, "restoring the move would take the ID off nobody useful"


def test_two_batches_with_the_same_patrons_at_once_make_one_account_each(policy: Policy, tmp_path: Path) -> None:
    patrons = [
        new_registrant(),
        netid_era_alumna(),
        onelink_alumnus(),
        trln_borrower_as_alumna(),
        new_registrant(email="ANN.NEWCOMBE@EXAMPLE.ORG"),  # a duplicate inside the batch too
        *[
            Patron(
                onelink_id=f"{7_100_000 + i:07d}",
                first_name=f"Zed{chr(65 + i)}",
                last_name="Racer",
                affiliation="alumni",
                graduated_on=date(2001, 5, 10),
            )
            for i in range(10)
        ],
    ]
    journal = Journal(tmp_path / "shared.jsonl")
    results: list[list[RegistrationResult]] = [[], []]
    errors: list[BaseException] = []
    with make_sandbox() as sandbox, sync_client(sandbox, rate_limit=None) as alma:

        def batch(slot: int, order: list[Patron]) -> None:
            try:
                results[slot] = list(register_many(alma, policy, order, concurrency=4, journal=journal, today=TODAY))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [
            threading.Thread(target=batch, args=(0, patrons)),
            threading.Thread(target=batch, args=(1, list(reversed(patrons)))),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        for patron in patrons:
            assert len(accounts_with_primary_id(sandbox, patron.onelink_id)) == 1, patron.onelink_id
        assert identifier_values(record(sandbox, JD123)).count(JANE) == 0
    assert journal.pending() == []
    for result in results[0] + results[1]:
        assert result.outcome in ("created", "needs_merge", "already_registered", "renewed", "blocked", "failed")
        if result.outcome == "blocked":
            assert result.issues[0].code == "duplicate_in_batch"


# --- what staff type ------------------------------------------------------------------------------------


FULLWIDTH = "".join(chr(0xFF10 + int(digit)) for digit in "0345678")
ARABIC_INDIC = "".join(chr(0x0660 + int(digit)) for digit in "0345678")


@pytest.mark.parametrize(
    "onelink_id",
    [FULLWIDTH, ARABIC_INDIC, "0345678\u200b", "O345678"],
    ids=["fullwidth", "arabic-indic", "zero-width-space", "letter-O"],
)
def test_look_alike_digits_are_refused_before_any_request(
    onelink_id: str, alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    with pytest.raises(InputError, match="OneLink ID"):
        register_patron(alma, policy, new_registrant(onelink_id=onelink_id), today=TODAY, journal=journal)
    assert sandbox.request_log == []


def test_spaces_around_the_onelink_id_are_trimmed(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    result = register_patron(alma, policy, new_registrant(onelink_id="  0345678 \t"), today=TODAY, journal=journal)
    assert result.outcome == "created", result.reason
    assert len(accounts_with_primary_id(sandbox, ANN)) == 1
    assert [e.target for e in journal.entries()] == [ANN]


@pytest.mark.parametrize(
    "application",
    [
        ("Ann AND last_name~Doe", "Newcombe", None),
        ("Ann", "New~combe", None),
        ("*", "*", None),
        ('Ann "Nan"', "O'Newcombe", None),
        ("A" * 200, "B" * 200, None),
        ("Ann", "Newcombe", "ann~newcombe@example.org"),  # '~' is legal in an address's local part
        ("Ann", "Newcombe", "*@example.org"),
    ],
    ids=["AND", "tilde", "star", "quotes", "long", "tilde-email", "star-email"],
)
def test_names_and_emails_that_look_like_query_syntax_find_nobody_else(
    application: tuple[str, str, str | None], alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    # Registered under exactly that name, or refused as an application: then before any request.
    first, last, email = application
    refused: InputError | None = None
    try:
        patron = new_registrant(first_name=first, last_name=last, email=email)
        result = register_patron(alma, policy, patron, today=TODAY, journal=journal)
    except InputError as exc:
        refused = exc
    if refused is not None:
        sent = [f"{entry.method} {entry.path}" for entry in sandbox.request_log]
        assert sent == [], f"refused ({refused}) only after {sent}"
        return
    assert result.outcome == "created", result.reason
    assert [c.primary_id for c in result.candidates if c.acted_on] == []
    [account] = accounts_with_primary_id(sandbox, ANN)
    assert (account["first_name"], account["last_name"]) == (first, last)


def test_a_wrong_type_in_the_application_is_an_input_error() -> None:
    with pytest.raises(InputError, match="graduated_on"):
        new_registrant(graduated_on="yesterday")
    with pytest.raises(InputError, match="first_name"):
        new_registrant(first_name="   ")


def test_a_name_that_differs_only_by_accents_and_case_is_the_same_person(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    result = register_patron(
        alma, policy, netid_era_alumna(first_name="JÀNE", last_name="dôe"), today=TODAY, journal=journal
    )
    assert (result.outcome, result.merge_from) == ("needs_merge", JD123), result.reason
    assert JANE not in identifier_values(record(sandbox, JD123))


def test_another_first_name_on_the_old_account_is_never_taken_over(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    result = register_patron(alma, policy, netid_era_alumna(first_name="Janet"), today=TODAY, journal=journal)
    assert result.outcome == "blocked"
    assert writes(sandbox) == []
    assert JANE in identifier_values(record(sandbox, JD123))


def test_an_email_in_capitals_matches_the_lowercase_one_on_file(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    sandbox.users.create(
        {
            "primary_id": "an42",
            "first_name": "Ann",
            "last_name": "Newcombe",
            "record_type": "PUBLIC",
            "account_type": "INTERNAL",
            "user_group": "UNDERGRAD",
            "contact_info": {"email": [{"email_address": "ann.newcombe@example.org", "email_type": "personal"}]},
        }
    )
    result = register_patron(
        alma, policy, new_registrant(email="ANN.NEWCOMBE@Example.ORG"), today=TODAY, journal=journal
    )
    assert (result.outcome, result.merge_from) == ("needs_merge", "an42"), result.reason


def test_today_as_a_datetime_is_taken_or_refused_clearly(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    # A notebook user passes datetime.now(): a date subclass, so `today` passes the isinstance check.
    try:
        result = register_patron(alma, policy, new_registrant(), today=NOW, journal=journal)
    except InputError:
        assert sandbox.request_log == []
        return
    assert result.outcome == "created", result.reason


def test_a_registration_day_beyond_the_calendar_is_an_input_error_not_a_broken_plugin(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    with pytest.raises(InputError, match="today"):
        register_patron(alma, policy, new_registrant(), today=date(9999, 12, 31), journal=journal)
    assert sandbox.request_log == []


def test_a_staff_name_with_a_newline_is_refused_before_any_request(
    alma: AlmaClient, policy: Policy, journal: Journal, sandbox: Sandbox
) -> None:
    # A staff name goes into journal lines and notes on Alma records: a line break could forge one.
    with pytest.raises(InputError, match="without control characters or line breaks"):
        register_patron(alma, policy, new_registrant(), today=TODAY, journal=journal, staff="js\nforged line")
    assert sandbox.request_log == []
    assert not journal.path.exists()


# --- the journal misused ------------------------------------------------------------------------------


def test_a_move_remembered_by_the_journal_never_makes_another_persons_account_the_patrons(
    policy: Policy, journal: Journal
) -> None:
    # The journal remembers that a registration took 0456789 off jd123. In the Alma at hand, jd123 is
    # John Dee's: the journal was written against the sandbox (the default journal is one file per
    # user, shared by sandbox and production runs) or the NetID was given to someone else since.
    with make_sandbox(patrons=0) as elsewhere, sync_client(elsewhere) as alma:
        assert register_patron(alma, policy, netid_era_alumna(), today=TODAY, journal=journal).outcome == "needs_merge"
    with make_sandbox(patrons=0) as sandbox, sync_client(sandbox) as alma:
        john = record(sandbox, JD123)
        john.update(first_name="John", last_name="Dee", contact_info={})
        john["user_identifier"] = [i for i in john["user_identifier"] if i.get("value") != JANE]
        sandbox.users.put(john)
        sandbox.users.create(policy.build_user(netid_era_alumna(), today=TODAY))  # Jane's account, up to date

        result = register_patron(alma, policy, netid_era_alumna(), today=TODAY, journal=journal)
    told = " ".join(result.instructions)
    assert result.merge_from != JD123, f"John Dee's account offered as Jane's old account: {told}"
    assert result.outcome == "already_registered", result.reason


def test_a_journal_path_that_cannot_hold_a_journal_is_refused_before_any_request(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match="folder"):
        register_patron(alma, policy, new_registrant(), today=TODAY, journal=tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        register_patron(alma, policy, new_registrant(), today=TODAY, journal=tmp_path / "no" / "j.jsonl")
    assert sandbox.request_log == []


def test_a_journal_on_a_full_disk_stops_before_anything_is_written(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy
) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    with pytest.raises(JournalError, match="No space left") as caught:
        register_patron(alma, policy, netid_era_alumna(), today=TODAY, journal="/dev/full")
    assert caught.value.path == Path("/dev/full")
    assert writes(sandbox) == []
    assert JANE in identifier_values(record(sandbox, JD123))


class DiskFullAtCompletion(Journal):
    """A journal whose disk fills up between the intent of the first write and its completion."""

    failures = 1

    def complete(self, *args: Any, **kwargs: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise OSError(28, "No space left on device")
        return super().complete(*args, **kwargs)


def test_a_batch_never_says_nothing_is_ready_for_a_patron_whose_account_was_created(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, tmp_path: Path
) -> None:
    journal = DiskFullAtCompletion(tmp_path / "journal.jsonl")
    results: list[RegistrationResult] = []
    with pytest.raises(JournalError, match="0 patrons were not started"):
        results.extend(register_many(alma, policy, [new_registrant()], journal=journal, today=TODAY))
    [result] = results
    assert len(accounts_with_primary_id(sandbox, ANN)) == 1, "Alma created the account"
    told = " ".join([result.reason, *result.instructions])
    assert NOTHING_READY not in told, f"the account exists, yet: {told}"
    assert result.outcome == "created", result.reason
    assert "No space left" in (result.journal_error or "")


def test_a_journal_full_of_garbage_still_journals_and_finds_the_move_on_a_rerun(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, tmp_path: Path
) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'\x00\xff not json\n{"type": "intent"\n[1, 2]\n"just a string"\n')
    journal = Journal(path)
    first = register_patron(alma, policy, netid_era_alumna(), today=TODAY, journal=journal)
    again = register_patron(alma, policy, netid_era_alumna(), today=TODAY, journal=journal)
    assert (first.outcome, again.outcome, again.merge_from) == ("needs_merge", "needs_merge", JD123)
    assert journal.skipped_lines == 4
    assert len(journal.entries()) == 2


def test_an_ambiguous_entry_prefix_is_refused_and_names_the_ambiguity(
    alma: AlmaClient, policy: Policy, tmp_path: Path
) -> None:
    ids = iter(f"abcdef{n:026x}" for n in range(1, 100))  # every id starts with abcdef
    journal = Journal(tmp_path / "journal.jsonl", new_id=lambda: next(ids))
    register_patron(alma, policy, netid_era_alumna(), today=TODAY, journal=journal)
    with pytest.raises(InputError, match="2 entries"):
        restore(alma, "abcdef", journal=journal)
    with pytest.raises(InputError, match="at least 6"):
        restore(alma, "abc", journal=journal)
    create = journal.entries()[1]
    assert create.action == "create"
    assert restore(alma, create.id, journal=journal).outcome == Restored.DELETED


# --- what Alma sends ------------------------------------------------------------------------------------


def old_account(sandbox: Sandbox, change: Callable[[dict[str, Any]], None]) -> None:
    user = copy.deepcopy(record(sandbox, JD123))
    change(user)
    sandbox.users.put(user)


@pytest.mark.parametrize(
    "change",
    [
        lambda u: u["user_identifier"].append(dict(u["user_identifier"][0])),  # the OneLink ID twice
        lambda u: u.pop("status"),
        lambda u: u.pop("expiry_date"),
        lambda u: u.update(
            user_role=[{"status": "ACTIVE", "scope": "01ALMA_SANDBOX", "role_type": "214"}]  # a staff role
        ),
    ],
    ids=["duplicate-identifier", "no-status", "no-expiry", "staff-role"],
)
def test_an_odd_old_account_still_gets_its_identifier_moved(
    change: Callable[[dict[str, Any]], None], alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    old_account(sandbox, change)
    result = register_patron(alma, policy, netid_era_alumna(), today=TODAY, journal=journal)
    assert (result.outcome, result.merge_from) == ("needs_merge", JD123), result.reason
    assert JANE not in identifier_values(record(sandbox, JD123))
    assert len(accounts_with_primary_id(sandbox, JANE)) == 1


def test_an_old_account_alma_refuses_to_save_fails_with_nothing_half_written(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    old_account(sandbox, lambda u: u["user_identifier"].insert(0, {"id_type": "BARCODE", "value": None}))
    before = now(sandbox, JD123)
    result = register_patron(alma, policy, netid_era_alumna(), today=TODAY, journal=journal)
    assert result.outcome == "failed"
    assert JD123 in result.reason
    assert now(sandbox, JD123) == before
    assert accounts_with_primary_id(sandbox, JANE) == []
    assert journal.pending() == []


def test_a_lone_identifier_object_is_moved_like_a_list(policy: Policy, journal: Journal) -> None:
    # Alma writes a one-item list as a lone object in some payloads.
    def lone(request: httpx.Request, response: httpx.Response) -> httpx.Response | None:
        if response.status_code != 200 or is_search(request) or request.method == "DELETE":
            return None
        body = response.json()
        identifiers = body.get("user_identifier")
        if isinstance(identifiers, list) and len(identifiers) == 1:
            return json_response(200, {**body, "user_identifier": identifiers[0]})
        return None

    with make_sandbox() as sandbox:
        old_account(sandbox, lambda u: u.update(user_identifier=u["user_identifier"][:1]))  # only the Unique ID
        with client_through(sandbox, Rewrite(sandbox.transport(), lone)) as alma:
            result = register_patron(alma, policy, netid_era_alumna(), today=TODAY, journal=journal)
        assert (result.outcome, result.merge_from) == ("needs_merge", JD123), result.reason
        assert identifier_values(record(sandbox, JD123)) == []
        assert len(accounts_with_primary_id(sandbox, JANE)) == 1


def test_search_results_with_the_same_user_twice_count_once(policy: Policy, journal: Journal) -> None:
    def twice(request: httpx.Request, response: httpx.Response) -> httpx.Response | None:
        if not is_search(request):
            return None
        body = response.json()
        users = body.get("user") or []
        return json_response(200, {**body, "user": users + users, "total_record_count": 2 * len(users)})

    with make_sandbox() as sandbox:
        sandbox.users.create(
            {
                "primary_id": "an42",
                "first_name": "Ann",
                "last_name": "Newcombe",
                "record_type": "PUBLIC",
                "account_type": "INTERNAL",
                "user_group": "UNDERGRAD",
                "contact_info": {"email": [{"email_address": "ann.newcombe@example.org", "email_type": "personal"}]},
            }
        )
        with client_through(sandbox, Rewrite(sandbox.transport(), twice)) as alma:
            result = register_patron(alma, policy, new_registrant(), today=TODAY, journal=journal)
        assert (result.outcome, result.merge_from) == ("needs_merge", "an42")
        assert [c.primary_id for c in result.candidates] == ["an42"]


CONTACT = {
    "primary_id": "no primary id (100000000001)",
    "first_name": "Ann",
    "last_name": "Newcombe",
    "status": {"value": "ACTIVE", "desc": "Active"},
    "link": "https://api-na.hosted.exlibrisgroup.com/almaws/v1/users/-",
}


def test_a_contact_without_a_primary_id_in_the_search_does_not_sink_the_registration(
    policy: Policy, journal: Journal
) -> None:
    # Field case b01: Alma's search returns "contacts" (a donor, a vendor's person) with the placeholder
    # "no primary id (<number>)" and the link ".../users/-". Ann is also a contact with her email.
    def with_contact(request: httpx.Request, response: httpx.Response) -> httpx.Response | None:
        if not is_search(request):
            return None
        body = response.json()
        users = [CONTACT, *(body.get("user") or [])]
        return json_response(200, {**body, "user": users, "total_record_count": len(users)})

    with make_sandbox() as sandbox:
        with client_through(sandbox, Rewrite(sandbox.transport(), with_contact)) as alma:
            result = register_patron(alma, policy, new_registrant(), today=TODAY, journal=journal)
        sent = [entry.path for entry in sandbox.request_log]
        assert not [path for path in sent if "no%20primary%20id" in path or "no primary id" in path], sent
        assert result.outcome == "created", result.reason
        assert len(accounts_with_primary_id(sandbox, ANN)) == 1


def test_an_account_alma_finds_by_email_is_not_the_patrons_unless_its_email_is(
    policy: Policy, journal: Journal
) -> None:
    # Alma's user search matches words ("Matching is word-based", tokenisation undocumented): a search
    # for ann.newcombe@example.org may also answer with another Ann Newcombe, joann.newcombe@example.org.
    # The workflow reads that account in full before acting on it: its email is not the patron's.
    with make_sandbox() as sandbox:
        sandbox.users.create(
            {
                "primary_id": "an99",
                "first_name": "Ann",
                "last_name": "Newcombe",
                "record_type": "PUBLIC",
                "account_type": "INTERNAL",
                "user_group": "UNDERGRAD",
                "contact_info": {"email": [{"email_address": "joann.newcombe@example.org", "email_type": "personal"}]},
            }
        )

        def word_match(request: httpx.Request, response: httpx.Response) -> httpx.Response | None:
            if is_search(request) and "email~" in request.url.params.get("q", ""):
                brief = {"primary_id": "an99", "first_name": "Ann", "last_name": "Newcombe", "status": "ACTIVE"}
                return json_response(200, {"user": [brief], "total_record_count": 1})
            return None

        with client_through(sandbox, Rewrite(sandbox.transport(), word_match)) as alma:
            result = register_patron(alma, policy, new_registrant(), today=TODAY, journal=journal)
        assert result.merge_from is None, "an99's email is joann.newcombe@example.org: another person's account"
        assert result.outcome == "created", result.reason
        assert [c.primary_id for c in result.candidates if c.acted_on] == []


# --- the key never leaves the Authorization header ---------------------------------------------------


def test_the_api_key_appears_in_no_result_journal_or_error(policy: Policy, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    shown: list[str] = []

    def show(result: RegistrationResult) -> None:
        console = Console(file=io.StringIO(), width=160)
        console.print(result)
        shown.extend([str(result), repr(result), result._repr_html_(), console.file.getvalue()])  # type: ignore[attr-defined]
        shown.append(json.dumps(result.to_dict(), default=str))
        if result.error is not None:
            shown.extend([str(result.error), repr(result.error), "".join(traceback.format_exception(result.error))])

    faults = Faults(rate=0.3, kinds=FAULT_KINDS)
    with make_sandbox(seed=7, faults=faults) as sandbox, sync_client(sandbox, max_retries=1) as alma:
        key = sandbox.api_key
        for patron in (netid_era_alumna(), new_registrant(), onelink_alumnus(), trln_borrower_as_alumna()):
            show(register_patron(alma, policy, patron, today=TODAY, journal=journal, staff="tester"))
        for result in register_many(alma, policy, [new_registrant(), netid_era_alumna()], journal=journal, today=TODAY):
            show(result)
        shown.append(repr(alma))
        shown.extend(repr(entry) for entry in sandbox.request_log)
    shown.append(journal.path.read_text(encoding="utf-8"))
    shown.extend(str(entry) for entry in journal.entries())
    text = "\n".join(shown)
    assert any(result in text for result in ("failed", "created")), "the runs produced output to search"
    assert key not in text
    assert key[4:] not in text
