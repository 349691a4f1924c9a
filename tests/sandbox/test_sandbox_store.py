"""Stores: one contract for memory and SQLite; persistence across restarts; safety under concurrency."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from alma_onelink.sandbox import MemoryStore, Sandbox, SqliteStore, Store
from tests.sandbox.conftest import NOW, user_body


@pytest.fixture(params=["memory", "sqlite-file", "sqlite-memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store
    if request.param == "memory":
        made = MemoryStore()
    elif request.param == "sqlite-file":
        made = SqliteStore(tmp_path / "nested" / "sandbox.sqlite3")
    else:
        made = SqliteStore(":memory:")
    yield made
    made.close()


def entry(primary_id: str, *identifiers: str) -> dict[str, object]:
    idents = [{"id_type": {"value": "BARCODE"}, "value": value} for value in identifiers]
    return {"user": {"primary_id": primary_id, "user_identifier": idents}, "password": None, "modified": "2026-01-01"}


def test_save_get_and_lookup_ignoring_case(store: Store) -> None:
    uid = store.save(None, entry("Ada01", "BC-1"))
    assert store.get(uid)["user"]["primary_id"] == "Ada01"  # type: ignore[index]
    assert store.lookup("ada01") == [uid]
    assert store.lookup("bc-1") == [uid]
    assert store.lookup("BC-1", "barcode") == [uid]
    assert store.lookup("bc-1", "primary_id") == []
    assert store.lookup("ADA01", "primary_id") == [uid]
    assert store.lookup("nobody") == []


def test_replacing_an_entry_reindexes_it(store: Store) -> None:
    uid = store.save(None, entry("ada01", "OLD"))
    store.save(uid, entry("ada02", "NEW"))
    assert store.lookup("ada01") == []
    assert store.lookup("old") == []
    assert store.lookup("ada02") == [uid]
    assert store.lookup("new") == [uid]
    assert store.count() == 1


def test_scan_follows_every_write(store: Store) -> None:
    first = store.save(None, entry("a"))
    assert [row.entry["user"]["primary_id"] for row in store.scan()] == ["a"]
    second = store.save(None, entry("b"))
    store.save(first, entry("a2"))
    store.delete(second)
    assert [row.entry["user"]["primary_id"] for row in store.scan()] == ["a2"]
    with pytest.raises(RuntimeError, match="midway"):
        _half_written(store, first)
    assert [row.entry["user"]["primary_id"] for row in store.scan()] == ["a2"]
    store.clear()
    assert store.scan() == []


def test_entries_keep_insertion_order_and_are_copies(store: Store) -> None:
    first = store.save(None, entry("b"))
    store.save(None, entry("a"))
    listed = store.entries()
    assert [e["user"]["primary_id"] for _, e in listed] == ["b", "a"]
    listed[0][1]["user"]["primary_id"] = "mutated"
    assert store.get(first)["user"]["primary_id"] == "b"  # type: ignore[index]


def test_items_per_user_and_delete_removes_them(store: Store) -> None:
    uid = store.save(None, entry("ada01"))
    store.add_item(uid, "loans", {"loan_id": "1"})
    store.add_item(uid, "loans", {"loan_id": "2"})
    store.add_item(uid, "fees", {"id": "9"})
    assert [i["loan_id"] for i in store.items(uid, "loans")] == ["1", "2"]
    assert store.items(uid, "requests") == []
    store.delete(uid)
    assert store.get(uid) is None
    assert store.items(uid, "loans") == []
    assert store.lookup("ada01") == []


def test_unknown_item_kind_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown item kind"):
        store.items(1, "attachments")


def test_counters_and_clear(store: Store) -> None:
    assert [store.next_number("loan") for _ in range(3)] == [1, 2, 3]
    store.save(None, entry("ada01"))
    store.clear()
    assert store.count() == 0
    assert store.next_number("loan") == 1


def _half_written(store: Store, uid: int) -> None:
    with store.transaction():
        store.save(uid, entry("renamed01", "NEW-BC"))
        store.save(None, entry("half01"))
        store.add_item(uid, "loans", {"loan_id": "2"})
        raise RuntimeError("fail midway")


def test_a_failed_transaction_leaves_nothing_behind(store: Store) -> None:
    uid = store.save(None, entry("whole01", "OLD-BC"))
    store.add_item(uid, "loans", {"loan_id": "1"})
    with pytest.raises(RuntimeError, match="midway"):
        _half_written(store, uid)
    assert store.count() == 1
    assert store.lookup("half01") == []
    assert store.lookup("renamed01") == []
    assert store.lookup("new-bc") == []
    assert store.lookup("old-bc") == [uid]
    assert store.get(uid)["user"]["primary_id"] == "whole01"  # type: ignore[index]
    assert store.items(uid, "loans") == [{"loan_id": "1"}]


def test_sqlite_persists_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "alma.sqlite3"
    with Sandbox(db_path=path, now=lambda: NOW) as first:
        first.users.create(user_body("kept01"), password="durable-password")
        first.users.add_loan("kept01")
        seeded = first.seed(3, seed=1)
    with Sandbox(db_path=path, now=lambda: NOW) as second:
        assert second.users.get("kept01") is not None
        assert len(second.users.loans("kept01")) == 1
        assert second.users.password_matches("kept01", "durable-password")
        assert set(seeded) <= set(second.users.ids())
        # Counters persist too: new items never reuse an id.
        second.users.add_loan("kept01")
        assert len({loan["loan_id"] for loan in second.users.loans("kept01")}) == 2


def test_two_connections_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    # What two `sandbox serve` processes on one --db would do.
    path = tmp_path / "shared.sqlite3"
    one, two = SqliteStore(path), SqliteStore(path)
    try:
        uid = one.save(None, entry("ada01"))
        assert two.lookup("ada01") == [uid]
        assert [row.entry["user"]["primary_id"] for row in two.scan()] == ["ada01"]
        one.save(None, entry("bob01"))  # a write by the other connection refreshes two's scan cache
        assert [row.entry["user"]["primary_id"] for row in two.scan()] == ["ada01", "bob01"]
        assert two.next_number("user") == uid + 2  # the id counter is shared, so ids never clash
    finally:
        one.close()
        two.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_concurrent_creates_of_one_id_let_exactly_one_win(kind: str, tmp_path: Path) -> None:
    db = tmp_path / "race.sqlite3" if kind == "sqlite" else None
    with Sandbox(db_path=db, per_second_limit=None) as sandbox:
        barrier = threading.Barrier(8)

        def create(n: int) -> int:
            with httpx.Client(transport=sandbox.transport(), base_url=sandbox.base_url) as client:
                barrier.wait()
                body = user_body("race01", user_identifier=[{"id_type": "BARCODE", "value": f"R{n}"}])
                return client.post(f"/almaws/v1/users?apikey={sandbox.api_key}", json=body).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = sorted(pool.map(create, range(8)))
        assert statuses == [200] + [400] * 7
        assert len(sandbox.users) == 1


def test_concurrent_writes_all_land(tmp_path: Path) -> None:
    with Sandbox(db_path=tmp_path / "many.sqlite3", per_second_limit=None) as sandbox:

        def create(n: int) -> int:
            with httpx.Client(transport=sandbox.transport(), base_url=sandbox.base_url) as client:
                return client.post(f"/almaws/v1/users?apikey={sandbox.api_key}", json=user_body(f"w{n}")).status_code

        with ThreadPoolExecutor(6) as pool:
            assert set(pool.map(create, range(30))) == {200}
        assert len(sandbox.users) == 30
        assert json.dumps(sorted(sandbox.users.ids())) == json.dumps(sorted(f"w{n}" for n in range(30)))
