"""The journal's lock waits with a bound, `Journal(...)` raises only the SDK's errors, and intents go in bulk.

Another process holding ``<journal>.lock`` (here: a second file lock on it, which the system treats
the same) makes a call wait at most ``lock_timeout`` seconds, logging once that it waits, then raise
`JournalError` naming the lock. A path that cannot hold a journal is an `InputError`; a folder where
the lock cannot be created reads, and refuses to write with `JournalError`. `Journal.intend_many`
journals many intents with one lock and one fsync; `hand_off` uses it.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from pathlib import Path
from typing import Any

import filelock
import pytest

from alma_onelink.engine import Intent, Journal, JournalError, _journal_lock
from alma_onelink.errors import InputError
from alma_onelink.onelink.handoff import hand_off
from alma_onelink.policy import Policy
from tests.onelink.conftest import TODAY, netid_era_alumna


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.jsonl"


@pytest.fixture
def held(path: Path) -> Any:
    """``<journal>.lock`` held as another process would hold it, until the test ends."""
    other = filelock.FileLock(f"{path}.lock", thread_local=False)
    other.acquire()
    yield other
    other.release()


def test_a_lock_held_by_another_process_is_waited_on_with_a_bound_then_named(
    path: Path, held: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_journal_lock, "NOTICE_AFTER", 0.01)
    journal = Journal(path, lock_timeout=0.2)
    with caplog.at_level(logging.WARNING, logger="alma_onelink"), pytest.raises(JournalError) as raised:
        journal.intend(action="create", target="0345678", before=None)
    message = str(raised.value)
    assert (
        f"The journal {path} is in use by another process: its lock {path}.lock was not released within 0.2 s"
        in message
    )
    assert "nothing was read or written" in message
    assert raised.value.nothing_sent
    [waiting] = [r.getMessage() for r in caplog.records if "Waiting for the journal" in r.getMessage()]
    assert f"in use by another process (lock {path}.lock)" in waiting
    assert not path.exists() or path.read_bytes() == b""
    with pytest.raises(JournalError, match="in use by another process"):
        journal.entries()  # reads wait the same way


def test_once_the_lock_is_released_the_call_goes_through(path: Path, held: Any) -> None:
    journal = Journal(path, lock_timeout=30)
    done = threading.Event()
    found: list[Any] = []

    def write() -> None:
        found.append(journal.intend(action="create", target="0345678", before=None))
        done.set()

    worker = threading.Thread(target=write)
    worker.start()
    assert not done.wait(0.05), "it waits while the lock is held"
    held.release()
    assert done.wait(10)
    worker.join()
    assert [e.id for e in journal.pending()] == [found[0].id]
    held.acquire()  # for the fixture to release


def test_another_thread_holding_the_journal_is_waited_on_with_the_same_bound(path: Path) -> None:
    journal = Journal(path, lock_timeout=0.05)
    with journal._thread_lock, pytest.raises(JournalError, match="in use by another thread of this process"):
        journal.pending()


@pytest.mark.parametrize("bad", [-1, "60", True, 1e9])
def test_a_bad_lock_timeout_is_refused(path: Path, bad: Any) -> None:
    with pytest.raises(InputError, match="lock_timeout is how many seconds"):
        Journal(path, lock_timeout=bad)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (123, "must be a file path (text or a pathlib.Path), not int"),
        ("x" * 100_000, "(100000 characters) cannot be used: File name too long"),
        ("bad\0name.jsonl", "cannot be used: it holds a NUL character"),
    ],
)
def test_a_path_that_cannot_hold_a_journal_is_an_input_error(given: Any, message: str) -> None:
    with pytest.raises(InputError) as raised:
        Journal(given)
    assert message in str(raised.value)


def test_where_the_lock_cannot_be_created_reads_work_and_writes_say_why(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = Journal(path).intend(action="create", target="0345678", before=None)
    real_open = os.open

    def read_only(file: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(file).endswith(".lock") and flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system", str(file))
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    (tmp := Path(f"{path}.lock")).unlink(missing_ok=True)
    assert not tmp.exists()
    journal = Journal(path)
    assert [e.id for e in journal.pending()] == [entry.id]
    with pytest.raises(JournalError) as raised:
        journal.intend(action="create", target="0345679", before=None)
    assert f"its lock {path}.lock cannot be created (Read-only file system)" in str(raised.value)
    assert "--journal PATH" in str(raised.value)


# --- many intents at once ------------------------------------------------------------------------------------


def test_intend_many_writes_every_intent_with_one_fsync(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = Journal(path)
    journal.pending()  # the index made first
    syncs: list[int] = []
    real = os.fsync

    def counted(fd: int) -> None:
        syncs.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counted)
    intents = [Intent("create", f"07{i:05d}", operation="sis_file", registration="abc") for i in range(500)]
    entries = journal.intend_many(intents)
    assert len(syncs) == 1
    assert [e.target for e in journal.pending()] == [i.target for i in intents]
    assert [e.id for e in entries] == [e.id for e in journal.pending()]


def test_intend_many_checks_every_intent_before_writing_any(path: Path) -> None:
    journal = Journal(path)
    good = Intent("create", "0700000")
    with pytest.raises(InputError, match="Unknown journal action"):
        journal.intend_many([good, Intent("merge", "0700001")])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="must be an Intent"):
        journal.intend_many([good, {"action": "create"}])  # type: ignore[list-item]
    with pytest.raises(InputError, match="repeat an id"):
        Journal(path, new_id=lambda: "same").intend_many([good, good])
    assert journal.entries() == []
    assert journal.intend_many([]) == []


def test_a_hand_off_the_journal_takes_only_in_part_removes_the_file_and_settles_what_was_written(
    policy: Policy, path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal(path)
    real = Journal._append
    calls = {"n": 0}

    def short_write(self: Journal, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 1:  # the disk fills after the first line of the hand-off
            real(self, data.split(b"\n", 1)[0] + b"\n")
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, data)

    monkeypatch.setattr(Journal, "_append", short_write)
    users = [policy.build_user(netid_era_alumna(onelink_id=f"07{i:05d}"), today=TODAY) for i in range(3)]
    with pytest.raises(JournalError, match="the file was removed") as raised:
        hand_off(users, tmp_path / "out.zip", journal=journal)
    assert raised.value.nothing_sent
    assert not (tmp_path / "out.zip").exists()
    [first] = journal.entries()
    assert first.result == "failed", "the hand-off journaled before the disk filled is settled: its file is gone"
    assert journal.pending() == []
