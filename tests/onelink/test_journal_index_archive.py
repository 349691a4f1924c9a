"""Archiving and exporting the journal: old settled entries move out of the live file and stay readable.

What staff rely on: an archived entry is still found by `get`, `entries` and ``restore``; a
registration's writes move together and the writes on one account keep their order; a crash at
any point of archiving (SIGKILL between any two of its file operations) loses and duplicates
nothing; the export holds every entry, one JSON object a line.
"""

from __future__ import annotations

import errno
import io
import itertools
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alma_onelink import AlmaClient
from alma_onelink.engine import _moves
from alma_onelink.engine.journal import Journal, JournalEntry, JournalError
from alma_onelink.errors import InputError
from alma_onelink.onelink import Restored, register_patron, restore
from alma_onelink.policy import Policy
from alma_onelink.sandbox import DUKE_SCENARIOS, Sandbox
from tests.onelink.conftest import NOW, TODAY, former_staff, identifier_values, record
from tests.onelink.test_journal_index import T0, check, scan

ROOT = Path(__file__).resolve().parents[2]


def clock(start: datetime = T0) -> Callable[[], datetime]:
    ticks = itertools.count()
    return lambda: start + timedelta(seconds=next(ticks))


def ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"{next(counter):032x}"


def write(journal: Journal, target: str, *, registration: str | None, result: str | None) -> JournalEntry:
    entry = journal.intend(action="update", target=target, before={"primary_id": target}, registration=registration)
    if result is None:
        return entry
    return journal.complete(entry, result=result, after={"primary_id": target})  # type: ignore[arg-type]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.jsonl"


def test_settled_entries_move_whole_registrations_and_accounts_in_order(path: Path, tmp_path: Path) -> None:
    journal = Journal(path, now=clock(), new_id=ids())
    e1 = write(journal, "a", registration="r1", result="done")  # moves with e2: r1 is wholly settled
    e2 = write(journal, "b", registration="r1", result="failed")
    e3 = write(journal, "c", registration="r2", result=None)  # pending: stays, and so does r2
    e4 = write(journal, "d", registration="r3", result="done")  # moves
    e5 = write(journal, "c", registration=None, result="done")  # settled, but c has an earlier write that stays
    e6 = write(journal, "e", registration="r4", result="unknown")  # unknown: stays
    late = Journal(path, now=lambda: T0 + timedelta(days=2), new_id=lambda: "f" * 32)
    e7 = write(late, "a", registration="r5", result="done")  # newer than the date: stays

    done = journal.archive(before=date(2026, 1, 2))

    assert done.path == tmp_path / f"journal.jsonl.archive-{T0:%Y%m%d}.jsonl"
    assert (done.entries, done.kept) == (3, 3)
    moved = [json.loads(line)["id"] for line in done.path.read_bytes().splitlines()]
    assert moved == [e1.id, e1.id, e2.id, e2.id, e4.id, e4.id]  # intent and completion, in file order
    stayed = {json.loads(line)["id"] for line in path.read_bytes().splitlines()}
    assert stayed == {e3.id, e5.id, e6.id, e7.id}
    check(journal, path)
    reader = Journal(path)
    assert reader.get(e1.id) == journal.get(e1.id)  # still found, from the archive
    assert [e.id for e in reader.entries(target="a")] == [e1.id, e7.id]
    assert [e.id for e in reader.entries(registration="r1")] == [e1.id, e2.id]
    assert len(reader) == 7
    assert reader.pending() == [journal.get(e3.id)]


def test_a_second_archive_of_the_day_comes_after_the_first(path: Path) -> None:
    journal = Journal(path, now=lambda: T0, new_id=ids())
    first = write(journal, "a", registration=None, result="done")
    assert journal.archive(before=T0 + timedelta(seconds=1)).entries == 1
    second = write(journal, "a", registration=None, result="done")
    done = journal.archive(before=T0 + timedelta(seconds=1))

    assert done.path is not None
    assert done.path.name == f"journal.jsonl.archive-{T0:%Y%m%d}-2.jsonl"
    assert [e.id for e in Journal(path).entries(target="a")] == [first.id, second.id]
    assert path.read_bytes() == b""
    check(journal, path)


def test_nothing_to_archive_writes_nothing(path: Path, tmp_path: Path) -> None:
    journal = Journal(path, now=clock(), new_id=ids())
    write(journal, "a", registration=None, result=None)
    size = path.stat().st_size

    done = journal.archive(before=datetime(2030, 1, 1))  # naive: taken as UTC

    assert (done.path, done.entries, done.kept) == (None, 0, 1)
    assert path.stat().st_size == size
    assert not list(tmp_path.glob("*.archive-*"))
    with pytest.raises(InputError, match="before must be a date"):
        journal.archive(before="2026-01-01")  # type: ignore[arg-type]


def test_an_archived_registration_still_restores_and_still_names_its_old_account(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, path: Path
) -> None:
    journal = Journal(path, now=lambda: NOW)
    patron = former_staff(email="rafael.martinez@example.net")  # only the journal names his old account
    old = DUKE_SCENARIOS["former_staff_with_loans"]
    result = register_patron(alma, policy, patron, today=TODAY, journal=journal)
    assert (result.outcome, result.merge_from) == ("needs_merge", old)
    [move] = [e for e in journal.entries(registration=result.registration_id) if e.target == old]

    done = journal.archive(before=NOW + timedelta(days=1))
    assert done.entries == 2
    assert Journal(path).entries() == journal.entries()

    again = register_patron(alma, policy, patron, today=TODAY, journal=Journal(path, now=lambda: NOW))
    assert (again.outcome, again.merge_from) == ("needs_merge", old)  # the move is read from the archive
    assert _moves.moved_off(journal, patron.onelink_id) == [old]
    [create] = [e for e in journal.entries(registration=result.registration_id) if e.action == "create"]
    assert restore(alma, create.id[:8], journal=journal, staff="jsmith").outcome is Restored.DELETED
    restored = restore(alma, move.id[:8], journal=journal, staff="jsmith")  # undone newest first, from the archive
    assert restored.outcome is Restored.PUT_BACK
    assert patron.onelink_id in identifier_values(record(sandbox, old))
    assert journal.get(restored.journal_entries[0]).registration == move.id  # the restore is in the live file
    check(journal, path)


# --- export ---------------------------------------------------------------------------------------------


def test_the_export_holds_every_entry_one_json_object_a_line(path: Path, tmp_path: Path) -> None:
    journal = Journal(path, now=clock(), new_id=ids())
    write(journal, "a", registration="r1", result="done")
    journal.archive(before=T0 + timedelta(days=1))
    pending = write(journal, "Zoë", registration="r2", result=None)
    journal.settle(pending, result="done", note="settled by reading Alma: Zoë is no longer as it was")
    out = tmp_path / "audit" / "export.jsonl"
    out.parent.mkdir()

    assert journal.export(out) == 2

    lines = out.read_bytes().splitlines()
    assert [JournalEntry.model_validate(json.loads(line)) for line in lines] == journal.entries()
    assert b'"target":"Zo\xc3\xab"' in lines[1]  # UTF-8, compact: found by grep
    assert json.loads(lines[1])["note"].startswith("settled by reading Alma")
    assert not (tmp_path / "audit" / "export.jsonl.tmp").exists()
    text, binary = io.StringIO(), io.BytesIO()
    assert journal.export(text) == journal.export(binary) == 2
    assert text.getvalue().encode() == binary.getvalue() == out.read_bytes()


OWN_FILES = ["journal.jsonl", "journal.jsonl.index.sqlite3", "journal.jsonl.archive-20260101.jsonl"]


@pytest.mark.parametrize("name", OWN_FILES)
def test_the_export_never_overwrites_the_journals_own_files(path: Path, tmp_path: Path, name: str) -> None:
    journal = Journal(path, now=clock(), new_id=ids())
    write(journal, "a", registration=None, result="done")
    journal.archive(before=T0 + timedelta(days=1))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and "sqlite3" not in p.name}
    with pytest.raises(InputError, match="one of the journal's own files"):
        journal.export(tmp_path / name)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and "sqlite3" not in p.name} == before
    with pytest.raises(InputError, match="does not exist"):
        journal.export(tmp_path / "no" / "export.jsonl")


# --- a crash at every step of archiving -------------------------------------------------------------------

WRAPPER = textwrap.dedent(
    """
    import os, shutil, signal, sys, json
    from datetime import datetime, timedelta, timezone
    from pathlib import Path
    from alma_onelink.engine import _journal_archive, _journal_index
    from alma_onelink.engine.journal import Journal

    work = Path(sys.argv[1])
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    pristine = work / "pristine"
    pristine.mkdir()
    ticks = iter(range(1000))
    journal = Journal(pristine / "journal.jsonl", now=lambda: t0 + timedelta(seconds=next(ticks)))
    for i, (target, registration, result) in enumerate(
        [("a", "r1", "done"), ("b", "r1", "done"), ("c", None, None), ("c", None, "done"), ("d", "r3", "failed")]
    ):
        entry = journal.intend(action="update", target=target, before={"primary_id": target}, registration=registration)
        if result:
            journal.complete(entry, result=result, after={"primary_id": target})
    journal.close()
    positions = []

    def kill_point(what):
        positions.append(what)
        if len(positions) - 1 == int(os.environ["KILL_AT"]):
            os.kill(os.getpid(), signal.SIGKILL)

    def hooked(name, real):
        def call(*args, **kwargs):
            kill_point(name)
            return real(*args, **kwargs)
        return call

    for position in range(100):
        folder = work / str(position)
        shutil.copytree(pristine, folder)
        os.environ["KILL_AT"] = str(position)
        pid = os.fork()
        if pid == 0:
            os.replace = hooked("rename", os.replace)
            os.fsync = hooked("fsync", os.fsync)
            _journal_archive.fsync_folder = hooked("sync folder", _journal_archive.fsync_folder)
            _journal_archive._moves = hooked("copy a line", _journal_archive._moves)
            _journal_index.JournalIndex._forget = hooked("index", _journal_index.JournalIndex._forget)
            Journal(folder / "journal.jsonl").archive(before=t0 + timedelta(days=1))
            (work / "positions.json").write_text(json.dumps(positions))
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        if not os.WIFSIGNALED(status):
            assert status == 0, status
            print(position)
            break
    """
)


def test_a_crash_at_any_step_of_archiving_loses_and_repeats_nothing(tmp_path: Path) -> None:
    if not hasattr(os, "fork"):
        pytest.skip("the wrapper forks a process per kill position")
    script = tmp_path / "archive_wrapper.py"
    script.write_text(WRAPPER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=120, check=False, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    finished = int(done.stdout.split()[-1])
    names: list[str] = json.loads((tmp_path / "positions.json").read_text())
    assert finished == len(names) > 10
    assert {"rename", "fsync", "sync folder", "copy a line", "index"} <= set(names)
    original = scan(tmp_path / "pristine" / "journal.jsonl").entries
    for position in range(finished + 1):
        path = tmp_path / str(position) / "journal.jsonl"
        where = f"killed before {names[position]} (position {position})" if position < finished else "not killed"
        journal = Journal(path)
        assert sorted(journal.entries(), key=lambda e: e.id) == sorted(original, key=lambda e: e.id), where
        assert journal.skipped_lines == 0, where
        check(journal, path)
        again = journal.archive(before=T0 + timedelta(days=1))  # a rerun finishes the job
        live = Journal(path.with_name("live.jsonl"))
        path.with_name("live.jsonl").write_bytes(path.read_bytes())
        assert {e.id for e in live.entries()} == {original[2].id, original[3].id}, where  # c: pending, then blocked
        assert again.kept == 2, where
        leftovers = sorted(p.name for p in path.parent.iterdir() if p.name.endswith((".tmp", ".archiving")))
        assert leftovers == [], where
        live.close()
        journal.close()


def test_a_full_disk_while_archiving_loses_nothing_and_says_so(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal(path, now=clock(), new_id=ids())
    entries = [write(journal, target, registration=None, result="done") for target in ("a", "b", "c")]
    before = path.read_bytes()
    calls = itertools.count()

    def full_disk(descriptor: int) -> None:
        if next(calls) == 2:  # the marker and its folder are synced; the archive's sync fails
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(JournalError, match=r"could not be archived .*No space left.*nothing was moved or lost"):
        journal.archive(before=T0 + timedelta(days=1))
    monkeypatch.undo()

    assert path.read_bytes() == before
    left = sorted(p.name for p in tmp_path.iterdir() if "index" not in p.name)
    assert left == ["journal.jsonl", "journal.jsonl.lock"]
    assert Journal(path).entries() == [journal.get(e.id) for e in entries]

    def refused(*args: Any) -> None:
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(JournalError, match=r"export of the journal .* could not be written \(\[Errno 13\]"):
        journal.export(tmp_path / "export.jsonl")
    assert not (tmp_path / "export.jsonl").exists()
    assert not (tmp_path / "export.jsonl.tmp").exists()
