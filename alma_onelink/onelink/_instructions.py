"""What to tell the patron, and the notes for staff, once a registration has its outcome."""

from __future__ import annotations

from alma_onelink.policy import (
    LINK_MY_ACCOUNT,
    LINK_ONELINK_REGISTRATION,
    LINK_ONELINK_SIGN_IN,
    LINK_SELF_SERVICE,
    Policy,
)

from .result import Outcome, RegistrationResult

__all__ = ["telling"]


def telling(result: RegistrationResult, policy: Policy, links: dict[str, str]) -> tuple[list[str], list[str]]:
    """``(instructions, staff_notes)``: the lines for the patron, then those for staff alone.

    A blocked patron is told each blocking issue's way forward; a failed registration says nothing is
    ready. Otherwise the patron is told how to test the account (the procedure's last step) and the
    pages they may need; staff are told which accounts matched by name or email alone, and that the
    My Account address is missing when the policy leaves it unset (the patron is then told no address).
    """
    if result.outcome is Outcome.BLOCKED:
        return [issue.hint or issue.message for issue in result.blocking], []
    if result.outcome is Outcome.FAILED:
        return [f"Nothing is ready for the patron yet: {result.reason}."], []
    patron = result.patron
    lines: list[str] = []
    staff: list[str] = []
    # The procedure: "have the patron log in [to My Account] with their OneLink account and verify that it
    # loads". Only My Account shows the library account; OneLink's own sign-in page tests OneLink alone.
    my_account, sign_in = links.get(LINK_MY_ACCOUNT), links.get(LINK_ONELINK_SIGN_IN)
    where = f" at {my_account}" if my_account else ""
    lines.append(
        f"Sign in to the library's My Account{where} with your OneLink account (unique ID {patron.onelink_id}) "
        "and check that your account loads; no library password is needed."
    )
    if not my_account and (unset := policy.unset_links().get(LINK_MY_ACCOUNT)):
        staff.append(unset)
    if sign_in:
        lines.append(f"If the OneLink sign-in itself fails, test it at {sign_in}: it shows your unique ID.")
    if result.user is not None and result.user.expiry_date is not None:
        lines.append(f"Your library account is valid until {result.user.expiry_date.isoformat()}.")
    if registration := links.get(LINK_ONELINK_REGISTRATION):
        lines.append(f"No OneLink account yet, or unsure? Register or check at {registration}.")
    if self_service := links.get(LINK_SELF_SERVICE):
        lines.append(f"Forgot your OneLink password? Reset it at {self_service}.")
    if result.merge_from:
        lines.append(
            f"Your old library account ({result.merge_from}) will be merged into this one by a user administrator; "
            "your loans, requests and fees move with it."
        )
    maybe = [c.primary_id for c in result.candidates if not c.acted_on]
    if maybe:
        staff.append(f"Check whether {', '.join(maybe)} is also this patron's (matched by name or email only).")
    return lines, staff
