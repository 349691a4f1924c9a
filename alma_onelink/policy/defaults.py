"""The in-tree default policy: generic answers every policy starts from.

Registered first and marked ``trylast``, so any institution or add-on plugin that answers wins.
On its own (``load_policy("default")``) it is a usable policy for a library without special rules.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import date
from typing import Final

from alma_onelink.errors import InputError
from alma_onelink.models import Code, User, UserIdentifier, UserNote, UserStatistic

from ._facts import fact_label, facts_label
from .hookspecs import hookimpl
from .types import Affiliation, EligibilityIssue, Patron, add_months, onelink_id_clash

__all__ = [
    "DEFAULT_MERGE_SEGMENTS",
    "FORMER_PATRON_TYPES",
    "GROUPS",
    "MERGE_SEGMENTS",
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

MERGE_SEGMENTS: Final = ("identifiers", "addresses", "emails", "phones", "notes", "blocks", "statistics", "proxies")
"""The segments a merge can carry from the old account (From) to the new one (To), in Alma's UI order."""

DEFAULT_MERGE_SEGMENTS: Final = ("identifiers", "addresses", "emails", "phones", "notes", "statistics")
"""What Alma's Merge Users form ticks by default: contacts, identifiers, notes and statistics."""

_TERM: Final = {"account term": "a year from registration"}

AFFILIATIONS: Final[tuple[Affiliation, ...]] = (
    Affiliation("alumni", "Alumni", ("graduated_on",), "Graduates of the institution.", _TERM),
    Affiliation(
        "reciprocal",
        "Reciprocal borrower",
        ("home_institution",),
        "Borrowers from a partner library.",
        _TERM,
    ),
    Affiliation(
        "former_affiliate",
        "Former faculty, staff or sponsored researcher",
        ("prior_role",),
        "People who have left the institution.",
        {"former roles": ", ".join(FORMER_PATRON_TYPES), **_TERM},
    ),
    Affiliation("community", "Community borrower", (), "Members of the public with a borrowing card.", _TERM),
)


@hookimpl(wrapper=True, trylast=True)
def alma_onelink_affiliations() -> Generator[None, list[Sequence[Affiliation]], list[Sequence[Affiliation]]]:
    # A wrapper so the generic list appears only when no other plugin offers any: an institution's
    # affiliations are exactly its own, not its own plus these. Each answer is already a list: the
    # guard reads every plugin's answer once.
    """Generic affiliations, offered only when no other plugin offers any."""
    offered = yield
    return offered if any(offered) else [AFFILIATIONS]


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
                f"A former affiliate's Patron type follows {fact_label('prior_role')}, one of "
                f"{', '.join(FORMER_PATRON_TYPES)}; got {patron.prior_role!r}."
            )
    else:
        category = PATRON_TYPES.get(patron.affiliation, f"PT_{patron.affiliation.upper()}")
    return UserStatistic(category_type=Code(value=PATRON_TYPE_CATEGORY), statistic_category=Code(value=category))


@hookimpl(trylast=True)
def alma_onelink_expiry_date(today: date) -> date | None:
    """One year from today."""
    return add_months(today, VALIDITY_MONTHS)


@hookimpl(trylast=True)
def alma_onelink_timezone() -> str | None:
    """No institution time zone: ``Policy.today()`` uses the machine's local date."""
    return None


@hookimpl(trylast=True)
def alma_onelink_search_with_or() -> bool:
    """No: Alma does not document ``OR`` in a user search, so the workflow searches by email and by name apart."""
    return False


@hookimpl(trylast=True)
def alma_onelink_purge_date(expiry: date) -> date | None:
    """One year after expiry."""
    return add_months(expiry, PURGE_GRACE_MONTHS)


@hookimpl(trylast=True)
def alma_onelink_eligibility(
    patron: Patron, existing: Sequence[User], affiliations: Sequence[Affiliation], onelink_id_problem: str | None
) -> list[EligibilityIssue]:
    """Generic checks of the person: OneLink ID format, active NetID, affiliation, facts; warns of the ID in Alma."""
    issues: list[EligibilityIssue] = []
    if onelink_id_problem:
        issues.append(
            EligibilityIssue.block(
                "invalid_onelink_id",
                onelink_id_problem,
                "Have the patron sign in to OneLink and read the unique ID off the page.",
            )
        )
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
                f"{affiliation.label} needs {facts_label(missing)}, which the application leaves empty.",
                "Ask the patron and fill in what is missing.",
            )
        )
    issues += _id_clashes(patron, existing)
    return issues


def _id_clashes(patron: Patron, existing: Sequence[User]) -> list[EligibilityIssue]:
    """Warn about accounts that already hold the OneLink ID, naming the workflow step that handles each.

    Alma keeps primary ids and identifier values unique across users (ignoring case), so it would
    refuse a new account whose primary id, the OneLink ID, an existing account already holds. The
    OneLink registration workflow deals with such accounts itself, so eligibility stays about the
    person and these are warnings, never blocks: an account whose primary id is the OneLink ID
    (``account_exists``) is updated or reported as already registered; the workflow takes the ID off
    an older account holding it as an identifier (``identifier_in_use``), creates the new account
    and reports ``needs_merge``. An institution plugin rewords either by reporting its code.

    Each concerns only the outcomes it explains (``applies_to``): ``account_exists`` a renewal, as an
    already registered patron needs no warning that their account exists; ``identifier_in_use`` the
    move and its failure, never a blocked registration, which writes nothing.
    """
    issues: list[EligibilityIssue] = []
    for user in existing:
        clash = onelink_id_clash(user, patron.onelink_id)
        if clash is None:
            continue
        if clash.kind == "account_exists":
            issues.append(
                EligibilityIssue.warn(
                    "account_exists",
                    f"An Alma account with primary id {user.primary_id} already exists ({_names(user)}): the "
                    "OneLink workflow updates that account (user group, Patron type, expiry) instead of creating "
                    "a new one, or reports it as already registered.",
                    f"Check that account {user.primary_id} is this patron's: its names ({_names(user)}) should "
                    f"be those of {patron.full_name}. The workflow itself refuses to take over an account that "
                    "belongs to someone else.",
                    applies_to=("renewed",),
                )
            )
            continue
        issues.append(_identifier_in_use(patron, user, clash.identifiers))
    return issues


def _identifier_in_use(patron: Patron, user: User, held: Sequence[UserIdentifier]) -> EligibilityIssue:
    account = user.primary_id or "(no primary id)"
    which = " and ".join(f"{_id_type(ident)} {ident.value}" for ident in held)
    noun = "identifier" if len(held) == 1 else "identifiers"
    message = (
        f"The Alma account {account} ({_names(user)}) holds the OneLink ID {patron.onelink_id} as {noun} {which}. "
        f"Registering takes the {noun} off that account and creates the new account (putting the {noun} back if "
        "the create fails); the old account is then merged into the new one."
    )
    if user.account_type is not None and user.account_type.matches("EXTERNAL"):
        message += (
            f" Account {account} is EXTERNAL (loaded from {user.external_id or 'an external system'}): a later "
            f"load from that system may put the {noun} back; ask its administrators to drop the OneLink ID from "
            "that feed or check after the next load."
        )
    hint = (
        f"Check that account {account} is this patron's; nothing to remove by hand. Then have a fulfillment user "
        f"administrator merge {account} (From) into the OneLink account (To) (Alma: Admin > Merge Users; only "
        "accounts with no role but Patron can be merged; merging cannot be undone)."
    )
    if not user.is_patron_only:
        hint += f" Account {account} holds roles besides Patron: remove them before the merge."
    return EligibilityIssue.warn("identifier_in_use", message, hint, applies_to=("needs_merge", "failed"))


def _names(user: User) -> str:
    return user.display_name or "no name on record"


def _id_type(ident: UserIdentifier) -> str:
    return ident.id_type.value if ident.id_type is not None and ident.id_type.value else "(no type)"


@hookimpl(trylast=True)
def alma_onelink_prepare_user(patron: Patron, user: User) -> None:
    """Keep the application's notes as an internal note on the record."""
    if patron.notes:
        user.user_note = [
            *user.user_note,
            UserNote(note_type=Code(value="OTHER"), note_text=patron.notes, user_viewable=False),
        ]


@hookimpl(trylast=True)
def alma_onelink_merge_segments() -> list[str]:
    """Alma's UI defaults: identifiers, addresses, emails, phones, notes and statistics (no blocks, no proxies)."""
    return list(DEFAULT_MERGE_SEGMENTS)


@hookimpl(trylast=True)
def alma_onelink_merge_veto(from_user: User, to_user: User) -> str | None:
    """Veto merging a linked account: a copy of another institution's user is merged at that institution."""
    linked = [
        f"{role} {user.primary_id} is a linked copy of a user of {user.source_institution_code}"
        for role, user in (("From", from_user), ("To", to_user))
        if user.source_institution_code
    ]
    if not linked:
        return None
    return "; ".join(linked) + ": merge the accounts at their home institution, where their activity lives."


@hookimpl(trylast=True)
def alma_onelink_merge_note(to_user: User, today: date, staff: str | None) -> str:
    """``"Merged into <To> on <today> by <staff>"`` (``alma-onelink`` when no staff member is named)."""
    return f"Merged into {to_user.primary_id} on {today.isoformat()} by {staff or 'alma-onelink'}"
