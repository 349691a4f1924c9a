"""The journal's index answers every look-up as reading the whole file would, whatever happened to either.

The oracle, `scan`, reads the journal's files line by line (archives first, oldest first) with
`apply_line`, and the engine's look-ups are asked again of it with the scan-based code they replaced.
A property test runs random histories (intents, completions, settlements; lines appended by another
writer; damaged and torn lines; the index deleted, corrupted, rolled back or rolled forward; archiving)
and compares every query after each step. Clocks and ids are injected; nothing sleeps.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alma_onelink.engine import _journal_index, _moves
from alma_onelink.engine._journal_data import apply_line
from alma_onelink.engine.journal import Journal, JournalEntry
from alma_onelink.errors import InputError

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ONELINK = "0456789"


# --- the oracle: the journal read whole ---------------------------------------------------------------


@dataclass
class Scan:
    entries: list[JournalEntry]
    damaged: int


def archives(path: Path) -> list[Path]:
    pattern = re.compile(re.escape(path.name) + r"\.archive-(\d{8})(?:-(\d+))?\.jsonl")
    found = [(m, p) for p in path.parent.iterdir() if (m := pattern.fullmatch(p.name))]
    return [p for m, p in sorted(found, key=lambda pair: (pair[0][1], int(pair[0][2] or 1)))]


def scan(path: Path) -> Scan:
    """Every entry and the damaged lines, as the journal read whole line by line gives them."""
    entries: dict[str, JournalEntry] = {}
    damaged = 0
    for file in [*archives(path), path]:
        if not file.exists():
            continue
        *lines, tail = file.read_bytes().split(b"\n")
        damaged += sum(1 for line in lines if line.strip() and not apply_line(line, entries))
        damaged += 1 if tail.strip() else 0  # a torn last line
    return Scan(list(entries.values()), damaged)


def fold(text: str) -> str:
    return text.strip().casefold()


def ref_moved_off(entries: list[JournalEntry], onelink_id: str) -> list[str]:
    """`moved_off` as it was, on the whole journal in memory."""
    old: list[str] = []
    for position, entry in enumerate(entries):
        if not _moves._is_move(entry, onelink_id) or any(fold(entry.target) == fold(k) for k in old):
            continue
        later = [e for e in entries[position + 1 :] if fold(e.target) == fold(entry.target) and e.result == "done"]
        if any(_moves.holds(e.after, onelink_id) for e in later):
            continue
        if not ref_merged(entries, entry.target):
            old.append(entry.target)
    return old


def ref_merged(entries: list[JournalEntry], target: str) -> bool:
    for entry in entries:
        if fold(entry.target) != fold(target) or entry.operation != "merge" or entry.result != "done":
            continue
        if entry.registration is None or not _moves._marks(entry):
            continue
        writes = [e for e in entries if e.registration == entry.registration]
        if any(w.operation == "merge_rollback" for w in writes):
            continue
        ids = {w.id for w in writes}
        if not any(r.operation == "restore" and r.result == "done" and r.registration in ids for r in entries):
            return True
    return False


def ref_unsettled_for(entries: list[JournalEntry], onelink_id: str) -> list[JournalEntry]:
    unsettled = [e for e in entries if e.is_unsettled]
    runs = {e.registration for e in unsettled if e.registration is not None} | {e.id for e in unsettled}
    related = [e for e in entries if e.registration in runs or e.id in runs]
    concerned = [e for e in related if fold(e.target) == fold(onelink_id) or _moves.holds(e.before, onelink_id)]
    wanted = {e.registration for e in concerned if e.registration is not None} | {e.id for e in concerned}
    return [e for e in unsettled if e.id in wanted or e.registration in wanted]


def ref_next_write(entries: list[JournalEntry], entry: JournalEntry) -> JournalEntry | None:
    ids = [e.id for e in entries]
    later = entries[ids.index(entry.id) + 1 :]
    return next((e for e in later if fold(e.target) == fold(entry.target)), None)


TARGETS = ["jd123", "JD123", " jd123 ", "rm56", "0456789", "Zoë"]
REGISTRATIONS = ["r1", "r2", "m1"]
OPERATIONS = [None, "register", "merge", "merge_rollback", "restore", "edit"]


def check(journal: Journal, path: Path) -> None:
    """Every query of ``journal`` answers as the whole file does."""
    expected = scan(path)
    entries = expected.entries
    assert journal.entries() == entries
    assert len(journal) == len(entries)
    assert journal.skipped_lines == expected.damaged
    assert journal.pending() == [e for e in entries if e.result == "pending"]
    assert journal.unsettled() == [e for e in entries if e.is_unsettled]
    for target in [*TARGETS, "nobody"]:
        assert journal.entries(target=target) == [e for e in entries if fold(e.target) == fold(target)]
    for registration in {*REGISTRATIONS, *(e.id for e in entries[:3])}:
        assert journal.entries(registration=registration) == [e for e in entries if e.registration == registration]
    for operation in ["register", "merge", "restore"]:
        assert journal.entries(operation=operation) == [e for e in entries if e.operation == operation]
        assert journal.count(operation=operation) == sum(1 for e in entries if e.operation == operation)
    assert journal.entries(last=2) == entries[-2:]
    for entry in entries:
        assert journal.get(entry.id) == entry
        others = [e.id.lower() for e in entries if e is not entry]
        unique = next((n for n in range(6, len(entry.id)) if not any(o.startswith(entry.id[:n]) for o in others)), 0)
        if unique:
            assert journal.get(entry.id.upper()[:unique]) == entry  # the shortest unique prefix, as typed in capitals
        assert _moves.next_write(journal, entry) == ref_next_write(entries, entry)
    for onelink_id in [ONELINK, "JD123", "x9"]:
        assert _moves.moved_off(journal, onelink_id) == ref_moved_off(entries, onelink_id)
        assert _moves.unsettled_for(journal, onelink_id) == ref_unsettled_for(entries, onelink_id)


# --- a history of random steps ------------------------------------------------------------------------


def record(target: str, held: list[str], status: str) -> dict[str, Any]:
    return {"primary_id": target, "user_identifier": [{"value": v} for v in held], "status": {"value": status}}


RECORDS = st.builds(
    record, st.sampled_from(TARGETS), st.lists(st.sampled_from([ONELINK, "jd123", "x9"]), max_size=2),
    st.sampled_from(["ACTIVE", "INACTIVE"]),
)  # fmt: skip
PICK = st.integers(min_value=0, max_value=1000)
STEPS = st.one_of(
    st.tuples(st.just("intend"), st.sampled_from(["create", "update", "delete"]), st.sampled_from(TARGETS),
              st.none() | RECORDS, st.sampled_from([None, *REGISTRATIONS, "entry"]), st.sampled_from(OPERATIONS),
              st.booleans()),
    st.tuples(st.just("complete"), PICK, st.sampled_from(["done", "failed", "unknown"]), st.none() | RECORDS),
    st.tuples(st.just("settle"), PICK, st.sampled_from(["done", "failed"]), st.none() | RECORDS),
    st.tuples(st.just("damage"), PICK, st.sampled_from(["garbage", "orphan", "again", "twice", "torn"])),
    st.tuples(st.just("index"), st.sampled_from(["delete", "garbage", "truncate", "snapshot", "restore", "reopen"])),
    st.tuples(st.just("archive"), st.integers(min_value=0, max_value=120)),
    st.tuples(st.just("move"), st.sampled_from(TARGETS), st.sampled_from(REGISTRATIONS), st.booleans()),
    st.tuples(st.just("merge"), st.sampled_from(TARGETS), st.sampled_from(["m1", "m2"]), st.booleans()),
    st.tuples(st.just("restore"), PICK),
)  # fmt: skip


class History:
    """The journal under test, a second writer on the same file, and what the steps need to remember."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "journal.jsonl"
        ticks = itertools.count()
        self.now: Callable[[], datetime] = lambda: T0 + timedelta(seconds=next(ticks))
        counter = itertools.count(1)
        self.new_id: Callable[[], str] = lambda: f"{next(counter):020x}{'abcdef123456'}"
        self.journal = self.open()
        self.other = self.open()
        # Another process's view: its own connection to the index file and its own idea of what it read last
        # (Journal objects of one process share one); the same thread lock, as the file lock would serialise it.
        self.other._index = _journal_index.JournalIndex(self.path)
        self.other._index.lock = self.other._thread_lock
        self.ids: list[str] = []

    def open(self) -> Journal:
        return Journal(self.path, now=self.now, new_id=self.new_id)

    def close(self) -> None:
        self.journal.close()
        self.other.close()

    def pick(self, n: int) -> str | None:
        return self.ids[n % len(self.ids)] if self.ids else None

    def append(self, data: bytes) -> None:
        with self.path.open("ab") as file:
            file.write(data)

    def step(self, step: tuple[Any, ...]) -> None:
        kind, *args = step
        getattr(self, f"do_{kind}")(*args)

    def do_intend(self, *args: Any) -> None:
        action, target, before, registration, operation, other = args
        if registration == "entry":
            registration = self.pick(len(self.ids) - 1)
        writer = self.other if other else self.journal
        entry = writer.intend(
            action=action, target=target, before=before, registration=registration, operation=operation
        )
        self.ids.append(entry.id)

    def do_move(self, target: str, registration: str, done: bool) -> None:
        """A registration takes the OneLink ID off an old account (or tries to)."""
        entry = self.journal.intend(action="update", target=target, before=record(target, [ONELINK, "jd123"], "ACTIVE"),
                                    registration=registration, operation="register")  # fmt: skip
        self.ids.append(entry.id)
        if done:
            self.journal.complete(entry, result="done", after=record(target, ["jd123"], "ACTIVE"))

    def do_merge(self, target: str, merge: str, rolled_back: bool) -> None:
        """A merge marks an account INACTIVE, and may roll back."""
        entry = self.journal.intend(action="update", target=target, before=record(target, ["jd123"], "ACTIVE"),
                                    registration=merge, operation="merge")  # fmt: skip
        self.ids.append(entry.id)
        self.journal.complete(entry, result="done", after=record(target, ["jd123"], "INACTIVE"))
        if rolled_back:
            back = self.journal.intend(action="update", target=target, before=None, registration=merge,
                                       operation="merge_rollback")  # fmt: skip
            self.ids.append(back.id)

    def do_restore(self, n: int) -> None:
        """A write undone: the identifier back on the account."""
        if (entry_id := self.pick(n)) is not None:
            target = self.journal.get(entry_id).target
            entry = self.journal.intend(action="update", target=target, before=None, registration=entry_id,
                                        operation="restore")  # fmt: skip
            self.ids.append(entry.id)
            self.journal.complete(entry, result="done", after=record(target, [ONELINK], "ACTIVE"))

    def do_complete(self, n: int, result: Any, after: Any) -> None:
        if (entry_id := self.pick(n)) is not None:
            with contextlib.suppress(InputError):  # completed already: refused, nothing written
                self.journal.complete(entry_id, result=result, after=after, error=None if result == "done" else "no")

    def do_settle(self, n: int, result: Any, after: Any) -> None:
        if (entry_id := self.pick(n)) is not None:
            self.other.settle(entry_id, result=result, note="settled by reading Alma", after=after)

    def do_damage(self, n: int, how: str) -> None:
        entry_id = self.pick(n) or "f" * 32
        when = T0.isoformat()
        line: str = {
            "garbage": "not json",
            "orphan": json.dumps({"type": "completion", "id": "0" * 32, "result": "done", "completed": when}),
            "again": json.dumps({"type": "completion", "id": entry_id, "result": "failed", "completed": when}),
            "twice": json.dumps({"type": "intent", "id": entry_id, "time": when, "action": "create", "target": "dup"}),
            "torn": json.dumps({"type": "settlement", "id": entry_id})[:20],
        }[how]
        data = line.encode()
        self.append(data if how == "torn" else data + b"\n")  # a writer that is not this journal, or a crash

    def do_index(self, what: str) -> None:
        index = _journal_index.index_path(self.path)
        snapshot = self.folder / "snapshot.sqlite3"
        if what == "delete":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{index}{suffix}").unlink(missing_ok=True)
        elif what in ("garbage", "truncate") and index.exists():
            data = index.read_bytes()
            index.write_bytes(os.urandom(len(data)) if what == "garbage" else data[: len(data) // 3])
        elif what == "snapshot" and index.exists():  # the index as it is now: restored later, it is behind
            self.close()
            shutil.copyfile(index, snapshot)
        elif what == "restore" and snapshot.exists():  # an index behind the file, or ahead of it after an archive
            self.close()
            for suffix in ("-wal", "-shm"):
                Path(f"{index}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(snapshot, index)
        elif what == "reopen":
            self.close()
            self.journal = self.open()

    def do_archive(self, seconds: int) -> None:
        before = scan(self.path).entries
        cutoff = T0 + timedelta(seconds=seconds)
        done = self.journal.archive(before=cutoff)
        after = {e.id: e for e in scan(self.path).entries}
        assert after == {e.id: e for e in before}  # nothing lost, nothing changed
        moved: dict[str, JournalEntry] = {}
        for line in done.path.read_bytes().splitlines() if done.path else []:
            apply_line(line, moved)
        assert len(moved) == done.entries
        assert all(e.time < cutoff and not e.is_unsettled for e in moved.values())
        for target in TARGETS:  # the writes on one account keep their order
            wanted = fold(target)
            assert [e.id for e in after.values() if fold(e.target) == wanted] == [
                e.id for e in before if fold(e.target) == wanted
            ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(STEPS, min_size=1, max_size=25), st.sampled_from([(5000, 1 << 20), (3, 64), (1, 1)]))
def test_every_query_answers_as_the_whole_file_does(steps: list[tuple[Any, ...]], sizes: tuple[int, int]) -> None:
    # the index commits every few lines and reads the file in chunks: small ones cut lines anywhere
    with patched(_journal_index, _COMMIT_EVERY=sizes[0], _CHUNK=sizes[1]), tempfile.TemporaryDirectory() as folder:
        history = History(Path(folder))
        try:
            for step in steps:
                history.step(step)
                check(history.journal, history.path)
            check(history.open(), history.path)  # a new reader, from the index on disk
        finally:
            history.close()


@contextlib.contextmanager
def patched(module: Any, **values: Any) -> Iterator[None]:
    saved = {name: getattr(module, name) for name in values}
    for name, value in values.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(module, name, value)


def fill(history: History, count: int, *, padding: int = 0) -> None:
    for i in range(count):
        target = TARGETS[i % len(TARGETS)]
        before = {**record(target, [ONELINK], "ACTIVE"), "note": "x" * padding}
        entry = history.journal.intend(action="update", target=target, before=before, operation="register")
        history.journal.complete(entry, result="done", after={**record(target, [], "ACTIVE"), "note": "y" * padding})
        history.ids.append(entry.id)
