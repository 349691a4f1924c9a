"""A fault in the middle of `apply_merge`: what was written is rolled back, or the merge stops and says where.

Each test registers the alumna, plans the merge of jd123, then scripts the sandbox's faults for the
apply: GET jd123, GET 0456789 (the re-read), then PUT jd123 (identifiers off), PUT 0456789 (carry),
PUT jd123 (mark). A script entry is consumed by every request the gateway accepts, in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from alma_onelink.engine import comparable
from alma_onelink.merge import MergePlan, apply_merge, plan_merge, undo_merge
from alma_onelink.onelink import Journal, RestoreError, register_patron
from alma_onelink.policy import Policy
from alma_onelink.sandbox import Faults, Sandbox
from tests.onelink.conftest import TODAY, make_sandbox, netid_era_alumna, sync_client

JD123, JANE = "jd123", "0456789"
REREAD = [None, None]
OK = None


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with make_sandbox() as made:
        yield made


@pytest.fixture
def planned(sandbox: Sandbox, policy: Policy, journal: Journal) -> MergePlan:
    with sync_client(sandbox) as alma:
        register_patron(alma, policy, netid_era_alumna(), today=TODAY, journal=journal)
        return plan_merge(alma, JD123, JANE, policy=policy, today=TODAY)


def apply_with_faults(
    sandbox: Sandbox, plan: MergePlan, journal: Journal, script: list[str | None], **client: Any
) -> Any:
    sandbox.knobs.faults = Faults(script=script)
    with sync_client(sandbox, **client) as alma:
        result = apply_merge(alma, plan, confirm=plan.token, journal=journal, staff="jsmith", today=TODAY)
    assert sandbox.knobs.faults.remaining_script == 0, "the script was played to its end"
    sandbox.knobs.faults = Faults()
    return result


def as_planned(sandbox: Sandbox, plan: MergePlan) -> None:
    """Both accounts exactly as they were when the plan was made."""
    with sync_client(sandbox) as alma:
        assert comparable(alma.users.get(JD123).to_alma()) == comparable(plan.from_record)
        assert comparable(alma.users.get(JANE).to_alma()) == comparable(plan.to_record)


def lines(journal: Journal, merge_id: str) -> list[tuple[str, str, str, str | None]]:
    return [(e.target, e.action, e.result, e.operation) for e in journal.entries(registration=merge_id)]


def test_a_refused_second_put_rolls_the_first_back(sandbox: Sandbox, planned: MergePlan, journal: Journal) -> None:
    result = apply_with_faults(sandbox, planned, journal, [*REREAD, OK, "500"], max_retries=0)
    assert result.outcome == "rolled_back", result.reason
    assert "writing 0456789 with the carried items was refused (InternalServerError" in result.reason
    assert "both accounts are as they were" in result.reason
    as_planned(sandbox, planned)
    assert lines(journal, result.merge_id) == [
        (JD123, "update", "done", "merge"),
        (JANE, "update", "failed", "merge"),
        (JD123, "update", "done", "merge_rollback"),
    ]
    assert journal.pending() == []
    assert [step.status for step in result.steps][-2:] == ["failed", "done"]
    assert result.steps[-1].name == "roll_back"
    with pytest.raises(RestoreError, match="was rolled back"), sync_client(sandbox) as alma:
        undo_merge(alma, result, journal=journal)


def test_500s_outlasting_the_retries_roll_back_too(sandbox: Sandbox, planned: MergePlan, journal: Journal) -> None:
    result = apply_with_faults(sandbox, planned, journal, [*REREAD, OK, "500", OK, "500", OK, "500", OK, "500"])
    assert result.outcome == "rolled_back", result.reason
    as_planned(sandbox, planned)
    assert journal.pending() == []


def test_a_refused_mark_rolls_back_both_writes_newest_first(
    sandbox: Sandbox, planned: MergePlan, journal: Journal
) -> None:
    result = apply_with_faults(sandbox, planned, journal, [*REREAD, OK, OK, "503"], max_retries=0)
    assert result.outcome == "rolled_back", result.reason
    as_planned(sandbox, planned)
    assert lines(journal, result.merge_id)[2:] == [
        (JD123, "update", "failed", "merge"),
        (JANE, "update", "done", "merge_rollback"),
        (JD123, "update", "done", "merge_rollback"),
    ]


def test_a_refused_first_put_leaves_nothing_to_roll_back(
    sandbox: Sandbox, planned: MergePlan, journal: Journal
) -> None:
    result = apply_with_faults(sandbox, planned, journal, [*REREAD, "500"], max_retries=0)
    assert result.outcome == "rolled_back"
    assert "nothing had been written" in result.reason
    as_planned(sandbox, planned)
    assert lines(journal, result.merge_id) == [(JD123, "update", "failed", "merge")]


def test_a_lost_answer_is_read_back_and_the_merge_goes_on(
    sandbox: Sandbox, planned: MergePlan, journal: Journal
) -> None:
    result = apply_with_faults(sandbox, planned, journal, [*REREAD, OK, "commit_then_fail"], max_retries=0)
    assert result.outcome == "merged", result.reason
    with sync_client(sandbox) as alma:
        assert comparable(alma.users.get(JANE).to_alma()) == comparable(planned.final_to)
    assert [line[2] for line in lines(journal, result.merge_id)] == ["done", "done", "done"]


def test_an_unknown_outcome_stops_without_guessing_and_names_the_entry(
    sandbox: Sandbox, planned: MergePlan, journal: Journal
) -> None:
    result = apply_with_faults(sandbox, planned, journal, [*REREAD, OK, "500", "500", "500"], max_retries=0)
    assert result.outcome == "failed"
    entries = journal.entries(registration=result.merge_id)
    assert [(e.target, e.result) for e in entries] == [(JD123, "done"), (JANE, "unknown")]
    assert f"Check journal entry {entries[1].id} first" in result.reason
    assert f"restore journal entries {entries[0].id}" in result.reason
    assert not any(e.operation == "merge_rollback" for e in entries), "nothing is rolled back on a guess"
    assert journal.pending() == []
    assert result.ui_steps == planned.ui_steps


def test_a_failed_roll_back_says_which_entries_to_restore(
    sandbox: Sandbox, planned: MergePlan, journal: Journal
) -> None:
    # Carry refused (the SDK's read-back: not there); roll-back unknown (the SDK's check and the workflow's fail).
    script = [*REREAD, OK, "500", OK, "500", "500", "500"]
    result = apply_with_faults(sandbox, planned, journal, script, max_retries=0)
    assert result.outcome == "failed"
    first = journal.entries(registration=result.merge_id)[0]
    assert "rolling back jd123 may or may not have happened" in result.reason
    assert f"restore journal entries {first.id} in that order" in result.reason
    assert journal.pending() == []


def test_alma_unreachable_at_the_re_read_writes_nothing(sandbox: Sandbox, planned: MergePlan, journal: Journal) -> None:
    result = apply_with_faults(sandbox, planned, journal, ["503"], max_retries=0)
    assert result.outcome == "failed"
    assert "nothing was written" in result.reason
    assert result.journal_entries == []
    as_planned(sandbox, planned)


def test_a_refused_delete_keeps_the_merge(sandbox: Sandbox, planned: MergePlan, journal: Journal) -> None:
    sandbox.knobs.faults = Faults(script=[*REREAD, OK, OK, OK, OK, OK, OK, "500"])  # … 3 activity reads, then DELETE
    with sync_client(sandbox, max_retries=0) as alma:
        result = apply_merge(alma, planned, confirm=planned.token, journal=journal, delete_source=True, today=TODAY)
    assert (result.outcome, result.deleted) == ("merged", False)
    assert "jd123 is kept: Alma refused the delete" in result.reason
    assert result.ui_steps == planned.ui_steps
    with sync_client(sandbox) as alma:
        assert alma.users.get(JD123).status.value == "INACTIVE"  # type: ignore[union-attr]


def test_apply_checks_come_before_any_request(sandbox: Sandbox, planned: MergePlan, journal: Journal) -> None:
    from alma_onelink.errors import InputError

    sandbox.clear_log()
    with sync_client(sandbox) as alma:
        with pytest.raises(InputError, match="plan must be a MergePlan"):
            apply_merge(alma, planned.model_dump(), confirm=planned.token)  # type: ignore[arg-type]
        with pytest.raises(InputError, match="staff must be"):
            apply_merge(alma, planned, confirm=planned.token, staff="  ", journal=journal)
        with pytest.raises(InputError, match="today must be"):
            apply_merge(alma, planned, confirm=planned.token, today="2026-11-30", journal=journal)  # type: ignore[arg-type]
    assert sandbox.request_log == []
