"""Fixtures of every Duke test: the shipped settings, and the policy loaded from them."""

from __future__ import annotations

import pytest
from alma_onelink_duke import CONFIG_ENV

from alma_onelink.policy import Policy, load_policy


@pytest.fixture(autouse=True)
def _shipped_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use the shipped duke.toml whatever the environment says, unless a test sets it."""
    monkeypatch.delenv(CONFIG_ENV, raising=False)


@pytest.fixture
def policy() -> Policy:
    """The Duke policy, loaded by name as staff load it."""
    return load_policy("duke")
