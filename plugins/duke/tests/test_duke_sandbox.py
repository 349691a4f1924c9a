"""The Duke policy's records against the Alma sandbox, which knows Duke's (placeholder) codes.

Eligibility said yes, so the create must succeed. A returning patron whose old account already holds
the OneLink ID is eligible too, with a warning naming the workflow step that deals with the account;
eligibility itself never writes to Alma.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from alma_onelink import AlmaClient
from alma_onelink.errors import AlreadyExistsError
from alma_onelink.policy import Patron, Policy
from alma_onelink.sandbox import Sandbox
from alma_onelink.sandbox._duke import DUKE_SCENARIOS, DUKE_UNIQUE_IDS

TODAY = date(2025, 7, 1)
NEW_REGISTRANT = DUKE_UNIQUE_IDS["new_registrant"]  # a OneLink ID nobody in the sandbox holds

# Per affiliation: the facts that make a first-time registrant eligible.
SAMPLES: dict[str, dict[str, Any]] = {
    "alumni": {"graduated_on": "2015-05-10"},
    "trln": {"home_institution": "UNC-Chapel Hill"},
    "borrowdirect": {"home_institution": "Yale University"},
    "friends": {"donation": {"amount": "250", "given_on": "2025-06-15"}},
    "former_affiliate": {"prior_role": "sponsored", "left_on": "2025-05-31"},
    "community": {"address": {"line1": "1 Main St", "city": "Durham", "postal_code": "27701"}},
}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    # The sandbox's clock is the registration day, so its dates agree with the policy's `today`.
    with Sandbox.demo(now=lambda: datetime(2025, 7, 1, 12, tzinfo=UTC), per_second_limit=None) as sandbox:
        yield sandbox


def posts(sandbox: Sandbox) -> list[str]:
    return [entry.path for entry in sandbox.request_log if entry.method == "POST"]


def test_every_affiliation_is_sampled(policy: Policy) -> None:
    assert sorted(SAMPLES) == sorted(a.code for a in policy.affiliations())


@pytest.mark.parametrize("affiliation", list(SAMPLES))
def test_an_eligible_first_time_registrant_is_created(policy: Policy, sandbox: Sandbox, affiliation: str) -> None:
    patron = Patron(
        onelink_id=NEW_REGISTRANT,
        first_name="Ada",
        last_name="Byron",
        email="ada@example.org",
        affiliation=affiliation,
        **SAMPLES[affiliation],
    )
    issues = policy.eligibility(patron, existing=[], today=TODAY)
    assert not issues, [str(issue) for issue in issues]
    record = policy.build_user(patron, today=TODAY)
    with AlmaClient.sandbox(sandbox) as alma:
        created = alma.users.create(record)
        fetched = alma.users.get(NEW_REGISTRANT)
    assert created.primary_id == fetched.primary_id == NEW_REGISTRANT
    assert str(fetched.user_group) == str(record.user_group)
    assert fetched.expiry_date == record.expiry_date
    assert [str(s.statistic_category) for s in fetched.user_statistic] == [
        str(s.statistic_category) for s in record.user_statistic
    ]
    assert str(fetched.account_type) == "INTERNAL"


def test_a_returning_alum_is_eligible_and_warned_of_the_identifier_move(policy: Policy, sandbox: Sandbox) -> None:
    # Jane Doe (NetID jd123) had a NetID-era account, loaded from SIS, that carries her Duke Unique ID
    # as an identifier. Eligibility is about her; the OneLink workflow moves the identifier.
    onelink_id = DUKE_UNIQUE_IDS["netid_era_alumna"]
    netid_era = DUKE_SCENARIOS["netid_era_alumna"]
    jane = Patron(
        onelink_id=onelink_id, first_name="Jane", last_name="Doe", affiliation="alumni", graduated_on="2019-05-12"
    )
    with AlmaClient.sandbox(sandbox) as alma:
        found = alma.users.get(onelink_id)  # what staff find when they search by her OneLink ID
        assert found.primary_id == netid_era
        issues = policy.eligibility(jane, existing=[found], today=TODAY)
        assert issues.ok
        [issue] = issues.warnings
        assert (issue.code, issue.severity) == ("identifier_in_use", "warn")
        assert issue.message.startswith(
            f"The Alma account {netid_era} (Jane Doe) holds the OneLink ID {onelink_id} as identifier "
            f"DUKE_UNIQUE_ID {onelink_id}. Registering takes the identifier off that account and creates the "
            "new account (putting the identifier back if the create fails); the old account is then merged"
        )
        assert issue.message.endswith(
            f" Account {netid_era} is EXTERNAL (loaded from SIS): a later load from that system may put the "
            "identifier back; ask its administrators to drop the OneLink ID from that feed or check after the "
            "next load."
        )
        assert issue.hint is not None
        assert "remove identifier" not in issue.hint  # the workflow does it, not staff
        assert posts(sandbox) == []  # eligibility only reads

        # Why the workflow must move the identifier first: a plain create is refused.
        with pytest.raises(AlreadyExistsError):
            alma.users.create(policy.build_user(jane, today=TODAY))


def test_former_staff_with_loans_are_eligible_and_warned(policy: Policy, sandbox: Sandbox) -> None:
    onelink_id = DUKE_UNIQUE_IDS["former_staff_with_loans"]
    staff_era = DUKE_SCENARIOS["former_staff_with_loans"]
    rafael = Patron(
        onelink_id=onelink_id, first_name="Rafael", last_name="Martínez", affiliation="former_affiliate",
        prior_role="staff", left_on="2025-05-02",
    )  # fmt: skip
    with AlmaClient.sandbox(sandbox) as alma:
        issues = policy.eligibility(rafael, existing=[alma.users.get(onelink_id)], today=TODAY)
    assert issues.ok
    assert [(issue.code, issue.severity) for issue in issues] == [("identifier_in_use", "warn")]
    assert f"The Alma account {staff_era} (Rafael Martínez) holds the OneLink ID {onelink_id}" in issues[0].message
    assert f"Account {staff_era} is EXTERNAL (loaded from SIS)" in issues[0].message
    assert posts(sandbox) == []


def test_an_existing_onelink_account_is_eligible_and_warned(policy: Policy, sandbox: Sandbox) -> None:
    onelink_id = DUKE_UNIQUE_IDS["onelink_alumnus"]
    returning = Patron(
        onelink_id=onelink_id, first_name="María José", last_name="Ibáñez", affiliation="friends",
        donation={"amount": "500", "given_on": "2025-06-01"},
    )  # fmt: skip
    with AlmaClient.sandbox(sandbox) as alma:
        issues = policy.eligibility(returning, existing=[alma.users.get(onelink_id)], today=TODAY)
    assert issues.ok  # the workflow updates that account instead of creating one
    assert [(issue.code, issue.severity) for issue in issues] == [("account_exists", "warn")]
    assert "the OneLink workflow updates that account" in issues[0].message
    assert "EXTERNAL" not in issues[0].message  # an internal OneLink account
    assert posts(sandbox) == []
