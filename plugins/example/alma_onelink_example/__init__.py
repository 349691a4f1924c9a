"""Example University's policy for alma-onelink: the plugin the tutorial builds."""

from datetime import date

from alma_onelink.models import Code, UserStatistic
from alma_onelink.policy import Affiliation, EligibilityIssue, Patron, add_months, hookimpl


class ExamplePolicy:
    """Alumni and community borrowers of Example University, registered as ``example``."""

    @hookimpl
    def alma_onelink_affiliations(self) -> list[Affiliation]:
        """The two kinds of patron the library registers without a campus login."""
        return [
            Affiliation("alumni", "Example alumni", requires=["graduated_on"]),
            Affiliation("community", "Community borrower", requires=["address"]),
        ]

    @hookimpl
    def alma_onelink_validate_onelink_id(self, onelink_id: str) -> str | None:
        """Campus IDs are 8 digits."""
        if onelink_id.isdigit() and len(onelink_id) == 8:
            return None
        return f"the OneLink ID must be the 8-digit campus ID, like 20240001; got {onelink_id!r}"

    @hookimpl
    def alma_onelink_patron_group(self, patron: Patron) -> Code | None:
        """ALUM for alumni, PUBLIC for community borrowers."""
        groups = {"alumni": "ALUM", "community": "PUBLIC"}
        group = groups.get(patron.affiliation)
        return Code(value=group) if group else None

    @hookimpl
    def alma_onelink_patron_type(self, patron: Patron) -> UserStatistic | None:
        """The Patron type statistic: PT_ALUMNI or PT_COMMUNITY."""
        return UserStatistic(
            category_type=Code(value="PATRON_TYPE"),
            statistic_category=Code(value=f"PT_{patron.affiliation.upper()}"),
        )

    @hookimpl
    def alma_onelink_expiry_date(self, patron: Patron, today: date) -> date | None:
        """Community cards last six months; alumni get the default (a year)."""
        if patron.affiliation == "community":
            return add_months(today, 6)
        return None

    @hookimpl
    def alma_onelink_eligibility(self, patron: Patron) -> list[EligibilityIssue]:
        """Community borrowers get their overdue notices by email."""
        if patron.affiliation == "community" and patron.email is None:
            return [
                EligibilityIssue.warn(
                    "no_email",
                    f"{patron.full_name} gave no email address, so overdue notices cannot reach them.",
                    hint="Ask for an email address, or note a phone number to call.",
                )
            ]
        return []

    @hookimpl
    def alma_onelink_links(self) -> dict[str, str]:
        """Where patrons sign in to see their loans."""
        return {"my_account": "https://library.example.edu/account"}
