"""Steps 4-6 with a OneLink account: already registered, or renewed (group, Patron type, dates brought up to date)."""

from __future__ import annotations

from alma_onelink.engine._compare import has_patron_type, is_active, is_expired, with_patron_type
from alma_onelink.engine._ops import UpdateUser
from alma_onelink.models import Code, User

from ._find import interrupted
from ._run import Procedure, Run, day, is_external, same_code, unhappened
from ._verify import verify
from .result import Outcome

__all__ = ["existing_account"]


def existing_account(run: Run, account: User) -> Procedure:
    """Decide for the patron's OneLink account: nothing to do, or renew it (journaled), then verify."""
    policy, patron, trace = run.policy, run.patron, run.trace
    group = policy.patron_group(patron)
    patron_type = policy.patron_type(patron)
    stale = [
        why
        for why, hit in (
            (f"status {account.status}", not is_active(account)),
            (f"expired {day(account.expiry_date)}", is_expired(account, run.today)),
            (f"group {account.user_group} (the policy says {group})", not same_code(account.user_group, group)),
            (f"Patron type is not {patron_type.statistic_category}", not has_patron_type(account, patron_type)),
        )
        if hit
    ]
    merge_from = run.moved_from
    trace.begin("decide", "An account whose primary id is the OneLink ID is the patron's OneLink account.")
    if not stale:
        trace.end(f"{account.primary_id} is active, expires {day(account.expiry_date)}, group {group}: nothing to do")
        earlier = interrupted(run)
        if earlier is not None:
            # An earlier run made the write and stopped before it could say so: give the outcome it would have.
            made = "created" if earlier.action == "create" else "renewed"
            return run.result(
                Outcome.NEEDS_MERGE if merge_from else Outcome.CREATED if made == "created" else Outcome.RENEWED,
                f"{made} by an earlier registration whose journal line was missing (journal entry "
                f"{earlier.id}, settled now by reading Alma)" + (f"; merge {merge_from} into it" if merge_from else ""),
                user=account,
                merge_from=merge_from,
            )
        if merge_from:
            return run.result(
                Outcome.NEEDS_MERGE,
                f"the OneLink account exists and is up to date; {merge_from} is still to be merged into it",
                user=account,
                merge_from=merge_from,
            )
        return run.result(Outcome.ALREADY_REGISTERED, "the OneLink account exists and is up to date", user=account)
    trace.end(f"renew {account.primary_id}: {', '.join(stale)}")

    renewed = account.model_copy(deep=True)
    expiry = policy.expiry_date(patron, today=run.today)
    if account.expiry_date is not None and account.expiry_date > expiry and not is_expired(account, run.today):
        expiry = account.expiry_date  # a renewal never shortens the time the patron already has
    renewed.user_group = group
    with_patron_type(renewed, patron_type)
    renewed.expiry_date = expiry
    renewed.purge_date = policy.purge_date(patron, expiry=expiry)
    renewed.status = Code(value="ACTIVE")
    override = ("user_group",) if is_external(account) else ()
    trace.begin(
        "update", "Bring group, Patron type, expiry and purge date up to date (GET → change → PUT, nothing lost)."
    )
    if run.dry_run:
        trace.end(f"would update {account.primary_id}: group {group}, expires {day(expiry)}", "planned")
        return run.result(Outcome.RENEWED, f"would renew: {', '.join(stale)}", user=renewed, merge_from=merge_from)
    done = yield from run.write(
        UpdateUser(account.primary_id or patron.onelink_id, renewed, override),
        target=account.primary_id or patron.onelink_id,
        before=account,
        reason=f"renew the OneLink account of {patron.full_name}: {', '.join(stale)}",
        took_effect=lambda user: user is not None and same_code(user.user_group, group) and user.expiry_date == expiry,
    )
    if done.result != "done":
        trace.end(f"the update {unhappened(done)}", "failed")
        return run.result(Outcome.FAILED, f"the renewal {unhappened(done)}", user=account, error=done.error)
    trace.end(
        f"updated {account.primary_id}: group {group}, Patron type {patron_type.statistic_category}, "
        f"expires {day(expiry)}"
    )
    reason = f"renewed: {', '.join(stale)}"
    return (yield from verify(run, done.user, renewed, Outcome.RENEWED, reason, merge_from=merge_from))
