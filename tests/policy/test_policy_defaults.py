"""The in-tree default policy and the facade's own checks: what a library without special rules gets."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from alma_onelink.errors import InputError
from alma_onelink.models import Code, User, UserIdentifier, UserRole
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
    with pytest.raises(
        InputError, match=r"follows the former role \(--prior-role\), one of faculty, staff, sponsored; got 'student'"
    ):
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
        # Alma keeps primary ids and identifier values unique (ignoring case); the OneLink workflow
        # handles such an account itself, so eligibility only warns.
        ({}, [User(primary_id="a1234")], [("account_exists", "warn")]),
        (
            {},
            [User(primary_id="OLD1", user_identifier=[UserIdentifier(id_type=Code(value="BARCODE"), value="A1234")])],
            [("identifier_in_use", "warn")],
        ),
        (
            {},
            [User(primary_id="OLD1", user_identifier=[UserIdentifier(id_type=Code(value="NET_ID"), value="a1234")])],
            [("identifier_in_use", "warn")],
        ),
        # A block about the person still comes first, and the account warning stays.
        (
            {"has_active_netid": True},
            [User(primary_id="A1234")],
            [("active_netid", "block"), ("account_exists", "warn")],
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


def test_an_existing_onelink_account_is_a_warning_naming_the_update(policy: Policy) -> None:
    existing = User(primary_id="A1234", first_name="Grace", last_name="Hopper")
    issues = policy.eligibility(patron(), existing=[existing], today=TODAY)
    assert issues.ok  # the workflow updates the account or reports it as already registered
    [issue] = issues.warnings
    assert (issue.code, issue.severity, issue.source) == ("account_exists", "warn", "default")
    assert issue.message == (
        "An Alma account with primary id A1234 already exists (Grace Hopper): the OneLink workflow updates that "
        "account (user group, Patron type, expiry) instead of creating a new one, or reports it as already "
        "registered."
    )
    assert issue.hint == (
        "Check that account A1234 is this patron's: its names (Grace Hopper) should be those of Grace Hopper. "
        "The workflow itself refuses to take over an account that belongs to someone else."
    )
    assert "merge" not in f"{issue.message} {issue.hint}".casefold()


def old_account(**change: Any) -> User:
    """An older account of Grace Hopper's that holds her OneLink ID as a barcode."""
    facts: dict[str, Any] = {
        "primary_id": "ghopper",
        "first_name": "Grace",
        "last_name": "Hopper",
        "user_identifier": [UserIdentifier(id_type=Code(value="BARCODE"), value="A1234")],
    }
    return User(**{**facts, **change})


WORKFLOW_STEP = (
    "The Alma account ghopper (Grace Hopper) holds the OneLink ID A1234 as identifier BARCODE A1234. Registering "
    "takes the identifier off that account and creates the new account (putting the identifier back if the create "
    "fails); the old account is then merged into the new one."
)


def test_an_old_account_holding_the_onelink_id_is_a_warning_naming_the_move(policy: Policy) -> None:
    issues = policy.eligibility(patron(), existing=[old_account()], today=TODAY)
    assert issues.ok  # the workflow moves the identifier itself
    [issue] = issues.warnings
    assert (issue.code, issue.severity) == ("identifier_in_use", "warn")
    assert issue.message == WORKFLOW_STEP
    assert issue.hint == (
        "Check that account ghopper is this patron's; nothing to remove by hand. Then have a fulfillment user "
        "administrator merge ghopper (From) into the OneLink account (To) (Alma: Admin > Merge Users; only accounts "
        "with no role but Patron can be merged; merging cannot be undone)."
    )
    assert "EXTERNAL" not in f"{issue.message} {issue.hint}"


@pytest.mark.parametrize("account_type", [None, "INTERNAL"])
def test_an_internal_old_account_has_no_external_caveat(policy: Policy, account_type: str | None) -> None:
    old = old_account(account_type=Code(value=account_type) if account_type else None, external_id="SIS")
    [issue] = policy.eligibility(patron(), existing=[old], today=TODAY)
    assert issue.message == WORKFLOW_STEP


@pytest.mark.parametrize(
    ("account_type", "external_id", "loaded_from"),
    [("EXTERNAL", "SIS", "SIS"), ("external", None, "an external system"), ("EXTERNAL", "", "an external system")],
)
def test_an_external_old_account_may_get_the_identifier_back(
    policy: Policy, account_type: str, external_id: str | None, loaded_from: str
) -> None:
    old = old_account(account_type=Code(value=account_type), external_id=external_id)
    issues = policy.eligibility(patron(), existing=[old], today=TODAY)
    assert issues.ok
    [issue] = issues
    assert (issue.code, issue.severity) == ("identifier_in_use", "warn")
    assert issue.message == (
        f"{WORKFLOW_STEP} Account ghopper is EXTERNAL (loaded from {loaded_from}): a later load from that system "
        "may put the identifier back; ask its administrators to drop the OneLink ID from that feed or check after "
        "the next load."
    )


def test_an_old_account_with_other_roles_is_still_only_a_warning(policy: Policy) -> None:
    old = old_account(user_role=[UserRole(role_type=Code(value="200")), UserRole(role_type=Code(value="221"))])
    issues = policy.eligibility(patron(), existing=[old], today=TODAY)
    assert issues.ok
    [issue] = issues
    assert issue.severity == "warn"
    assert issue.hint is not None
    assert issue.hint.endswith(" Account ghopper holds roles besides Patron: remove them before the merge.")


def test_an_old_account_holding_the_onelink_id_twice_names_both(policy: Policy) -> None:
    old = old_account(
        user_identifier=[
            UserIdentifier(id_type=Code(value="BARCODE"), value="A1234"),
            UserIdentifier(id_type=Code(value="NET_ID"), value="a1234"),
        ]
    )
    [issue] = policy.eligibility(patron(), existing=[old], today=TODAY)
    assert "as identifiers BARCODE A1234 and NET_ID a1234. Registering takes the identifiers off" in (issue.message)
    assert "(putting the identifiers back if the create fails)" in issue.message


def test_one_warning_per_account_holding_the_onelink_id(policy: Policy) -> None:
    existing = [User(primary_id="A1234", first_name="Grace", last_name="Hopper"), old_account()]
    issues = policy.eligibility(patron(), existing=existing, today=TODAY)
    assert codes(issues) == [("account_exists", "warn"), ("identifier_in_use", "warn")]
    assert issues.ok


def test_the_account_warnings_can_be_reworded_by_their_code() -> None:
    class Stricter:
        @hookimpl
        def alma_onelink_eligibility(self) -> list[EligibilityIssue]:
            return [EligibilityIssue.block("identifier_in_use", "Our rule: merge by hand first.")]

    policy = load_policy("default", plugins=[Stricter()], addons=False)
    issues = policy.eligibility(patron(), existing=[old_account()], today=TODAY)
    assert [(i.code, i.severity, i.message) for i in issues] == [
        ("identifier_in_use", "block", "Our rule: merge by hand first.")
    ]


def test_eligibility_messages_say_what_to_do(policy: Policy) -> None:
    [unknown] = policy.eligibility(patron(affiliation="visitor"), today=TODAY)
    assert unknown.message == "Affiliation 'visitor' is not one this policy offers."
    assert unknown.hint == "Choose one of: alumni, reciprocal, former_affiliate, community."
    [missing] = policy.eligibility(patron(affiliation="reciprocal"), today=TODAY)
    assert missing.message == (
        "Reciprocal borrower needs the home institution (--home-institution), which the application leaves empty."
    )
    assert missing.hint == "Ask the patron and fill in what is missing."


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
    with pytest.raises(
        InputError, match=r"^Affiliation 'visitor' is not one the default policy registers: use one of "
    ):
        policy.patron_group(patron(affiliation="visitor"))
    with pytest.raises(InputError, match="not one the default policy registers"):
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
    with pytest.raises(InputError, match="use one of alumni, reciprocal, former_affiliate, community"):
        policy.affiliation("friends")
