"""Applying a merge plan: a generator of reads and journaled writes, no I/O (undoing it: ``_undo``).

Apply: re-read both accounts (refuse if either changed since the plan), then (1) take the moved
identifiers off From, (2) write To with the carried items, (3) mark From merged, (4) delete From
if asked and empty. Each write goes through `write` (journaled ahead, its lost answer read back). A
refused write rolls back what was written, newest first; a write whose outcome is unknown stops. A
write the journal could not take ahead is not sent, and counts as refused: what was written is
rolled back (without a journal line if need be); a completion line that could not be written is
said in ``journal_error``, and the merge goes on while the journal takes the next intent.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from alma_onelink.engine import Trace, comparable
from alma_onelink.engine._ops import DeleteUser, ListActivity, Op, UpdateUser
from alma_onelink.engine._write import JournalTrouble, Write, describe, write
from alma_onelink.errors import AlmaError
from alma_onelink.models import User

from ._carry import holds_carried, marked, with_carried, without_identifiers
from ._plan import MergeRules, build_plan, check_accounts, read_account
from ._types import MergeOutcome, MergePlan, MergeRefused, MergeResult
from ._ui import activity_summary, steps_after_delete

__all__ = ["applying", "changed_fields"]

Procedure = Generator[Op, Any, MergeResult]

_KINDS: tuple[Literal["loans", "requests", "fees"], ...] = ("loans", "requests", "fees")


def changed_fields(now: dict[str, Any], then: dict[str, Any]) -> list[str]:
    """The top-level fields that differ, ignoring what Alma fills in by itself (`comparable`)."""
    a, b = comparable(now), comparable(then)
    return sorted(key for key in set(a) | set(b) if a.get(key) != b.get(key))


@dataclass(slots=True)
class _Written:
    """A forward write of the merge that took effect: what to put back if a later one is refused."""

    entry_id: str
    target: str
    before: User
    after: User | None


@dataclass(slots=True)
class _Run:
    plan: MergePlan
    merge_id: str
    staff: str | None
    trace: Trace
    entries: list[str] = field(default_factory=list)
    written: list[_Written] = field(default_factory=list)
    records: dict[str, User | None] = field(default_factory=dict)
    journal: JournalTrouble = field(default_factory=JournalTrouble)

    def write(
        self,
        op: UpdateUser | DeleteUser,
        *,
        before: User,
        reason: str,
        took_effect: Callable[[User | None], bool],
        operation: str = "merge",
    ) -> Generator[Op, Any, Write]:
        """One journaled write; a journal line it could not write is noted for ``journal_error``."""
        forced = f" (forced: {self.plan.force})" if self.plan.force and operation == "merge" else ""
        done = yield from write(
            op,
            target=op.user_id,
            before=before,
            reason=reason + forced,
            operation=operation,
            registration=self.merge_id,
            staff=self.staff,
            took_effect=took_effect,
            entries=self.entries,
            put_back=operation == "merge_rollback",
        )
        if done.result == "done":
            self.records[op.user_id] = None if isinstance(op, DeleteUser) else (done.user or op.user)
        self.journal.note(done, f"the {op.method} of {op.user_id}")
        return done

    def result(self, outcome: MergeOutcome, reason: str, **fields: Any) -> MergeResult:
        plan = self.plan
        return MergeResult(
            outcome=outcome,
            plan=plan,
            reason=reason,
            merge_id=self.merge_id,
            steps=self.trace.steps,
            calls=self.trace.calls,
            journal_entries=self.entries,
            from_user=self.records.get(plan.from_id),
            to_user=self.records.get(plan.to_id),
            journal_error=self.journal.text(
                f"`alma-onelink merge undo {self.merge_id}` settles by reading Alma each write the journal lacks a "
                "line for (both accounts being as they were, it then finds nothing to undo)"
                if outcome is MergeOutcome.ROLLED_BACK
                else f"`alma-onelink journal pending` lists the writes the journal lacks a line for until a run reads "
                f"Alma for them: registering {plan.to_id} again does, and so does `alma-onelink merge undo "
                f"{self.merge_id}` if the merge is to be undone"
            ),
            **fields,
        )


def applying(
    plan: MergePlan,
    *,
    rules: MergeRules,
    delete_source: bool,
    staff: str | None,
    today: date,
    merge_id: str,
    trace: Trace,
) -> Procedure:
    """Apply ``plan`` (its token already confirmed). Raises `MergeRefused` if an account changed since the plan."""
    run = _Run(plan, merge_id, staff, trace)
    from_id, to_id = plan.from_id, plan.to_id
    trace.begin("re-read", "The plan applied must be the plan reviewed: read both accounts again.")
    reasons: list[str] = []
    try:
        from_now = yield from read_account(from_id, "From", reasons)
        to_now = yield from read_account(to_id, "To", reasons)
    except AlmaError as exc:
        trace.end(f"Alma could not answer: {describe(exc)}", "failed")
        return run.result(
            MergeOutcome.FAILED, f"Alma could not answer, so nothing was written: {describe(exc)}", error=exc
        )
    for role, now, then in (("From", from_now, plan.from_record), ("To", to_now, plan.to_record)):
        if now is not None and (changed := changed_fields(now.to_alma(), then)):
            reasons.append(
                f"{role} {now.primary_id} changed since the plan was made ({', '.join(changed)}): make a new plan "
                "and review it"
            )
    if not reasons and from_now is not None and to_now is not None:
        # The plan must follow from the accounts as they are: one edited to point elsewhere is refused
        # like a plan made for those accounts, and one edited in any other way no longer matches.
        refusals, mismatches = check_accounts(from_now, to_now, rules=rules, force=plan.force)
        reasons += refusals
        if not refusals:
            rebuilt = build_plan(
                from_now,
                to_now,
                rules=rules,
                segments=list(plan.segments),
                force=plan.force,
                mismatches=mismatches,
                activity=list(plan.activity),
                today=plan.planned_on,
            )
            if rebuilt.token != plan.token:
                reasons.append(
                    "the plan does not follow from the two accounts as they are: it was changed after it was made "
                    "(or made with other policy plugins); make a new plan and review it"
                )
    if reasons or from_now is None or to_now is None:
        trace.end("the plan does not hold for the accounts as they are", "failed")
        raise MergeRefused(reasons, what=f"Cannot apply the plan to merge {from_id} into {to_id}")
    run.records.update({from_id: from_now, to_id: to_now})
    trace.end(f"{from_id} and {to_id} are as planned")

    merging = f"merge {from_id} into {to_id}"
    moved = plan.moved_identifiers
    if moved:
        trace.begin("take_identifiers", "Alma lets one user only hold an identifier value: take them off From first.")
        stripped = without_identifiers(from_now, moved)
        done = yield from run.write(
            UpdateUser(from_id, stripped),
            before=from_now,
            reason=f"{merging}: take identifiers {', '.join(moved)} off {from_id} so {to_id} can hold them",
            took_effect=lambda user: (
                user is not None
                and not set(map(str.casefold, user.identifier_values())) & {value.casefold() for value in moved}
            ),
        )
        if done.result != "done":
            return (yield from _stop(run, done, f"taking identifiers {', '.join(moved)} off {from_id}"))
        run.written.append(_Written(done.entry_id, from_id, from_now, done.user))
        from_now = done.user or stripped
        trace.end(f"{from_id} no longer holds {', '.join(moved)}")

    trace.begin("carry", "Write To as re-read plus the carried items (GET → change → PUT, nothing lost).")
    if plan.carried:
        new_to = with_carried(to_now, plan.carried)
        done = yield from run.write(
            UpdateUser(to_id, new_to),
            before=to_now,
            reason=f"{merging}: add {len(plan.carried)} carried item(s) to {to_id}, as Internal segments",
            took_effect=lambda user: user is not None and holds_carried(user, plan.carried),
        )
        if done.result != "done":
            return (yield from _stop(run, done, f"writing {to_id} with the carried items"))
        run.written.append(_Written(done.entry_id, to_id, to_now, done.user))
        trace.end(
            f"{to_id} holds {len(plan.carried)} carried item(s): " + ", ".join(i.description for i in plan.carried)
        )
    else:
        trace.end("nothing to carry: To already has everything the chosen segments hold", "skipped")

    trace.begin("mark", "Mark From merged: a note saying into which account, when and by whom; INACTIVE; expiry today.")
    as_planned = User.from_alma(plan.from_record), User.from_alma(plan.to_record)
    note = rules.note(*as_planned, today=today, staff=staff, plan=plan)
    done_from = marked(from_now, note, today)
    done = yield from run.write(
        UpdateUser(from_id, done_from),
        before=from_now,
        reason=f"{merging}: mark {from_id} merged (note, INACTIVE, expiry {done_from.expiry_date})",
        took_effect=lambda user: (
            user is not None
            and user.status is not None
            and user.status.matches("INACTIVE")
            and any(n.note_text == note for n in user.user_note)
        ),
    )
    if done.result != "done":
        return (yield from _stop(run, done, f"marking {from_id} merged"))
    run.written.append(_Written(done.entry_id, from_id, from_now, done.user))
    from_now = done.user or done_from
    trace.end(f"{from_id}: INACTIVE, expires {done_from.expiry_date}, note “{note}”")

    summary = f"{len(plan.carried)} item(s) carried to {to_id}; {from_id} marked merged (INACTIVE)"
    if not delete_source:
        why = (
            f"{from_id} is kept, the merge being applied without --delete-source (Python: delete_source=False): "
            "Alma's UI merge moves its activity and history, then deletes it"
        )
        return run.result(MergeOutcome.MERGED, f"{summary}; {why}", ui_steps=list(plan.ui_steps))
    return (yield from _delete(run, from_now, summary))


def _delete(run: _Run, from_now: User, summary: str) -> Procedure:
    plan, trace = run.plan, run.trace
    from_id = plan.from_id
    trace.begin("delete", "Delete From only when it holds no loans, requests or fees (checked again now).")
    found: list[list[Any]] = []
    try:
        for kind in _KINDS:
            found.append((yield ListActivity(from_id, kind)))
    except AlmaError as exc:
        why = f"{from_id} is kept: its loans, requests and fees could not be checked ({describe(exc)})"
        trace.end(why, "failed")
        return run.result(MergeOutcome.MERGED, f"{summary}; {why}", ui_steps=list(plan.ui_steps))
    counts = [
        f"{len(items)} {kind[:-1] if len(items) == 1 else kind}"
        for items, kind in zip(found, _KINDS, strict=True)
        if items
    ]
    if counts:
        why = (
            f"{from_id} is kept: it holds {', '.join(counts)}, which only Alma's UI merge can move "
            f"(the plan listed {activity_summary(plan)})"
        )
        trace.end(why, "skipped")
        return run.result(MergeOutcome.MERGED, f"{summary}; {why}", ui_steps=list(plan.ui_steps))
    done = yield from run.write(
        DeleteUser(from_id),
        before=from_now,
        reason=f"merge {from_id} into {plan.to_id}: delete {from_id}, which holds no loans, requests or fees",
        took_effect=lambda user: user is None or (user.primary_id or "").casefold() != from_id.casefold(),
    )
    if done.result == "unknown":
        trace.end(f"the delete {_how(done)}", "failed")
        return run.result(
            MergeOutcome.FAILED,
            f"{summary}; whether {from_id} was deleted is unknown (Alma's answer was lost: {describe_error(done)}): "
            f"check journal entry {done.entry_id}: GET /users/{from_id} says whether it still exists",
            ui_steps=list(plan.ui_steps),
            error=done.error,
        )
    if not done.sent:
        why = (
            f"{from_id} is kept: the delete {_how(done)}, so nothing was sent. The merge itself stands ({from_id} is "
            f"marked merged into {plan.to_id}, INACTIVE). Free space on the journal's disk or fix its permissions (or "
            f"give another journal with --journal); then `alma-onelink merge apply` of this plan with --delete-source, "
            f"run again, sends only the delete; or delete {from_id} with Alma's UI merge (the steps below); or undo "
            f"the merge (`alma-onelink merge undo {run.merge_id}`)"
        )
        trace.end(f"the delete {_how(done)}", "failed")
        return run.result(MergeOutcome.MERGED, f"{summary}; {why}", ui_steps=list(plan.ui_steps), error=done.error)
    if done.result != "done":
        why = f"{from_id} is kept: Alma refused the delete ({describe_error(done)})"
        trace.end(why, "failed")
        return run.result(MergeOutcome.MERGED, f"{summary}; {why}", ui_steps=list(plan.ui_steps), error=done.error)
    trace.end(f"deleted {from_id}")
    return run.result(
        MergeOutcome.MERGED, f"{summary}; {from_id} deleted", ui_steps=steps_after_delete(plan), deleted=True
    )


def describe_error(done: Write) -> str:
    return describe(done.error) if done.error is not None else "no error recorded"


def _how(done: Write) -> str:
    if not done.sent:
        trouble = done.journal_error
        where = (
            f" {trouble.path} could not be written ({trouble.cause})"
            if trouble is not None
            else " could not be written"
        )
        return f"was not sent to Alma: the journal{where}"
    if done.result == "unknown":
        return f"may or may not have happened (journal entry {done.entry_id})"
    return f"was refused: {describe_error(done)}"


def _restores(run: _Run) -> str:
    ids = [written.entry_id for written in reversed(run.written) if written.entry_id]
    each = "; ".join(f"`alma-onelink journal restore {entry_id}`" for entry_id in ids)
    return f"restore journal entries {', '.join(ids)} in that order ({each})"


def _stop(run: _Run, failed: Write, what: str) -> Procedure:
    """After a write that did not take effect: roll back what was written; after an unknown one: stop."""
    trace, plan = run.trace, run.plan
    trace.end(f"{what} {_how(failed)}", "failed")
    if failed.result == "unknown":
        earlier = f" The merge's earlier writes: {_restores(run)} to put them back." if run.written else ""
        return run.result(
            MergeOutcome.FAILED,
            f"{what} may or may not have happened (Alma's answer was lost: {describe_error(failed)}), so the merge "
            f"stopped without guessing. Check journal entry {failed.entry_id} first: read the account in Alma and "
            f"compare it with the entry's record before; or, once Alma answers, `alma-onelink merge undo "
            f"{run.merge_id}` settles it by reading Alma and puts both accounts back.{earlier}",
            ui_steps=list(plan.ui_steps),
            error=failed.error,
        )
    refused = f"{what} {_how(failed)}" if not failed.sent else f"{what} was refused ({describe_error(failed)})"
    if not run.written:
        return run.result(
            MergeOutcome.ROLLED_BACK,
            f"{refused}; nothing had been written: both accounts are as they were",
            error=failed.error,
        )
    trace.begin("roll_back", "A write was refused: put back what the merge wrote, newest first, as journaled before.")
    while run.written:
        written = run.written[-1]
        back = yield from run.write(
            UpdateUser(written.target, written.before),
            before=written.after or written.before,
            reason=f"roll back merge {run.merge_id}: put {written.target} back as journal entry {written.entry_id} "
            "found it",
            took_effect=_as(written.before),
            operation="merge_rollback",
        )
        if back.result != "done":
            trace.end(f"putting {written.target} back {_how(back)}", "failed")
            return run.result(
                MergeOutcome.FAILED,
                f"{refused}, and rolling back {written.target} {_how(back)}: {_restores(run)}",
                ui_steps=list(plan.ui_steps),
                error=failed.error,
            )
        run.written.pop()
    trace.end("both accounts are back as they were")
    return run.result(
        MergeOutcome.ROLLED_BACK,
        f"{refused}; what had been written was put back, newest first: both accounts are as they were",
        error=failed.error,
    )


def _as(record: User) -> Callable[[User | None], bool]:
    wanted = comparable(record.to_alma())
    return lambda user: user is not None and comparable(user.to_alma()) == wanted
