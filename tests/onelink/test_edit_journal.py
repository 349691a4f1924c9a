"""``users.edit(..., journal=...)``: the PUT of an edit is journaled ahead and can be undone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from alma_onelink import AlmaClient, AsyncAlmaClient, BadRequestError
from alma_onelink.onelink import Journal, Restored, restore
from alma_onelink.sandbox import Sandbox

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox.demo(now=lambda: NOW)


def test_an_edit_is_journaled_with_the_record_before_and_after(sandbox: Sandbox, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    with AlmaClient.sandbox(sandbox) as alma:
        before = alma.users.get("jd123")
        with alma.users.edit("jd123", journal=journal, staff="jsmith", reason="new job") as user:
            user.job_description = "Visiting scholar"
    (entry,) = journal.entries()
    assert (entry.action, entry.target, entry.result, entry.staff, entry.operation, entry.reason) == (
        "update", "jd123", "done", "jsmith", "edit", "new job",
    )  # fmt: skip
    assert entry.before == before.to_alma()
    assert entry.after is not None
    assert entry.after["job_description"] == "Visiting scholar"
    assert journal.pending() == []


def test_an_edit_that_changes_nothing_writes_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    with AlmaClient.sandbox(sandbox) as alma, alma.users.edit("jd123", journal=journal):
        pass
    assert journal.entries() == []


def test_a_refused_edit_is_journaled_as_failed_and_the_error_raised(sandbox: Sandbox, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    edit = AlmaClient.sandbox(sandbox).users.edit("0123456", journal=journal)  # internal: its group is written
    with pytest.raises(BadRequestError), edit as user:
        user.user_group = "NO_SUCH_GROUP"  # type: ignore[assignment]
    (entry,) = journal.entries()
    assert entry.result == "failed"
    assert entry.error is not None
    assert "BadRequestError" in entry.error


def test_restore_undoes_a_journaled_edit(sandbox: Sandbox, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    with AlmaClient.sandbox(sandbox) as alma:
        original = alma.users.get("jd123").to_alma()
        with alma.users.edit("jd123", journal=journal) as user:
            user.job_description = "Visiting scholar"
        (entry,) = journal.entries()
        done = restore(alma, entry.id[:8], journal=journal)
        assert done.outcome is Restored.PUT_BACK
        assert alma.users.get("jd123").job_description == original.get("job_description")


async def test_an_async_edit_is_journaled_too(sandbox: Sandbox, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    async with (
        AsyncAlmaClient.sandbox(sandbox) as alma,
        alma.users.edit("jd123", journal=journal, staff="jsmith") as user,
    ):
        user.job_description = "Visiting scholar"
    (entry,) = journal.entries()
    assert (entry.result, entry.staff, entry.target) == ("done", "jsmith", "jd123")
