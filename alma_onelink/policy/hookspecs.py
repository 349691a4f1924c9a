"""The hooks a policy plugin implements. Each is named after the question it answers.

Decisions are ``firstresult``: plugins are asked in order (institution plugins before the in-tree
defaults) and the first answer that is not ``None`` wins, so return ``None`` to let the next plugin
decide. Checks are collected from every plugin. Hooks are pure: they compute from their arguments,
never read files or call Alma, so one policy serves the sync and the async client alike.

Specs only ever grow by new optional arguments; an implementation takes just the arguments it needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Literal

import pluggy

from alma_onelink.models import Code, User, UserStatistic

from .types import Affiliation, EligibilityIssue, Patron

__all__ = [
    "PROJECT_NAME",
    "alma_onelink_affiliations",
    "alma_onelink_eligibility",
    "alma_onelink_expiry_date",
    "alma_onelink_links",
    "alma_onelink_merge_note",
    "alma_onelink_merge_segments",
    "alma_onelink_merge_veto",
    "alma_onelink_patron_group",
    "alma_onelink_patron_type",
    "alma_onelink_prepare_user",
    "alma_onelink_purge_date",
    "alma_onelink_search_with_or",
    "alma_onelink_timezone",
    "alma_onelink_unset_links",
    "alma_onelink_validate_onelink_id",
    "hookimpl",
    "hookspec",
]

PROJECT_NAME = "alma_onelink"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a function in this module as a hook specification."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a plugin function as the implementation of the hook of the same name.

Accepts pluggy's options: ``tryfirst``, ``trylast``, ``wrapper``, ``optionalhook``, ``specname``.
"""


@hookspec
def alma_onelink_affiliations() -> Iterable[Affiliation] | None:
    """The affiliations this plugin offers staff to choose from. **Collected.**

    Called by `Policy.affiliations()`, and before every eligibility check (which reports an
    affiliation nobody offers). The lists of all plugins are joined; when two plugins offer the
    same code, the plugin called first (the institution's, before the defaults) wins. The
    in-tree defaults offer generic affiliations only when no other plugin offers any.

    Returns:
        Affiliations (code, label, the `Patron` fields each needs), or `None` to offer none.
    """


@hookspec(firstresult=True)
def alma_onelink_validate_onelink_id(onelink_id: str) -> str | None:
    """Whether a OneLink ID has the institution's format. **firstresult.**

    Called by `Policy.validate_onelink_id()`, by every eligibility check and by
    `Policy.build_user()`. The first objection wins; the defaults object only to blank ids.

    Args:
        onelink_id: The id as typed, already stripped of surrounding spaces.

    Returns:
        A message saying what is wrong and what a valid id looks like, or `None` for no objection.
    """


@hookspec(firstresult=True)
def alma_onelink_patron_group(patron: Patron) -> Code | None:
    """The Alma user group (a `UserGroups` code) for this patron. **firstresult.**

    Called by `Policy.patron_group()` and `Policy.build_user()`, once the affiliation is known to
    be offered. Raise `InputError` when the patron's facts do not allow a decision.

    Returns:
        The group, e.g. `Code(value="ALUM")`, or `None` to let the next plugin decide.
    """


@hookspec(firstresult=True)
def alma_onelink_patron_type(patron: Patron) -> UserStatistic | None:
    """The "Patron type" user statistic for this patron. **firstresult.**

    Called by `Policy.patron_type()` and `Policy.build_user()`. The statistic needs both a
    `category_type` and a `statistic_category` from the institution's code tables.

    Returns:
        The statistic to put on the record, or `None` to let the next plugin decide.
    """


@hookspec(firstresult=True)
def alma_onelink_expiry_date(patron: Patron, today: date) -> date | None:
    """When the new account expires. **firstresult.**

    Called by `Policy.expiry_date()`, `Policy.build_user()` and `Policy.eligibility()`; `today` is
    the registration day. The defaults answer one year from `today`. An answer not after `today`
    (a membership that has run out) makes `Policy.eligibility()` block with
    `expiry_not_after_today` unless a plugin already blocks: say why in your own words with an
    eligibility issue of your own (Duke: `membership_lapsed`).

    Returns:
        The expiry date, or `None` to let the next plugin decide.
    """


@hookspec(firstresult=True)
def alma_onelink_purge_date(patron: Patron, expiry: date) -> date | Literal[False] | None:
    """When Alma's "Purge User Records" job may delete the account. **firstresult.**

    Called by `Policy.purge_date()` and `Policy.build_user()` with the expiry date already decided.
    A purge date before the expiry date is a plugin error. The defaults answer one year after expiry.

    Returns:
        The purge date; `NO_PURGE_DATE` (`False`) for none at all; `None` to let the next plugin decide.
    """


@hookspec
def alma_onelink_eligibility(
    patron: Patron,
    existing: Sequence[User],
    today: date,
    affiliations: Sequence[Affiliation],
    onelink_id_problem: str | None,
) -> Iterable[EligibilityIssue] | None:
    """What stands in the way of registering this patron. **Collected from every plugin.**

    Called by `Policy.eligibility()` before an account is created. When two plugins report the
    same issue code, the plugin called first wins, so an institution can refine a default check by
    reporting its code. The defaults report `onelink_id_problem` as the blocking issue
    `invalid_onelink_id`.

    Eligibility is about the person. The registration workflow handles Alma accounts that already
    hold the OneLink ID itself (it updates an account whose primary id is the OneLink ID; it moves
    the ID off an older account and reports `needs_merge`), so the defaults only warn about them
    (`account_exists`, `identifier_in_use`); a plugin should not block just because such an
    account exists either. A warning that concerns only some outcomes says which in its
    `applies_to` (the defaults' `account_exists` concerns `renewed`): a result keeps every issue
    and shows staff those that concern its outcome. Name the patron's facts as the command does
    (`fact_label`). When no plugin blocks, an expiry date not after `today` blocks as
    `expiry_not_after_today`: block first, in your own words, where your rules can lapse.

    Args:
        patron: The application.
        existing: The patron's Alma accounts that staff found (may be empty).
        today: The registration day; compare dates to it, never to the clock.
        affiliations: Every affiliation the loaded policy offers.
        onelink_id_problem: What `Policy.validate_onelink_id()` says is wrong with the patron's
            OneLink ID, or `None` when it has the institution's format. Optional: added later,
            like any new argument, so take it only if you need it.

    Returns:
        The issues found (empty or `None` when there are none).
    """


@hookspec
def alma_onelink_prepare_user(patron: Patron, user: User, today: date) -> None:
    """A last look at the new user record before it is created. **Every plugin.**

    Called by `Policy.build_user()` after the record holds the policy's decisions (primary id,
    names, contact details, group, Patron type, expiry and purge dates). Change `user` in place:
    add notes, identifiers, statistics.

    Once every implementation has run, `Policy.build_user()` raises `PolicyError` if the record
    has a password, or if its primary id, record type (`PUBLIC`), account type (`INTERNAL`),
    status (`ACTIVE`) or Patron type statistic differ from what the policy decided.

    Returns:
        `None`; the hook's effect is the change to `user`.
    """


@hookspec
def alma_onelink_links() -> Mapping[str, str] | None:
    """The web pages staff and patrons need, by key. **Collected.**

    Called by `Policy.links()`. Well-known keys: `onelink_registration`, `onelink_sign_in`,
    `self_service`, `my_account`. When two plugins give the same key, the plugin called first wins.

    Returns:
        Key → absolute URL, or `None` for none.
    """


@hookspec
def alma_onelink_unset_links() -> Mapping[str, str] | None:
    """The links this plugin could give but are not configured, and how to set each. **Collected.**

    Called by `Policy.unset_links()`, which lists every well-known link `Policy.links()` lacks
    (with a generic sentence) and every key reported here that no plugin gives. When two plugins
    explain the same key, the plugin called first wins. A link some plugin gives is never listed,
    whatever another says.

    Returns:
        Key → one sentence for staff: what the page is and how to set it (the setting and where it
        lives), or `None` when every link of this plugin is set.
    """


@hookspec(firstresult=True)
def alma_onelink_timezone() -> str | None:
    """The institution's time zone, an IANA name like ``"America/New_York"``. **firstresult.**

    Called by `Policy.today()`: registrations and renewals are dated by the institution's calendar,
    not the server's, so an account created at 11 pm in Durham is not dated tomorrow. The defaults
    answer ``None``: the machine's local time zone.

    Returns:
        An IANA time zone name, or `None` to let the next plugin decide.
    """


@hookspec(firstresult=True)
def alma_onelink_search_with_or() -> bool | None:
    """Whether the institution's Alma accepts ``OR`` in a user search. **firstresult.**

    Called by `Policy.search_with_or`, which the registration workflow reads when it looks for
    older accounts of a patron without a OneLink account. With `True`, the search by email and the
    search by name are one call, ``q=email~X OR last_name~B AND first_name~A`` (Alma's ``AND``
    binding tighter), so a new patron takes 3 calls instead of 4; the accounts found, and so every
    outcome, are the same either way. Alma does not document ``OR`` in a user search: answer `True`
    only once the institution's Alma has been seen to answer such a query with the users of both
    conditions. The defaults answer `False`.

    Returns:
        `True` or `False`, or `None` to let the next plugin decide.
    """


@hookspec(firstresult=True)
def alma_onelink_merge_segments(from_user: User, to_user: User) -> Iterable[str] | None:
    """Which segments of an old account a merge carries into the patron's OneLink account. **firstresult.**

    Called by `Policy.merge_segments()`, which `plan_merge` asks when it is given a policy and no
    ``segments=`` (an explicit ``segments=`` wins, as the boxes a user administrator ticks in
    Alma's Merge Users form do). Segment names: ``identifiers``, ``addresses``, ``emails``,
    ``phones``, ``notes``, ``blocks``, ``statistics``, ``proxies``. Whatever the answer, a merge
    never carries the user group, status, expiry date or record fields, deduplicates against what
    the OneLink account already has, and copies every segment as Internal (Alma's "copy all
    segments as internal": an External segment would be overwritten by the next feed load). The
    defaults answer Alma's UI defaults: identifiers, addresses, emails, phones, notes, statistics.

    Args:
        from_user: The old account (From), the full record as read from Alma.
        to_user: The account it is merged into (To), the patron's OneLink account.

    Returns:
        Segment names (a name not in the list above is a plugin error), or `None` to let the next
        plugin decide.
    """


@hookspec
def alma_onelink_merge_veto(from_user: User, to_user: User) -> str | None:
    """Why these two accounts must not be merged, if they must not. **Collected from every plugin.**

    Called by `Policy.merge_vetoes()`, which `plan_merge` asks before anything is written, after
    the checks every merge gets (both accounts exist, they are two accounts, From holds no role
    but Patron, To's primary id is a valid OneLink ID, names and birth dates match). Every veto is
    listed in the `MergeRefused` error; a veto cannot be overridden by ``force=``. The defaults
    veto merging a linked account (a copy of a user of another institution, which is merged there).

    Args:
        from_user: The old account (From), the full record as read from Alma.
        to_user: The account it is merged into (To), the patron's OneLink account.

    Returns:
        The reason, in words a user administrator acts on, or `None` for no objection.
    """


@hookspec(firstresult=True)
def alma_onelink_merge_note(from_user: User, to_user: User, today: date, staff: str | None) -> str | None:
    """The note a merge leaves on the old account it marks inactive. **firstresult.**

    Called by `Policy.merge_note()`: by `plan_merge` to show the old account's final state
    (``staff`` is then `None`), and by `apply_merge` when it marks From (a staff-only note, status
    INACTIVE, expiry today). When the merge was forced (``force=``), the merge appends
    ``"; merged although <fields> differ: <reason>"`` to the answer. The defaults answer
    ``"Merged into <To's primary id> on <today> by <staff>"`` (``alma-onelink`` without a staff name).

    Args:
        from_user: The old account (From), as read before the merge.
        to_user: The account it is merged into (To), as read before the merge.
        today: The day of the merge; never read the clock.
        staff: Who merges, as given to `apply_merge`, or `None`.

    Returns:
        The note text (at most 2000 characters, Alma's limit), or `None` to let the next plugin decide.
    """
