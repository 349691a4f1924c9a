"""The Duke policy passes the contract every policy plugin is held to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from alma_onelink.testing import PolicyContract


class TestDukePolicyContract(PolicyContract):
    policy_name = "duke"
    onelink_id = "0123456"
    sample_facts: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "trln": {"home_institution": "UNC-Chapel Hill"},
        "borrowdirect": {"home_institution": "Yale"},
    }
    required_hooks = (
        *PolicyContract.required_hooks,
        "alma_onelink_validate_onelink_id",
        "alma_onelink_eligibility",
        "alma_onelink_expiry_date",
        "alma_onelink_purge_date",
        "alma_onelink_prepare_user",
        "alma_onelink_links",
    )
