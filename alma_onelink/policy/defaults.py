"""The in-tree default policy: generic answers every policy starts from.

Registered first and marked ``trylast``, so any institution or add-on plugin that answers wins.
On its own (``load_policy("default")``) it is a usable policy for a library without special rules.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Sequence
from datetime import date
from typing import Final

from alma_onelink.errors import InputError
from alma_onelink.models import Code, User, UserNote, UserStatistic

from .hookspecs import hookimpl
from .types import Affiliation, EligibilityIssue, Patron, add_months

__all__ = [
    "FORMER_PATRON_TYPES",
    "GROUPS",
    "PATRON_TYPES",
    "PATRON_TYPE_CATEGORY",
    "PURGE_GRACE_MONTHS",
    "VALIDITY_MONTHS",
]

VALIDITY_MONTHS: Final = 12
"""Accounts last a year; peers renew yearly."""

PURGE_GRACE_MONTHS: Final = 12
"""The purge date is a year after expiry, time for a lapsed patron to renew."""

PATRON_TYPE_CATEGORY: Final = "PATRON_TYPE"

GROUPS: Final[dict[str, str]] = {"alumni": "ALUM"}
"""Affiliation code → Alma user group; every other affiliation gets ``PUBLIC``."""

DEFAULT_GROUP: Final = "PUBLIC"

PATRON_TYPES: Final[dict[str, str]] = {
    "alumni": "PT_ALUMNI",
    "community": "PT_COMMUNITY",
    "reciprocal": "PT_VISITOR",
}
"""Affiliation code → "Patron type" statistic category; others get ``PT_`` + the code in capitals."""

FORMER_PATRON_TYPES: Final[dict[str, str]] = {
    "faculty": "PT_FORMER_FACULTY",
    "staff": "PT_FORMER_STAFF",
    "sponsored": "PT_FORMER_SPONSORED",
}
"""Prior role → "Patron type" of a former affiliate."""

AFFILIATIONS: Final[tuple[Affiliation, ...]] = (
    Affiliation("alumni", "Alumni", ("graduated_on",), "Graduates of the institution."),
    Affiliation(
        "reciprocal",
        "Reciprocal borrower",
        ("home_institution",),
        "Borrowers from a partner library.",
    ),
    Affiliation(
        "former_affiliate",
        "Former faculty, staff or sponsored researcher",
        ("prior_role",),
        "People who have left the institution.",
    ),
    Affiliation("community", "Community borrower", (), "Members of the public with a borrowing card."),
)


@hookimpl(wrapper=True, trylast=True)
def alma_onelink_affiliations() -> Generator[None, list[Iterable[Affiliation]], list[Iterable[Affiliation]]]:
    # A wrapper so the generic list appears only when no other plugin offers any: an institution's
    # affiliations are exactly its own, not its own plus these.
    """Generic affiliations, offered only when no other plugin offers any."""
    offered = [list(each) for each in (yield)]
    if any(offered):
        return list(offered)
    return [AFFILIATIONS]


@hookimpl(trylast=True)
def alma_onelink_validate_onelink_id(onelink_id: str) -> str | None:
    """Object to blank ids and ids with spaces; any other format is the institution's call."""
    if not onelink_id.strip():
        return "the OneLink ID is blank: ask the patron to sign in to OneLink and read it off the page"
    if any(ch.isspace() for ch in onelink_id):
        return f"the OneLink ID {onelink_id!r} contains spaces; type it exactly as OneLink shows it"
    return None


@hookimpl(trylast=True)
def alma_onelink_patron_group(patron: Patron) -> Code | None:
    """``ALUM`` for alumni, ``PUBLIC`` for everyone else."""
    return Code(value=GROUPS.get(patron.affiliation, DEFAULT_GROUP))


@hookimpl(trylast=True)
def alma_onelink_patron_type(patron: Patron) -> UserStatistic | None:
    """The ``PATRON_TYPE`` statistic: by affiliation, and by prior role for former affiliates."""
    if patron.affiliation == "former_affiliate":
        category = FORMER_PATRON_TYPES.get(patron.prior_role or "")
        if category is None:
            raise InputError(
                f"A former affiliate's Patron type follows their prior_role ({', '.join(FORMER_PATRON_TYPES)}); "
                f"got {patron.prior_role!r}."
            )
    else:
        category = PATRON_TYPES.get(patron.affiliation, f"PT_{patron.affiliation.upper()}")
    return UserStatistic(category_type=Code(value=PATRON_TYPE_CATEGORY), statistic_category=Code(value=category))


@hookimpl(trylast=True)
def alma_onelink_expiry_date(today: date) -> date | None:
    """One year from today."""
    return add_months(today, VALIDITY_MONTHS)


@hookimpl(trylast=True)
def alma_onelink_purge_date(expiry: date) -> date | None:
    """One year after expiry."""
    return add_months(expiry, PURGE_GRACE_MONTHS)


@hookimpl(trylast=True)
def alma_onelink_eligibility(
    patron: Patron, existing: Sequence[User], affiliations: Sequence[Affiliation]
) -> list[EligibilityIssue]:
    """Generic checks: active NetID, unknown affiliation, missing facts, ids already in Alma."""
    issues: list[EligibilityIssue] = []
    if patron.has_active_netid:
        issues.append(
            EligibilityIssue.block(
                "active_netid",
                f"{patron.full_name} has an active NetID, so they sign in with it: "
                "an account for people without a NetID does not apply.",
                "Use their NetID-based account; come back once the NetID is deactivated.",
            )
        )
    offered = {a.code: a for a in affiliations}
    affiliation = offered.get(patron.affiliation)
    if affiliation is None:
        issues.append(
            EligibilityIssue.block(
                "unknown_affiliation",
                f"Affiliation {patron.affiliation!r} is not one this policy offers.",
                f"Choose one of: {', '.join(offered) or '(none offered)'}.",
            )
        )
    elif missing := affiliation.missing(patron):
        issues.append(
            EligibilityIssue.block(
                "missing_facts",
                f"{affiliation.label} needs {', '.join(missing)}, which the application leaves empty.",
                f"Ask the patron and fill in {', '.join(missing)}.",
            )
        )
    for user in existing:
        if user.primary_id and user.primary_id.casefold() == patron.onelink_id.casefold():
            issues.append(
                EligibilityIssue.warn(
                    "duplicate_primary_id",
                    f"Alma already has an account with primary id {user.primary_id} ({user}).",
                    "Open that account and update it instead of creating a second one.",
                )
            )
        elif patron.onelink_id in user.identifier_values():
            issues.append(
                EligibilityIssue.warn(
                    "identifier_in_use",
                    f"The account {user} already holds {patron.onelink_id} as an identifier; "
                    "Alma may refuse a new account whose primary id repeats it.",
                    "Remove the identifier from the old account, or merge it into the new one.",
                )
            )
    return issues


@hookimpl(trylast=True)
def alma_onelink_prepare_user(patron: Patron, user: User) -> None:
    """Keep the application's notes as an internal note on the record."""
    if patron.notes:
        user.user_note = [
            *user.user_note,
            UserNote(note_type=Code(value="OTHER"), note_text=patron.notes, user_viewable=False),
        ]
