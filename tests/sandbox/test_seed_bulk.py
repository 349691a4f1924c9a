"""Seeding in bulk writes exactly what creating each patron alone writes, and nothing if it fails.

The one-by-one path is the slow one seeding replaced: every body read as ``POST /users`` reads it
(`parse_user`), checked against the live code tables, and stored by `Store.save` and `set_items`, one
user at a time, each indexed as it comes. The bulk path must leave the same records, items, counters,
ids, search index rows and schema behind, and answer every search the same.
"""

from __future__ import annotations

import gc
import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from alma_onelink.sandbox import MemoryStore, Sandbox, SqliteStore, Store
from alma_onelink.sandbox import _seeding as seeding_module
from alma_onelink.sandbox._bulk import insert_rows
from alma_onelink.sandbox._records import build_user, parse_user
from alma_onelink.sandbox._search import user_query
from alma_onelink.sandbox._seed import patron_body
from alma_onelink.sandbox._store import scan_search

NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
KINDS = ("loans", "requests", "fees")
QUERIES: list[dict[str, str]] = [
    {},
    {"order_by": "first_name"},
    {"order_by": "primary_id"},
    {"modify_date_from": "2026-03-14"},
    {"q": "last_name~m*"},
    {"q": "first_name~jose"},
    {"q": "general_info~durham", "order_by": "primary_id"},
    {"q": "user_group~GRAD OR user_group~FACULTY"},
    {"q": "ALL~duke.edu"},
    {"q": "email~*"},
    {"q": "phone_number~555*"},
    {"q": "identifiers~D*"},
    {"q": "statistic_category~PT_STUDENT AND first_name~a*"},
    {"q": "note_text~lilly"},
    {"q": "fines_fees_sum~12.5"},
    {"q": "birth_date~19*"},
]


def _store_of(kind: str, path: Path) -> Store:
    return MemoryStore() if kind == "memory" else SqliteStore(path)


def _seeded(store: Store, *, holding: bool) -> list[str]:
    """Seed 300 patrons (in two calls) into ``store``, after one created user and the Duke scenarios if ``holding``."""
    sandbox = Sandbox(seed=4, store=store, now=lambda: NOW)
    if holding:
        sandbox.users.create(
            {"primary_id": "kept01", "last_name": "Kept", "user_group": "PUBLIC", "account_type": "INTERNAL"}
        )
        sandbox.seed_duke()
    return sandbox.seed(200, seed=11) + sandbox.seed(100, seed=12)


def _tables(db: sqlite3.Connection, names: list[str]) -> dict[str, list[str]]:
    return {name: sorted(map(repr, db.execute(f"SELECT * FROM {name}").fetchall())) for name in names}


def _everything(store: Store) -> str:
    """Every record, item, counter, id, search index row and schema entry the store holds, as text.

    Reading a counter takes its next number: a second reading shows each counter one further.
    """
    users = [(uid, entry, [store.items(uid, kind) for kind in KINDS]) for uid, entry in store.entries()]
    ids = {value: store.lookup(value) for _, entry in store.entries() for value in _values(entry)}
    db: sqlite3.Connection = store._db  # type: ignore[attr-defined] # the index's tables: no public reader
    schema = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").fetchall()
    names = [name for kind, name, _, _ in schema if kind == "table" and name != "counters"]  # read below
    counters = [store.next_number(name) for name in ("user", "loan", "request", "fee")]
    return json.dumps([users, ids, schema, _tables(db, names), counters], sort_keys=True, default=repr)


def _values(entry: dict[str, Any]) -> list[str]:
    user = entry["user"]
    return [user["primary_id"], *(ident["value"] for ident in user.get("user_identifier") or [])]


def _answers(store: Store) -> list[tuple[int, list[int]]]:
    pages = []
    for params in QUERIES:
        query = user_query(params)
        every = scan_search(store, query)
        for limit, offset in ((100, 0), (7, 40)):
            page = store.search(query, limit, offset)
            assert page == (len(every), every[offset : offset + limit]), params  # the index answers as the scan
            pages.append(page)
    return pages


@pytest.fixture
def one_by_one(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Turns the slow path on: what seeding did before it was grouped."""

    def switch() -> None:
        monkeypatch.setattr(seeding_module, "CodeSnapshot", lambda codes: codes)
        monkeypatch.setattr(seeding_module, "build_user", lambda env, body: build_user(env, parse_user(body)))
        for store_type in (MemoryStore, SqliteStore):
            monkeypatch.setattr(store_type, "add_users", Store.add_users)
            monkeypatch.setattr(store_type, "loading", Store.loading)

    return switch


@pytest.mark.parametrize("holding", [False, True], ids=["empty store", "store holding users"])
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_bulk_seeding_writes_what_one_by_one_writes(
    kind: str, holding: bool, tmp_path: Path, one_by_one: Callable[[], None]
) -> None:
    with closing(_store_of(kind, tmp_path / "bulk.sqlite3")) as bulk:
        bulk_ids = _seeded(bulk, holding=holding)
        bulk_state, bulk_answers = _everything(bulk), _answers(bulk)
    one_by_one()
    with closing(_store_of(kind, tmp_path / "alone.sqlite3")) as alone:
        assert _seeded(alone, holding=holding) == bulk_ids
        assert len(bulk_ids) == len(set(bulk_ids)) == 300
        assert _everything(alone) == bulk_state
        assert _answers(alone) == bulk_answers
        assert any(total for total, _ in bulk_answers[8:])  # the queries find users: they compare something


class _Boom(RuntimeError):
    pass


@pytest.mark.parametrize("holding", [False, True], ids=["empty store", "store holding users"])
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_seed_that_fails_writes_nothing_and_leaves_the_indexes(
    kind: str, holding: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with closing(_store_of(kind, tmp_path / "s.sqlite3")) as store:
        sandbox = Sandbox(seed=4, store=store, now=lambda: NOW)
        if holding:
            sandbox.seed(40, seed=1)
        sandbox.seed_duke()  # dated the day seeding began: kept as it was
        before = json.loads(_everything(store))
        drawn: list[str] = []

        def failing(*args: Any, **kwargs: Any) -> Any:
            drawn.append(args[2])  # its primary id
            if len(drawn) == 2500:  # batches in: several are written already, inside the block
                raise _Boom
            return patron_body(*args, **kwargs)

        monkeypatch.setattr(seeding_module, "patron_body", failing)
        with pytest.raises(_Boom):
            sandbox.seed(3000, seed=2)
        after = json.loads(_everything(store))
        assert after[:-1] == before[:-1]  # no user, item or id; every index as it was
        assert after[-1] == [number + 1 for number in before[-1]]  # no number taken but those read
        assert not any(store.lookup(primary_id) for primary_id in drawn)
        monkeypatch.setattr(seeding_module, "patron_body", patron_body)
        added = sandbox.seed(30, seed=3)
        assert [store.get(uid)["user"]["primary_id"] for uid in store.lookup(added[0])] == [added[0]]  # type: ignore[index]
        _answers(store)


def test_a_seeded_file_keeps_no_big_write_ahead_log(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with closing(SqliteStore(path)) as store:
        Sandbox(seed=1, store=store, now=lambda: NOW).seed(300, seed=1)
        assert store.count() == 300
        assert Path(f"{path}-wal").stat().st_size == 0  # copied into the file: the disk holds it once
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_file_another_process_reads_is_seeded_alike(tmp_path: Path) -> None:
    with closing(SqliteStore(tmp_path / "alone.sqlite3")) as alone:
        Sandbox(seed=1, store=alone, now=lambda: NOW).seed(120, seed=1)
        expected = _everything(alone)
    path = tmp_path / "shared.sqlite3"
    with closing(SqliteStore(path)) as store, closing(sqlite3.connect(path, isolation_level=None)) as reader:
        reader.execute("BEGIN")
        assert reader.execute("SELECT COUNT(*) FROM users").fetchone() == (0,)  # a read in progress
        Sandbox(seed=1, store=store, now=lambda: NOW).seed(120, seed=1)
        assert reader.execute("SELECT COUNT(*) FROM users").fetchone() == (0,)  # its snapshot holds
        reader.execute("COMMIT")
        assert reader.execute("SELECT COUNT(*) FROM users").fetchone() == (120,)
        assert _everything(store) == expected
        assert store._db.execute("PRAGMA busy_timeout").fetchone() == (30_000,)


@pytest.mark.parametrize("enabled", [True, False])
def test_seeding_leaves_the_cycle_collector_as_it_found_it(enabled: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        with Sandbox(seed=1, now=lambda: NOW) as sandbox:
            sandbox.seed(5, seed=1)
            assert gc.isenabled() is enabled
            monkeypatch.setattr(seeding_module, "patron_body", lambda *args, **kwargs: 1 / 0)
            with pytest.raises(ZeroDivisionError):
                sandbox.seed(5, seed=2)
            assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


@pytest.mark.parametrize("count", [0, 1, 2, 332, 333, 334, 700])
def test_rows_inserted_many_per_statement_arrive_all_in_order(count: int) -> None:
    with closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE TABLE t (a, b, c)")
        rows = [(n, f"v{n}", bytes([n % 256])) for n in range(count)]
        insert_rows(db, "t", rows)
        assert db.execute("SELECT a, b, c FROM t ORDER BY rowid").fetchall() == rows
