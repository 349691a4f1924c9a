"""The journal: intents and completions merge, nothing is lost or torn under threads and processes.

Every test injects the clock and the id generator; nothing sleeps, and nothing is written outside
``tmp_path``.
"""

from __future__ import annotations

import importlib
import itertools
import json
import logging
import multiprocessing
import os
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import platformdirs
import pytest

from alma_onelink.engine.journal import Journal, JournalEntry, default_journal_path
from alma_onelink.errors import InputError

T0 = datetime(2026, 11, 30, 14, 5, 1, tzinfo=UTC)
BEFORE: dict[str, Any] = {"primary_id": "jd123", "first_name": "Jane", "user_group": {"value": "ALUM"}}
AFTER: dict[str, Any] = {"primary_id": "jd123", "first_name": "Jane", "user_group": {"value": "COMM"}}


def clock(start: datetime = T0) -> Callable[[], datetime]:
    """A clock that moves one second per call."""
    ticks = itertools.count()
    return lambda: start + timedelta(seconds=next(ticks))


def ids(prefix: str | None = None) -> Callable[[], str]:
    """Ids counting up: 32 hex characters like uuid4().hex, or ``prefix`` and 4 hex digits."""
    counter = itertools.count(1)
    if prefix is None:
        return lambda: f"{next(counter):032x}"
    return lambda: f"{prefix}{next(counter):04x}"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.jsonl"


@pytest.fixture
def journal(path: Path) -> Journal:
    return Journal(path, now=clock(), new_id=ids())


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().decode("utf-8").splitlines()]


# --- intent and completion ------------------------------------------------------------------


def test_intent_then_completion_merges(journal: Journal, path: Path) -> None:
    intent = journal.intend(
        action="update",
        target="jd123",
        before=BEFORE,
        staff="jsmith",
        registration="reg-1",
        operation="register",
        reason="renew",
    )
    assert intent.is_pending
    assert (intent.result, intent.after, intent.completed) == ("pending", None, None)

    done = journal.complete(intent, result="done", after=AFTER)

    assert done.result == "done"
    assert not done.is_pending
    assert (done.before, done.after) == (BEFORE, AFTER)
    assert done.completed == T0 + timedelta(seconds=1)
    assert done.model_dump(exclude={"result", "after", "completed"}) == intent.model_dump(
        exclude={"result", "after", "completed"}
    )
    assert journal.entries() == [done]
    assert Journal(path).get(intent.id) == done  # a fresh reader sees the same

    first, second = lines(path)
    assert first["type"] == "intent"
    assert first["time"] == "2026-11-30T14:05:01+00:00"
    assert first["before"] == BEFORE
    assert second == {
        "type": "completion",
        "id": intent.id,
        "result": "done",
        "after": AFTER,
        "error": None,
        "completed": "2026-11-30T14:05:02+00:00",
    }


def test_lines_are_compact_json_written_whole(journal: Journal, path: Path) -> None:
    entry = journal.intend(action="create", target="new1", before=None)
    journal.complete(entry.id, result="failed", error="HTTP 400: 401852 bad user group")

    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    assert raw.count(b"\n") == 2
    assert b", " not in raw
    assert b'": ' not in raw
    assert journal.get(entry.id).error == "HTTP 400: 401852 bad user group"


def test_pending_lists_only_uncompleted_intents(journal: Journal) -> None:
    finished = journal.intend(action="update", target="a1", before=BEFORE)
    journal.complete(finished, result="done", after=AFTER)
    crashed = journal.intend(action="delete", target="b2", before=BEFORE)
    unknown = journal.intend(action="create", target="c3", before=None)
    journal.complete(unknown, result="unknown", error="timed out; check users.get('c3')")

    assert [e.id for e in journal.pending()] == [crashed.id]
    assert [e.result for e in journal.entries()] == ["done", "pending", "unknown"]


def test_a_second_completion_is_refused(journal: Journal, path: Path) -> None:
    entry = journal.intend(action="update", target="jd123", before=BEFORE)
    journal.complete(entry, result="done", after=AFTER)
    size = path.stat().st_size

    with pytest.raises(InputError, match="already completed"):
        journal.complete(entry, result="failed", error="again")
    with pytest.raises(InputError, match="already completed"):
        Journal(path).complete(entry.id, result="done")  # another reader knows too

    assert path.stat().st_size == size
    assert journal.get(entry.id).result == "done"


def test_unknown_id_is_refused(journal: Journal, path: Path) -> None:
    journal.intend(action="update", target="jd123", before=BEFORE)
    stranger = JournalEntry(id="f" * 32, time=T0, action="create", target="x", result="pending")

    with pytest.raises(InputError, match="No entry with id") as raised:
        journal.complete("0123456789abcdef", result="done")
    assert str(path) in str(raised.value)
    with pytest.raises(InputError, match="No entry with id"):
        journal.complete(stranger, result="done")
    with pytest.raises(InputError, match=str(path).replace("\\", "\\\\")):
        journal.get("f" * 32)
    assert len(lines(path)) == 1


def test_completion_can_name_the_entry_by_id_or_prefix(path: Path) -> None:
    journal = Journal(path, now=clock(), new_id=ids("abc123"))  # abc1230001, abc1230002
    first = journal.intend(action="update", target="a", before=BEFORE)
    second = journal.intend(action="update", target="b", before=BEFORE)
    assert journal.complete(first.id, result="done").result == "done"
    assert journal.complete("abc1230002", result="failed", error="no").id == second.id
    with pytest.raises(InputError, match="2 entries"):
        journal.complete("abc1230", result="done")


# --- lookups --------------------------------------------------------------------------------


def test_get_accepts_a_unique_prefix_of_six_characters_or_more(path: Path) -> None:
    journal = Journal(path, now=clock(), new_id=ids("abcdef01"))  # abcdef010001, abcdef010002, ...
    first = journal.intend(action="update", target="a", before=BEFORE)
    second = journal.intend(action="update", target="b", before=BEFORE)

    assert journal.get(first.id) == first
    assert journal.get("abcdef010002") == second
    assert journal.get("ABCDEF010002") == second  # pasted in capitals
    assert journal.get(f"  {first.id}\n") == first
    with pytest.raises(InputError, match="2 entries"):
        journal.get("abcdef01")
    with pytest.raises(InputError, match="at least 6 characters"):
        journal.get("abcde")
    with pytest.raises(InputError, match="No entry"):
        journal.get("abcdef019999")


def test_entries_by_target_ignore_case(journal: Journal) -> None:
    journal.intend(action="update", target="JD123", before=BEFORE)
    journal.intend(action="update", target="other", before=BEFORE)
    journal.intend(action="delete", target="jd123", before=BEFORE)

    assert [e.target for e in journal.entries(target="Jd123")] == ["JD123", "jd123"]
    assert journal.entries(target="nobody") == []


def test_entries_by_registration(journal: Journal) -> None:
    journal.intend(action="update", target="old1", before=BEFORE, registration="merge-1", operation="merge")
    journal.intend(action="create", target="new1", before=None, registration="reg-2", operation="register")
    journal.intend(action="delete", target="old1", before=BEFORE, registration="merge-1", operation="merge")

    merge = journal.entries(registration="merge-1")
    assert [e.action for e in merge] == ["update", "delete"]
    assert [e.target for e in journal.entries(target="OLD1", registration="merge-1")] == ["old1", "old1"]


def test_len_iter_and_repr(journal: Journal, path: Path) -> None:
    assert len(journal) == 0
    entry = journal.intend(action="update", target="jd123", before=BEFORE)
    journal.complete(entry, result="done", after=AFTER)
    journal.intend(action="update", target="jd123", before=AFTER)

    assert len(journal) == 2
    assert [e.id for e in journal] == [e.id for e in journal.entries()]
    assert repr(journal) == f"<Journal {path}>"
    assert journal.path == path


def test_a_missing_file_reads_as_empty(path: Path) -> None:
    journal = Journal(path)
    assert journal.entries() == []
    assert journal.pending() == []
    assert len(journal) == 0
    assert journal.skipped_lines == 0
    assert not path.exists()


def test_readers_in_the_same_process_see_each_others_writes(path: Path) -> None:
    writer = Journal(path, now=clock(), new_id=ids())
    reader = Journal(path)
    assert len(reader) == 0
    entry = writer.intend(action="update", target="jd123", before=BEFORE)
    assert reader.pending() == [entry]
    reader.complete(entry.id, result="done", after=AFTER)
    assert writer.get(entry.id).result == "done"
    with pytest.raises(InputError, match="already completed"):
        writer.complete(entry, result="done")


def test_a_replaced_file_is_read_again_from_the_start(journal: Journal, path: Path, tmp_path: Path) -> None:
    journal.intend(action="update", target="a", before=BEFORE)
    journal.intend(action="update", target="b", before=BEFORE)
    assert len(journal) == 2

    other = Journal(tmp_path / "other.jsonl", now=clock(), new_id=ids("99999999"))
    kept = other.intend(action="create", target="c", before=None)
    os.replace(other.path, path)

    assert journal.entries() == [kept]


def test_a_file_rewritten_in_place_is_read_again_from_the_start(journal: Journal, path: Path) -> None:
    journal.intend(action="update", target="a", before=BEFORE)
    assert len(journal) == 1

    other = Journal(path.with_name("other.jsonl"), now=clock(), new_id=ids("77777777"))
    kept = [other.intend(action="create", target=f"long-target-{i}", before=BEFORE) for i in range(3)]
    path.write_bytes(other.path.read_bytes())  # same file, new content: never done, but survived

    assert journal.entries() == kept


def test_returned_records_are_detached_from_the_journal(journal: Journal) -> None:
    record: dict[str, Any] = {"primary_id": "jd123", "contact_info": {"email": [{"email_address": "a@example.org"}]}}
    entry = journal.intend(action="update", target="jd123", before=record)
    record["contact_info"]["email"].clear()  # the caller changes its own copy afterwards
    read = journal.get(entry.id)
    assert read.before is not None
    read.before["contact_info"]["email"].append({"email_address": "changed@example.org"})

    again = journal.get(entry.id)
    assert again.before == {"primary_id": "jd123", "contact_info": {"email": [{"email_address": "a@example.org"}]}}
    assert entry.before == again.before


# --- damaged files --------------------------------------------------------------------------


def test_a_torn_last_line_is_skipped_and_later_appends_still_read(
    journal: Journal, path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    entry = journal.intend(action="update", target="jd123", before=BEFORE)
    with path.open("ab") as file:  # a crash in the middle of writing the completion
        file.write(b'{"type":"completion","id":"' + entry.id.encode() + b'","result":"do')

    with caplog.at_level(logging.WARNING, logger="alma_onelink"):
        reader = Journal(path)
        assert reader.pending() == [entry]
    assert reader.skipped_lines == 1
    assert any("skipped 1 damaged line" in r.getMessage() for r in caplog.records)

    later = reader.intend(action="create", target="new1", before=None)
    reader.complete(entry, result="unknown", error="crashed; check users.get('jd123')")

    assert [e.id for e in Journal(path).entries()] == [entry.id, later.id]
    assert reader.get(entry.id).result == "unknown"
    assert reader.skipped_lines == 1  # the torn line, now ended, stays skipped
    first, torn, *rest, end = path.read_bytes().split(b"\n")
    assert torn.endswith(b'"result":"do')  # ended by the next append, which stayed whole
    assert end == b""
    assert [json.loads(line)["type"] for line in (first, *rest)] == ["intent", "intent", "completion"]


def test_a_file_of_garbage_reads_what_it_can(path: Path) -> None:
    good = Journal(path, now=clock(), new_id=ids())
    entry = good.intend(action="update", target="jd123", before=BEFORE)
    good.complete(entry, result="done", after=AFTER)
    orphan = {"type": "completion", "id": "nope", "result": "done", "completed": "2026-01-01T00:00:00+00:00"}
    second_completion = {"type": "completion", "id": entry.id, "result": "failed", "completed": T0.isoformat()}
    intent = json.loads(path.read_bytes().splitlines()[0])
    garbage = [
        b"not json at all",
        b"[1, 2, 3]",
        b'"a string"',
        b'{"type": "intent"}',
        b'{"type": "mystery", "id": "x"}',
        json.dumps(orphan).encode(),
        json.dumps(second_completion).encode(),
        json.dumps({**intent, "action": "explode", "id": "other"}).encode(),
        json.dumps(intent).encode(),  # the same intent twice
        b"\xff\xfe\x00 binary",
        b'{"type": "completion", "id": "' + b"[" * 5000,
    ]
    with path.open("ab") as file:
        file.write(b"\n".join(garbage) + b"\n\n   \n")  # blank lines are not damage

    reader = Journal(path)
    assert reader.entries() == [good.get(entry.id)]
    assert reader.skipped_lines == len(garbage)
    assert reader.pending() == []


def test_unreadable_lines_never_raise(path: Path) -> None:
    path.write_bytes(b"\x00" * 100 + b"\n" + b"{" * 100_000)
    reader = Journal(path)
    assert reader.entries() == []
    assert reader.skipped_lines == 2


# --- bad input is refused before anything is written ----------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": "upsert", "target": "jd123", "before": None}, "Unknown journal action"),
        ({"action": "create", "target": "  ", "before": None}, "blank"),
        ({"action": "update", "target": "jd123", "before": {"tags": {1, 2}}}, "not plain JSON"),
        ({"action": "update", "target": "jd123", "before": {"n": float("nan")}}, "not plain JSON"),
        ({"action": "update", "target": "jd123", "before": ["a", "list"]}, "JSON object"),
        ({"action": "update", "target": "jd123", "before": None, "staff": 42}, "Cannot journal"),
        ({"action": "update", "target": "jd123", "before": None, "reason": "lone \ud800"}, "not valid Unicode"),
    ],
)
def test_bad_intents_are_refused(journal: Journal, path: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        journal.intend(**kwargs)
    assert not path.exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"result": "pending"}, "Unknown completion result"),
        ({"result": "done", "after": {"when": datetime(2026, 1, 1)}}, "not plain JSON"),
        ({"result": "failed", "error": 500}, "must be text"),
    ],
)
def test_bad_completions_are_refused(journal: Journal, path: Path, kwargs: dict[str, Any], message: str) -> None:
    entry = journal.intend(action="update", target="jd123", before=BEFORE)
    with pytest.raises(InputError, match=message):
        journal.complete(entry, **kwargs)
    assert len(lines(path)) == 1
    assert journal.get(entry.id).is_pending


def test_times_are_stored_in_utc_with_an_offset(path: Path) -> None:
    eastern = timezone(timedelta(hours=-5))
    journal = Journal(path, now=lambda: datetime(2026, 11, 30, 9, 5, 1, tzinfo=eastern), new_id=ids())
    entry = journal.intend(action="create", target="x", before=None)
    assert entry.time == T0
    assert entry.time.tzinfo is UTC
    assert lines(path)[0]["time"] == "2026-11-30T14:05:01+00:00"

    naive = Journal(path, now=lambda: datetime(2026, 11, 30, 14, 5, 1), new_id=ids("beef0000"))
    assert naive.intend(action="create", target="y", before=None).time == T0  # naive is taken as UTC


# --- where the journal lives ----------------------------------------------------------------


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as raised:
        Journal(tmp_path / "no-such-folder" / "journal.jsonl")
    assert "no-such-folder" in str(raised.value)
    assert not (tmp_path / "no-such-folder").exists()


def test_a_folder_is_refused_as_the_journal_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        Journal(tmp_path)


def test_default_path_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "made" / "for" / "me.jsonl"
    monkeypatch.setenv("ALMA_ONELINK_JOURNAL", str(target))
    assert default_journal_path() == target

    journal = Journal(now=clock(), new_id=ids())
    assert journal.path == target
    journal.intend(action="create", target="x", before=None)
    assert len(lines(target)) == 1


def test_default_path_falls_back_to_the_user_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, object]] = []

    def user_data_path(appname: str, appauthor: object = None) -> Path:
        asked.append((appname, appauthor))
        return tmp_path / "data" / appname

    monkeypatch.setenv("ALMA_ONELINK_JOURNAL", "   ")  # blank counts as not set
    monkeypatch.setattr(platformdirs, "user_data_path", user_data_path)

    expected = tmp_path / "data" / "alma-onelink" / "journal.jsonl"
    assert default_journal_path() == expected
    assert Journal().path == expected
    assert expected.parent.is_dir()
    assert asked[0] == ("alma-onelink", False)


# --- display ----------------------------------------------------------------------------------


def test_str_is_one_line(journal: Journal) -> None:
    entry = journal.intend(
        action="update",
        target="jd123",
        before=BEFORE,
        staff="jsmith",
        registration="3f2a9c0d1e2f",
        operation="register",
        reason="take OneLink ID 0456789 off the old account",
    )
    done = journal.complete(entry, result="done", after=AFTER)
    assert str(done) == (
        "2026-11-30 14:05:01Z update jd123 done by jsmith (register 3f2a…): take OneLink ID 0456789 off the old account"
    )
    failed = journal.complete(journal.intend(action="create", target="x", before=None), result="failed", error="no")
    assert str(failed) == "2026-11-30 14:05:03Z create x failed [error: no]"


def test_str_and_html_escape_what_they_show(journal: Journal) -> None:
    script = "<script>alert('x')</script>"
    entry = journal.intend(
        action="update",
        target="jd123",
        before={"note": script},
        staff=script,
        reason=f"{script}\nsecond line\x1b[31m",
    )

    text = str(entry)
    assert "\n" not in text
    assert "\x1b" not in text
    assert "\\n" in text
    assert "\\x1b" in text
    assert "\u202e" not in str(entry.model_copy(update={"reason": "abc\u202edef"}))

    html_text = entry._repr_html_()
    assert "<script>" not in html_text
    assert "&lt;script&gt;" in html_text
    assert html_text.startswith("<table>")
    assert html_text.endswith("</table>")


def test_non_ascii_round_trips(journal: Journal, path: Path) -> None:
    record = {"first_name": "Zoë", "last_name": "山田", "note": "Ñandú 🎉"}
    entry = journal.intend(action="update", target="zoë.yamada", before=record, staff="José", reason="ß → ss")
    journal.complete(entry, result="done", after={**record, "first_name": "Zoé"})

    read = Journal(path).get(entry.id)
    assert (read.before, read.staff, read.reason, read.target) == (record, "José", "ß → ss", "zoë.yamada")
    assert read.after == {**record, "first_name": "Zoé"}
    assert "山田".encode() in path.read_bytes()  # written as UTF-8, not \\u escapes
    assert Journal(path).entries(target="ZOË.YAMADA") == [read]


# --- concurrency --------------------------------------------------------------------------------


def test_threads_lose_and_tear_nothing(path: Path) -> None:
    journal = Journal(path, now=clock())
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            start.wait()
            mine = journal if worker % 2 else Journal(path)  # shared and separate objects both
            for i in range(50):
                entry = mine.intend(action="update", target=f"t{worker}-{i}", before={"n": i})
                mine.complete(entry, result="done", after={"n": i + 1})
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    entries = Journal(path).entries()
    assert len(entries) == 400
    assert len({e.id for e in entries}) == 400
    assert all(e.result == "done" for e in entries)
    assert journal.pending() == []
    assert len(lines(path)) == 800  # every line is valid JSON
    assert journal.skipped_lines == 0


WORKER = textwrap.dedent(
    """
    from alma_onelink.errors import InputError
    from alma_onelink.engine.journal import Journal

    def append_many(path, worker, count, shared, start):
        journal = Journal(path)
        start.wait()
        for entry_id in shared:  # every process races to complete the same intents
            try:
                journal.complete(entry_id, result="done", after={"by": worker})
            except InputError:
                pass  # another process was first
        for i in range(count):
            entry = journal.intend(action="update", target=f"p{worker}-{i}", before={"n": i}, staff=f"w{worker}")
            journal.complete(entry, result="done", after={"n": i + 1})
    """
)


@pytest.fixture
def worker_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A module the spawned processes can import by name (they get this process's sys.path)."""
    folder = tmp_path / "worker"
    folder.mkdir()
    (folder / "journal_test_worker.py").write_text(WORKER, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    yield importlib.import_module("journal_test_worker")
    sys.modules.pop("journal_test_worker", None)


def test_processes_lose_and_tear_nothing(path: Path, worker_module: Any) -> None:
    shared = [Journal(path).intend(action="update", target=f"s{i}", before=BEFORE).id for i in range(20)]
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(4)
    processes = [
        spawn.Process(target=worker_module.append_many, args=(str(path), w, 50, shared, start)) for w in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]

    journal = Journal(path)
    mine = [e for e in journal.entries() if e.target.startswith("p")]
    assert len(mine) == 200
    assert sorted(e.target for e in mine) == sorted(f"p{w}-{i}" for w in range(4) for i in range(50))
    assert journal.pending() == []
    assert journal.skipped_lines == 0
    written = lines(path)  # every line is whole, valid JSON
    assert len(written) == 20 + 20 + 400
    completions = [line["id"] for line in written if line["type"] == "completion" and line["id"] in shared]
    assert sorted(completions) == sorted(shared)  # one completion per intent, never two
