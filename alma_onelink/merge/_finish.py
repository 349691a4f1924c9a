"""Finishing a merge applied already whose delete of From (``--delete-source``) did not take effect.

A run killed (or stopped by a full disk) after marking From merged and before its delete leaves the
merge applied and From there, INACTIVE. Applying the plan again finds the merge in the journal; with
``--delete-source`` it sends only the delete, journaled under the merge's id like the rest.
"""

from __future__ import annotations

from typing import Any

from alma_onelink.engine import Trace
from alma_onelink.engine._write import describe
from alma_onelink.errors import AlmaError

from ._apply import Procedure, _delete, _Run, changed_fields
from ._plan import read_account
from ._types import MergeOutcome, MergePlan, MergeRefused

__all__ = ["finishing_delete"]


def finishing_delete(
    plan: MergePlan, merge_id: str, *, from_after: dict[str, Any] | None, staff: str | None, trace: Trace
) -> Procedure:
    """Delete From for merge ``merge_id`` of ``plan``, applied already but stopped before its delete took effect.

    Only the delete is sent, journaled under the merge's id (so ``merge undo`` re-creates From), after
    the same check of loans, requests and fees as applying makes. ``from_after`` is From as the
    merge's last write left it: From changed since (or gone) raises `MergeRefused`, nothing sent.
    """
    run = _Run(plan, merge_id, staff, trace)
    from_id = plan.from_id
    trace.begin("re-read", f"{from_id} must be as merge {merge_id} left it: read it again.")
    reasons: list[str] = []
    try:
        from_now = yield from read_account(from_id, "From", reasons)
    except AlmaError as exc:
        trace.end(f"Alma could not answer: {describe(exc)}", "failed")
        return run.result(
            MergeOutcome.FAILED, f"Alma could not answer, so nothing was sent: {describe(exc)}", error=exc
        )
    if from_now is not None:
        if from_after is not None:
            changed = changed_fields(from_now.to_alma(), from_after)
        else:
            changed = [] if from_now.status is not None and from_now.status.matches("INACTIVE") else ["status"]
        if changed:
            reasons.append(
                f"From {from_id} changed since merge {merge_id} marked it merged ({', '.join(changed)}), so it is not "
                "deleted: check it in Alma; delete it with Alma's UI merge if it is still to go"
            )
    if reasons or from_now is None:
        trace.end(f"{from_id} is not as the merge left it", "failed")
        raise MergeRefused(reasons, what=f"Cannot finish merge {merge_id} of {from_id} into {plan.to_id}")
    run.records[from_id] = from_now
    trace.end(f"{from_id} is as merge {merge_id} left it (marked merged, INACTIVE)")
    summary = (
        f"applied earlier as merge {merge_id} ({from_id} marked merged, INACTIVE), which stopped before the delete"
    )
    return (yield from _delete(run, from_now, summary))
