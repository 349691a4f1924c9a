"""Step 7: verify the account Alma holds, as the patron's login would find it (the procedure: have the patron test it).

The record checked is the one Alma returned for the write: the answer to the ``POST`` or ``PUT``,
or, when that answer was lost, the record the client read back to learn that the write took effect
(``resources/_writes.py``). Alma answers a write with the record it saved, so reading it once more
would only repeat that answer; only a write that returned no record is read back here.
"""

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


def verify(
    run: Run, saved: User | None, expected: User, outcome: Outcome, reason: str, *, merge_from: str | None = None
) -> Procedure:
    """Check the record Alma saved (``saved``) against what was written (``expected``); ends the registration.

    Checked: the primary id is the OneLink ID, the group, the Patron type, the expiry date, and that
    no password is set. A difference makes the outcome ``failed`` (staff fix the account before the
    patron signs in). Without ``saved`` the account is read back by the OneLink ID; a read that
    fails keeps the outcome, with a ``not_verified`` warning saying to look it up.
    """
    patron, trace = run.patron, run.trace
    policy = run.policy
    trace.begin(
        "verify",
        "The procedure: have the patron test their account. Check the record Alma saved: a login finds it by "
        "the OneLink ID, its primary id.",
    )
    got = saved
    if got is None:
        try:
            got = yield GetUser(patron.onelink_id)
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
                f"its primary id is {got.primary_id}, not the OneLink ID {patron.onelink_id}",
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
            f"{reason}, but the account Alma saved shows: {'; '.join(wrong)}. "
            "Fix the account in Alma before the patron signs in",
            user=got,
            merge_from=merge_from,
        )
    trace.end(
        f"{got.primary_id}: group {got.user_group}, Patron type {patron_type.statistic_category}, "
        f"expires {day(got.expiry_date)}"
    )
    return run.result(outcome, reason, user=got, merge_from=merge_from)
