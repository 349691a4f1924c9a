"""What Duke's procedure says about the accounts Alma already holds for a patron.

A returning affiliate keeps the unique ID they had (`onelink_id_differs`); their older accounts are
merged into the new OneLink account once it exists (`merge_old_account`); an OneLink account whose
expiry lies far past what a registration gives today is pointed out (`expiry_beyond_term`), since
registering never shortens an account's time. Pure functions of the settings and the accounts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Final

from alma_onelink.models import User
from alma_onelink.policy import LINK_ONELINK_SIGN_IN, EligibilityIssue, Patron, add_months, onelink_id_clash

from .config import AffiliationConfig, DukeConfig, span

__all__ = ["TERM_SLACK_MONTHS", "UNIQUE_ID", "expiry_beyond_term", "months_after_or_last_day", "returning"]

UNIQUE_ID: Final = re.compile(r"^[0-9]{7}$")
"""The Duke Unique ID: 7 digits, leading zeros kept."""
_NEW_ACCOUNT: Final = ("created", "needs_merge")
"""The outcomes in which a new account exists for an old one to be merged into."""
_EXISTING_ACCOUNT: Final = ("renewed", "already_registered")
"""The outcomes that keep the OneLink account Alma holds (and its expiry date)."""
TERM_SLACK_MONTHS: Final = 12
"""How far past the date a registration gives an account may expire before staff are told (`expiry_beyond_term`)."""


def months_after_or_last_day(day: date, months: int) -> date:
    """``months`` after ``day``, or the last day there is (9999-12-31) if that would be later."""
    if day.year * 12 + day.month - 1 + months > date.max.year * 12 + date.max.month - 1:
        return date.max
    return add_months(day, months)


def returning(config: DukeConfig, patron: Patron, existing: Sequence[User]) -> list[EligibilityIssue]:
    """A returning affiliate's old accounts: a unique ID that differs (`onelink_id_differs`), accounts to merge
    into the new one (`merge_old_account`)."""
    issues = []
    id_type = config.codes.unique_id_type
    sign_in = config.links.get(LINK_ONELINK_SIGN_IN) or "the OneLink sign-in page"
    for user in existing:
        known = set(user.identifier_values(id_type))
        if user.primary_id and UNIQUE_ID.fullmatch(user.primary_id):
            known.add(user.primary_id)  # a OneLink-era account: its primary id is the unique ID
        for old in sorted(known - {patron.onelink_id}):
            issues.append(
                EligibilityIssue.warn(
                    "onelink_id_differs",
                    f"The old account {user} carries Duke Unique ID {old}, but the OneLink ID entered is "
                    f"{patron.onelink_id}; a returning affiliate keeps the unique ID they had.",
                    f"Have the patron sign in at {sign_in} and read the unique ID shown. A different one "
                    "may mean a second OneLink account: ask OIT to sort it out before going on.",
                )
            )
    clashes = [onelink_id_clash(user, patron.onelink_id) for user in existing]
    if any(clash is not None and clash.kind == "account_exists" for clash in clashes):
        # account_exists (the defaults' warning): the workflow updates that account or reports it as
        # already registered; no new one to merge into.
        return issues
    # An account holding the OneLink ID as an identifier gets identifier_in_use: the workflow moves
    # the identifier off it before creating the new account and reports needs_merge for it. The
    # other old accounts get merge_old_account.
    old_accounts = [user for user, clash in zip(existing, clashes, strict=True) if clash is None]
    if old_accounts:
        accounts = ", ".join(str(user) for user in old_accounts)
        hint = (
            "Once the new account exists, ask a fulfillment user administrator to merge the old account "
            "(From) into the new one (To) (Alma: Admin > Merge Users). Merging cannot be undone."
        )
        not_patron_only = [str(user) for user in old_accounts if not user.is_patron_only]
        if not_patron_only:
            hint += f" Alma merges only accounts whose one role is Patron: check {', '.join(not_patron_only)}."
        issues.append(
            EligibilityIssue.warn(
                "merge_old_account",
                f"{patron.full_name} also has {len(old_accounts)} older Alma account(s): {accounts}. After "
                "the new account is created, merge the old one(s) into it.",
                hint,
                applies_to=_NEW_ACCOUNT,  # no new account, nothing to merge into
            )
        )
    return issues


def expiry_beyond_term(
    patron: Patron, settings: AffiliationConfig, existing: Sequence[User], term_end: date
) -> list[EligibilityIssue]:
    """The OneLink account's expiry, when it is more than `TERM_SLACK_MONTHS` past ``term_end``, the date a
    registration gives today (`expiry_beyond_term`): registering keeps the later date, so staff are told.

    "Set an appropriate expiration date", says the procedure; 9999-12-31 often stands for "never".
    """
    horizon = months_after_or_last_day(term_end, TERM_SLACK_MONTHS)
    return [
        EligibilityIssue.warn(
            "expiry_beyond_term",
            f"The account {user.primary_id} expires on {user.expiry_date.isoformat()}, more than "
            f"{span(TERM_SLACK_MONTHS)} after the {term_end.isoformat()} a {settings.label} registration "
            "gives today; registering keeps the later date (it never shortens an account's time).",
            'If that date is a slip (9999-12-31 often stands for "never"), set the '
            f"date the procedure gives: alma-onelink user edit {user.primary_id} --set "
            f"expiry_date={term_end.isoformat()}.",
            applies_to=_EXISTING_ACCOUNT,
        )
        for user in existing
        if user.primary_id == patron.onelink_id and user.expiry_date is not None and user.expiry_date > horizon
    ]
