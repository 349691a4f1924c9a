"""Institution policies: which group, Patron type and expiry a patron gets, and who is eligible.

A policy is a set of pluggy plugins: the in-tree defaults, one institution plugin chosen by name
from the ``alma_onelink.policies`` entry-point group, and add-ons from ``alma_onelink.plugins``::

    from alma_onelink.policy import load_policy
    policy = load_policy("duke")
    policy.patron_group(patron)

Write a plugin with ``@hookimpl`` functions named after the hooks in ``hookspecs``.
"""

from typing import TYPE_CHECKING

from alma_onelink._lazy import lazy_names

if TYPE_CHECKING:
    from ._facts import fact_label, facts_label
    from .hookspecs import hookimpl, hookspec
    from .manager import (
        DEFAULT_POLICY,
        EXPIRY_NOT_AFTER_TODAY,
        PLUGIN_GROUP,
        POLICY_GROUP,
        Policy,
        available_policies,
        load_policy,
    )
    from .types import (
        LINK_DESCRIPTIONS,
        LINK_MY_ACCOUNT,
        LINK_ONELINK_REGISTRATION,
        LINK_ONELINK_SIGN_IN,
        LINK_SELF_SERVICE,
        NO_PURGE_DATE,
        REGISTRATION_OUTCOMES,
        WELL_KNOWN_LINKS,
        Affiliation,
        Donation,
        EligibilityIssue,
        EligibilityIssues,
        Patron,
        PolicyError,
        PostalAddress,
        PriorRole,
        RegistrationOutcome,
        Severity,
        add_months,
        blocking,
        onelink_id_clash,
    )
else:
    __getattr__, __dir__ = lazy_names(
        __name__,
        {
            "._facts": ("fact_label", "facts_label"),
            ".hookspecs": ("hookimpl", "hookspec"),
            ".manager": (
                "DEFAULT_POLICY", "EXPIRY_NOT_AFTER_TODAY", "PLUGIN_GROUP", "POLICY_GROUP", "Policy",
                "available_policies", "load_policy",
            ),
            ".types": (
                "LINK_DESCRIPTIONS", "LINK_MY_ACCOUNT", "LINK_ONELINK_REGISTRATION", "LINK_ONELINK_SIGN_IN",
                "LINK_SELF_SERVICE", "NO_PURGE_DATE", "REGISTRATION_OUTCOMES", "WELL_KNOWN_LINKS", "Affiliation",
                "Donation", "EligibilityIssue", "EligibilityIssues", "Patron", "PolicyError", "PostalAddress",
                "PriorRole", "RegistrationOutcome", "Severity", "add_months", "blocking", "onelink_id_clash",
            ),
        },
    )  # fmt: skip

__all__ = [
    "DEFAULT_POLICY",
    "EXPIRY_NOT_AFTER_TODAY",
    "LINK_DESCRIPTIONS",
    "LINK_MY_ACCOUNT",
    "LINK_ONELINK_REGISTRATION",
    "LINK_ONELINK_SIGN_IN",
    "LINK_SELF_SERVICE",
    "NO_PURGE_DATE",
    "PLUGIN_GROUP",
    "POLICY_GROUP",
    "REGISTRATION_OUTCOMES",
    "WELL_KNOWN_LINKS",
    "Affiliation",
    "Donation",
    "EligibilityIssue",
    "EligibilityIssues",
    "Patron",
    "Policy",
    "PolicyError",
    "PostalAddress",
    "PriorRole",
    "RegistrationOutcome",
    "Severity",
    "add_months",
    "available_policies",
    "blocking",
    "fact_label",
    "facts_label",
    "hookimpl",
    "hookspec",
    "load_policy",
    "onelink_id_clash",
]
