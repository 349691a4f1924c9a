"""Step 7: verify, as the patron's login would find the account (the procedure: have the patron test it)."""

from __future__ import annotations

from alma_onelink.engine._compare import has_patron_type, same_value
from alma_onelink.engine._ops import GetUser
from alma_onelink.engine._write import describe
from alma_onelink.errors import AlmaError
from alma_onelink.models import User
from alma_onelink.policy import EligibilityIssue

from ._run import Procedure, Run, day, same_code
from .result import Outcome

__all__ = ["verify"]


def verify(run: Run, expected: User, outcome: Outcome, reason: str, *, merge_from: str | None = None) -> Procedure:
    """Read the account back by the OneLink ID and compare it with what was written; ends the registration.

    A difference makes the outcome ``failed`` (staff fix the account before the patron signs in); a
    read that fails keeps the outcome, with a ``not_verified`` warning saying to look it up.
    """
    patron, trace = run.patron, run.trace
    policy = run.policy
    trace.begin(
        "verify",
        "The procedure: have the patron test their account. Read it back by the OneLink ID, as a login finds it.",
    )
    try:
        got: User = yield GetUser(patron.onelink_id)
    except AlmaError as exc:
        run.issues.append(
            EligibilityIssue.warn(
                "not_verified",
                f"The account was written, but reading it back failed: {describe(exc)}",
                f"Look the account up in Alma (GET /users/{patron.onelink_id}) before the patron leaves.",
            )
        )
        trace.end("could not read the account back", "failed")
        return run.result(outcome, reason, user=expected, merge_from=merge_from)
    group = expected.user_group
    patron_type = policy.patron_type(patron)
    wrong = [
        why
        for why, hit in (
            (
                f"the OneLink ID finds {got.primary_id}, not {patron.onelink_id}",
                not same_value(got.primary_id, patron.onelink_id),
            ),
            (f"group is {got.user_group}, not {group}", not same_code(got.user_group, group)),
            (f"no Patron type {patron_type.statistic_category}", not has_patron_type(got, patron_type)),
            (
                f"expires {day(got.expiry_date)}, not {day(expected.expiry_date)}",
                got.expiry_date != expected.expiry_date,
            ),
            ("an Alma password is set (OneLink accounts have none)", bool(got.password)),
        )
        if hit
    ]
    if wrong:
        trace.end("Alma holds the account differently: " + "; ".join(wrong), "failed")
        return run.result(
            Outcome.FAILED,
            f"{reason}, but reading it back shows: {'; '.join(wrong)}. "
            "Fix the account in Alma before the patron signs in",
            user=got,
            merge_from=merge_from,
        )
    trace.end(
        f"{got.primary_id}: group {got.user_group}, Patron type {patron_type.statistic_category}, "
        f"expires {day(got.expiry_date)}"
    )
    return run.result(outcome, reason, user=got, merge_from=merge_from)
