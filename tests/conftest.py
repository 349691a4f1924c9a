"""Fixtures of every test: nothing a test runs writes to the per-user data directory."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _journal_in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The default journal of the OneLink workflow lives in the test's temporary folder."""
    path = tmp_path / "default-journal.jsonl"
    monkeypatch.setenv("ALMA_ONELINK_JOURNAL", str(path))
    return path
