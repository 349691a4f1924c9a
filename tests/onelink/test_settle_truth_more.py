"""More truths after a full disk or a kill: an edit Alma saved says so, even when its completion cannot be journaled.

``users.edit`` journals its PUT ahead and completes it after. When the completion cannot be written
(a full disk) the change IS saved in Alma: the error says so, with what to run, and carries the record
Alma holds; when the intent cannot be written, nothing was sent and the error says that.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from alma_onelink import AlmaClient, AsyncAlmaClient
from alma_onelink.cli import app
from alma_onelink.engine import Journal, JournalError, settle
from alma_onelink.sandbox import Sandbox
from tests.onelink.conftest import NOW


class FullDisk(Journal):
    """A journal whose disk is full for lines of ``kind`` (``"intent"`` or ``"completion"``)."""

    def __init__(self, path: Path, *, kind: str) -> None:
        super().__init__(path)
        self.kind = kind

    def _append(self, data: bytes) -> None:
        if f'"type":"{self.kind}"'.encode() in data:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        super()._append(data)


def test_an_edit_alma_saved_whose_completion_cannot_be_journaled_says_the_change_is_saved(
    alma: AlmaClient, sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "journal.jsonl"
    with (
        pytest.raises(JournalError) as caught,
        alma.users.edit("jd123", journal=FullDisk(path, kind="completion")) as user,
    ):
        user.job_description = "Visiting scholar"
    said = str(caught.value)
    assert "No space left on device" in said
    assert "the change IS saved in Alma (jd123 holds it)" in said
    assert "`alma-onelink journal settle`" in said
    assert caught.value.nothing_sent is False
    assert caught.value.saved is not None
    assert caught.value.saved["job_description"] == "Visiting scholar"
    assert alma.users.get("jd123").job_description == "Visiting scholar"
    assert len(Journal(path).pending()) == 1
    assert settle(alma, journal=Journal(path))[0].result == "done"


async def test_an_async_edit_alma_saved_whose_completion_cannot_be_journaled_says_the_change_is_saved(
    aalma: AsyncAlmaClient, tmp_path: Path
) -> None:
    path = tmp_path / "journal.jsonl"
    with pytest.raises(JournalError) as caught:
        async with aalma.users.edit("jd123", journal=FullDisk(path, kind="completion")) as user:
            user.job_description = "Visiting scholar"
    assert "the change IS saved in Alma (jd123 holds it)" in str(caught.value)
    assert caught.value.saved is not None
    assert (await aalma.users.get("jd123")).job_description == "Visiting scholar"


def test_an_edit_whose_intent_cannot_be_journaled_says_nothing_was_sent(alma: AlmaClient, tmp_path: Path) -> None:
    before = alma.users.get("jd123").job_description
    path = tmp_path / "journal.jsonl"
    with pytest.raises(JournalError) as caught, alma.users.edit("jd123", journal=FullDisk(path, kind="intent")) as user:
        user.job_description = "Visiting scholar"
    assert caught.value.nothing_sent is True
    assert "nothing was sent to Alma: jd123 is unchanged" in str(caught.value)
    assert caught.value.saved is None
    assert alma.users.get("jd123").job_description == before


def test_user_edit_on_a_full_disk_tells_the_desk_the_change_is_saved_in_alma(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ALMA_API_KEY", "ALMA_BASE_URL", "ALMA_REGION", "ALMA_ONELINK_JOURNAL", "ALMA_ONELINK_POLICY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    db, path = tmp_path / "sandbox.sqlite3", tmp_path / "journal.jsonl"
    Sandbox.demo(db_path=db, now=lambda: NOW).close()
    real = Journal._append

    def full_for_completions(self: Journal, data: bytes) -> None:
        if b'"type":"completion"' in data:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(self, data)

    monkeypatch.setattr(Journal, "_append", full_for_completions)
    args = ["--db", str(db), "--journal", str(path), "user", "edit", "jd123", "--set", "job_description=Z", "--yes"]
    result = CliRunner().invoke(app, args)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.exit_code == 4, said
    assert "the change IS saved in Alma (jd123 holds it)" in said
    assert f"--journal {path} journal settle`" in said


def test_a_journal_line_cut_short_by_a_full_disk_is_taken_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from alma_onelink.engine import _journal_files

    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    journal.intend(action="update", target="jd123", before={"primary_id": "jd123"})
    size = path.stat().st_size
    real_open = open

    class ShortWrite:
        """A file that takes 10 bytes of a write, then the disk is full."""

        def __init__(self, file: Any) -> None:
            self.file = file

        def __getattr__(self, name: str) -> Any:
            return getattr(self.file, name)

        def __enter__(self) -> ShortWrite:
            return self

        def __exit__(self, *rest: object) -> None:
            self.file.close()

        def write(self, data: bytes) -> int:
            if self.file.tell() > size:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return int(self.file.write(data[:10]))

    monkeypatch.setattr(_journal_files, "open", lambda *a, **k: ShortWrite(real_open(*a, **k)), raising=False)
    with pytest.raises(JournalError, match="No space left"):
        journal.intend(action="update", target="jd123", before={"primary_id": "jd123"})
    monkeypatch.undo()
    assert path.stat().st_size == size, "no torn line left behind"
    assert Journal(path).skipped_lines == 0
    assert len(Journal(path)) == 1
