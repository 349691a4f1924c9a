"""Institution policies: which group, Patron type and expiry a patron gets, and who is eligible.

A policy is a set of pluggy plugins: the in-tree defaults, one institution plugin chosen by name
from the ``alma_onelink.policies`` entry-point group, and add-ons from ``alma_onelink.plugins``::

    from alma_onelink.policy import load_policy
    policy = load_policy("duke")
    policy.patron_group(patron)

Write a plugin with ``@hookimpl`` functions named after the hooks in ``hookspecs``.
"""

from .hookspecs import hookimpl, hookspec
from .manager import DEFAULT_POLICY, PLUGIN_GROUP, POLICY_GROUP, Policy, available_policies, load_policy
from .types import (
    LINK_MY_ACCOUNT,
    LINK_ONELINK_REGISTRATION,
    LINK_ONELINK_SIGN_IN,
    LINK_SELF_SERVICE,
    NO_PURGE_DATE,
    WELL_KNOWN_LINKS,
    Affiliation,
    Donation,
    EligibilityIssue,
    EligibilityIssues,
    Patron,
    PolicyError,
    PostalAddress,
    PriorRole,
    Severity,
    add_months,
    blocking,
    onelink_id_clash,
)

__all__ = [
    "DEFAULT_POLICY",
    "LINK_MY_ACCOUNT",
    "LINK_ONELINK_REGISTRATION",
    "LINK_ONELINK_SIGN_IN",
    "LINK_SELF_SERVICE",
    "NO_PURGE_DATE",
    "PLUGIN_GROUP",
    "POLICY_GROUP",
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
    "Severity",
    "add_months",
    "available_policies",
    "blocking",
    "hookimpl",
    "hookspec",
    "load_policy",
    "onelink_id_clash",
]
