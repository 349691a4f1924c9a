"""The merge on the Duke sandbox, end to end: register → needs_merge → plan → apply → (undo).

The two Duke scenarios with an old account: the NetID-era alumna (jd123: closed activity only, so
it may be deleted) and the former staff member (rm56: loans, a request and a fee, which only
Alma's UI merge can move, so it is kept).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from alma_onelink import AlmaClient
from alma_onelink.engine import comparable
from alma_onelink.merge import MergePlan, MergeRefused, MergeResult, apply_merge, plan_merge, undo_merge
from alma_onelink.onelink import Journal, RestoreError, register_patron
from alma_onelink.policy import Policy
from alma_onelink.sandbox import DUKE_SCENARIOS, DUKE_UNIQUE_IDS, Sandbox
from tests.onelink.conftest import TODAY, former_staff, netid_era_alumna, writes

JD123 = DUKE_SCENARIOS["netid_era_alumna"]
RM56 = DUKE_SCENARIOS["former_staff_with_loans"]
JANE = DUKE_UNIQUE_IDS["netid_era_alumna"]
RAFAEL = DUKE_UNIQUE_IDS["former_staff_with_loans"]


def now(alma: AlmaClient, user_id: str) -> Any:
    """The record as Alma holds it now, without what Alma fills in by itself."""
    return comparable(alma.users.get(user_id).to_alma())


@pytest.fixture
def jane(alma: AlmaClient, policy: Policy, journal: Journal) -> MergePlan:
    """The alumna registered (needs_merge, merge_from jd123) and the merge of jd123 planned."""
    result = register_patron(alma, policy, netid_era_alumna(), today=TODAY, journal=journal)
    assert (result.outcome, result.merge_from) == ("needs_merge", JD123)
    return plan_merge(alma, JD123, JANE, policy=policy, today=TODAY)


@pytest.fixture
def rafael(alma: AlmaClient, policy: Policy, journal: Journal) -> MergePlan:
    """The former staff member registered (needs_merge, merge_from rm56) and the merge of rm56 planned."""
    result = register_patron(alma, policy, former_staff(), today=TODAY, journal=journal)
    assert (result.outcome, result.merge_from) == ("needs_merge", RM56)
    return plan_merge(alma, RM56, RAFAEL, policy=policy, today=TODAY)


def carried(plan: MergePlan) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in plan.carried:
        found.setdefault(item.segment, []).append(item.description)
    return found


# --- the plan -----------------------------------------------------------------------------------------


def test_the_alumna_plan_carries_what_to_lacks_and_says_why(jane: MergePlan, sandbox: Sandbox) -> None:
    assert (jane.from_id, jane.to_id, jane.policy) == (JD123, JANE, "duke")
    assert jane.segments == ["identifiers", "addresses", "emails", "phones", "notes", "statistics"]
    assert carried(jane) == {"identifiers": ["BARCODE DK250000123456"]}
    assert all(item.item["segment_type"] == "Internal" for item in jane.carried)
    assert all("copied as Internal" in item.reason for item in jane.carried)
    skipped = {item.description: item.reason for item in jane.skipped}
    assert "From's primary id jd123" in skipped["NET_ID jd123"]
    assert "policy's decision" in skipped["PATRON_TYPE PT_STUDENT"]
    assert skipped["jane.doe@alumni.duke.edu (school)"] == "To already has this email address"
    assert jane.moved_identifiers == ["DK250000123456"]
    assert jane.activity == []  # only a returned loan and a closed fee: nothing active
    assert not [w for w in writes(sandbox) if w[1].endswith(JD123) and w[0] != "PUT"], "planning writes nothing"


def test_the_final_records_never_carry_group_status_or_expiry(jane: MergePlan) -> None:
    final_to, to = jane.final_to, jane.to_record
    for field in ("user_group", "status", "expiry_date", "record_type", "account_type", "primary_id"):
        assert final_to.get(field) == to.get(field), field
    assert "DK250000123456" in [i["value"] for i in final_to["user_identifier"]]
    final_from = jane.final_from
    assert "DK250000123456" not in [i["value"] for i in final_from["user_identifier"]]
    assert final_from["status"]["value"] == "INACTIVE"
    assert final_from["expiry_date"] == jane.from_record["expiry_date"], "a merge never extends an expired account"
    assert final_from["user_note"][-1]["note_text"] == f"Merged into {JANE} on {TODAY.isoformat()} by alma-onelink"


def test_the_former_staff_plan_lists_each_loan_request_and_fee(rafael: MergePlan) -> None:
    kinds = [item.kind for item in rafael.activity]
    assert kinds == ["loan", "loan", "request", "fee"]
    loan = rafael.activity[0]
    assert loan.title
    assert loan.barcode
    assert loan.due_date is not None
    fee = rafael.activity[-1]
    assert (fee.type, fee.balance, fee.status) == ("OVERDUEFINE", 4.0, "ACTIVE")
    text = str(rafael)
    for item in rafael.activity:
        assert str(item) in text
    steps = "\n".join(rafael.ui_steps)
    assert "Admin > User Management > Merge Users" in steps
    assert f"From user: {RM56}" in steps
    assert f"To user: {RAFAEL}" in steps
    assert "untick every box" in steps
    assert "Copy all segments as internal" in steps
    assert "2 loans, 1 request and 1 fee" in steps
    assert carried(rafael)["notes"] == ['OTHER: "Employment ended 2026-10-01."']


def test_a_plan_reads_every_page_of_activity(alma: AlmaClient, sandbox: Sandbox, rafael: MergePlan) -> None:
    for _ in range(105):
        sandbox.users.add_loan(RM56)
    plan = plan_merge(alma, RM56, RAFAEL, today=TODAY)
    assert sum(1 for item in plan.activity if item.kind == "loan") == 107


def test_the_plan_reads_well_everywhere(jane: MergePlan) -> None:
    text = str(jane)
    assert text.startswith(f"Merge {JD123} (Jane Doe) into {JANE} (Jane Doe)")
    for part in ("Carried by the API", "Not carried", "Notes:", "What changes:", jane.token):
        assert part in text
    diff = jane.diff()
    assert f"From {JD123}:" in diff
    assert f"To {JANE}:" in diff
    assert "+ identifier BARCODE DK250000123456 [Internal]" in diff
    assert "- identifier BARCODE DK250000123456 [External]" in diff
    assert f"token={jane.token[:8]}…>" in repr(jane)
    html = jane._repr_html_()
    assert "<ol>" in html
    assert "&lt;" not in jane.headline()
    console = Console(file=io.StringIO(), width=200)
    console.print(jane)
    assert "Carried by the API" in console.file.getvalue()  # type: ignore[attr-defined]


def test_the_token_covers_the_plan_and_changes_with_it(jane: MergePlan, alma: AlmaClient, policy: Policy) -> None:
    assert len(jane.token) == 64
    assert int(jane.token, 16) >= 0
    assert jane.digest() == jane.token
    again = plan_merge(alma, JD123, JANE, policy=policy, today=TODAY)
    assert again.token == jane.token, "the same accounts and choices give the same plan"
    narrower = plan_merge(alma, JD123, JANE, policy=policy, today=TODAY, segments=["identifiers"])
    assert narrower.token != jane.token
    assert carried(narrower) == {"identifiers": ["BARCODE DK250000123456"]}


# --- apply -----------------------------------------------------------------------------------------


def test_the_alumna_merge_end_to_end(alma: AlmaClient, jane: MergePlan, journal: Journal) -> None:
    before_to = now(alma, JANE)
    result = apply_merge(alma, jane, confirm=jane.token, journal=journal, staff="jsmith", today=TODAY)
    assert result.outcome == "merged", result.reason
    assert not result.deleted
    assert result.ui_steps == jane.ui_steps
    to = alma.users.get(JANE)
    assert comparable(to.to_alma()) == comparable(jane.final_to)
    assert comparable(to.to_alma()) != before_to
    old = alma.users.get(JD123)
    assert old.status is not None
    assert old.status.value == "INACTIVE"
    assert old.user_note[-1].note_text == f"Merged into {JANE} on {TODAY.isoformat()} by jsmith"
    assert "DK250000123456" not in old.identifier_values()
    entries = journal.entries(registration=result.merge_id)
    assert [(e.action, e.target, e.result, e.operation) for e in entries] == [
        ("update", JD123, "done", "merge"),
        ("update", JANE, "done", "merge"),
        ("update", JD123, "done", "merge"),
    ]
    assert entries[0].before is not None
    assert comparable(entries[0].before) == comparable(jane.from_record)
    assert entries[1].before is not None
    assert comparable(entries[1].before) == comparable(jane.to_record)
    assert [e.staff for e in entries] == ["jsmith"] * 3
    assert result.journal_entries == [e.id for e in entries]
    assert [step.name for step in result.steps] == ["re-read", "take_identifiers", "carry", "mark"]
    assert journal.pending() == []
    assert "MERGED" in str(result)
    assert result.to_dict()["outcome"] == "merged"
    json.dumps(result.to_dict())


def test_a_merged_account_is_no_longer_waiting(
    alma: AlmaClient, jane: MergePlan, journal: Journal, policy: Policy
) -> None:
    apply_merge(alma, jane, confirm=jane.token, journal=journal, today=TODAY)
    again = register_patron(alma, policy, netid_era_alumna(), today=TODAY, journal=journal)
    assert again.outcome == "already_registered", again


def test_delete_source_deletes_an_old_account_with_no_activity(
    alma: AlmaClient, sandbox: Sandbox, jane: MergePlan, journal: Journal
) -> None:
    result = apply_merge(alma, jane, confirm=jane.token, journal=journal, delete_source=True, today=TODAY)
    assert (result.outcome, result.deleted) == ("merged", True)
    assert JD123 not in sandbox.users
    assert result.from_user is None
    assert result.ui_steps == [step for step in jane.ui_steps if step.startswith("If the old id")]
    assert journal.entries(registration=result.merge_id)[-1].action == "delete"


def test_delete_source_keeps_an_old_account_with_loans(
    alma: AlmaClient, sandbox: Sandbox, rafael: MergePlan, journal: Journal
) -> None:
    result = apply_merge(alma, rafael, confirm=rafael.token, journal=journal, delete_source=True, today=TODAY)
    assert (result.outcome, result.deleted) == ("merged", False)
    assert RM56 in sandbox.users
    assert "only Alma's UI merge can move" in result.reason
    assert "2 loans, 1 request, 1 fee" in result.reason
    assert result.ui_steps == rafael.ui_steps
    assert not any(e.action == "delete" for e in journal.entries(registration=result.merge_id))
    assert comparable(alma.users.get(RAFAEL).to_alma()) == comparable(rafael.final_to)


def test_activity_that_appears_after_the_plan_keeps_the_old_account(
    alma: AlmaClient, sandbox: Sandbox, jane: MergePlan, journal: Journal
) -> None:
    sandbox.users.add_loan(JD123)
    result = apply_merge(alma, jane, confirm=jane.token, journal=journal, delete_source=True, today=TODAY)
    assert (result.outcome, result.deleted) == ("merged", False)
    assert "holds 1 loan, which only Alma's UI merge can move" in result.reason


# --- the plan applied is the plan reviewed --------------------------------------------------------------


def test_a_wrong_token_is_refused_and_nothing_is_written(
    alma: AlmaClient, sandbox: Sandbox, jane: MergePlan, journal: Journal
) -> None:
    sandbox.clear_log()
    other = jane.token[:-1] + ("0" if jane.token[-1] != "0" else "1")
    for wrong, said in (
        ("", "no token was given"),
        (None, "no token was given"),
        (other, f"the token given is not this plan's token ({jane.token[:8]}…, 64 characters)"),
        (jane.token[:12], "the token given is shortened (12 of its 64 characters)"),
        (jane.token[:12] + "…", "the token given is shortened (12 of its 64 characters)"),
        (jane.token + ".", "the token given has characters after it"),
    ):
        with pytest.raises(MergeRefused) as caught:
            apply_merge(alma, jane, confirm=wrong, journal=journal)  # type: ignore[arg-type]
        [reason] = caught.value.reasons
        assert said in reason
        assert "the whole token" in reason
        assert "`alma-onelink merge apply PLAN --confirm TOKEN` (Python: confirm=plan.token)" in reason
        assert jane.token[:9] not in reason, "no preview long enough to be pasted back"
        assert "new token" in reason or "plan again" not in reason
    assert sandbox.request_log == []


def test_a_change_between_plan_and_apply_is_refused_naming_the_fields(
    alma: AlmaClient, sandbox: Sandbox, jane: MergePlan, journal: Journal
) -> None:
    with alma.users.edit(JANE) as user:
        user.job_description = "changed after the plan"
    sandbox.clear_log()
    with pytest.raises(MergeRefused, match=rf"To {JANE} changed since the plan was made \(job_description\)"):
        apply_merge(alma, jane, confirm=jane.token, journal=journal, today=TODAY)
    assert writes(sandbox) == []
    assert journal.entries(target=JD123)[-1].operation == "register", "no merge entry was written"


def test_an_account_deleted_between_plan_and_apply_is_refused(
    alma: AlmaClient, sandbox: Sandbox, jane: MergePlan, journal: Journal
) -> None:
    sandbox.users.delete(JD123)
    with pytest.raises(MergeRefused, match=rf"the From account {JD123} does not exist"):
        apply_merge(alma, jane, confirm=jane.token, journal=journal, today=TODAY)


def test_a_plan_saved_to_a_file_is_applied_from_it(
    alma: AlmaClient, jane: MergePlan, journal: Journal, tmp_path: Path
) -> None:
    path = tmp_path / "merge-jd123.json"
    path.write_text(jane.to_json(), encoding="utf-8")
    read = MergePlan.from_json(path.read_text(encoding="utf-8"))
    assert read.model_dump() == jane.model_dump()
    assert read.token == jane.token
    result = apply_merge(alma, read, confirm=jane.token, journal=journal, staff="jsmith", today=TODAY)
    assert result.outcome == "merged"
    assert comparable(alma.users.get(JANE).to_alma()) == comparable(jane.final_to)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda plan: plan["carried"][0]["item"].update(value="SOMEONE-ELSES-BARCODE"),
        lambda plan: plan.update(to_id="0123456"),
        lambda plan: plan["ui_steps"].append("Tick every box."),
        lambda plan: plan["final_to"].update(user_group={"value": "FACULTY"}),
        lambda plan: plan.update(force="trust me"),
    ],
    ids=["carried item", "to_id", "ui steps", "final record", "force"],
)
def test_a_tampered_plan_file_is_refused(jane: MergePlan, tamper: Any) -> None:
    data = json.loads(jane.to_json())
    tamper(data)
    with pytest.raises(MergeRefused, match="do not match its token"):
        MergePlan.from_json(json.dumps(data))


def test_a_plan_changed_in_memory_is_refused(alma: AlmaClient, jane: MergePlan, journal: Journal) -> None:
    jane.carried[0].item["value"] = "SOMEONE-ELSES-BARCODE"
    with pytest.raises(MergeRefused, match="do not match its token"):
        apply_merge(alma, jane, confirm=jane.token, journal=journal)


def test_a_file_that_is_not_a_plan_is_an_input_error() -> None:
    from alma_onelink.errors import InputError

    with pytest.raises(InputError, match="not a merge plan"):
        MergePlan.from_json('{"from_id": "jd123"}')


# --- undo --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delete_source", [False, True], ids=["kept", "deleted"])
def test_undo_after_apply_restores_both_records(
    alma: AlmaClient, jane: MergePlan, journal: Journal, delete_source: bool
) -> None:
    result = apply_merge(alma, jane, confirm=jane.token, journal=journal, delete_source=delete_source, today=TODAY)
    assert result.outcome == "merged"
    undone = undo_merge(alma, result.merge_id, journal=journal, staff="jsmith")
    expected = ["recreated", "put_back", "put_back", "put_back"] if delete_source else ["put_back"] * 3
    assert [r.outcome.value for r in undone] == expected
    assert now(alma, JD123) == comparable(jane.from_record)
    assert now(alma, JANE) == comparable(jane.to_record)
    assert journal.pending() == []
    with pytest.raises(RestoreError, match="undone already"):
        undo_merge(alma, result, journal=journal)


def test_undo_of_the_result_finds_its_journal(alma: AlmaClient, rafael: MergePlan, journal: Journal) -> None:
    result = apply_merge(alma, rafael, confirm=rafael.token, journal=journal, today=TODAY)
    undone = undo_merge(alma, result)  # the result names its journal
    assert [r.outcome.value for r in undone] == ["put_back"] * 3
    assert now(alma, RM56) == comparable(rafael.from_record)
    assert now(alma, RAFAEL) == comparable(rafael.to_record)


def test_undo_refuses_a_record_changed_since_the_merge(alma: AlmaClient, jane: MergePlan, journal: Journal) -> None:
    result: MergeResult = apply_merge(alma, jane, confirm=jane.token, journal=journal, today=TODAY)
    with alma.users.edit(JANE) as user:
        user.job_description = "changed after the merge"
    with pytest.raises(RestoreError, match=rf"{JANE} changed since the merge \(job_description\)"):
        undo_merge(alma, result, journal=journal)
    assert alma.users.get(JD123).status.value == "INACTIVE"  # type: ignore[union-attr]


def test_undo_of_an_unknown_merge_is_an_input_error(alma: AlmaClient, journal: Journal) -> None:
    from alma_onelink.errors import InputError

    with pytest.raises(InputError, match="No merge nope"):
        undo_merge(alma, "nope", journal=journal)
