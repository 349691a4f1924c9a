"""Every branch of Duke's OneLink procedure, as tables of cases."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from alma_onelink.errors import InputError
from alma_onelink.models import Code, User, UserIdentifier, UserRole
from alma_onelink.policy import Donation, Patron, Policy, PolicyError, hookimpl, load_policy

TODAY = date(2025, 7, 1)
SIGN_IN = "https://accounts.oit.duke.edu/onelink/sign_in"

ELIGIBLE: dict[str, dict[str, Any]] = {
    "alumni": {"graduated_on": date(2015, 5, 10)},
    "trln": {"home_institution": "UNC"},
    "borrowdirect": {"home_institution": "Yale"},
    "friends": {"donation": Donation(amount=Decimal("100"), given_on=date(2025, 6, 15))},
    "former_affiliate": {"prior_role": "faculty", "left_on": date(2025, 5, 31)},
    "community": {"address": {"line1": "1 Main St", "city": "Durham", "postal_code": "27701"}},
}


def applicant(affiliation: str, **change: Any) -> Patron:
    """An eligible applicant for ``affiliation``, with ``change`` applied."""
    facts: dict[str, Any] = {
        "onelink_id": "0123456",
        "first_name": "Pat",
        "last_name": "Devil",
        "email": "pat@example.org",
        "affiliation": affiliation,
        **ELIGIBLE.get(affiliation, {}),
    }
    return Patron(**{**facts, **change})


def old_account(
    primary_id: str = "pdevil",
    *,
    duid: str | None = None,
    roles: tuple[str, ...] = ("200",),
    loaded_from: str | None = None,
) -> User:
    """A NetID-era Alma account; ``duid`` is its Duke Unique ID identifier.

    With ``loaded_from`` it is an EXTERNAL account that system loads; otherwise an INTERNAL one.
    """
    identifiers = [UserIdentifier(id_type=Code(value="DUKE_UNIQUE_ID"), value=duid)] if duid else []
    return User(
        primary_id=primary_id,
        first_name="Pat",
        last_name="Devil",
        account_type=Code(value="INTERNAL" if loaded_from is None else "EXTERNAL"),
        external_id=loaded_from,
        user_identifier=identifiers,
        user_role=[UserRole(role_type=Code(value=role)) for role in roles],
    )


@dataclass(frozen=True)
class Case:
    """One branch: the application, what staff found in Alma, and what the policy must say."""

    id: str
    patron: Patron
    existing: tuple[User, ...] = ()
    blocks: tuple[str, ...] = ()
    warns: tuple[str, ...] = ()
    says: tuple[str, ...] = ()  # fragments of a message or hint staff will read
    unsaid: tuple[str, ...] = ()  # fragments no message or hint may contain
    today: date = TODAY
    extra: dict[str, Any] = field(default_factory=dict)


CASES = [
    # Who does this apply to: anyone without a current, active NetID.
    Case("active-netid", applicant("alumni", has_active_netid=True), blocks=("active_netid",),
         says=("has an active NetID, so this procedure does not apply",)),
    Case("alum-long-ago", applicant("alumni")),
    Case("trln-unc", applicant("trln")),
    Case("borrowdirect-yale", applicant("borrowdirect")),
    Case("friends-gift-100", applicant("friends")),
    Case("community-with-address", applicant("community")),
    Case("former-faculty-no-account", applicant("former_affiliate")),
    # Has an existing account: when did they leave Duke? A recent graduate waits for the NetID to go.
    Case("recent-alum-with-account", applicant("alumni", graduated_on=date(2025, 5, 10)),
         existing=(old_account(duid="0123456"),), blocks=("recent_alum",), warns=("identifier_in_use",),
         says=("Pat Devil graduated on 2025-05-10; their NetID is deactivated about a year after graduation; "
               "register on or after 2026-05-10.",)),
    Case("alum-one-day-short", applicant("alumni", graduated_on=date(2024, 7, 2)),
         existing=(old_account(),), blocks=("recent_alum",), warns=("merge_old_account",),
         says=("register on or after 2025-07-02",)),
    Case("alum-exactly-a-year", applicant("alumni", graduated_on=date(2024, 7, 1)),
         existing=(old_account(),), warns=("merge_old_account",)),
    Case("leap-day-graduate-on-feb-28", applicant("alumni", graduated_on=date(2024, 2, 29)),
         existing=(old_account(),), today=date(2025, 2, 28), blocks=("recent_alum",), warns=("merge_old_account",),
         says=("graduated on 2024-02-29;", "register on or after 2025-03-01.")),
    Case("leap-day-graduate-on-mar-1", applicant("alumni", graduated_on=date(2024, 2, 29)),
         existing=(old_account(),), today=date(2025, 3, 1), warns=("merge_old_account",)),
    # The reason to wait is the NetID, not an account: blocked the same with no account at all.
    Case("recent-alum-no-account", applicant("alumni", graduated_on=date(2025, 5, 10)),
         blocks=("recent_alum",),
         says=("Pat Devil graduated on 2025-05-10; their NetID is deactivated about a year after graduation; "
               "register on or after 2026-05-10.", "come back on or after 2026-05-10")),
    # ...whatever affiliation they now register under.
    Case("recent-graduate-as-friend", applicant("friends", graduated_on=date(2025, 5, 10)),
         existing=(old_account(),), blocks=("recent_alum",), warns=("merge_old_account",),
         says=("register on or after 2026-05-10",)),
    Case("recent-graduate-as-community", applicant("community", graduated_on=date(2024, 7, 2)),
         existing=(old_account(),), blocks=("recent_alum",), warns=("merge_old_account",),
         says=("register on or after 2025-07-02",)),
    Case("recent-graduate-as-former-staff", applicant("former_affiliate", prior_role="staff",
                                                        graduated_on=date(2025, 1, 15)),
         existing=(old_account(),), blocks=("recent_alum",), warns=("merge_old_account",)),
    Case("recent-graduate-as-trln", applicant("trln", graduated_on=date(2025, 5, 10)),
         existing=(old_account(),), blocks=("recent_alum",), warns=("merge_old_account",)),
    Case("graduate-a-year-ago-as-friend", applicant("friends", graduated_on=date(2024, 7, 1)),
         existing=(old_account(),), warns=("merge_old_account",)),
    Case("recent-graduate-as-friend-no-account", applicant("friends", graduated_on=date(2025, 5, 10)),
         blocks=("recent_alum",)),
    # Facts dated after the registration day: Patron checks the wall clock, the policy checks `today`.
    Case("graduated-after-today", applicant("alumni", graduated_on=date(2025, 7, 2)), existing=(old_account(),),
         blocks=("date_after_today",), warns=("merge_old_account",),
         says=("The graduation date (--graduated-on) 2025-07-02 is after the registration day, 2025-07-01",)),
    Case("left-after-today", applicant("former_affiliate", left_on=date(2025, 8, 31)), blocks=("date_after_today",),
         says=("The date they left (--left-on) 2025-08-31 is after the registration day, 2025-07-01",)),
    Case("gift-after-today", applicant("friends", donation={"amount": "100", "given_on": "2025-07-15"}),
         blocks=("date_after_today",),
         says=("The gift date (--donation-date) 2025-07-15 is after the registration day",), unsaid=("given_on",)),
    Case("gift-on-today", applicant("friends", donation={"amount": "100", "given_on": "2025-07-01"})),
    Case("recent-faculty-with-account", applicant("former_affiliate", left_on=date(2025, 6, 15)),
         existing=(old_account(),), warns=("merge_old_account",),
         says=("merge the old account (From) into the new one (To)", "cannot be undone")),
    Case("former-sponsored", applicant("former_affiliate", prior_role="sponsored"), existing=(old_account(),),
         warns=("merge_old_account",)),
    Case("former-staff", applicant("former_affiliate", prior_role="staff")),
    Case("former-student", applicant("former_affiliate", prior_role="student"), blocks=("prior_role_not_covered",),
         says=("was a student", "alumni affiliation")),
    Case("former-no-role", applicant("former_affiliate", prior_role=None), blocks=("missing_facts",),
         says=("needs the former role (--prior-role)",), unsaid=("prior_role",)),
    # The OneLink ID is the 7-digit Duke Unique ID, and a returning affiliate keeps theirs.
    Case("returning-different-id", applicant("alumni"), existing=(old_account(duid="0765432"),),
         warns=("onelink_id_differs", "merge_old_account"),
         says=("carries Duke Unique ID 0765432, but the OneLink ID entered is 0123456", SIGN_IN)),
    Case("returning-onelink-era-account", applicant("alumni"), existing=(old_account("0765432"),),
         warns=("onelink_id_differs", "merge_old_account")),
    # Alma keeps identifiers unique across users, so a plain create over a clash fails with 401851. The
    # OneLink workflow handles such accounts itself: eligibility is about the person, so these only warn.
    Case("returning-same-id", applicant("alumni"), existing=(old_account(duid="0123456"),),
         warns=("identifier_in_use",),
         says=("The Alma account pdevil (Pat Devil) holds the OneLink ID 0123456 as identifier DUKE_UNIQUE_ID "
               "0123456. Registering takes the identifier off that account and creates the new account "
               "(putting the identifier back if the create fails); the old account is then merged into the new "
               "one.",
               "have a fulfillment user administrator merge pdevil (From) into the OneLink account (To)"),
         unsaid=("EXTERNAL", "remove identifier", "holds roles besides Patron")),
    Case("returning-same-id-external", applicant("alumni"), existing=(old_account(duid="0123456", loaded_from="SIS"),),
         warns=("identifier_in_use",),
         says=("the old account is then merged into the new one.",
               "Account pdevil is EXTERNAL (loaded from SIS): a later load from that system may put the identifier "
               "back; ask its administrators to drop the OneLink ID from that feed or check after the next load.")),
    Case("returning-same-id-external-unnamed", applicant("alumni"),
         existing=(old_account(duid="0123456", loaded_from=""),), warns=("identifier_in_use",),
         says=("Account pdevil is EXTERNAL (loaded from an external system)",)),
    Case("returning-same-id-with-staff-role", applicant("alumni"),
         existing=(old_account(duid="0123456", roles=("200", "221")),), warns=("identifier_in_use",),
         says=("Account pdevil holds roles besides Patron: remove them before the merge.",)),
    Case("same-primary-id", applicant("alumni"), existing=(old_account("0123456"),), warns=("account_exists",),
         says=("An Alma account with primary id 0123456 already exists (Pat Devil): the OneLink workflow updates "
               "that account (user group, Patron type, expiry) instead of creating a new one, or reports it as "
               "already registered.",
               "Check that account 0123456 is this patron's: its names (Pat Devil) should be those of Pat Devil."),
         unsaid=("merge",)),
    Case("same-primary-id-and-an-old-account", applicant("alumni"),
         existing=(old_account("0123456"), old_account("pdevil")), warns=("account_exists",)),
    Case("one-clashing-one-plain-old-account", applicant("alumni"),
         existing=(old_account("pdevil", duid="0123456"), old_account("pd2")),
         warns=("identifier_in_use", "merge_old_account"),
         says=("also has 1 older Alma account(s): Pat Devil <pd2>. After the new account is created",)),
    Case("old-account-not-patron-only", applicant("alumni"), existing=(old_account(roles=("200", "221")),),
         warns=("merge_old_account",), says=("Alma merges only accounts whose one role is Patron",)),
    Case("id-lost-leading-zero", applicant("alumni", onelink_id="123456"), blocks=("invalid_onelink_id",),
         says=("the OneLink ID must be 7 digits, like 0123456", "was a leading zero dropped?")),
    Case("id-not-digits", applicant("alumni", onelink_id="pdevil"), blocks=("invalid_onelink_id",)),
    # Reciprocal borrowers: the home institution must be on the list.
    Case("trln-yale", applicant("trln", home_institution="Yale"), blocks=("institution_not_eligible",),
         says=("Yale is on the BorrowDirect borrower list: choose the borrowdirect affiliation",)),
    Case("borrowdirect-unc", applicant("borrowdirect", home_institution="UNC"), blocks=("institution_not_eligible",),
         says=("choose the trln affiliation",)),
    Case("trln-duke", applicant("trln", home_institution="Duke"), blocks=("institution_not_eligible",),
         says=("TRLN borrowers come from UNC-Chapel Hill, NC State, NC Central.",)),
    Case("borrowdirect-penn-state", applicant("borrowdirect", home_institution="Penn State"),
         blocks=("institution_not_eligible",)),
    Case("trln-unc-system", applicant("trln", home_institution="University of North Carolina"),
         blocks=("institution_not_eligible",),
         says=('could be any of UNC-Chapel Hill, NC State, NC Central: enter the campus the patron comes from, '
               'like "UNC-Chapel Hill".',)),
    Case("trln-north-carolina", applicant("trln", home_institution="North Carolina"),
         blocks=("institution_not_eligible",), says=('like "UNC-Chapel Hill"',)),
    Case("trln-no-institution", applicant("trln", home_institution=None), blocks=("missing_facts",)),
    # Friends of the Library: a gift of at least $100 brings a borrowing card, for a year.
    Case("friends-gift-small", applicant("friends", donation={"amount": "99.99", "given_on": "2025-06-15"}),
         blocks=("gift_below_minimum",), says=("A gift of $99.99 is under the $100.00",)),
    Case("friends-gift-lapsed", applicant("friends", donation={"amount": "500", "given_on": "2024-06-01"}),
         blocks=("membership_lapsed",),
         says=("membership until 2025-06-01, which has passed", "--donation-amount", "--donation-date")),
    Case("friends-no-gift", applicant("friends", donation=None), blocks=("missing_facts",),
         says=("needs the gift (--donation-amount, --donation-date)",)),
    # Durham community borrowers: staff check proof of residence, so the address is needed.
    Case("community-no-address", applicant("community", address=None), blocks=("missing_facts",)),
    Case("community-durham-any-case", applicant("community", address={"line1": "1 Main St", "city": "  DURHAM "})),
    Case("community-chapel-hill", applicant("community", address={"line1": "1 Main St", "city": "Chapel Hill"}),
         warns=("outside_durham",),
         says=("Pat Devil's address is in Chapel Hill, not Durham", "proof of residence in Durham")),
    Case("unknown-affiliation", applicant("staff"), blocks=("unknown_affiliation",),
         says=("alumni, trln, borrowdirect, friends, former_affiliate, community",)),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_eligibility(policy: Policy, case: Case) -> None:
    issues = policy.eligibility(case.patron, existing=case.existing, today=case.today)
    assert sorted(i.code for i in issues.blocking) == sorted(case.blocks)
    assert sorted(i.code for i in issues.warnings) == sorted(case.warns)
    text = "\n".join(f"{i.message} {i.hint}" for i in issues)
    for fragment in case.says:
        assert fragment in text
    for fragment in case.unsaid:
        assert fragment not in text


PYTHON_WORDS = ("given_on", "graduated_on", "left_on", "has_active_netid", "prior_role", "home_institution",
                "onelink_id", "donation.", "force=", "untick")  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_staff_read_the_commands_words_not_pythons(policy: Policy, case: Case) -> None:
    for issue in policy.eligibility(case.patron, existing=case.existing, today=case.today):
        text = f"{issue.message} {issue.hint or ''}"
        assert not [word for word in PYTHON_WORDS if word in text], (issue.code, text)


def test_one_issue_per_code_and_the_duke_wording_wins(policy: Policy) -> None:
    issues = policy.eligibility(applicant("alumni", has_active_netid=True), today=TODAY)
    [netid] = issues
    assert netid.source == "duke"


@pytest.mark.parametrize(
    "name",
    ["UNC", "unc-chapel hill", "UNC Chapel Hill", "University of North Carolina at Chapel Hill", "Chapel Hill",
     "Univ. of North Carolina at Chapel Hill", "NCSU", "NC State", "North Carolina State University",
     "N.C. State Univ.", "NC State Univ", "NCCU", "N.C. Central", "NC Central University"],
)  # fmt: skip
def test_trln_institutions_are_matched_leniently(policy: Policy, name: str) -> None:
    assert policy.eligibility(applicant("trln", home_institution=name), today=TODAY) == []


@pytest.mark.parametrize(
    "name",
    ["Brown University", "Brown Univ.", "University of Chicago", "Univ. of Chicago", "Columbia",
     "Columbia University", "Columbia University in the City of New York", "Cornell University",
     "Dartmouth College", "Dartmouth", "Harvard", "Johns Hopkins University", "JHU", "MIT",
     "Massachusetts Institute of Technology", "University of Pennsylvania", "UPenn", "Princeton University",
     "Stanford", "Yale University"],
)  # fmt: skip
def test_borrowdirect_institutions_are_matched_leniently(policy: Policy, name: str) -> None:
    assert policy.eligibility(applicant("borrowdirect", home_institution=name), today=TODAY) == []


@pytest.mark.parametrize(
    ("affiliation", "name"),
    [
        # Other schools that share a name: "College" is part of the name, not noise.
        ("borrowdirect", "Cornell College"),
        ("borrowdirect", "Columbia College"),
        ("borrowdirect", "Brown College"),
        ("borrowdirect", "Penn State"),
        ("borrowdirect", "Pennsylvania State University"),
        ("borrowdirect", "University"),
        # The UNC System and its other campuses are not UNC-Chapel Hill.
        ("trln", "North Carolina"),
        ("trln", "University of North Carolina"),
        ("trln", "UNC Charlotte"),
        ("trln", "University of North Carolina at Charlotte"),
    ],
)
def test_other_institutions_are_not_matched(policy: Policy, affiliation: str, name: str) -> None:
    [issue] = policy.eligibility(applicant(affiliation, home_institution=name), today=TODAY)
    assert (issue.code, issue.severity) == ("institution_not_eligible", "block")


# --- mapping: group, Patron type, dates -------------------------------------------------------


@pytest.mark.parametrize(
    ("patron", "expected"),
    [
        (applicant("alumni"), ("DUKE_ALUMNI", "PT_ALUMNI", date(2026, 7, 1), date(2027, 7, 1))),
        (applicant("trln"), ("DUKE_TRLN", "PT_TRLN", date(2026, 7, 1), date(2027, 7, 1))),
        (applicant("borrowdirect"), ("DUKE_BORROWDIRECT", "PT_BORROWDIRECT", date(2026, 7, 1), date(2027, 7, 1))),
        (applicant("friends"), ("DUKE_FRIENDS", "PT_FRIENDS", date(2026, 6, 15), date(2027, 6, 15))),
        (applicant("former_affiliate"),
         ("DUKE_FORMER_AFFILIATE", "PT_FORMER_FACULTY", date(2026, 7, 1), date(2027, 7, 1))),
        (applicant("former_affiliate", prior_role="staff"),
         ("DUKE_FORMER_AFFILIATE", "PT_FORMER_STAFF", date(2026, 7, 1), date(2027, 7, 1))),
        (applicant("former_affiliate", prior_role="sponsored"),
         ("DUKE_FORMER_AFFILIATE", "PT_FORMER_SPONSORED", date(2026, 7, 1), date(2027, 7, 1))),
        (applicant("community"), ("DUKE_COMMUNITY", "PT_COMMUNITY", date(2026, 7, 1), date(2027, 7, 1))),
    ],
    ids=lambda value: value.affiliation + (f"-{value.prior_role}" if value.prior_role else "")
    if isinstance(value, Patron) else "",
)  # fmt: skip
def test_mapping(policy: Policy, patron: Patron, expected: tuple[str, str, date, date]) -> None:
    group, patron_type, expiry, purge = expected
    assert policy.patron_group(patron) == Code(value=group)
    statistic = policy.patron_type(patron)
    assert statistic.category_type == Code(value="PATRON_TYPE")
    assert statistic.statistic_category == Code(value=patron_type)
    assert policy.expiry_date(patron, today=TODAY) == expiry
    assert policy.purge_date(patron, expiry=expiry) == purge


def test_a_former_affiliate_needs_a_role_to_get_a_patron_type(policy: Policy) -> None:
    with pytest.raises(
        InputError,
        match=r"chooses the Patron type by the former role \(--prior-role\), one of faculty, staff, sponsored",
    ):
        policy.patron_type(applicant("former_affiliate", prior_role="student"))


@pytest.mark.parametrize(
    ("onelink_id", "problem"),
    [
        ("0123456", None),
        ("1000000", None),
        ("0000001", None),
        ("123456", "the OneLink ID must be 7 digits, like 0123456 (the Duke Unique ID, leading zeros kept); "
                   "got '123456' (6 digits: was a leading zero dropped?)"),
        ("01234567", "the OneLink ID must be 7 digits, like 0123456 (the Duke Unique ID, leading zeros kept); "
                     "got '01234567'"),
        ("012345a", "got '012345a'"),
        ("pdevil", "got 'pdevil'"),
        ("", "like 0123456 (the Duke Unique ID, leading zeros kept); got ''"),
        ("\uff10\uff11\uff12\uff13\uff14\uff15\uff16", "got '"),  # full-width digits are not the Duke Unique ID
    ],
)  # fmt: skip
def test_onelink_id_is_the_seven_digit_unique_id(policy: Policy, onelink_id: str, problem: str | None) -> None:
    result = policy.validate_onelink_id(onelink_id)
    if problem is None:
        assert result is None
    else:
        assert result is not None
        assert problem in result


# --- the record -------------------------------------------------------------------------------


def test_the_record_follows_the_procedure(policy: Policy) -> None:
    body = policy.build_user(applicant("trln", home_institution="unc chapel hill"), today=TODAY).to_alma()
    assert body == {
        "record_type": {"value": "PUBLIC"},
        "primary_id": "0123456",
        "first_name": "Pat",
        "last_name": "Devil",
        "user_group": {"value": "DUKE_TRLN"},
        "expiry_date": "2026-07-01Z",
        "purge_date": "2027-07-01Z",
        "account_type": {"value": "INTERNAL"},
        "status": {"value": "ACTIVE"},
        "contact_info": {
            "email": [{"email_address": "pat@example.org", "email_type": [{"value": "personal"}], "preferred": True}]
        },
        "user_note": [
            {
                "note_type": {"value": "LIBRARY"},
                "note_text": (
                    "Registered 2025-07-01 through OneLink as TRLN borrower; home institution UNC-Chapel Hill."
                ),
                "user_viewable": False,
            }
        ],
        "user_statistic": [{"statistic_category": {"value": "PT_TRLN"}, "category_type": {"value": "PATRON_TYPE"}}],
    }


def test_the_registration_note_keeps_the_facts_staff_checked(policy: Policy) -> None:
    friends = policy.build_user(applicant("friends"), today=TODAY)
    assert [note.note_text for note in friends.user_note] == [
        "Registered 2025-07-01 through OneLink as Friends of the Library; gift of $100.00 on 2025-06-15."
    ]
    former = policy.build_user(applicant("former_affiliate", notes="Retired 2025."), today=TODAY)
    assert [note.note_text for note in former.user_note] == [
        "Registered 2025-07-01 through OneLink as Former faculty, staff or sponsored researcher; former faculty.",
        "Retired 2025.",
    ]


def test_another_plugin_cannot_drop_the_patron_type_duke_decided() -> None:
    class Careless:
        @hookimpl
        def alma_onelink_prepare_user(self, user: User) -> None:
            user.user_statistic = []

    with pytest.raises(PolicyError, match=r"Patron type .* the policy decided PATRON_TYPE PT_FORMER_STAFF\.") as caught:
        load_policy("duke", plugins=[Careless()]).build_user(
            applicant("former_affiliate", prior_role="staff"), today=TODAY
        )
    assert "Plugins that implement alma_onelink_prepare_user: Careless, duke;" in str(caught.value)


@pytest.mark.parametrize("old_style", [False, True], ids=["wrapper", "hookwrapper"])
def test_no_password_ever_whatever_another_plugin_does(old_style: bool) -> None:
    # Even a wrapper that runs after every other plugin: build_user checks once the hook has returned.
    class LateWrapper:
        @hookimpl(tryfirst=True, wrapper=not old_style, hookwrapper=old_style)
        def alma_onelink_prepare_user(self, user: User) -> Generator[None, Any, Any]:
            results = yield
            user.password = "after-everyone"
            return None if old_style else results

    with pytest.raises(PolicyError, match="OneLink accounts never have an Alma password") as caught:
        load_policy("duke", plugins=[LateWrapper()]).build_user(applicant("alumni"), today=TODAY)
    assert "Plugins that implement alma_onelink_prepare_user: LateWrapper, duke" in str(caught.value)


def test_links_are_the_onelink_pages_of_the_procedure(policy: Policy) -> None:
    assert policy.links() == {
        "onelink_registration": "https://accounts.oit.duke.edu/onelink/",
        "onelink_sign_in": SIGN_IN,
        "self_service": "https://idms-web-selfservice.oit.duke.edu/",
    }  # my_account is blank in the procedure until configured
