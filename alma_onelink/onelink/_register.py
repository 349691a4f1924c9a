"""The OneLink procedure, written once: a generator of reads and writes that both drivers run.

Check → find the accounts → eligibility → decide → write (journaled ahead) → verify → what to
tell the patron. The generator never does I/O: it yields `Op`s and receives their results, or has
the SDK's error thrown in. See ``docs/onelink.md`` for the procedure paragraph each step implements.

This module holds the check and the order of the steps; each step lives in its own module below it:
``_find`` (settle an earlier run, find the accounts), ``_renew`` (an existing OneLink account),
``_create`` (a new one, moving the OneLink ID off an old account), ``_verify``, ``_instructions``
(what to tell the patron, notes for staff), all on the state of ``_run``.
"""

from __future__ import annotations

from datetime import date

from alma_onelink.engine import JournalError, Trace
from alma_onelink.engine._write import describe, nothing_sent
from alma_onelink.errors import AlmaError, InputError
from alma_onelink.policy import EligibilityIssue, Patron, Policy, PolicyError

from ._create import new_account
from ._find import find_accounts, settle_earlier
from ._renew import existing_account
from ._run import Procedure, Run, is_patron
from .result import Outcome

__all__ = ["check_patron", "registration"]


def check_patron(policy: Policy, patron: Patron) -> None:
    """Step 1, before anything is read: the application is complete and the OneLink ID well-formed.

    Raises ``InputError`` naming what is wrong (a OneLink ID the policy refuses, an affiliation it
    does not offer, a required fact left empty). Whether the patron may have an account today (a
    lapsed gift, a recent graduate) is eligibility's to say, as a blocking issue: it is not checked here.
    """
    if not isinstance(patron, Patron):
        raise InputError(f"expected a Patron, got {type(patron).__name__}; build one with Patron(onelink_id=..., ...)")
    problem = policy.validate_onelink_id(patron.onelink_id)
    if problem:
        raise InputError(f"Cannot register {patron.full_name}: {problem}")
    affiliation = policy.affiliation(patron.affiliation)
    missing = affiliation.missing(patron)
    if missing:
        raise InputError(
            f"Cannot register {patron.full_name} as {affiliation.label}: fill in {', '.join(missing)} "
            "(the policy needs it to decide the account)."
        )


def registration(
    policy: Policy,
    patron: Patron,
    *,
    today: date,
    dry_run: bool,
    staff: str | None,
    registration_id: str,
    trace: Trace,
) -> Procedure:
    """The procedure for one patron. Raises ``InputError`` before any request for a bad application."""
    run = Run(policy, patron, today, dry_run, staff, registration_id, trace)
    trace.begin("check", "The application must be complete and the OneLink ID well-formed before Alma is asked.")
    check_patron(policy, patron)
    trace.end(
        f"OneLink ID {patron.onelink_id} is valid for the {policy.name!r} policy; {patron.affiliation} → group "
        f"{policy.patron_group(patron)}"
    )
    try:
        result = yield from _procedure(run)
    except (InputError, PolicyError):
        raise  # the application or the policy is at fault, not Alma
    except JournalError as exc:
        raise nothing_sent(exc) from exc  # only before the first write: after it, the result says what Alma holds
    except AlmaError as exc:
        # A read failed (a write's failure is handled where it happens): nothing was written after it.
        trace.end(f"Alma could not answer: {describe(exc)}", "failed")
        return run.result(
            Outcome.FAILED, f"Alma could not answer, so nothing more was done: {describe(exc)}", error=exc
        )
    return result


def _procedure(run: Run) -> Procedure:
    patron, trace = run.patron, run.trace
    onelink_id = patron.onelink_id

    yield from settle_earlier(run)

    # --- 2. find the patron's accounts --------------------------------------------------------
    found = yield from find_accounts(run)
    if found.user is not None and not is_patron(found.user, patron):
        other = found.user
        how = "primary id" if found.account is not None else "identifier"
        run.issues.append(
            EligibilityIssue.block(
                "onelink_id_taken",
                f"The Alma account {other.primary_id} holds OneLink ID {onelink_id} as its {how}, but it belongs to "
                f"{other.display_name or 'someone else'}, not {patron.full_name}: the OneLink ID was probably "
                "mistyped.",
                "Have the patron sign in to OneLink and read the unique ID shown; if it really is theirs (a "
                "changed name), a user administrator corrects the names on that account first.",
            )
        )
        trace.begin("eligibility", "A OneLink ID belongs to one person: an account of another name is never touched.")
        trace.end(f"blocked: {other.primary_id}, which holds this OneLink ID, is another person's", "failed")
        return run.result(Outcome.BLOCKED, "the OneLink ID is held by another person's account", user=other)

    # --- 3. eligibility ------------------------------------------------------------------------
    trace.begin("eligibility", "The policy decides who may have an account; it sees the accounts found.")
    existing = [c.user for c in run.candidates if c.acted_on]
    run.issues.extend(run.policy.eligibility(patron, existing=existing, today=run.today))
    blocking = [issue for issue in run.issues if issue.is_blocking]
    if blocking:
        trace.end(f"blocked: {', '.join(issue.code for issue in blocking)}", "failed")
        return run.result(Outcome.BLOCKED, "; ".join(issue.message for issue in blocking), user=found.user)
    warned = [issue.code for issue in run.issues]
    trace.end(f"eligible{' (staff to read: ' + ', '.join(warned) + ')' if warned else ''}")
    # Built only now: a policy answer that makes no sense today (an expiry not after it) was a block above.
    run.record = run.policy.build_user(patron, today=run.today)

    # --- 4-8. decide and act ---------------------------------------------------------------------
    if found.account is not None:
        return (yield from existing_account(run, found.account))
    older = [c.user for c in run.candidates if c.acted_on and c.user is not found.old]
    return (yield from new_account(run, found.old, older))
