"""`registration_calls`, the numbers the daily budget holds, against the calls each kind of patron makes.

If a change to the procedure makes more calls than `registration_calls` says, the budget could take
the institution below its reserve: this fails first. If it makes fewer, the numbers should follow.
"""

from __future__ import annotations

from alma_onelink import AlmaClient
from alma_onelink.onelink import Journal, Outcome, register_many
from alma_onelink.onelink.batch import MAX_CONCURRENCY
from alma_onelink.onelink.budget import registration_calls
from alma_onelink.policy import Policy
from tests.onelink.conftest import TODAY, new_registrant
from tests.onelink.test_batch import mixed_batch


def test_a_new_patron_and_one_already_registered_cost_what_the_numbers_say(
    alma: AlmaClient, policy: Policy, journal: Journal
) -> None:
    calls = registration_calls(policy)
    [first] = register_many(alma, policy, [new_registrant()], journal=journal, today=TODAY, reserve=None)
    [again] = register_many(alma, policy, [new_registrant()], journal=journal, today=TODAY, reserve=None)
    assert (first.outcome, again.outcome) == (Outcome.CREATED, Outcome.ALREADY_REGISTERED)
    assert (len(first.calls), len(again.calls)) == (calls.new_patron, calls.registered)


def test_no_kind_of_patron_makes_more_calls_than_the_budget_holds(
    alma: AlmaClient, policy: Policy, journal: Journal
) -> None:
    calls = registration_calls(policy)
    patrons, _ = mixed_batch()
    dry = list(register_many(alma, policy, patrons, journal=journal, today=TODAY, dry_run=True, reserve=None))
    assert max(len(r.calls) for r in dry) <= calls.dry_run_most
    real = list(register_many(alma, policy, patrons, journal=journal, today=TODAY, reserve=None))
    assert max(len(r.calls) for r in real) <= calls.most
    assert {r.outcome for r in real} >= {Outcome.CREATED, Outcome.NEEDS_MERGE, Outcome.RENEWED}
    assert calls.most_for(dry_run=True) == calls.dry_run_most
    assert calls.most_for(dry_run=False) == calls.most


def test_the_command_knows_the_librarys_limits() -> None:
    """The command declares its option bounds without importing the SDK: they must be the library's."""
    from alma_onelink.cli import _batch
    from alma_onelink.onelink.budget import DEFAULT_RESERVE

    assert _batch.MAX_CONCURRENCY == MAX_CONCURRENCY
    assert _batch.DEFAULT_RESERVE == DEFAULT_RESERVE
