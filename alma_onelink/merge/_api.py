"""The merge's public calls: plan_merge, apply_merge, undo_merge and their async twins."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from alma_onelink._limits import MAX_ID_LENGTH
from alma_onelink._text import describe, unsafe_characters
from alma_onelink.engine import (
    Journal,
    JournalEntry,
    JournalLike,
    Procedure,
    RestoreResult,
    Trace,
    check_staff,
    check_today,
    drive,
    drive_async,
    open_journal,
)
from alma_onelink.engine._inputs import check_client
from alma_onelink.errors import InputError
from alma_onelink.policy import Policy, load_policy

from ._apply import applying
from ._plan import MergeRules, check_force, check_segments, planning, token_refusal
from ._types import ActivityItem, MergeItem, MergeOutcome, MergePlan, MergeRefused, MergeResult
from ._undo import undoing

if TYPE_CHECKING:
    from alma_onelink import AlmaClient, AsyncAlmaClient

__all__ = [
    "ActivityItem",
    "MergeItem",
    "MergeOutcome",
    "MergePlan",
    "MergeRefused",
    "MergeResult",
    "aapply_merge",
    "aplan_merge",
    "apply_merge",
    "aundo_merge",
    "plan_merge",
    "undo_merge",
]


# --- plan ---------------------------------------------------------------------------------------------


def _plan_inputs(
    from_id: str,
    to_id: str,
    *,
    policy: Policy | None,
    segments: Iterable[str] | str | None,
    force: str | None,
    today: date | None,
) -> tuple[str, str, MergeRules, list[str] | None, str | None, date]:
    for role, value in (("FROM, the old account (Python: from_id)", from_id), ("TO (Python: to_id)", to_id)):
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{role} must be an account's primary id, like 'jd123'; got {value!r:.60}")
        if len(value.strip()) > MAX_ID_LENGTH:
            raise InputError(
                f"The account id given for {role} is {len(value.strip()):,} characters long (at most "
                f"{MAX_ID_LENGTH}): check the id, like 'jd123'"
            )
        found = unsafe_characters(value)
        if found:
            raise InputError(f"The account id given for {role} holds {describe(found)}: type the id only, like 'jd123'")
    if policy is not None and not isinstance(policy, Policy):
        raise InputError(f"policy must be a Policy from load_policy(...) or None; got {type(policy).__name__}")
    rules = MergeRules(policy)
    chosen = check_segments(segments)
    why = check_force(force)
    day = check_today(today)
    return from_id.strip(), to_id.strip(), rules, chosen, why, day if day is not None else rules.today()


def plan_merge(
    alma: AlmaClient,
    from_id: str,
    to_id: str,
    *,
    policy: Policy | None = None,
    segments: Iterable[str] | None = None,
    force: str | None = None,
    today: date | None = None,
) -> MergePlan:
    """Plan the merge of the old account ``from_id`` (From) into the OneLink account ``to_id`` (To); reads only.

    Reads both accounts and every active loan, request and fee of From, then decides item by item
    what the API carries to To (deduplicated, copied as Internal) and what only Alma's UI merge
    can move, with the UI steps left and both records as the merge leaves them.

    Args:
        alma: The client (`AlmaClient`); for `AsyncAlmaClient` use `aplan_merge`.
        from_id: From's primary id (``result.merge_from`` of a ``needs_merge`` registration).
        to_id: To's primary id, the patron's OneLink ID.
        policy: The institution's policy: it checks To's OneLink ID, may veto, chooses the segments
            and words the note on From. ``None``: the in-tree defaults' rules.
        segments: The segments to carry, like the boxes of Alma's Merge Users form: ``identifiers``,
            ``addresses``, ``emails``, ``phones``, ``notes``, ``blocks``, ``statistics``, ``proxies``.
            Default: the policy's answer (without a policy, Alma's UI defaults).
        force: Why the two are the same person although names or birth dates differ; goes into
            the journal and the note on From. Needed only then.
        today: The day of the plan; default: today in the policy's time zone.

    Returns:
        A `MergePlan`; apply it with ``apply_merge(alma, plan, confirm=plan.token)``.

    Raises:
        MergeRefused: listing every reason not to merge (an account missing, the same account,
            From with roles besides Patron, To not a OneLink ID, names or birth dates differing
            without ``force``, a policy veto).
        InputError: a bad argument (``alma`` not an `AlmaClient`, ``segments`` not segment names or an
            unknown one, a blank ``force``), before any request.
        AlmaError: Alma could not be read.
    """
    check_client(alma, asynchronous=False, call="plan_merge")
    source, target, rules, chosen, why, day = _plan_inputs(
        from_id, to_id, policy=policy, segments=segments, force=force, today=today
    )
    procedure = planning(source, target, rules=rules, segments=chosen, force=why, today=day)
    return drive(procedure, alma, journal=None, trace=Trace())


async def aplan_merge(
    alma: AsyncAlmaClient,
    from_id: str,
    to_id: str,
    *,
    policy: Policy | None = None,
    segments: Iterable[str] | None = None,
    force: str | None = None,
    today: date | None = None,
) -> MergePlan:
    """`plan_merge` for `AsyncAlmaClient`: the same procedure, arguments and plan."""
    check_client(alma, asynchronous=True, call="aplan_merge")
    source, target, rules, chosen, why, day = _plan_inputs(
        from_id, to_id, policy=policy, segments=segments, force=force, today=today
    )
    procedure = planning(source, target, rules=rules, segments=chosen, force=why, today=day)
    return await drive_async(procedure, alma, journal=None, trace=Trace())


# --- apply ----------------------------------------------------------------------------------------------


def _applying(
    plan: MergePlan,
    confirm: str,
    *,
    journal: JournalLike,
    delete_source: bool,
    staff: str | None,
    today: date | None,
) -> tuple[Procedure[MergeResult], Journal, Trace]:
    """The checked arguments of `apply_merge` as the procedure to drive, its journal and its trace."""
    if not isinstance(plan, MergePlan):
        raise InputError(
            f"plan must be a MergePlan from plan_merge(...) or MergePlan.from_json(...); got {type(plan).__name__}"
        )
    plan.verify()
    if not isinstance(confirm, str) or confirm.strip() != plan.token:
        raise MergeRefused(
            [token_refusal(plan.token, confirm)],
            what=f"Cannot apply the plan to merge {plan.from_id} into {plan.to_id}",
        )
    if not isinstance(delete_source, bool):
        # Never read as true: "no" or 0 deletes nothing only if it is said with False.
        raise InputError(
            f"Deleting From once merged is chosen with --delete-source (Python: delete_source=True or False); "
            f"got {delete_source!r}"
        )
    who = check_staff(staff)
    day = check_today(today)
    # The policy the plan was made with; read back from a file, it is loaded again by name.
    policy = plan._policy if plan._policy is not None else (load_policy(plan.policy) if plan.policy else None)
    rules = MergeRules(policy)
    opened = open_journal(journal)
    trace = Trace()
    procedure = applying(
        plan,
        rules=rules,
        delete_source=delete_source,
        staff=who,
        today=day if day is not None else rules.today(),
        merge_id=uuid.uuid4().hex,
        trace=trace,
    )
    return procedure, opened, trace


def apply_merge(
    alma: AlmaClient,
    plan: MergePlan,
    *,
    confirm: str,
    journal: JournalLike = None,
    delete_source: bool = False,
    staff: str | None = None,
    today: date | None = None,
) -> MergeResult:
    """Apply a reviewed `MergePlan`: carry its items to To, mark From merged; every write journaled.

    Re-reads both accounts and refuses if either changed since the plan. Then, each write
    journaled ahead with the record before (the backup): (1) take the moved identifiers off From,
    (2) write To as re-read plus the carried items, (3) mark From: the policy's note, INACTIVE,
    expiry today, (4) with ``delete_source=True`` delete From, only if it holds no loans,
    requests or fees (checked again). A write Alma refuses rolls back what was written, newest
    first (``rolled_back``); a write whose answer is lost and cannot be read back stops the merge
    (``failed``) and the result names the journal entry to check.

    Args:
        alma: The client (`AlmaClient`); for `AsyncAlmaClient` use `aapply_merge`.
        plan: The plan, from `plan_merge` or `MergePlan.from_json`.
        confirm: ``plan.token``: says the plan applied is the plan reviewed.
        journal: A `Journal` or its path; ``None`` for the default journal.
        delete_source: Delete From once merged, if it holds no activity; otherwise Alma's UI merge
            finishes the job (``result.ui_steps``).
        staff: Who merges, for the journal and the note on From.
        today: The day of the merge; default: today in the policy's time zone.

    Returns:
        A `MergeResult` whose ``outcome`` is ``merged``, ``rolled_back`` or ``failed``. If the journal
        cannot take a line once a write was made (a full disk, no permission), the result still
        says what Alma holds, and ``journal_error`` what the journal lacks and what to do: a write
        whose intent could not be journaled is not sent and counts as refused (what was written is
        rolled back, without a journal line if need be); a missing completion line is settled by
        ``alma-onelink merge undo`` reading Alma.

    Raises:
        MergeRefused: ``confirm`` is not the plan's token, the plan was changed after it was made,
            or an account changed since the plan; nothing is written.
        InputError: a bad argument, before any request.
        PolicyError: the plan's policy cannot be loaded (a plan read from a file loads it by name).
        JournalError: the journal could not be written before the first write; nothing was sent.
    """
    check_client(alma, asynchronous=False, call="apply_merge")
    procedure, opened, trace = _applying(
        plan, confirm, journal=journal, delete_source=delete_source, staff=staff, today=today
    )
    result = drive(procedure, alma, journal=opened, trace=trace)
    result.journal_path = opened.path
    return result


async def aapply_merge(
    alma: AsyncAlmaClient,
    plan: MergePlan,
    *,
    confirm: str,
    journal: JournalLike = None,
    delete_source: bool = False,
    staff: str | None = None,
    today: date | None = None,
) -> MergeResult:
    """`apply_merge` for `AsyncAlmaClient`: the same procedure, arguments and result."""
    check_client(alma, asynchronous=True, call="aapply_merge")
    procedure, opened, trace = _applying(
        plan, confirm, journal=journal, delete_source=delete_source, staff=staff, today=today
    )
    result = await drive_async(procedure, alma, journal=opened, trace=trace)
    result.journal_path = opened.path
    return result


# --- undo -----------------------------------------------------------------------------------------------


_MIN_PREFIX = 6
"""The fewest leading characters of a merge id that `undo_merge` takes for the whole id."""


def _merge_entries(
    merge: str | MergeResult, journal: JournalLike
) -> tuple[str, Journal, list[JournalEntry], list[JournalEntry]]:
    """The merge's id, its journal, its entries (oldest first) and the restore entries of them."""
    if isinstance(merge, MergeResult):
        merge_id, path = merge.merge_id, merge.journal_path
    elif isinstance(merge, str) and merge.strip():
        merge_id, path = merge.strip(), None
    else:
        raise InputError(
            f"give the merge id that merge apply printed (Python: result.merge_id, or the MergeResult); got {merge!r}"
        )
    opened = open_journal(journal if journal is not None else path)
    entries = opened.entries(registration=merge_id)
    if not entries and len(merge_id) >= _MIN_PREFIX:  # the first characters of the id, as journal entries take
        merges = {e.registration for e in opened.entries() if e.operation == "merge" and e.registration}
        found = sorted(m for m in merges if m.startswith(merge_id.casefold()))
        if len(found) > 1:
            raise InputError(f"{merge_id!r} starts more than one merge ({', '.join(found)}): give more of the id.")
        if found:
            merge_id = found[0]
            entries = opened.entries(registration=merge_id)
    if not entries:
        raise InputError(f"No merge {merge_id} in the journal {opened.path}: check the id and the journal.")
    ids = {entry.id for entry in entries}
    restores = [e for e in opened.entries() if e.operation == "restore" and e.registration in ids]
    return merge_id, opened, entries, restores


def undo_merge(
    alma: AlmaClient, merge: str | MergeResult, *, journal: JournalLike = None, staff: str | None = None
) -> list[RestoreResult]:
    """Undo an applied merge from the journal: each write restored, newest first (a deleted From re-created first).

    ``merge`` is ``result.merge_id`` (or its first 6+ characters) or the `MergeResult` (whose journal
    is then the default). A write whose outcome the journal does not know (the merge was killed
    between a write and its journal line, or Alma's answer was lost) is settled first by reading
    Alma, and the settlement journaled; then each write that took effect, and that neither the
    merge's roll-back nor an earlier undo put back, is restored (operation ``"restore"``, journaled).
    Afterwards none of the merge's entries is pending. Returns one `RestoreResult` per write
    restored, newest first; it stops at the first that fails (its ``reason`` says why).

    Raises:
        RestoreError: an account changed since the merge (or a deleted From exists again), there is
            nothing to undo (rolled back, undone already, or nothing written), or a write's outcome
            cannot be told (its account is gone); nothing is written to Alma.
        InputError: no such merge in the journal.
        JournalError: the journal could not be written; its message says what was restored before.
        AlmaError: Alma could not be read before anything was written.
    """
    check_client(alma, asynchronous=False, call="undo_merge")
    staff = check_staff(staff)
    merge_id, opened, entries, restores = _merge_entries(merge, journal)
    return drive(undoing(merge_id, entries, restores, staff=staff), alma, journal=opened, trace=Trace())


async def aundo_merge(
    alma: AsyncAlmaClient, merge: str | MergeResult, *, journal: JournalLike = None, staff: str | None = None
) -> list[RestoreResult]:
    """`undo_merge` for `AsyncAlmaClient`."""
    check_client(alma, asynchronous=True, call="aundo_merge")
    staff = check_staff(staff)
    merge_id, opened, entries, restores = _merge_entries(merge, journal)
    return await drive_async(undoing(merge_id, entries, restores, staff=staff), alma, journal=opened, trace=Trace())
