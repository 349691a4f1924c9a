"""A contract test class for policy plugins: subclass it, name your policy, run pytest.

    from alma_onelink.testing import PolicyContract

    class TestMyPolicy(PolicyContract):
        policy_name = "mine"
        onelink_id = "20240001"
        sample_facts = {"reciprocal": {"home_institution": "Partner University"}}

Every test loads the policy through its entry point, so it also checks the plugin is installed.
The tests never read the clock: ``today`` is fixed, and sample patrons are built around it. Expiry
dates are also asked for on two far-apart days, ``other_days``, with the samples moved in time, so a
plugin that reads the wall clock instead of its ``today`` argument fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from alma_onelink.models import Code, User, UserStatistic
from alma_onelink.policy import (
    Affiliation,
    Donation,
    EligibilityIssue,
    Patron,
    Policy,
    PostalAddress,
    add_months,
    available_policies,
    load_policy,
)

__all__ = ["PolicyContract"]


class PolicyContract:
    """Checks a policy plugin's hook coverage and the types and sense of its answers.

    Set ``policy_name``; override ``onelink_id`` (a valid id for your institution), ``today`` and
    ``sample_facts`` (per affiliation code, ``Patron`` fields that make a sample patron eligible),
    or ``sample_patron`` itself. ``invalid_onelink_ids`` are ids your policy must refuse (by default
    a blank one, letters and one with a space: override it if any of those is valid for you);
    ``other_days`` are the registration days the expiry check also uses. ``required_hooks`` lists
    the hooks your plugin must implement.
    """

    policy_name: ClassVar[str] = ""
    onelink_id: ClassVar[str] = "0123456"
    invalid_onelink_ids: ClassVar[tuple[str, ...]] = ("", "abc", "12 34")
    today: ClassVar[date] = date(2025, 7, 1)
    other_days: ClassVar[tuple[date, ...]] = (date(2001, 1, 1), date(2031, 6, 15))
    sample_facts: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    required_hooks: ClassVar[tuple[str, ...]] = (
        "alma_onelink_affiliations",
        "alma_onelink_patron_group",
        "alma_onelink_patron_type",
    )

    @pytest.fixture
    def policy(self) -> Policy:
        """The policy under test, loaded by name as users load it."""
        if not self.policy_name:
            pytest.fail(f"{type(self).__name__} must set policy_name to the entry-point name of the policy")
        return load_policy(self.policy_name)

    def sample_patron(self, affiliation: Affiliation) -> Patron:
        """An eligible patron for ``affiliation``: generic facts, then ``sample_facts`` for its code."""
        facts: dict[str, Any] = {
            "onelink_id": self.onelink_id,
            "first_name": "Sam",
            "last_name": "Sample",
            "email": "sam.sample@example.org",
            "affiliation": affiliation.code,
            "graduated_on": add_months(self.today, -60),
            "left_on": add_months(self.today, -12),
            "home_institution": "Example University",
            "prior_role": "staff",
            "donation": Donation(amount=Decimal("1000"), given_on=self.today - timedelta(days=30)),
            "address": PostalAddress(line1="1 Example Street", city="Durham", postal_code="27701"),
        }
        facts.update(self.sample_facts.get(affiliation.code, {}))
        return Patron(**facts)

    def _samples(self, policy: Policy) -> list[Patron]:
        return [self.sample_patron(affiliation) for affiliation in policy.affiliations()]

    def _moved(self, patron: Patron, day: date) -> Patron:
        """``patron`` as if registered on ``day``: every date of the application moved by as much.

        Built without validation, since ``Patron`` refuses dates after the wall clock and ``day``
        may be years ahead; the facts keep their distances to the registration day.
        """
        shift = day - self.today
        update: dict[str, Any] = {
            name: value + shift
            for name in ("graduated_on", "left_on")
            if isinstance(value := getattr(patron, name), date)
        }
        if patron.donation is not None:
            update["donation"] = patron.donation.model_copy(update={"given_on": patron.donation.given_on + shift})
        return patron.model_copy(update=update)

    # --- the tests -----------------------------------------------------------------------------

    def test_policy_is_installed(self) -> None:
        assert self.policy_name in available_policies(), (
            f"{self.policy_name!r} is not registered in the alma_onelink.policies entry-point group; "
            "install your distribution (pip install -e .)"
        )

    def test_plugin_implements_the_required_hooks(self, policy: Policy) -> None:
        implemented = policy.implemented_hooks(self.policy_name)
        missing = [hook for hook in self.required_hooks if hook not in implemented]
        assert not missing, f"{self.policy_name!r} does not implement {', '.join(missing)}"

    def test_affiliations_are_well_formed(self, policy: Policy) -> None:
        affiliations = policy.affiliations()
        assert affiliations, "the policy offers no affiliation"
        assert all(isinstance(a, Affiliation) for a in affiliations)
        codes = [a.code for a in affiliations]
        assert len(codes) == len(set(codes)), f"affiliation codes repeat: {codes}"

    def test_onelink_id(self, policy: Policy) -> None:
        samples = {patron.onelink_id for patron in self._samples(policy)} | {self.onelink_id}
        for onelink_id in sorted(samples):
            assert policy.validate_onelink_id(onelink_id) is None, (
                f"the sample onelink_id {onelink_id!r} is refused; set onelink_id to a valid one"
            )
        assert self.invalid_onelink_ids, "list at least one id your policy refuses in invalid_onelink_ids"
        for onelink_id in self.invalid_onelink_ids:
            assert onelink_id not in samples, f"{onelink_id!r} is both a sample id and in invalid_onelink_ids"
            problem = policy.validate_onelink_id(onelink_id)
            assert problem is not None, (
                f"the malformed OneLink ID {onelink_id!r} is accepted; validate_onelink_id must refuse it "
                "(or, if it is valid for you, override invalid_onelink_ids)"
            )
            assert isinstance(problem, str)
            assert problem.strip()

    def test_decisions_have_the_right_types(self, policy: Policy) -> None:
        for patron in self._samples(policy):
            group = policy.patron_group(patron)
            assert isinstance(group, Code)
            assert group.value, patron.affiliation
            statistic = policy.patron_type(patron)
            assert isinstance(statistic, UserStatistic)
            expiry = policy.expiry_date(patron, today=self.today)
            assert type(expiry) is date, patron.affiliation
            assert expiry > self.today, f"{patron.affiliation}: expiry {expiry} is not after {self.today}"
            purge = policy.purge_date(patron, expiry=expiry)
            assert purge is None or (type(purge) is date and purge >= expiry), patron.affiliation

    def test_expiry_follows_the_day_given_not_the_clock(self, policy: Policy) -> None:
        for patron in self._samples(policy):
            for day in self.other_days:
                expiry = policy.expiry_date(self._moved(patron, day), today=day)
                assert expiry > day, (
                    f"{patron.affiliation}: registered on {day}, the account expires on {expiry}; compute "
                    "the expiry from the `today` argument (and the patron's dates), never the clock"
                )

    def test_sample_patrons_are_eligible(self, policy: Policy) -> None:
        for patron in self._samples(policy):
            issues = policy.eligibility(patron, existing=[], today=self.today)
            assert all(isinstance(issue, EligibilityIssue) for issue in issues)
            assert issues.ok, f"{patron.affiliation}: {[str(i) for i in issues.blocking]}"

    def test_eligibility_reports_an_active_netid(self, policy: Policy) -> None:
        patron = self._samples(policy)[0].model_copy(update={"has_active_netid": True})
        issues = policy.eligibility(patron, existing=[], today=self.today)
        assert issues.blocking, "a patron with an active NetID should not be registered this way"

    def test_build_user_follows_the_record_rules(self, policy: Policy) -> None:
        for patron in self._samples(policy):
            user = policy.build_user(patron, today=self.today)
            assert isinstance(user, User)
            body = user.to_alma()
            assert body["primary_id"] == patron.onelink_id, f"{patron.affiliation}: primary id is not the OneLink ID"
            assert not user.password, f"{patron.affiliation}: the record must not carry a password"
            assert "password" not in body, f"{patron.affiliation}: the record must not carry a password"
            for name in ("record_type", "account_type", "user_group"):
                code = getattr(user, name)
                assert code is not None, f"{patron.affiliation}: {name} is not set"
                assert (code.value or "").strip(), f"{patron.affiliation}: {name} is blank"
            assert body["user_group"]["value"] == policy.patron_group(patron).value
            assert body["user_statistic"], f"{patron.affiliation}: no Patron type statistic"
            assert User.from_alma(body).to_alma() == body  # what is sent reads back unchanged

    def test_links_are_absolute_urls(self, policy: Policy) -> None:
        for key, url in policy.links().items():
            assert url.startswith(("https://", "http://")), f"link {key!r} is not an absolute URL: {url!r}"

    def test_answers_depend_on_the_arguments_only(self, policy: Policy) -> None:
        for patron in self._samples(policy):
            first = policy.build_user(patron, today=self.today).to_alma()
            again = policy.build_user(patron, today=self.today).to_alma()
            assert first == again, f"{patron.affiliation}: two identical calls built different records"
