"""The contract catches broken plugins: each check fails for a plugin that breaks what it checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from alma_onelink.models import Code, User
from alma_onelink.policy import Patron, Policy, PolicyError, add_months, hookimpl, load_policy
from alma_onelink.testing import PolicyContract


class Contract(PolicyContract):
    """The contract with its default settings (not collected: the name does not start with Test)."""

    policy_name = "default"


class SevenDigits:
    """A well-behaved plugin: the broken ones below each break one thing on top of it."""

    @hookimpl
    def alma_onelink_validate_onelink_id(self, onelink_id: str) -> str | None:
        return None if onelink_id.isdigit() and len(onelink_id) == 7 else "onelink_id must be 7 digits"


class WallClockExpiry:
    @hookimpl
    def alma_onelink_expiry_date(self) -> date:
        return add_months(date.today(), 12)  # the bug: the clock, not the `today` argument


class FixedExpiry:
    @hookimpl
    def alma_onelink_expiry_date(self) -> date:
        return date(2030, 1, 1)


class TooLongOnly:
    """Checks a length and nothing else, so letters pass: `None` defers to the defaults, which allow them."""

    @hookimpl
    def alma_onelink_validate_onelink_id(self, onelink_id: str) -> str | None:
        return "onelink_id is too long" if len(onelink_id) > 20 else None


class NoIdGoes:
    @hookimpl(tryfirst=True)
    def alma_onelink_validate_onelink_id(self) -> str:
        return "never"


class LastLook:
    def __init__(self, change: Callable[[User], None]) -> None:
        self.change = change

    @hookimpl
    def alma_onelink_prepare_user(self, user: User) -> None:
        self.change(user)


def _password(user: User) -> None:
    user.password = "secret"


def _primary_id(user: User) -> None:
    user.primary_id = "someone-else"


def _no_record_type(user: User) -> None:
    user.record_type = None


def _blank_account_type(user: User) -> None:
    user.account_type = Code(value=" ")


def _no_group(user: User) -> None:
    user.user_group = None


# (case, the policy's plugins on top of the defaults, the contract test that must fail)
BROKEN: list[tuple[str, list[object], str]] = [
    ("wall-clock-expiry", [SevenDigits(), WallClockExpiry()], "test_expiry_follows_the_day_given_not_the_clock"),
    ("fixed-expiry", [SevenDigits(), FixedExpiry()], "test_expiry_follows_the_day_given_not_the_clock"),
    ("accepts-malformed-ids", [TooLongOnly()], "test_onelink_id"),
    ("refuses-the-sample-id", [SevenDigits(), NoIdGoes()], "test_onelink_id"),
    ("sets-a-password", [SevenDigits(), LastLook(_password)], "test_build_user_follows_the_record_rules"),
    ("moves-the-primary-id", [SevenDigits(), LastLook(_primary_id)], "test_build_user_follows_the_record_rules"),
    ("drops-the-record-type", [SevenDigits(), LastLook(_no_record_type)], "test_build_user_follows_the_record_rules"),
    (
        "blanks-the-account-type",
        [SevenDigits(), LastLook(_blank_account_type)],
        "test_build_user_follows_the_record_rules",
    ),
    ("drops-the-user-group", [SevenDigits(), LastLook(_no_group)], "test_build_user_follows_the_record_rules"),
]


def with_plugins(plugins: list[object]) -> Policy:
    return load_policy("default", plugins=plugins, addons=False)


@pytest.mark.parametrize("test", sorted({test for _, _, test in BROKEN}))
def test_a_well_behaved_plugin_passes(test: str) -> None:
    getattr(Contract(), test)(with_plugins([SevenDigits()]))


@pytest.mark.parametrize(("plugins", "test"), [(p, t) for _, p, t in BROKEN], ids=[case for case, _, _ in BROKEN])
def test_the_contract_fails_a_broken_plugin(plugins: list[object], test: str) -> None:
    with pytest.raises((AssertionError, PolicyError)):
        getattr(Contract(), test)(with_plugins(plugins))


def test_samples_are_moved_in_time_with_the_registration_day() -> None:
    contract = Contract()
    [alumni] = [a for a in with_plugins([]).affiliations() if a.code == "alumni"]
    sample = contract.sample_patron(alumni)
    later = contract._moved(sample.model_copy(update={"donation": None}), date(2031, 6, 15))
    assert isinstance(later, Patron)
    assert later.graduated_on == date(2026, 6, 15)  # five years before, as in the sample
    assert later.onelink_id == sample.onelink_id
