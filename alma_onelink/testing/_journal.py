"""An autouse fixture: the OneLink workflow's default journal lives in the test's temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from alma_onelink.engine.journal import Journal

__all__ = ["alma_journal"]


@pytest.fixture(autouse=True)
def alma_journal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Journal:
    """The default `Journal` (``$ALMA_ONELINK_JOURNAL``), in ``tmp_path``: tests never write to the user's."""
    path = tmp_path / "journal.jsonl"
    monkeypatch.setenv("ALMA_ONELINK_JOURNAL", str(path))
    return Journal(path)
