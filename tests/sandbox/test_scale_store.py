"""The search index stays true to the stores: old files, other processes, failed writes, bounded memory."""

from __future__ import annotations

import sqlite3
import tracemalloc
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest

from alma_onelink.sandbox import MemoryStore, SqliteStore, Store
from alma_onelink.sandbox._search import user_query
from alma_onelink.sandbox._store import make_entry, scan_search
from alma_onelink.sandbox._tokens import FIELD_CODES

DAY = date(2026, 3, 14)
SMITHS = user_query({"q": "last_name~smith"})
EVERYONE = user_query({})


def person(primary_id: str, last_name: str = "Smith", **fields: object) -> dict[str, object]:
    return make_entry({"primary_id": primary_id, "first_name": "Jo", "last_name": last_name, **fields}, None, DAY)


def found(store: Store, query: object = SMITHS, limit: int = 100, offset: int = 0) -> list[str]:
    total, uids = store.search(query, limit, offset)  # type: ignore[arg-type]
    ids = [str(entry["user"]["primary_id"]) for uid in uids if (entry := store.get(uid))]
    assert total >= len(ids)
    return ids


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "s.sqlite3")
    yield made
    made.close()


def test_a_failed_transaction_leaves_the_index_as_it_was(store: Store) -> None:
    kept = store.save(None, person("kept01"))
    assert found(store) == ["kept01"]  # the result is kept for paging: the failure must drop it too

    def half_written() -> None:
        with store.transaction():
            store.save(None, person("half01"))
            store.save(kept, person("kept01", last_name="Renamed"))
            store.set_items(kept, "fees", [{"balance": 5, "status": "ACTIVE"}])
            assert found(store, user_query({"q": "last_name~renamed"})) == ["kept01"]  # seen inside it
            raise RuntimeError("midway")

    with pytest.raises(RuntimeError, match="midway"):
        half_written()
    assert found(store) == ["kept01"]
    assert found(store, user_query({"q": "last_name~renamed"})) == []
    assert found(store, user_query({"q": "fines_fees_sum~0"})) == ["kept01"]


def test_a_cleared_store_finds_nobody_until_users_come_back(store: Store) -> None:
    store.save(None, person("gone01"))
    assert found(store, EVERYONE) == ["gone01"]
    store.clear()
    assert found(store, EVERYONE) == []
    store.save(None, person("back01"))
    assert found(store) == ["back01"]


def test_paying_a_fee_moves_the_user_between_fee_sums(store: Store) -> None:
    uid = store.save(None, person("fee01"))
    owes = user_query({"q": "fines_fees_sum~12.5"})
    store.set_items(uid, "fees", [{"balance": 12.5, "status": "ACTIVE"}])
    assert found(store, owes) == ["fee01"]
    store.set_items(uid, "fees", [{"balance": 12.5, "status": "CLOSED"}])
    assert found(store, owes) == []
    assert found(store, user_query({"q": "fines_fees_sum~0"})) == ["fee01"]


def test_another_process_writes_are_found_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    one, two = SqliteStore(path), SqliteStore(path)
    try:
        one.save(None, person("ada01"))
        assert found(two) == ["ada01"]  # kept by two for its next page…
        uid = one.save(None, person("bob01"))
        assert found(two) == ["ada01", "bob01"]  # …and dropped when one writes
        assert found(two, EVERYONE, limit=1, offset=1) == ["bob01"]
        one.delete(uid)
        assert found(two, EVERYONE, limit=1, offset=1) == []
    finally:
        one.close()
        two.close()


def _old_file(path: Path) -> None:
    """A sandbox file as the versions before the search index wrote it: users, ids and items only."""
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE users (uid INTEGER PRIMARY KEY, entry TEXT NOT NULL);
        CREATE TABLE ids (key TEXT NOT NULL, id_type TEXT NOT NULL, uid INTEGER NOT NULL);
        CREATE TABLE items (uid INTEGER NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (uid, kind));
        CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        """
    )
    db.execute(
        "INSERT INTO users VALUES (1, ?)",
        ('{"user": {"primary_id": "old01", "last_name": "Smith"}, "password": null, "modified": "2020-01-01"}',),
    )
    db.execute("INSERT INTO ids VALUES ('old01', 'primary_id', 1)")
    db.execute('INSERT INTO items VALUES (1, \'fees\', \'[{"balance": 4, "status": "ACTIVE"}]\')')
    db.execute("INSERT INTO counters VALUES ('user', 1)")
    db.commit()
    db.close()


def test_a_file_from_before_the_index_is_indexed_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _old_file(path)
    with closing(SqliteStore(path)) as store:
        assert found(store) == ["old01"]
        assert found(store, user_query({"q": "fines_fees_sum~4"})) == ["old01"]
        assert found(store, user_query({"modify_date_from": "2019-12-31"})) == ["old01"]


def test_an_index_another_version_built_is_built_again(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    with closing(SqliteStore(path)) as store:
        store.save(None, person("real01"))
    db = sqlite3.connect(path)  # what another version might have left: its mark, and a token we never wrote
    db.execute("UPDATE search_meta SET value = 'another version' WHERE name = 'version'")
    db.execute("INSERT INTO search_terms SELECT ?, X'6A6F6E6573', uid FROM search_rows", (FIELD_CODES["last_name"],))
    db.commit()
    db.close()
    with closing(SqliteStore(path)) as store:
        assert found(store) == ["real01"]
        assert found(store, user_query({"q": "last_name~jones"})) == []


def _walk_peak(users: int) -> int:
    """Peak Python memory (bytes) while every page of a search over ``users`` users is read."""
    store = SqliteStore(":memory:")
    store.add_users([(person(f"p{n:06d}", last_name=f"Name{n % 97}"), {}) for n in range(users)])
    tracemalloc.start()
    try:
        for offset in range(0, users, 100):
            assert len(store.search(EVERYONE, 100, offset)[1]) == min(100, users - offset)
        for offset in range(0, users, 100):
            store.search(user_query({"q": "last_name~name1*"}), 100, offset)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        store.close()


def test_walking_every_page_holds_a_page_in_memory_not_every_user() -> None:
    users = 5000
    peak = _walk_peak(users)
    # Page ends and the ids of a query's matches: a few bytes a user. A record read whole is a kilobyte or more.
    assert peak < 64 * users, peak


def test_bulk_added_users_are_found_like_saved_ones(store: Store) -> None:
    uids = store.add_users([(person("bulk01"), {"fees": [{"balance": 3, "status": "ACTIVE"}]}), (person("bulk02"), {})])
    store.save(None, person("one01"))
    assert found(store) == ["bulk01", "bulk02", "one01"]
    assert store.items(uids[0], "fees") == [{"balance": 3, "status": "ACTIVE"}]
    every = scan_search(store, user_query({"q": "fines_fees_sum~3"}))
    assert every == [uids[0]] == store.search(user_query({"q": "fines_fees_sum~3"}), 10, 0)[1]
    assert store.lookup("bulk02") == [uids[1]]
