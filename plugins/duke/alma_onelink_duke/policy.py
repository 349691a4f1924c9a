"""Duke University Libraries' procedure for Alma accounts of people without an active NetID.

The procedure "Alma accounts for users without faculty, staff or student affiliation", as hooks:
who may register (eligibility), which group, Patron type and dates they get (from ``duke.toml``),
and the registration note on the record. ``Policy.build_user`` itself keeps the record internal,
public, active, with its Patron type, primary id = OneLink ID and no password.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from alma_onelink.errors import InputError
from alma_onelink.models import Code, User, UserNote, UserStatistic
from alma_onelink.policy import (
    LINK_DESCRIPTIONS,
    LINK_MY_ACCOUNT,
    NO_PURGE_DATE,
    Affiliation,
    EligibilityIssue,
    Patron,
    add_months,
    fact_label,
    facts_label,
    hookimpl,
)

from ._accounts import UNIQUE_ID, expiry_beyond_term, months_after_or_last_day, returning
from .config import LINK_KEYS, AffiliationConfig, DukeConfig, MonthDay, how_to_set, load_config, money, span

__all__ = ["DukePolicy"]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _not_before(day: date, months: int) -> date:
    """``months`` after ``day``; a day the month lacks (29 February) moves to the next month's 1st, not back."""
    end = add_months(day, months)
    return end + timedelta(days=1) if end.day < day.day else end


def _next_month_day(after: date, month_day: MonthDay) -> date:
    candidate = date(after.year, month_day.month, month_day.day)
    return candidate if candidate > after else date(after.year + 1, month_day.month, month_day.day)


class DukePolicy:
    """The Duke policy plugin, registered as ``duke`` in ``alma_onelink.policies``.

    Built with no arguments by ``load_policy("duke")``, it reads ``duke.toml`` and the file named
    by ``ALMA_ONELINK_DUKE_CONFIG``; pass ``config=`` to use settings of your own. Raises
    ``DukeConfigError`` for settings it cannot use.
    """

    def __init__(self, config: DukeConfig | None = None) -> None:
        self.config = config if config is not None else load_config()

    def __repr__(self) -> str:
        return f"DukePolicy(affiliations={list(self.config.affiliations)})"

    def _settings(self, patron: Patron) -> AffiliationConfig | None:
        return self.config.affiliations.get(patron.affiliation)

    # --- what is offered ---------------------------------------------------------------------

    @hookimpl
    def alma_onelink_affiliations(self) -> Sequence[Affiliation]:
        """Every affiliation in the settings, in their order."""
        return self.config.offered

    @hookimpl
    def alma_onelink_validate_onelink_id(self, onelink_id: str) -> str | None:
        """The OneLink ID is the 7-digit Duke Unique ID, leading zeros kept."""
        if UNIQUE_ID.fullmatch(onelink_id):
            return None
        got = f"got {onelink_id!r}"
        if onelink_id.isdigit() and len(onelink_id) < 7:
            got += f" ({len(onelink_id)} digits: was a leading zero dropped?)"
        # No flag named: the id is --onelink-id to register, but an argument of merge plan.
        return f"the OneLink ID must be 7 digits, like 0123456 (the Duke Unique ID, leading zeros kept); {got}"

    @hookimpl
    def alma_onelink_timezone(self) -> str:
        """Duke is in Durham, North Carolina."""
        return "America/New_York"

    @hookimpl
    def alma_onelink_search_with_or(self) -> bool:
        """``[alma] search_with_or`` of the settings (``false`` as shipped)."""
        return self.config.alma.search_with_or

    @hookimpl
    def alma_onelink_links(self) -> dict[str, str]:
        """The OneLink pages of the procedure, and My Account once it is configured."""
        return {key: url for key, url in self.config.links.items() if url}

    @hookimpl
    def alma_onelink_unset_links(self) -> dict[str, str]:
        """Each link of the settings left blank, and how to set it (My Account: the procedure leaves it blank)."""
        unset: dict[str, str] = {}
        for key in LINK_KEYS:
            if self.config.links.get(key):
                continue
            what = LINK_DESCRIPTIONS[key]
            if key == LINK_MY_ACCOUNT:
                what += ' (the procedure\'s "[insert link to My accounts]")'
            unset[key] = f"{what[0].upper()}{what[1:]}: not set in the Duke settings; {how_to_set(self.config, key)}."
        return unset

    # --- decisions -------------------------------------------------------------------------

    @hookimpl
    def alma_onelink_patron_group(self, patron: Patron) -> Code | None:
        """The affiliation's ``user_group``."""
        settings = self._settings(patron)
        return Code(value=settings.user_group) if settings else None

    @hookimpl
    def alma_onelink_patron_type(self, patron: Patron) -> UserStatistic | None:
        """The affiliation's Patron type; for former affiliates, the one of their prior role."""
        settings = self._settings(patron)
        if settings is None:
            return None
        category = settings.patron_type_by_role.get(patron.prior_role) if patron.prior_role else None
        category = category or settings.patron_type
        if category is None:
            roles = ", ".join(settings.patron_type_by_role)
            raise InputError(
                f"{settings.label} chooses the Patron type by {fact_label('prior_role')}, one of {roles}; "
                f"got {patron.prior_role!r}."
            )
        return UserStatistic(
            category_type=Code(value=self.config.codes.patron_type_category),
            statistic_category=Code(value=category),
        )

    @hookimpl
    def alma_onelink_expiry_date(self, patron: Patron, today: date) -> date | None:
        """``expiry_months`` (or the next ``expiry_on`` day) from today, or from the gift for Friends."""
        settings = self._settings(patron)
        if settings is None:
            return None
        start = today
        if settings.expiry_from == "donation" and patron.donation is not None:
            start = patron.donation.given_on
        if settings.expiry_on is not None:
            return _next_month_day(start, settings.expiry_on)
        return add_months(start, self.config.rule(settings, "expiry_months"))

    @hookimpl
    def alma_onelink_purge_date(self, patron: Patron, expiry: date) -> date | bool | None:
        """``purge_after_months`` after expiry; ``false`` in the settings means no purge date.

        An expiry so late that the purge date would pass 9999-12-31 (an account Alma holds as "never
        expires") gets 9999-12-31: never purged before it expires, and no date past the calendar.
        """
        settings = self._settings(patron)
        if settings is None:
            return None
        months = self.config.rule(settings, "purge_after_months")
        return NO_PURGE_DATE if months is False else months_after_or_last_day(expiry, months)

    # --- eligibility -------------------------------------------------------------------------

    @hookimpl
    def alma_onelink_eligibility(self, patron: Patron, existing: Sequence[User], today: date) -> list[EligibilityIssue]:
        """The procedure's checks, in its order: NetID, when they left, the affiliation, the ids."""
        issues: list[EligibilityIssue] = []
        if patron.has_active_netid:
            issues.append(
                EligibilityIssue.block(
                    "active_netid",
                    f"{patron.full_name} has an active NetID, so this procedure does not apply: "
                    "it is for people without a current, active NetID.",
                    "They use their NetID account. If the NetID has been deactivated, register them without "
                    f"{fact_label('has_active_netid')}.",
                )
            )
        issues += self._future_dates(patron, today)
        settings = self._settings(patron)
        issues += self._recent_graduate(patron, settings, today)
        if settings is not None:
            issues += self._prior_role(patron, settings)
            issues += self._home_institution(patron, settings)
            issues += self._gift(patron, settings, today)
            issues += self._residence(patron, settings)
        issues += returning(self.config, patron, existing)
        term_end = self.alma_onelink_expiry_date(patron, today) if settings is not None else None
        if settings is not None and term_end is not None:
            issues += expiry_beyond_term(patron, settings, existing, term_end)
        return issues

    def _future_dates(self, patron: Patron, today: date) -> list[EligibilityIssue]:
        # Patron refuses dates after the wall clock; the policy judges against the day it is given.
        dated = {
            "graduated_on": patron.graduated_on,
            "left_on": patron.left_on,
            "donation.given_on": patron.donation.given_on if patron.donation is not None else None,
        }
        return [
            EligibilityIssue.block(
                "date_after_today",
                f"{_capital(fact_label(field))} {day.isoformat()} is after the registration day, "
                f"{today.isoformat()}: the application's facts must have happened by then.",
                "Check that date with the patron and correct the application.",
            )
            for field, day in dated.items()
            if day is not None and day > today
        ]

    def _recent_graduate(
        self, patron: Patron, settings: AffiliationConfig | None, today: date
    ) -> list[EligibilityIssue]:
        # Whatever affiliation they now register under: the NetID of a recent graduate is still active.
        # The procedure's reason to wait is the NetID, not an account, so this blocks whether or not
        # Alma holds one: every run of the same application agrees, the first and the next.
        graduated = patron.graduated_on
        if graduated is None or graduated > today:  # a date after today is reported as date_after_today
            return []
        months = int(self.config.rule(settings, "netid_wait_months"))
        netid_off = _not_before(graduated, months)
        if today >= netid_off:
            return []
        return [
            EligibilityIssue.block(
                "recent_alum",
                f"{patron.full_name} graduated on {graduated.isoformat()}; their NetID is deactivated about "
                f"{span(months)} after graduation; register on or after {netid_off.isoformat()}.",
                f"Until then they sign in with their NetID, and a library account they have stays as it is: the "
                f"NetID must be deactivated before they can use OneLink. Ask them to come back on or after "
                f"{netid_off.isoformat()}.",
            )
        ]

    def _prior_role(self, patron: Patron, settings: AffiliationConfig) -> list[EligibilityIssue]:
        roles = settings.patron_type_by_role
        if not roles or patron.prior_role is None or patron.prior_role in roles:
            return []
        return [
            EligibilityIssue.block(
                "prior_role_not_covered",
                f"{patron.full_name} was a {patron.prior_role}, which {settings.label} does not cover.",
                "Register a graduate under the alumni affiliation.",
            )
        ]

    def _home_institution(self, patron: Patron, settings: AffiliationConfig) -> list[EligibilityIssue]:
        if not settings.institutions or patron.home_institution is None:
            return []
        if settings.institution(patron.home_institution) is not None:
            return []
        names = ", ".join(inst.name for inst in settings.institutions)
        hint = f"{settings.label}s come from {names}."
        partly = settings.partly_named(patron.home_institution)
        if len(partly) > 1:  # "University of North Carolina": the system, not a campus
            hint = (
                f"{patron.home_institution!r} could be any of {', '.join(i.name for i in partly)}: enter the "
                f'campus the patron comes from, like "{partly[0].name}".'
            )
        elif partly:
            hint = f'{patron.home_institution!r} is only part of a listed name: enter it in full, "{partly[0].name}".'
        for code, other in self.config.affiliations.items():
            match = other.institution(patron.home_institution) if other is not settings else None
            if match is not None:
                hint = f"{match.name} is on the {other.label} list: choose the {code} affiliation."
                break
        return [
            EligibilityIssue.block(
                "institution_not_eligible",
                f"{patron.home_institution!r} is not an institution whose borrowers can register as {settings.label}.",
                hint,
            )
        ]

    def _gift(self, patron: Patron, settings: AffiliationConfig, today: date) -> list[EligibilityIssue]:
        gift = patron.donation
        if gift is None:
            return []
        issues = []
        if settings.minimum_gift is not None and gift.amount < settings.minimum_gift:
            issues.append(
                EligibilityIssue.block(
                    "gift_below_minimum",
                    f"A gift of {money(gift.amount)} is under the {money(settings.minimum_gift)} that brings "
                    f"a {settings.label} borrowing card.",
                    f"A borrowing card needs a gift of at least {money(settings.minimum_gift)}; "
                    "otherwise another affiliation may fit.",
                )
            )
        if settings.expiry_from == "donation":
            ends = self.alma_onelink_expiry_date(patron, today)
            if ends is not None and ends <= today:
                issues.append(
                    EligibilityIssue.block(
                        "membership_lapsed",
                        f"The gift of {gift.given_on.isoformat()} covered {settings.label} membership until "
                        f"{ends.isoformat()}, {'today' if ends == today else 'which has passed'}.",
                        "A new gift renews the membership: enter "
                        f"{facts_label(['donation.amount', 'donation.given_on'])} of the new gift.",
                    )
                )
        return issues

    def _residence(self, patron: Patron, settings: AffiliationConfig) -> list[EligibilityIssue]:
        city = settings.residence_city
        if city is None or patron.address is None:
            return []
        if patron.address.city.casefold() == city.casefold():
            return []
        return [
            EligibilityIssue.warn(
                "outside_durham",
                f"{patron.full_name}'s address is in {patron.address.city}, not {city}: {settings.label} cards "
                f"are for {city} residents.",
                f"Check their proof of residence in {city} before going on; if they live elsewhere, another "
                "affiliation may fit.",
            )
        ]

    # --- the record ----------------------------------------------------------------------------

    @hookimpl
    def alma_onelink_prepare_user(self, patron: Patron, user: User, today: date) -> None:
        """Add a staff-only note saying when and under which affiliation the patron registered."""
        settings = self._settings(patron)
        if settings is None:
            return
        facts = [f"Registered {today.isoformat()} through OneLink as {settings.label}"]
        if patron.home_institution:
            match = settings.institution(patron.home_institution)
            facts.append(f"home institution {match.name if match else patron.home_institution}")
        if patron.prior_role:
            facts.append(f"former {patron.prior_role}")
        if patron.donation is not None:
            facts.append(f"gift of {money(patron.donation.amount)} on {patron.donation.given_on.isoformat()}")
        user.user_note = [
            *user.user_note,
            UserNote(
                note_type=Code(value=self.config.codes.note_type),
                note_text="; ".join(facts) + ".",
                user_viewable=False,
            ),
        ]

    # --- merging a NetID-era account into the OneLink account -----------------------------------

    @hookimpl
    def alma_onelink_merge_segments(self) -> list[str]:
        """Identifiers, addresses, emails, phones, notes and statistics; never blocks or proxies.

        The procedure merges a NetID-era account (From) into the new OneLink account (To). Those
        old accounts are EXTERNAL, loaded from the SIS, and so are their segments: the merge copies
        every carried segment as Internal, as Alma's "copy all segments as internal" does, so the
        next SIS load cannot overwrite them on the OneLink account. The old account's user group is
        never carried (no merge carries it): the OneLink account keeps the group and Patron type its
        affiliation gives, and a Patron type statistic of the old account is left behind with it.
        """
        return ["identifiers", "addresses", "emails", "phones", "notes", "statistics"]
