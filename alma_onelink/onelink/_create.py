"""Steps 4-6 without a OneLink account: create it, moving the OneLink ID off an old account first.

Alma refuses a new account whose primary id another account holds as an identifier, so the
identifier is taken off the old account (journaled), the account is created (journaled), and if the
create fails the identifier is put back (journaled). The old account is then to be merged.

The create's intent is journaled before the move's completion: a run stopped anywhere from the
move's PUT to the create's completion leaves an entry pending, so settling it (``alma-onelink journal
settle``) finds the registration half-done when the OneLink ID is on no account.
"""

from __future__ import annotations

from alma_onelink.engine import JournalEntry, JournalError
from alma_onelink.engine._compare import same_value
from alma_onelink.engine._ops import CreateUser, GetUser, UpdateUser
from alma_onelink.engine._write import intent_for
from alma_onelink.errors import AlmaError, AlreadyExistsError
from alma_onelink.models import User
from alma_onelink.policy import EligibilityIssue, onelink_id_clash

from ._run import Procedure, Run, is_external, is_patron, unhappened
from ._verify import verify
from .result import Outcome

__all__ = ["new_account"]


def new_account(run: Run, old: User | None, older: list[User]) -> Procedure:
    """Create the OneLink account, first moving the OneLink ID off an old account that holds it (journaled).

    Ends ``created`` or ``needs_merge`` (`verify` checks the record Alma returned); a create that fails
    puts the identifier back on the old account, so the patron stays reachable by their ID; an outcome
    not known says so.
    """
    patron, trace = run.patron, run.trace
    onelink_id = patron.onelink_id
    merge_from = old.primary_id if old is not None else run.moved_from or (older[0].primary_id if older else None)
    outcome = Outcome.NEEDS_MERGE if merge_from else Outcome.CREATED
    if old is not None and is_external(old) and not any("EXTERNAL" in issue.message for issue in run.issues):
        run.issues.append(_external_warning(old, onelink_id))  # unless the policy already said so
    trace.begin(
        "decide",
        "Alma refuses a new account whose primary id another account holds as an identifier."
        if old is not None
        else "No account is the patron's OneLink account: create it.",
    )
    plan = (
        f"move OneLink ID {onelink_id} off {old.primary_id}, then create {onelink_id}"
        if old
        else f"create {onelink_id}"
    )
    trace.end(plan)

    if run.dry_run:
        if old is not None:
            trace.begin("move_identifier", f"Take identifier {onelink_id} off the old account {old.primary_id}.")
            trace.end(f"would update {old.primary_id}", "planned")
        trace.begin("create", "Create the account as the policy builds it.")
        trace.end(f"would create {onelink_id} (group {run.record.user_group})", "planned")
        return run.result(outcome, f"would {plan}", user=run.record, merge_from=merge_from)

    create = CreateUser(run.record)
    create_reason = f"create the OneLink account of {patron.full_name}"
    intended: JournalEntry | JournalError | None = None
    if old is not None:
        trace.begin(
            "move_identifier", f"Take identifier {onelink_id} off the old account {old.primary_id} (journaled)."
        )
        stripped = old.model_copy(deep=True)
        stripped.user_identifier = [i for i in old.user_identifier if not same_value(i.value, onelink_id)]
        moved = yield from run.write(
            UpdateUser(old.primary_id or "", stripped),
            target=old.primary_id or "",
            before=old,
            reason=f"take OneLink ID {onelink_id} off the old account so Alma accepts the new OneLink account",
            took_effect=lambda user: user is not None and onelink_id_clash(user, onelink_id) is None,
            then=intent_for(
                create, target=onelink_id, before=None, reason=create_reason, operation="register",
                registration=run.registration_id, staff=run.staff,
            ),
        )  # fmt: skip
        intended = moved.then
        if moved.result != "done":
            trace.end(f"the update of {old.primary_id} {unhappened(moved)}", "failed")
            return run.result(
                Outcome.FAILED,
                f"taking the OneLink ID off {old.primary_id} {unhappened(moved)}; no account was created",
                user=old,
                error=moved.error,
            )
        trace.end(f"{old.primary_id} no longer holds {onelink_id}")

    trace.begin("create", "Create the account as the policy builds it (primary id = OneLink ID, no password).")
    created = yield from run.write(
        create,
        target=onelink_id,
        before=None,
        reason=create_reason,
        took_effect=lambda user: (
            user is not None and same_value(user.primary_id, onelink_id) and is_patron(user, patron)
        ),
        intended=intended,
    )
    if created.result == "done":
        trace.end(f"created {onelink_id}")
        reason = f"created; merge {merge_from} into it" if merge_from else "created"
        return (yield from verify(run, created.user, run.record, outcome, reason, merge_from=merge_from))

    if isinstance(created.error, AlreadyExistsError):
        # Another registration of the same patron may have created it a moment ago: look before undoing.
        there: User | None = None
        try:
            there = yield GetUser(onelink_id)
        except AlmaError:
            there = None
        if there is not None and same_value(there.primary_id, onelink_id) and is_patron(there, patron):
            trace.end(f"{onelink_id} was created meanwhile by another registration of {patron.full_name}")
            return run.result(
                Outcome.NEEDS_MERGE if merge_from else Outcome.ALREADY_REGISTERED,
                "the OneLink account was created at the same time by another registration"
                + (f"; merge {merge_from} into it" if merge_from else ""),
                user=there,
                merge_from=merge_from,
            )
    trace.end(f"the create {unhappened(created)}", "failed")
    why = f"the create {unhappened(created)}"
    if old is None:
        return run.result(Outcome.FAILED, why, error=created.error)
    if created.result == "unknown":
        return run.result(
            Outcome.FAILED,
            f"{why}; OneLink ID {onelink_id} is off {old.primary_id}: once Alma answers, run the same registration "
            f"again: it reads GET /users/{onelink_id}, settles the create and finishes the registration (if the "
            f"patron is not to be registered after all, `alma-onelink journal restore {run.entries[0]}` puts the "
            f"identifier back on {old.primary_id})",
            user=old,
            error=created.error,
        )
    # The create did not happen: put the identifier back, so the patron stays reachable by their ID.
    trace.begin("restore_identifier", f"The create failed: put identifier {onelink_id} back on {old.primary_id}.")
    back = yield from run.write(
        UpdateUser(old.primary_id or "", old),
        target=old.primary_id or "",
        before=moved.user,
        reason=f"the create failed: put OneLink ID {onelink_id} back on the old account",
        took_effect=lambda user: user is not None and onelink_id_clash(user, onelink_id) is not None,
        put_back=True,
    )
    if back.result == "done":
        trace.end(f"{old.primary_id} holds {onelink_id} again")
        return run.result(
            Outcome.FAILED, f"{why}; the identifier was put back on {old.primary_id}", user=old, error=created.error
        )
    trace.end(f"putting it back {unhappened(back)}", "failed")
    return run.result(
        Outcome.FAILED,
        f"{why}, and putting OneLink ID {onelink_id} back on {old.primary_id} {unhappened(back)}: restore journal "
        f"entry {run.entries[0]} (alma-onelink journal restore {run.entries[0]})",
        user=old,
        error=created.error,
    )


def _external_warning(old: User, onelink_id: str) -> EligibilityIssue:
    source = old.external_id or "an external system"
    return EligibilityIssue.warn(
        "external_identifier_moved",
        f"The old account {old.primary_id} is EXTERNAL (loaded from {source}): a later load from {source} may put "
        f"OneLink ID {onelink_id} back on it, and Alma would then refuse the load or hold the ID twice.",
        f"Ask the {source} administrators to drop {onelink_id} from that account's feed, or merge {old.primary_id} "
        "into the new account before the next load; check the new account signs in after that load.",
    )
