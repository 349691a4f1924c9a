"""The in-tree default policy and the facade's own checks: what a library without special rules gets."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from alma_onelink.errors import InputError
from alma_onelink.models import Code, User, UserIdentifier
from alma_onelink.policy import EligibilityIssue, Patron, Policy, hookimpl, load_policy
from alma_onelink.testing import PolicyContract

TODAY = date(2025, 7, 1)


@pytest.fixture
def policy() -> Policy:
    return load_policy("default", addons=False)


def patron(**change: Any) -> Patron:
    facts: dict[str, Any] = {
        "onelink_id": "A1234",
        "first_name": "Grace",
        "last_name": "Hopper",
        "affiliation": "community",
        "email": "grace@example.org",
    }
    return Patron(**{**facts, **change})


class TestDefaultPolicyContract(PolicyContract):
    """The defaults alone are a complete policy."""

    policy_name = "default"
    invalid_onelink_ids = ("", "  ", "12 34")  # any other format is the institution's call


def codes(issues: list[EligibilityIssue]) -> list[tuple[str, str]]:
    return [(issue.code, issue.severity) for issue in issues]


@pytest.mark.parametrize(
    ("affiliation", "group", "category"),
    [
        ("alumni", "ALUM", "PT_ALUMNI"),
        ("community", "PUBLIC", "PT_COMMUNITY"),
        ("reciprocal", "PUBLIC", "PT_VISITOR"),
        ("former_affiliate", "PUBLIC", "PT_FORMER_SPONSORED"),
    ],
)
def test_generic_decisions(policy: Policy, affiliation: str, group: str, category: str) -> None:
    someone = patron(affiliation=affiliation, prior_role="sponsored")
    assert policy.patron_group(someone) == Code(value=group)
    statistic = policy.patron_type(someone)
    assert (str(statistic.category_type), str(statistic.statistic_category)) == ("PATRON_TYPE", category)
    assert policy.expiry_date(someone, today=TODAY) == date(2026, 7, 1)
    assert policy.purge_date(someone, expiry=date(2026, 7, 1)) == date(2027, 7, 1)


def test_a_former_affiliate_needs_a_prior_role_for_the_patron_type(policy: Policy) -> None:
    with pytest.raises(InputError, match=r"follows their prior_role \(faculty, staff, sponsored\); got 'student'"):
        policy.patron_type(patron(affiliation="former_affiliate", prior_role="student"))


def test_a_leap_day_registration_expires_on_the_last_day_of_february(policy: Policy) -> None:
    assert policy.expiry_date(patron(), today=date(2024, 2, 29)) == date(2025, 2, 28)


@pytest.mark.parametrize(
    ("change", "existing", "expected"),
    [
        ({}, [], []),
        ({"has_active_netid": True}, [], [("active_netid", "block")]),
        ({"affiliation": "visitor"}, [], [("unknown_affiliation", "block")]),
        ({"affiliation": "reciprocal"}, [], [("missing_facts", "block")]),
        # Alma keeps primary ids and identifier values unique (ignoring case): a clash would fail the create.
        ({}, [User(primary_id="a1234")], [("account_exists", "block")]),
        (
            {},
            [User(primary_id="OLD1", user_identifier=[UserIdentifier(id_type=Code(value="BARCODE"), value="A1234")])],
            [("identifier_in_use", "block")],
        ),
        (
            {},
            [User(primary_id="OLD1", user_identifier=[UserIdentifier(id_type=Code(value="NET_ID"), value="a1234")])],
            [("identifier_in_use", "block")],
        ),
        (
            {},
            [User(primary_id="OLD1", user_identifier=[UserIdentifier(id_type=Code(value="BARCODE"), value="A12345")])],
            [],
        ),
        ({"onelink_id": "A1234"}, [User(primary_id="OTHER")], []),
    ],
)
def test_generic_eligibility(
    policy: Policy, change: dict[str, Any], existing: list[User], expected: list[tuple[str, str]]
) -> None:
    assert codes(policy.eligibility(patron(**change), existing=existing, today=TODAY)) == expected


def test_an_existing_onelink_account_is_updated_not_created_again(policy: Policy) -> None:
    existing = User(primary_id="A1234", first_name="Grace", last_name="Hopper")
    [issue] = policy.eligibility(patron(), existing=[existing], today=TODAY)
    assert (issue.code, issue.severity) == ("account_exists", "block")
    assert issue.message == (
        "An Alma account with primary id A1234 already exists (Grace Hopper): this patron already has their "
        "OneLink account; update it instead of creating a new one."
    )
    assert issue.hint is not None
    assert "merge" not in f"{issue.message} {issue.hint}".casefold()


def test_an_old_account_holding_the_onelink_id_gives_the_steps_in_order(policy: Policy) -> None:
    old = User(
        primary_id="ghopper",
        first_name="Grace",
        last_name="Hopper",
        user_identifier=[UserIdentifier(id_type=Code(value="BARCODE"), value="A1234")],
    )
    [issue] = policy.eligibility(patron(), existing=[old], today=TODAY)
    assert (issue.code, issue.severity) == ("identifier_in_use", "block")
    assert "The Alma account ghopper (Grace Hopper) already holds the OneLink ID A1234" in issue.message
    assert issue.hint == (
        "1) remove identifier BARCODE A1234 from account ghopper (or let the OneLink workflow do it), "
        "2) create the new account, 3) merge ghopper into it (Alma: Admin > Merge Users; only accounts with no "
        "role but Patron can be merged)."
    )


def test_eligibility_messages_say_what_to_do(policy: Policy) -> None:
    [unknown] = policy.eligibility(patron(affiliation="visitor"), today=TODAY)
    assert unknown.message == "Affiliation 'visitor' is not one this policy offers."
    assert unknown.hint == "Choose one of: alumni, reciprocal, former_affiliate, community."
    [missing] = policy.eligibility(patron(affiliation="reciprocal"), today=TODAY)
    assert missing.message == "Reciprocal borrower needs home_institution, which the application leaves empty."


def test_build_user_writes_the_record_alma_expects(policy: Policy) -> None:
    someone = patron(
        phone="+1 919 555 0100",
        address={"line1": "1 Main St", "city": "Durham", "postal_code": "27701", "country": "USA"},
        notes="Proof of residence seen.",
    )
    body = policy.build_user(someone, today=TODAY).to_alma()
    assert body == {
        "record_type": {"value": "PUBLIC"},
        "primary_id": "A1234",
        "first_name": "Grace",
        "last_name": "Hopper",
        "user_group": {"value": "PUBLIC"},
        "expiry_date": "2026-07-01Z",
        "purge_date": "2027-07-01Z",
        "account_type": {"value": "INTERNAL"},
        "status": {"value": "ACTIVE"},
        "contact_info": {
            "address": [
                {
                    "line1": "1 Main St",
                    "city": "Durham",
                    "postal_code": "27701",
                    "country": {"value": "USA"},
                    "address_type": [{"value": "home"}],
                    "preferred": True,
                }
            ],
            "email": [{"email_address": "grace@example.org", "email_type": [{"value": "personal"}], "preferred": True}],
            "phone": [{"phone_number": "+1 919 555 0100", "phone_type": [{"value": "home"}], "preferred": True}],
        },
        "user_note": [
            {"note_type": {"value": "OTHER"}, "note_text": "Proof of residence seen.", "user_viewable": False}
        ],
        "user_statistic": [
            {"statistic_category": {"value": "PT_COMMUNITY"}, "category_type": {"value": "PATRON_TYPE"}}
        ],
    }


def test_no_contact_details_means_no_contact_info(policy: Policy) -> None:
    assert "contact_info" not in policy.build_user(patron(email=None), today=TODAY).to_alma()


def test_the_defaults_have_no_links(policy: Policy) -> None:
    assert policy.links() == {}


# --- what the facade refuses -------------------------------------------------------------------


def test_an_affiliation_not_offered_is_bad_input(policy: Policy) -> None:
    with pytest.raises(InputError, match=r"^Affiliation 'visitor' is not offered by the 'default' policy; choose"):
        policy.patron_group(patron(affiliation="visitor"))
    with pytest.raises(InputError, match="not offered"):
        policy.build_user(patron(affiliation="visitor"), today=TODAY)


def test_a_patron_must_be_a_patron(policy: Policy) -> None:
    with pytest.raises(InputError, match=r"expected a Patron, got dict; build one with Patron\("):
        policy.eligibility({"onelink_id": "1"}, today=TODAY)  # type: ignore[arg-type]


def test_existing_accounts_must_be_users(policy: Policy) -> None:
    with pytest.raises(InputError, match=r"existing must be a list of User records"):
        policy.eligibility(patron(), existing=[{"primary_id": "x"}], today=TODAY)  # type: ignore[list-item]


def test_an_invalid_onelink_id_blocks_and_refuses_to_build() -> None:
    class SevenDigits:
        @hookimpl
        def alma_onelink_validate_onelink_id(self, onelink_id: str) -> str | None:
            return None if onelink_id.isdigit() else "onelink_id must be digits"

    policy = load_policy("default", plugins=[SevenDigits()], addons=False)
    [issue] = policy.eligibility(patron(), today=TODAY)
    assert (issue.code, issue.severity, issue.message) == ("invalid_onelink_id", "block", "onelink_id must be digits")
    assert issue.source == "default"  # reported by the defaults' eligibility check, like the others
    with pytest.raises(InputError, match=r"^Cannot build the record for Grace Hopper: onelink_id must be digits$"):
        policy.build_user(patron(), today=TODAY)
    assert policy.validate_onelink_id(" 0123 ".strip()) is None
    assert policy.validate_onelink_id(123) == "the OneLink ID must be text, like '0123456'; got int"  # type: ignore[arg-type]


def test_a_plugin_rewords_the_invalid_onelink_id_issue() -> None:
    class Reworded:
        @hookimpl
        def alma_onelink_validate_onelink_id(self) -> str:
            return "not ours"

        @hookimpl
        def alma_onelink_eligibility(self, onelink_id_problem: str | None) -> list[EligibilityIssue]:
            if onelink_id_problem is None:
                return []
            return [EligibilityIssue.block("invalid_onelink_id", f"Check the card: {onelink_id_problem}.")]

    [issue] = load_policy("default", plugins=[Reworded()], addons=False).eligibility(patron(), today=TODAY)
    assert (issue.code, issue.message, issue.source) == ("invalid_onelink_id", "Check the card: not ours.", "Reworded")


def test_an_expiry_not_after_today_refuses_to_build() -> None:
    class Expired:
        @hookimpl
        def alma_onelink_expiry_date(self, today: date) -> date:
            return today

    policy = load_policy("default", plugins=[Expired()], addons=False)
    with pytest.raises(InputError, match="expiry date of 2025-07-01, which is not after 2025-07-01"):
        policy.build_user(patron(), today=TODAY)


def test_the_generic_affiliation_list_is_only_offered_alone(policy: Policy) -> None:
    assert policy.affiliation("alumni").requires == ("graduated_on",)
    with pytest.raises(InputError, match="choose one of: alumni, reciprocal, former_affiliate, community"):
        policy.affiliation("friends")
