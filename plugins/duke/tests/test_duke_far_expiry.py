"""An account Alma holds with an expiry far past the term (9999-12-31, "never"): renewed without a crash, and
staff are told.

The purge date stops at 9999-12-31, the last day there is; a renewal keeps the later expiry (it never
shortens an account's time), and eligibility warns (``expiry_beyond_term``) with the date the
procedure gives and the command that sets it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from alma_onelink import AlmaClient, register_patron
from alma_onelink.models import Code
from alma_onelink.policy import Patron, Policy, PostalAddress
from alma_onelink.sandbox import Sandbox

TODAY = date(2025, 7, 1)


def ann() -> Patron:
    address = PostalAddress(line1="1 Main St", city="Durham")
    return Patron(onelink_id="4000501", first_name="Ann", last_name="Lee", affiliation="community", address=address)


@pytest.fixture
def alma() -> Iterator[AlmaClient]:
    with (
        Sandbox.demo(now=lambda: datetime(2025, 7, 1, 12, tzinfo=UTC), per_second_limit=None) as sandbox,
        AlmaClient.sandbox(sandbox) as client,
    ):
        yield client


@pytest.mark.parametrize("far", [date(9999, 12, 31), date(9999, 1, 15), date(2090, 1, 1)])
def test_an_account_expiring_far_past_the_term_is_renewed_and_pointed_out(
    alma: AlmaClient, policy: Policy, tmp_path: Path, far: date
) -> None:
    journal = tmp_path / "journal.jsonl"
    assert register_patron(alma, policy, ann(), today=TODAY, journal=journal).outcome == "created"
    with alma.users.edit("4000501") as user:
        user.expiry_date = far
        user.user_group = Code(value="DUKE_TRLN")  # something to renew
    result = register_patron(alma, policy, ann(), today=TODAY, journal=journal)
    assert result.outcome == "renewed", result.reason
    account = alma.users.get("4000501")
    assert account.expiry_date == far  # never shortened
    assert account.purge_date == min(date(far.year + 1, far.month, far.day) if far.year < 9999 else date.max, date.max)
    [warning] = [issue for issue in result.issues if issue.code == "expiry_beyond_term"]
    assert warning.severity == "warn"
    assert far.isoformat() in warning.message
    assert warning.hint is not None
    assert "alma-onelink user edit 4000501 --set expiry_date=2026-07-01" in warning.hint
    again = register_patron(alma, policy, ann(), today=TODAY, journal=journal)
    assert again.outcome == "already_registered"
    assert "expiry_beyond_term" in [issue.code for issue in again.issues]


@pytest.mark.parametrize(("expiry", "told"), [(date(2027, 7, 1), False), (date(2027, 7, 2), True)])
def test_staff_are_told_only_past_a_year_after_the_date_the_term_gives(
    policy: Policy, alma: AlmaClient, tmp_path: Path, expiry: date, told: bool
) -> None:
    register_patron(alma, policy, ann(), today=TODAY, journal=tmp_path / "journal.jsonl")
    account = alma.users.get("4000501")
    account.expiry_date = expiry  # the term gives 2026-07-01; a year past it is 2027-07-01
    issues = policy.eligibility(ann(), existing=[account], today=TODAY)
    assert ("expiry_beyond_term" in [issue.code for issue in issues]) is told
