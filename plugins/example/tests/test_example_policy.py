"""The example plugin: the contract, and the rules the tutorial gives it."""

from __future__ import annotations

from datetime import date

from alma_onelink.policy import Patron, load_policy
from alma_onelink.testing import PolicyContract

TODAY = date(2025, 7, 1)


class TestExamplePolicyContract(PolicyContract):
    policy_name = "example"
    onelink_id = "20240001"


def test_community_cards_last_six_months_and_alumni_a_year() -> None:
    policy = load_policy("example")
    neighbour = Patron(
        onelink_id="20240001",
        first_name="Nell",
        last_name="Neighbour",
        affiliation="community",
        address={"line1": "2 Elm St", "city": "Springfield"},
    )
    alum = Patron(
        onelink_id="20240002", first_name="Al", last_name="Um", affiliation="alumni", graduated_on="2020-05-01"
    )
    assert policy.expiry_date(neighbour, today=TODAY) == date(2026, 1, 1)
    assert policy.expiry_date(alum, today=TODAY) == date(2026, 7, 1)
    [issue] = policy.eligibility(neighbour, today=TODAY)
    assert (issue.code, issue.severity) == ("no_email", "warn")
    assert (
        policy.validate_onelink_id("2024") == "the OneLink ID must be the 8-digit campus ID, like 20240001; got '2024'"
    )
