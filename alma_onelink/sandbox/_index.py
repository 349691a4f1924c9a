"""The search index: ``GET /users`` answered from SQLite indexes instead of a scan over every user.

Three tables, in the SQLite store's own file (so a second process sees the same index, and every
write updates it in the same transaction) or in a private in-memory database for the `MemoryStore`:

- ``search_terms (field, token, uid)``, its primary key the index: every folded word and value of
  every searchable field (`_tokens`). An exact term is one key lookup; a prefix (``smi`` of a word,
  ``919*`` of a value) one range of keys; a phone number's ending a range over the numbers reversed.
- ``search_rows (uid, last, first, pid, modified, fees)``: what a search sorts and filters by, with an
  index per order a search can ask for (`ORDER_INDEXES`), ties broken by internal id.
- ``search_unreadable (field, uid)``: the few malformed records a field cannot be read from.

A listing without ``q`` reads its order's index from where the previous page ended (the cursors kept
per page), so each page costs the same wherever it is, and memory holds a page, never every user.
A query with ``q`` is one SQL statement (`matching`: each term a range of ``search_terms``, AND an
``INTERSECT``, OR a ``UNION``), its matches put in a temporary table once; a page then reads the
order's index from the kept cursor, keeping the users in that table. A result of a few thousand or
fewer is sorted whole instead, and paged by slicing. Either is kept (a few queries, the least
recently used dropped first) until the next write by any process.

A query that reads a field some record cannot be read in is answered by the reference scan
(`scan_matches`), which fails on that record exactly as it always has.

New users in bulk (`put_many`, seeding) have their terms staged in a temporary table and moved into
``search_terms`` in key order by SQLite, at the end of a `loading` block; an empty index also builds
``search_rows``' indexes at that end, once, instead of row by row.
"""

from __future__ import annotations

import sqlite3
from array import array
from bisect import bisect_right, insort
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ._bulk import deferred_indexes, insert_rows
from ._fields import Json
from ._plan import COLUMNS, ORDER_INDEXES, ORDER_SCHEMA, matching, touched
from ._query import UserQuery
from ._tokens import FEES, INDEX_VERSION, index_entry

__all__ = ["SCHEMA", "SearchIndex"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS search_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS search_terms (field INTEGER NOT NULL, token BLOB NOT NULL, uid INTEGER NOT NULL,
                                         PRIMARY KEY (field, token, uid)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search_rows (uid INTEGER PRIMARY KEY, last BLOB, first BLOB, pid BLOB,
                                        modified TEXT, fees TEXT);
CREATE INDEX IF NOT EXISTS search_by_fees ON search_rows (fees);
CREATE TABLE IF NOT EXISTS search_unreadable (field TEXT NOT NULL, uid INTEGER NOT NULL,
                                              PRIMARY KEY (field, uid)) WITHOUT ROWID;
"""

_TABLES = ("search_terms", "search_rows", "search_unreadable")
_STAGED = "temp.search_staged"  # terms of users added in bulk, moved into search_terms in key order
_KEPT_RESULTS = 8  # queries whose matches are kept for paging
_KEPT_CURSORS = 4096  # page ends kept per walk
_SORTED_AT_ONCE = 2000  # a result this small is sorted whole; a larger one is walked in its order's index
_REACH, _REACH_MORE = 4, 1000  # how far a walk reads: 4 times what evenly spread matches need, and 1,000 more


class _Cursors:
    """Where pages of one walk ended: offset → the sort key and internal id of the user before it."""

    def __init__(self) -> None:
        self._offsets: list[int] = []
        self._keys: dict[int, tuple[Any, ...]] = {}

    def nearest(self, offset: int) -> tuple[int, tuple[Any, ...]] | None:
        """The kept page end at or before ``offset``, with its key, if any."""
        at = bisect_right(self._offsets, offset)
        return (self._offsets[at - 1], self._keys[self._offsets[at - 1]]) if at else None

    def keep(self, end: int, key: tuple[Any, ...]) -> None:
        if end in self._keys:
            return
        if len(self._offsets) >= _KEPT_CURSORS:
            self._offsets.clear()
            self._keys.clear()
        insort(self._offsets, end)
        self._keys[end] = key


@dataclass
class _Found:
    """The users one query matched, kept until the next write: sorted whole, or in a temporary table."""

    total: int
    order: array[int] | None = None  # every match, sorted (a small result)
    table: str | None = None  # a temporary table of their internal ids (a large one)
    cursors: _Cursors = field(default_factory=_Cursors)


class SearchIndex:
    """The search tables on one SQLite connection; the caller serialises every call (the store's lock).

    Writes join the connection's open transaction if there is one. `search` answers from the index.
    """

    def __init__(self, db: sqlite3.Connection) -> None:
        """Create the tables on ``db`` if missing; `current` tells whether they match this version."""
        self._db = db
        self._db.executescript(SCHEMA + ORDER_SCHEMA)
        self._writes = 0  # own writes; the caller adds other connections' (PRAGMA data_version)
        self._seen: tuple[int, int] | None = None
        self._total: int | None = None
        self._unreadable: set[str] | None = None
        self._kept: OrderedDict[tuple[Any, ...], _Found] = OrderedDict()
        self._listings: dict[tuple[str, ...], _Cursors] = {}
        self._made = 0  # temporary tables made, for their names
        self._loading = False  # inside `loading`: staged terms wait for its end

    # --- keeping it in step ----------------------------------------------------------------------

    def current(self) -> bool:
        """Whether the tables were built by this version of the index (else `rebuild` them)."""
        row = self._db.execute("SELECT value FROM search_meta WHERE name = 'version'").fetchone()
        return row is not None and row[0] == INDEX_VERSION

    def rebuild(self, users: Iterable[tuple[int, Json, list[Json]]]) -> None:
        """Empty the tables and index ``users`` (``(uid, entry, fees)``), marking them this version's."""
        with self._batch():
            self.clear()
            self.put_many(users)
            self._db.execute("INSERT OR REPLACE INTO search_meta (name, value) VALUES ('version', ?)", (INDEX_VERSION,))

    def put(self, uid: int, entry: Json, *, old: Json | None = None, fees: Iterable[Json] = ()) -> None:
        """Index ``entry`` as user ``uid`` (whose unpaid ``fees`` are given), replacing ``old``, its last entry."""
        new = index_entry(entry, fees)
        gone = index_entry(old).terms - new.terms if old is not None else frozenset()
        self._db.executemany(
            "DELETE FROM search_terms WHERE field = ? AND token = ? AND uid = ?", [(*t, uid) for t in gone]
        )
        self._db.executemany(
            "INSERT OR IGNORE INTO search_terms (field, token, uid) VALUES (?, ?, ?)", [(*t, uid) for t in new.terms]
        )
        self._db.execute(
            "INSERT OR REPLACE INTO search_rows (uid, last, first, pid, modified, fees) VALUES (?, ?, ?, ?, ?, ?)",
            (uid, *(new.sort or (None, None, None)), new.modified, new.fees),
        )
        self._db.execute("DELETE FROM search_unreadable WHERE uid = ?", (uid,))
        self._db.executemany(
            "INSERT INTO search_unreadable (field, uid) VALUES (?, ?)", [(field, uid) for field in new.unreadable]
        )
        self._changed()

    def put_many(self, users: Iterable[tuple[int, Json, list[Json]]]) -> None:
        """Index new users (``(uid, entry, fees)``, none of them indexed yet) in one go.

        Inside `loading`, their terms reach ``search_terms`` at the block's end; else before this returns.
        """
        with self.loading():
            terms: list[tuple[int, bytes, int]] = []
            rows: list[tuple[Any, ...]] = []
            unreadable: list[tuple[str, int]] = []
            for uid, entry, fees in users:
                new = index_entry(entry, fees)
                terms += [(field, token, uid) for field, token in new.terms]
                rows.append((uid, *(new.sort or (None, None, None)), new.modified, new.fees))
                unreadable += [(field, uid) for field in new.unreadable]
            insert_rows(self._db, f"{_STAGED} (field, token, uid)", terms)
            self._db.executemany(
                "INSERT OR REPLACE INTO search_rows (uid, last, first, pid, modified, fees) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._db.executemany("INSERT OR IGNORE INTO search_unreadable (field, uid) VALUES (?, ?)", unreadable)
        self._changed()

    @contextmanager
    def loading(self) -> Iterator[None]:
        """A block in which `put_many` stages terms: SQLite sorts them into ``search_terms`` at its end.

        If ``search_rows`` is empty when the block starts, its indexes are dropped and built again at
        the end, from the sorted rows. The block is one transaction (the caller's, if one is open): an
        error in it rolls every write back, the dropped indexes included. Nested blocks are one.
        """
        if self._loading:
            yield
            return
        with self._batch():
            self._db.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_STAGED.split('.')[1]} (field, token, uid)")
            self._loading = True
            try:
                with deferred_indexes(self._db, "search_rows"):
                    yield
                    self._db.execute(
                        "INSERT OR IGNORE INTO search_terms (field, token, uid) "  # noqa: S608 - fixed names
                        f"SELECT field, token, uid FROM {_STAGED} ORDER BY field, token, uid"
                    )
            finally:
                self._loading = False
                self._db.execute(f"DROP TABLE IF EXISTS {_STAGED}")
        self._changed()

    def set_fees(self, uid: int, fees: Iterable[Json]) -> None:
        """Record what user ``uid`` owes now (``fines_fees_sum``), after its fees changed."""
        owed = index_entry({}, fees)
        self._db.execute("UPDATE search_rows SET fees = ? WHERE uid = ?", (owed.fees, uid))
        self._db.execute("DELETE FROM search_unreadable WHERE field = ? AND uid = ?", (FEES, uid))
        if FEES in owed.unreadable:
            self._db.execute("INSERT INTO search_unreadable (field, uid) VALUES (?, ?)", (FEES, uid))
        self._changed()

    def drop(self, uid: int, old: Json) -> None:
        """Forget user ``uid``, whose last entry was ``old``."""
        self._db.executemany(
            "DELETE FROM search_terms WHERE field = ? AND token = ? AND uid = ?",
            [(*t, uid) for t in index_entry(old).terms],
        )
        self._db.execute("DELETE FROM search_rows WHERE uid = ?", (uid,))
        self._db.execute("DELETE FROM search_unreadable WHERE uid = ?", (uid,))
        self._changed()

    def clear(self) -> None:
        """Forget every user."""
        for table in _TABLES:
            self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        self._changed()

    def invalidate(self) -> None:
        """Forget every kept result: the caller rolled back writes the index saw."""
        self._changed()

    def begin(self) -> None:
        """Open a transaction on the index's own connection (the `MemoryStore`'s; SQLite's store has one)."""
        self._db.execute("BEGIN")

    def commit(self) -> None:
        """Commit the transaction `begin` opened."""
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        """Undo the transaction `begin` opened, and forget every kept result."""
        self._db.execute("ROLLBACK")
        self._changed()

    def _changed(self) -> None:
        self._writes += 1

    @contextmanager
    def _batch(self) -> Iterator[None]:
        """One transaction for a batch of writes, unless the caller's transaction is already open."""
        if self._db.in_transaction:
            yield
            return
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- searching -------------------------------------------------------------------------------

    def search(self, query: UserQuery, limit: int, offset: int, *, version: int = 0) -> tuple[int, list[int]] | None:
        """``(how many users match, the internal ids of the page)``, or ``None`` when the scan must answer.

        ``version`` changes whenever another connection changed the tables (``PRAGMA data_version``).
        """
        self._sync(version)
        if self._unreadable_fields() & touched(query):
            return None
        if not query.groups and query.since is None and query.keys in ORDER_INDEXES:
            cursors = self._listings.setdefault(query.keys, _Cursors())
            return self._count(), self._walk(query.keys, cursors, limit, offset) or []  # every user: never None
        found = self._found(query)
        if found is None:
            return None
        ordered = found.order
        if ordered is None:
            page = self._walk(query.keys, found.cursors, limit, offset, within=found)
            if page is not None:
                return found.total, page
            ordered = self._sort(found, query.keys)  # its matches lie together, far along the index
        return found.total, list(ordered[offset : offset + limit])

    def _sync(self, version: int) -> None:
        seen = (version, self._writes)
        if seen != self._seen:
            self._seen = seen
            self._total = None
            self._unreadable = None
            self._listings.clear()
            while self._kept:
                self._forget(self._kept.popitem()[1])

    def _forget(self, found: _Found) -> None:
        if found.table is not None:  # gone already if a rollback undid its creation
            self._db.execute(f"DROP TABLE IF EXISTS temp.{found.table}")

    def _unreadable_fields(self) -> set[str]:
        if self._unreadable is None:
            rows = self._db.execute("SELECT DISTINCT field FROM search_unreadable").fetchall()
            self._unreadable = {str(field) for (field,) in rows}
        return self._unreadable

    def _count(self) -> int:
        if self._total is None:
            self._total = int(self._db.execute("SELECT COUNT(*) FROM search_rows").fetchone()[0])
        return self._total

    def _walk(
        self, keys: tuple[str, ...], cursors: _Cursors, limit: int, offset: int, *, within: _Found | None = None
    ) -> list[int] | None:
        """A page in ``keys`` order, read along its index from the kept page end nearest before ``offset``.

        ``within``: keep only the users in its temporary table, reading a few times as far along the
        index as matches spread evenly would need; ``None`` if that was not far enough (the matches
        lie together further on: sorting them is then cheaper than reading on).
        """
        if limit == 0:
            return []
        order = ", ".join([*(COLUMNS[key] for key in keys), "uid"])
        params: list[Any] = []
        skip, where = offset, ""
        near = cursors.nearest(offset)
        if near is not None:
            start, key = near
            where = f"WHERE ({order}) > ({', '.join('?' * len(key))})"
            params.extend(key)
            skip = offset - start
        read = f"SELECT {order} FROM search_rows INDEXED BY {ORDER_INDEXES[keys]} {where} ORDER BY {order}"  # noqa: S608
        if within is not None:
            needed = skip + limit
            reach = _REACH * needed * self._count() // max(within.total, 1) + _REACH_MORE
            read = f"SELECT {order} FROM ({read} LIMIT ?) WHERE uid IN temp.{within.table} ORDER BY {order}"  # noqa: S608
            params.append(reach)
        rows = self._db.execute(f"{read} LIMIT ? OFFSET ?", (*params, limit, skip)).fetchall()
        if within is not None and len(rows) < limit and offset + len(rows) < within.total:
            return None  # the reach ran out before the page was full
        if rows:
            cursors.keep(offset + len(rows), tuple(rows[-1]))
        return [int(row[-1]) for row in rows]

    def _sort(self, found: _Found, keys: tuple[str, ...]) -> array[int]:
        """Every match of ``found`` sorted, kept for its later pages; its temporary table is dropped."""
        order = ", ".join([*(COLUMNS[key] for key in keys), "uid"])
        rows = self._db.execute(f"SELECT uid FROM search_rows WHERE uid IN temp.{found.table} ORDER BY {order}")  # noqa: S608
        found.order = array("q", (int(uid) for (uid,) in rows))
        self._forget(found)
        found.table = None
        return found.order

    def _found(self, query: UserQuery) -> _Found | None:
        """What ``query`` matches, kept until the next write; ``None`` if it is too long for one statement."""
        key = (query.groups, query.keys, query.since)
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
            return found
        select = matching(query)
        if select is None:
            return None
        self._made += 1
        table = f"search_hits_{self._made}"
        self._db.execute(f"CREATE TEMP TABLE {table} (uid INTEGER PRIMARY KEY)")
        total = self._db.execute(f"INSERT OR IGNORE INTO temp.{table} (uid) {select[0]}", select[1]).rowcount
        found = _Found(total, table=table)
        if total <= _SORTED_AT_ONCE or query.keys not in ORDER_INDEXES:
            self._sort(found, query.keys)
        self._kept[key] = found
        if len(self._kept) > _KEPT_RESULTS:
            self._forget(self._kept.popitem(last=False)[1])
        return found
