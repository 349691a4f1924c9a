"""A contract test class for policy plugins: subclass it, name your policy, run pytest.

    from alma_onelink.testing import PolicyContract

    class TestMyPolicy(PolicyContract):
        policy_name = "mine"
        onelink_id = "20240001"
        sample_facts = {"reciprocal": {"home_institution": "Partner University"}}

Every test loads the policy through its entry point, so it also checks the plugin is installed.
The tests never read the clock: ``today`` is fixed, and sample patrons are built around it.
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
    or ``sample_patron`` itself. ``required_hooks`` lists the hooks your plugin must implement.
    """

    policy_name: ClassVar[str] = ""
    onelink_id: ClassVar[str] = "0123456"
    today: ClassVar[date] = date(2025, 7, 1)
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
        assert policy.validate_onelink_id(self.onelink_id) is None, (
            f"the sample onelink_id {self.onelink_id!r} is refused; set onelink_id to a valid one"
        )
        problem = policy.validate_onelink_id("")
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
            assert body["primary_id"] == patron.onelink_id
            assert "password" not in body, f"{patron.affiliation}: the record must not carry a password"
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
