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


@pytest.fixture(autouse=True)
def _journal_in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The default journal of the OneLink workflow lives in a temporary folder, never the user's."""
    monkeypatch.setenv("ALMA_ONELINK_JOURNAL", str(tmp_path_factory.mktemp("journal") / "journal.jsonl"))
