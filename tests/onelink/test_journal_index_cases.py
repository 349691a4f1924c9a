"""The journal's index in the cases staff meet: a damaged, missing, stale or unwritable index, other processes.

Each case compares every query with the journal read whole (`check`, from `test_journal_index`), and
two check that a look-up reads only the lines it returns, in lines parsed and in memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alma_onelink.engine import _journal_index, _journal_lookup, _moves
from alma_onelink.engine._journal_data import parse_line
from alma_onelink.engine.journal import Journal
from alma_onelink.errors import InputError
from tests.onelink.test_journal_index import ONELINK, History, check, fill, patched


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    made = History(tmp_path)
    yield made
    made.close()


def test_a_look_up_reads_only_the_lines_it_returns(history: History, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(history, 300)
    history.journal.intend(action="create", target="new1", before=None)
    reader = history.open()
    len(reader)  # brought up to date once
    parsed: list[bytes] = []

    def counted(line: bytes) -> Any:
        parsed.append(line)
        return parse_line(line)

    monkeypatch.setattr(_journal_lookup, "parse_line", counted)

    assert len(reader) == 301
    assert [e.target for e in reader.pending()] == ["new1"]
    assert reader.get(history.ids[150][:20]).id == history.ids[150]
    assert len(reader.entries(target="rm56")) == 50
    assert _moves.unsettled_for(reader, ONELINK) == []
    # the pending intent; one entry's two lines; fifty entries' two lines each; the pending intent twice
    assert len(parsed) == 1 + 2 + 100 + 2
    reader.close()


def test_memory_of_a_look_up_does_not_grow_with_the_journal(history: History) -> None:
    fill(history, 400, padding=1000)
    reader = history.open()
    len(reader)
    tracemalloc.start()
    try:
        reader.pending()
        reader.get(history.ids[-1])
        _moves.moved_off(reader, "nobody")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < history.path.stat().st_size / 10  # the file is ~1 MB: a look-up holds a few lines of it
    reader.close()


def test_the_index_is_a_file_beside_the_journal_and_a_missing_journal_makes_none(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    assert journal.entries() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal.jsonl.lock"]
    journal.intend(action="create", target="a", before=None)
    assert len(journal) == 1
    assert (tmp_path / "journal.jsonl.index.sqlite3").is_file()
    journal.close()


@pytest.mark.parametrize(("commit_every", "chunk"), [(1, 1), (2, 7), (3, 64), (5000, 1 << 20)])
def test_lines_cut_by_chunks_and_commits_are_read_whole(history: History, commit_every: int, chunk: int) -> None:
    fill(history, 12, padding=50)
    history.do_damage(3, "garbage")
    fill(history, 5)
    with patched(_journal_index, _COMMIT_EVERY=commit_every, _CHUNK=chunk):
        assert history.open().reindex() == 17  # the whole file read at once
        fill(history, 4)
        history.do_damage(1, "torn")
        check(history.open(), history.path)  # a reader catching up on many lines at once


def test_a_torn_line_then_appends_from_another_writer(history: History) -> None:
    fill(history, 3)
    history.do_damage(0, "torn")
    check(history.journal, history.path)
    assert history.journal.skipped_lines == 1
    history.other.intend(action="create", target="after", before=None)  # ends the torn line first
    check(history.journal, history.path)
    assert history.journal.skipped_lines == 1


@pytest.mark.parametrize("how", ["delete", "garbage", "truncate"])
def test_a_deleted_or_damaged_index_is_rebuilt_from_the_file(history: History, how: str) -> None:
    fill(history, 20)
    history.do_index(how)
    check(history.journal, history.path)  # the object that held the index open
    check(history.open(), history.path)
    assert len(history.journal) == 20


def test_an_index_that_is_behind_or_ahead_of_the_file(history: History) -> None:
    fill(history, 5)
    history.do_index("snapshot")
    history.journal = history.open()
    fill(history, 5)
    history.do_index("restore")  # behind: it reads on from where it stopped
    history.journal = history.open()
    check(history.journal, history.path)
    history.path.write_bytes(history.path.read_bytes()[:300])  # the file put back to an older copy: ahead
    check(history.open(), history.path)


def test_an_index_that_cannot_be_written_is_kept_in_memory(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "journal.jsonl"
    (tmp_path / "journal.jsonl.index.sqlite3").mkdir()  # cannot be opened as a database file
    journal = Journal(path)
    entry = journal.intend(action="create", target="a", before=None)
    journal.complete(entry, result="done")
    assert journal.get(entry.id).result == "done"
    check(journal, path)
    assert any("cannot be used" in r.getMessage() for r in caplog.records)
    journal.close()


WRITER = """
import sys
from alma_onelink.engine.journal import Journal

journal = Journal(sys.argv[1])
for i in range(20):
    before = {"primary_id": sys.argv[2], "user_identifier": [{"value": "0456789"}]}
    entry = journal.intend(action="update", target=sys.argv[2], before=before, operation="register")
    journal.complete(entry, result="done" if i % 2 else "unknown", after=None)
journal.close()
"""


def test_a_reader_keeps_up_with_other_processes(history: History) -> None:
    fill(history, 5)
    check(history.journal, history.path)  # its index open, and up to date
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(history.path), f"p{w}"], env=env) for w in range(2)]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    check(history.journal, history.path)
    assert len(history.journal.unsettled()) == 20


def test_filters_of_the_wrong_kind_are_refused(history: History) -> None:
    with pytest.raises(InputError, match="target must be text"):
        history.journal.entries(target=5)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="last must be a whole number"):
        history.journal.entries(last=-1)
    assert history.journal.entries(target="\ud800") == []  # no line can hold it: nothing matches


def test_a_look_up_by_more_ids_than_sqlite_takes_at_once(history: History) -> None:
    fill(history, 520)
    entries = history.journal.entries()
    wanted = frozenset({*history.ids, "no-such-id"})
    assert [e for _, e in history.journal._select(ids=wanted)] == entries
    assert [e for _, e in history.journal._select(ids=wanted, limit=3, newest=True)] == entries[-3:]
    assert [e for _, e in history.journal._select(ids=wanted, limit=2)] == entries[:2]
    assert [e for _, e in history.journal._select(ids=wanted, limit=600, newest=True)] == entries
    runs = frozenset(f"r{i}" for i in range(700))
    assert history.journal._select(registrations=runs) == []
