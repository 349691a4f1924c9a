"""Contract: a user's loans, requests and fees, and the counts ``expand`` gives on the user."""

from __future__ import annotations

import pytest

from alma_onelink import AlmaClient

from ._targets import Target
from .conftest import MakeUser


def test_the_lists_of_a_user_with_activity(target: Target, alma: AlmaClient) -> None:
    if target.active_user is None:
        pytest.skip("set ALMA_TEST_ACTIVE_USER to a user with loans, requests and fees (read only)")
    user_id = target.active_user
    loans = alma.users.loans(user_id, limit=100)
    assert loans.items, "the user has active loans"
    assert loans.total_record_count == len(loans.items)
    for loan in loans.items:
        assert loan.loan_id
        assert loan.is_active
        assert loan.loan_date is not None
        assert loan.due_date is not None
        assert loan.loan_date < loan.due_date, loan  # never due before it was lent
    requests = alma.users.requests(user_id)
    assert requests.total_record_count == len(requests.items)
    fees = alma.users.fees(user_id)
    assert fees.items, "the user owes something"
    assert fees.total_sum == pytest.approx(sum(fee.balance or 0 for fee in fees.items))
    expanded = alma.users.get(user_id, expand=["loans", "requests", "fees"])
    assert expanded.loans
    assert expanded.loans.value == loans.total_record_count
    assert expanded.requests
    assert expanded.requests.value == requests.total_record_count
    assert expanded.fees
    assert expanded.fees.value == pytest.approx(fees.total_sum)


def test_completed_loans_are_listed_apart(target: Target, alma: AlmaClient) -> None:
    if target.active_user is None:
        pytest.skip("set ALMA_TEST_ACTIVE_USER to a user with loans, requests and fees (read only)")
    done = alma.users.loans(target.active_user, loan_status="Complete")
    assert all(not loan.is_active for loan in done.items)


@pytest.mark.writes
def test_a_new_user_has_empty_lists_in_alma_shapes(make_user: MakeUser, target: Target) -> None:
    user = make_user("idle")
    with target.http(headers={"Accept": "application/json"}) as http:
        loans = http.get(f"/users/{user.primary_id}/loans").json()
        requests = http.get(f"/users/{user.primary_id}/requests").json()
        fees = http.get(f"/users/{user.primary_id}/fees").json()
    assert loans == {"total_record_count": 0}  # the list key is left out
    assert requests == {"total_record_count": 0}
    assert fees["total_record_count"] == 0
    assert fees["total_sum"] == 0
    assert "fee" not in fees
