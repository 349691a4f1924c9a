"""How many Alma calls one registration makes: the one place the daily budget takes its numbers from.

Whoever changes the calls a step of the procedure makes (``_find``, ``_create``, ``_renew``,
``_verify``) changes `registration_calls` with it; ``tests/onelink/test_budget_calls.py`` runs each
kind of patron on the sandbox and checks the calls counted there against these numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from alma_onelink.errors import InputError
from alma_onelink.policy import Policy

__all__ = ["RegistrationCalls", "check_policy", "registration_calls"]


@dataclass(frozen=True, slots=True)
class RegistrationCalls:
    """The Alma calls of one registration, with the policy and settings of a batch. Every figure is a count of calls."""

    new_patron: int
    """A new patron: the OneLink ID looked up, the search(es) by email and by name, the create (Alma's answer
    to it is the record verified)."""
    new_patron_reads: int
    """The reads of a new patron: what its dry run makes, and what a SIS file's searches cost."""
    registered: int
    """A patron already registered and up to date: the OneLink ID looked up."""
    most: int
    """The most a registration makes when Alma answers each call the first time: the OneLink ID looked up,
    the searches (with ``OR``: the one search, then both apart when its page is full), one account
    found by email and name read in full, the old account the journal remembers read, the OneLink ID
    moved off it, the create. What the daily budget holds for each registration under way."""
    dry_run_most: int
    """The most a dry run makes (its reads only)."""

    def most_for(self, *, dry_run: bool) -> int:
        """`most`, or `dry_run_most` for a dry run: what the budget holds for each registration under way."""
        return self.dry_run_most if dry_run else self.most


def check_policy(policy: object) -> None:
    """Raises `InputError` unless ``policy`` is a `Policy`; for a policy's name, says to load it."""
    if isinstance(policy, Policy):
        return
    if isinstance(policy, str):
        raise InputError(
            f"policy must be a Policy, not its name: load it with load_policy({policy!r:.40}) (alma_onelink.policy)"
        )
    raise InputError(f"policy must be a Policy from load_policy(...); got {type(policy).__name__}")


def registration_calls(policy: Policy) -> RegistrationCalls:
    """The calls one registration makes with ``policy`` and the current settings (`RegistrationCalls`).

    ``policy.search_with_or`` (the institution's Alma accepts ``OR`` in a user search) saves a new
    patron one search. Calls outside the normal path are not counted: a retry after a 5xx or a
    timeout, the read-back of a write whose answer was lost, the settlement of an earlier run's
    writes, more than one account found by email and name. The budget's reserve absorbs them.

    Raises:
        InputError: ``policy`` is not a `Policy` (a policy's name is loaded with ``load_policy(name)``).
    """
    check_policy(policy)
    searches, most_searches = (1, 3) if policy.search_with_or else (2, 2)
    reads_most = 1 + most_searches + 1 + 1  # the OneLink ID, the searches, a candidate, the journal's old account
    return RegistrationCalls(
        new_patron=1 + searches + 1,
        new_patron_reads=1 + searches,
        registered=1,
        most=reads_most + 2,
        dry_run_most=reads_most,
    )
