"""Adversarial tests of the plan-first merge: Alma misbehaving mid-apply, tampered plans, races, misuse.

Each test states the right behaviour. The fault sweep aims one fault of every kind at every request
of ``apply_merge`` for both Duke scenarios (the alumna's with ``delete_source=True``, so the activity
check and the delete are swept too; rm56 holds loans and is never deleted), with the client's retries
and without, and checks: the outcome is true (``merged`` ⇒ both records are the plan's final records;
``rolled_back`` ⇒ both as planned), the journal is settled and agrees with Alma, and ``undo_merge``
afterwards puts both accounts back. No sleeps, no wall clock.
"""

from __future__ import annotations

import functools
import io
import json
import os
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from alma_onelink import AlmaClient, Patron
from alma_onelink.engine import comparable
from alma_onelink.errors import InputError
from alma_onelink.merge import MergePlan, MergeRefused, MergeResult, apply_merge, plan_merge, undo_merge
from alma_onelink.models import Code, User, UserNote
from alma_onelink.onelink import Journal, RegistrationResult, Restored, RestoreError, register_patron
from alma_onelink.policy import Policy, load_policy
from alma_onelink.sandbox import DUKE_SCENARIOS, DUKE_UNIQUE_IDS, FAULT_KINDS, Faults, Sandbox
from tests.onelink.conftest import (
    NOW,
    TODAY,
    former_staff,
    make_sandbox,
    netid_era_alumna,
    no_sleep,
    sync_client,
    writes,
)

JD123, JANE = DUKE_SCENARIOS["netid_era_alumna"], DUKE_UNIQUE_IDS["netid_era_alumna"]
RM56, RAFAEL = DUKE_SCENARIOS["former_staff_with_loans"], DUKE_UNIQUE_IDS["former_staff_with_loans"]
MARIA = DUKE_SCENARIOS["onelink_alumnus"]  # another person's OneLink account
DELETE = {"netid_era_alumna": True, "former_staff_with_loans": False}  # delete_source in the fault sweep

SCENARIOS: dict[str, tuple[Callable[[], Patron], str, str]] = {
    "netid_era_alumna": (netid_era_alumna, JD123, JANE),
    "former_staff_with_loans": (former_staff, RM56, RAFAEL),
}


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


@functools.cache
def duke() -> Policy:
    """The Duke policy, loaded once for the module (loading reads the entry points: slow in a sweep)."""
    return load_policy("duke")


@pytest.fixture
def policy() -> Policy:
    return duke()


def client_through(sandbox: Sandbox, transport: httpx.BaseTransport) -> AlmaClient:
    return AlmaClient(api_key=sandbox.api_key, base_url=sandbox.base_url, transport=transport, sleep=no_sleep)


def ready_to_merge(scenario: str) -> Sandbox:
    """A Duke sandbox as a registration left it: the OneLink ID moved off the old account, the new one created.

    Set up straight in the sandbox (no requests, no journal), so every sandbox made this way is the same.
    """
    make, old_id, new_id = SCENARIOS[scenario]
    sandbox = make_sandbox(patrons=0)
    old = sandbox.users.get(old_id)
    assert old is not None
    old["user_identifier"] = [i for i in old["user_identifier"] if i.get("value") != new_id]
    sandbox.users.put(old)
    sandbox.users.create(duke().build_user(make(), today=TODAY))
    return sandbox


@functools.cache
def the_plan(scenario: str) -> MergePlan:
    """The reviewed plan of a scenario: the same for every sandbox `ready_to_merge` makes."""
    _, old_id, new_id = SCENARIOS[scenario]
    with ready_to_merge(scenario) as sandbox, sync_client(sandbox) as alma:
        return plan_merge(alma, old_id, new_id, policy=duke(), today=TODAY)


@functools.cache
def requests_of_a_clean_apply(scenario: str) -> int:
    plan = the_plan(scenario)
    with tempfile.TemporaryDirectory() as folder, ready_to_merge(scenario) as sandbox, sync_client(sandbox) as alma:
        apply_merge(
            alma,
            plan,
            confirm=plan.token,
            journal=Path(folder) / "j.jsonl",
            delete_source=DELETE[scenario],
            today=TODAY,
        )
        return len(sandbox.request_log)


def now(sandbox: Sandbox, user_id: str) -> Any:
    """The record as a client reads it (faults off), without what Alma fills in by itself; None if gone."""
    sandbox.knobs.faults = Faults()
    found = sandbox.users.get(user_id)
    if found is None or str(found.get("primary_id", "")).casefold() != user_id.casefold():
        return None
    return comparable(User.from_alma(found).to_alma())


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The alumna's accounts ready to merge (the Duke scenarios alone, no generated patrons)."""
    with ready_to_merge("netid_era_alumna") as made:
        yield made


@pytest.fixture
def plan() -> MergePlan:
    return the_plan("netid_era_alumna")


@pytest.fixture
def unsynced_journals(monkeypatch: pytest.MonkeyPatch) -> None:
    """Journal lines are written but not fsync'ed: the sweep tests answers, not durability (10x faster)."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


# --- one fault at every request of apply_merge -------------------------------------------------------


def check_the_merge(result: MergeResult, sandbox: Sandbox, journal: Journal, plan: MergePlan) -> None:
    where = f"{result.outcome}: {result.reason}"
    from_now, to_now = now(sandbox, plan.from_id), now(sandbox, plan.to_id)
    assert journal.pending() == [], "no intent left without its completion"
    entries = journal.entries(registration=result.merge_id)
    if result.outcome == "merged":
        assert to_now == comparable(plan.final_to), where
        if result.deleted:
            assert from_now is None, f"said deleted, but {plan.from_id} exists"
        else:
            assert from_now == comparable(plan.final_from), f"said kept and marked: {where}"
    elif result.outcome == "rolled_back":
        assert from_now == comparable(plan.from_record), f"From is not as it was: {where}"
        assert to_now == comparable(plan.to_record), f"To is not as it was: {where}"
    else:
        for entry in entries:
            if entry.result == "unknown":
                assert entry.id in result.reason, f"the unsettled entry is not named: {where}"
        if not any(entry.result == "done" for entry in entries):
            assert (from_now, to_now) == (comparable(plan.from_record), comparable(plan.to_record)), where
    last_done: dict[str, Any] = {}
    for entry in entries:
        if entry.result == "done":
            last_done[entry.target.casefold()] = entry
    for target, entry in last_done.items():
        held = now(sandbox, target)
        if entry.action == "delete":
            assert held is None, f"the journal says {target} was deleted; it exists"
        else:
            assert held == comparable(entry.after), f"the journal says done, Alma disagrees: {entry}"
    for entry in entries:
        if entry.action == "delete" and entry.result == "failed":
            assert now(sandbox, entry.target) is not None, f"the journal says the delete failed; {entry.target} is gone"


@pytest.mark.usefixtures("unsynced_journals")
@pytest.mark.parametrize("retries", [None, 0], ids=["retries", "no-retries"])
@pytest.mark.parametrize("kind", FAULT_KINDS)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_one_fault_at_every_request_of_apply_merge_leaves_a_true_answer_and_an_undo(
    scenario: str, kind: str, retries: int | None, tmp_path: Path
) -> None:
    plan = the_plan(scenario)
    options = {} if retries is None else {"max_retries": retries}
    for position in range(requests_of_a_clean_apply(scenario)):
        journal = Journal(tmp_path / f"{position}.jsonl")
        with ready_to_merge(scenario) as sandbox:
            sandbox.knobs.faults = Faults(script=[*[None] * position, kind])
            with sync_client(sandbox, **options) as alma:
                result = apply_merge(
                    alma, plan, confirm=plan.token, journal=journal, delete_source=DELETE[scenario], today=TODAY
                )
            try:
                check_the_merge(result, sandbox, journal, plan)
                if result.outcome == "merged":
                    with sync_client(sandbox) as alma:
                        undone = undo_merge(alma, result, journal=journal, staff="tester")
                    assert [r.outcome for r in undone if r.outcome is Restored.FAILED] == []
                    assert now(sandbox, plan.from_id) == comparable(plan.from_record), "undo: From differs"
                    assert now(sandbox, plan.to_id) == comparable(plan.to_record), "undo: To differs"
            except (AssertionError, RestoreError) as exc:
                raise AssertionError(f"{kind} at request {position}: {exc}") from exc


def test_a_delete_whose_answer_is_lost_is_reported_as_done_and_can_be_undone(
    sandbox: Sandbox, plan: MergePlan, journal: Journal
) -> None:
    # GET, GET, PUT, PUT, PUT, loans, requests, fees, then the DELETE: Alma deletes jd123 and the answer
    # is lost; the client retries the DELETE (it is idempotent) and Alma answers "no such user".
    sandbox.knobs.faults = Faults(script=[*[None] * 8, "commit_then_fail"])
    with sync_client(sandbox) as alma:
        result = apply_merge(alma, plan, confirm=plan.token, journal=journal, delete_source=True, today=TODAY)
    assert sandbox.users.get(JD123) is None, "Alma deleted jd123"
    assert "Alma refused the delete" not in result.reason, result.reason
    assert (result.outcome, result.deleted) == ("merged", True), result.reason
    delete = journal.entries(registration=result.merge_id)[-1]
    assert (delete.action, delete.result) == ("delete", "done")
    with sync_client(sandbox) as alma:
        undone = undo_merge(alma, result, journal=journal)
    assert undone[0].outcome is Restored.RECREATED
    assert now(sandbox, JD123) == comparable(plan.from_record)


# --- a plan file someone changed ------------------------------------------------------------------------


def test_a_plan_retargeted_at_another_person_with_a_recomputed_token_is_refused(
    sandbox: Sandbox, plan: MergePlan, journal: Journal
) -> None:
    # The token is a plain sha256 of the contents, and MergePlan.digest() computes it: anyone who can
    # edit the plan file can point it at another account and make the token match again.
    with sync_client(sandbox) as alma:
        maria = alma.users.get(MARIA).to_alma()
        data = json.loads(plan.to_json())
        data.update(to_id=MARIA, to_record=maria)
        draft = MergePlan.model_validate({**data, "token": ""})
        forged = MergePlan.from_json(json.dumps({**data, "token": draft.digest()}))
        before = now(sandbox, MARIA), now(sandbox, JD123)
        sandbox.clear_log()

        with pytest.raises(MergeRefused):
            apply_merge(alma, forged, confirm=forged.token, journal=journal, today=TODAY)
    assert writes(sandbox) == [], "Jane Doe's barcode went onto María José Ibáñez's account"
    assert (now(sandbox, MARIA), now(sandbox, JD123)) == before


def test_a_plan_with_another_to_id_and_the_old_token_is_refused(
    sandbox: Sandbox, plan: MergePlan, journal: Journal
) -> None:
    data = json.loads(plan.to_json())
    data["to_id"] = MARIA
    with pytest.raises(MergeRefused, match="do not match its token"):
        MergePlan.from_json(json.dumps(data))
    changed = plan.model_copy(update={"to_id": MARIA})
    with sync_client(sandbox) as alma, pytest.raises(MergeRefused, match="do not match its token"):
        apply_merge(alma, changed, confirm=plan.token, journal=journal, today=TODAY)
    assert sandbox.request_log == []


def test_a_plan_file_that_is_not_a_plan_is_an_input_error(plan: MergePlan) -> None:
    data = json.loads(plan.to_json())
    for broken in ({**data, "surprise": 1}, {k: v for k, v in data.items() if k != "carried"}, [1, 2], "{"):
        with pytest.raises(InputError):
            MergePlan.from_json(broken if isinstance(broken, str) else json.dumps(broken))


# --- the same plan, twice, or after a change --------------------------------------------------------------


def test_a_plan_applied_twice_is_refused_the_second_time_with_nothing_written(
    sandbox: Sandbox, plan: MergePlan, journal: Journal
) -> None:
    with sync_client(sandbox) as alma:
        first = apply_merge(alma, plan, confirm=plan.token, journal=journal, today=TODAY)
        assert first.outcome == "merged"
        sandbox.clear_log()
        with pytest.raises(MergeRefused, match="changed since the plan"):
            apply_merge(alma, plan, confirm=plan.token, journal=journal, today=TODAY)
    assert writes(sandbox) == []
    assert len(journal.entries()) == 3


def test_a_note_added_to_to_after_the_plan_stops_the_apply(sandbox: Sandbox, plan: MergePlan, journal: Journal) -> None:
    with sync_client(sandbox) as alma:
        with alma.users.edit(JANE) as user:
            user.user_note.append(UserNote(note_type=Code(value="OTHER"), note_text="Called about a lost card"))
        sandbox.clear_log()
        with pytest.raises(MergeRefused, match=r"To 0456789 changed since the plan was made \(user_note\)"):
            apply_merge(alma, plan, confirm=plan.token, journal=journal, today=TODAY)
    assert writes(sandbox) == []
    assert journal.entries() == []


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"segments": ["bogus"]}, InputError),
        ({"segments": ["identifiers", "Notes"]}, InputError),
        ({"force": ""}, InputError),
        ({"force": " \n\t"}, InputError),
        ({"force": 1}, InputError),
    ],
    ids=["bogus-segment", "segment-case", "blank-force", "whitespace-force", "force-not-text"],
)
def test_bad_plan_options_are_refused_before_any_request(
    options: dict[str, Any], error: type[Exception], sandbox: Sandbox
) -> None:
    with sync_client(sandbox) as alma, pytest.raises(error):
        plan_merge(alma, JD123, JANE, **options)
    assert sandbox.request_log == []


@pytest.mark.parametrize(("from_id", "to_id"), [(JD123, "JD123"), (" jd123 ", "Jd123"), (JANE, JANE)])
def test_from_and_to_the_same_account_in_any_case_is_refused_before_any_request(
    from_id: str, to_id: str, sandbox: Sandbox
) -> None:
    with sync_client(sandbox) as alma, pytest.raises(MergeRefused, match="same account"):
        plan_merge(alma, from_id, to_id)
    assert sandbox.request_log == []


def test_an_old_account_with_a_staff_role_is_not_merged(sandbox: Sandbox) -> None:
    old = sandbox.users.get(JD123)
    assert old is not None
    old["user_role"] = [{"status": "ACTIVE", "scope": "01ALMA_SANDBOX", "role_type": "214"}]
    sandbox.users.put(old)
    with sync_client(sandbox) as alma, pytest.raises(MergeRefused, match="roles besides Patron"):
        plan_merge(alma, JD123, JANE, policy=duke(), today=TODAY)
    assert writes(sandbox) == []


def test_undo_after_to_changed_since_the_merge_is_refused_with_nothing_written(
    sandbox: Sandbox, plan: MergePlan, journal: Journal
) -> None:
    with sync_client(sandbox) as alma:
        result = apply_merge(alma, plan, confirm=plan.token, journal=journal, today=TODAY)
        with alma.users.edit(JANE) as user:
            user.job_description = "Visiting scholar"
        sandbox.clear_log()
        with pytest.raises(RestoreError, match=r"0456789 changed since the merge \(job_description\)"):
            undo_merge(alma, result, journal=journal)
    assert writes(sandbox) == []
    assert now(sandbox, JD123) == comparable(plan.final_from)


def test_delete_source_deletes_an_account_whose_only_fee_is_closed(
    sandbox: Sandbox, plan: MergePlan, journal: Journal
) -> None:
    assert [fee["status"]["value"] for fee in sandbox.users.fees(JD123)] == ["CLOSED"]
    with sync_client(sandbox) as alma:
        result = apply_merge(alma, plan, confirm=plan.token, journal=journal, delete_source=True, today=TODAY)
    assert (result.outcome, result.deleted) == ("merged", True), result.reason
    assert sandbox.users.get(JD123) is None


def test_delete_source_keeps_an_account_that_gained_an_active_fee_after_the_plan(
    sandbox: Sandbox, plan: MergePlan, journal: Journal
) -> None:
    sandbox.users.add_fee(JD123, status="ACTIVE")
    with sync_client(sandbox) as alma:
        result = apply_merge(alma, plan, confirm=plan.token, journal=journal, delete_source=True, today=TODAY)
    assert (result.outcome, result.deleted) == ("merged", False)
    assert "1 fee" in result.reason
    assert now(sandbox, JD123) == comparable(plan.final_from)
    assert [e.action for e in journal.entries()] == ["update", "update", "update"]


# --- two at once -----------------------------------------------------------------------------------------


def test_two_applies_of_one_plan_at_once_leave_one_merge_and_an_undo(
    sandbox: Sandbox, plan: MergePlan, journal: Journal
) -> None:
    # Desk B applies the same plan entirely between desk A's re-read and A's first write.
    rival: dict[str, Any] = {}

    def desk_b() -> None:
        with sync_client(sandbox) as other:
            rival["result"] = apply_merge(other, plan, confirm=plan.token, journal=journal, today=TODAY)

    with client_through(sandbox, Gate(sandbox.transport(), "PUT", desk_b)) as alma:
        result = apply_merge(alma, plan, confirm=plan.token, journal=journal, today=TODAY)
    assert rival["result"].outcome == "merged"
    assert result.outcome in ("merged", "rolled_back"), result.reason
    assert now(sandbox, JANE) == comparable(plan.final_to)
    assert now(sandbox, JD123) == comparable(plan.final_from)
    notes = [n["note_text"] for n in (sandbox.users.get(JD123) or {}).get("user_note", [])]
    assert len([n for n in notes if n.startswith("Merged into")]) == 1, notes
    assert journal.pending() == []
    with sync_client(sandbox) as alma:
        undo_merge(alma, result, journal=journal)
    assert (now(sandbox, JD123), now(sandbox, JANE)) == (comparable(plan.from_record), comparable(plan.to_record))


def test_a_merge_that_lands_between_the_two_re_reads_is_noticed(
    sandbox: Sandbox, plan: MergePlan, journal: Journal
) -> None:
    rival: dict[str, Any] = {}

    def desk_b() -> None:
        with sync_client(sandbox) as other:
            rival["result"] = apply_merge(other, plan, confirm=plan.token, journal=journal, today=TODAY)

    gate = Gate(sandbox.transport(), "GET", desk_b, nth=2)
    with client_through(sandbox, gate) as alma, pytest.raises(MergeRefused, match="To 0456789 changed since the plan"):
        apply_merge(alma, plan, confirm=plan.token, journal=journal, today=TODAY)
    assert rival["result"].outcome == "merged"
    assert len(journal.entries()) == 3, "only desk B wrote"


def test_a_registration_rerun_during_the_apply_writes_nothing_and_the_merge_completes(
    sandbox: Sandbox, plan: MergePlan, journal: Journal
) -> None:
    rerun: dict[str, RegistrationResult] = {}

    def the_desk() -> None:
        with sync_client(sandbox) as other:
            rerun["result"] = register_patron(other, duke(), netid_era_alumna(), today=TODAY, journal=journal)

    with client_through(sandbox, Gate(sandbox.transport(), "PUT", the_desk, nth=2)) as alma:
        result = apply_merge(alma, plan, confirm=plan.token, journal=journal, today=TODAY)
    assert result.outcome == "merged", result.reason
    assert rerun["result"].outcome in ("already_registered", "needs_merge"), rerun["result"].reason
    assert rerun["result"].journal_entries == []
    assert now(sandbox, JANE) == comparable(plan.final_to)


# --- what people type -------------------------------------------------------------------------------------


def test_today_as_a_datetime_is_taken_or_refused_clearly_when_planning(sandbox: Sandbox) -> None:
    with sync_client(sandbox) as alma:
        try:
            made = plan_merge(alma, JD123, JANE, policy=duke(), today=NOW)
        except InputError:
            return
    assert made.planned_on == TODAY


def test_today_as_a_datetime_is_taken_or_refused_clearly_when_applying(
    sandbox: Sandbox, plan: MergePlan, journal: Journal
) -> None:
    with sync_client(sandbox) as alma:
        try:
            result = apply_merge(alma, plan, confirm=plan.token, journal=journal, today=NOW)
        except InputError:
            assert writes(sandbox) == []
            return
    assert result.outcome == "merged", result.reason


def test_a_staff_name_with_control_characters_never_reaches_the_note_or_the_terminal(
    sandbox: Sandbox, plan: MergePlan, journal: Journal
) -> None:
    staff = "jsmith\n\x1b[2J\x1b[31mAll accounts deleted"
    with sync_client(sandbox) as alma:
        try:
            result = apply_merge(alma, plan, confirm=plan.token, journal=journal, staff=staff, today=TODAY)
        except InputError:
            assert writes(sandbox) == []
            return
    notes = [n["note_text"] for n in (sandbox.users.get(JD123) or {}).get("user_note", [])]
    assert not any("\x1b" in note or "\n" in note for note in notes), notes
    assert "\x1b" not in str(result)


# --- the key never leaves the Authorization header ---------------------------------------------------


def test_the_api_key_appears_in_no_plan_result_journal_or_error(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    shown: list[str] = []

    def show(thing: Any) -> None:
        console = Console(file=io.StringIO(), width=160)
        console.print(thing)
        shown.extend([str(thing), repr(thing), console.file.getvalue()])  # type: ignore[attr-defined]
        for method in ("to_json", "to_dict", "_repr_html_", "diff"):
            if hasattr(thing, method):
                shown.append(json.dumps(getattr(thing, method)(), default=str))
        error = getattr(thing, "error", None)
        if isinstance(error, BaseException):
            shown.extend([str(error), repr(error), "".join(traceback.format_exception(error))])

    with ready_to_merge("former_staff_with_loans") as sandbox, sync_client(sandbox, max_retries=0) as alma:
        key = sandbox.api_key
        plan = plan_merge(alma, RM56, RAFAEL, policy=duke(), today=TODAY)
        show(plan)
        sandbox.knobs.faults = Faults(script=[None, None, None, "500"])  # the carry is refused: rolled back
        show(apply_merge(alma, plan, confirm=plan.token, journal=journal, staff="tester", today=TODAY))
        sandbox.knobs.faults = Faults(script=[None, None, None, "500", "503"])  # refused, then a lost answer
        show(apply_merge(alma, plan, confirm=plan.token, journal=journal, staff="tester", today=TODAY))
        sandbox.knobs.faults = Faults()
        for call in (
            lambda: apply_merge(alma, plan, confirm="nope", journal=journal),
            lambda: plan_merge(alma, RM56, MARIA, policy=duke()),
            lambda: undo_merge(alma, "no-such-merge", journal=journal),
        ):
            try:
                call()
            except Exception as exc:  # every error is searched for the key
                shown.extend([str(exc), repr(exc), "".join(traceback.format_exception(exc))])
    shown.append(journal.path.read_text(encoding="utf-8"))
    shown.extend(str(entry) for entry in journal.entries())
    text = "\n".join(shown)
    assert RM56 in text
    assert "rolled_back" in text
    assert key not in text
    assert key[4:] not in text
