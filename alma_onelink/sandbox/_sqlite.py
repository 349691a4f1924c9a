"""The SQLite store: users in a file that survives restarts, shared safely by threads and processes.

The search index (`_index`) lives in the same file and is written in the same transactions, so every
process on the file searches the same users. A file whose index an older version built (or none) is
indexed again when it is opened.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from ._bulk import deferred_indexes, insert_rows
from ._index import SearchIndex
from ._query import UserQuery
from ._store import Entry, Items, Store, check_kind, dump, index_keys, scan_search

__all__ = ["SqliteStore"]

_BATCH = 1000  # users read at a time when the index is built again
_PAGE_BYTES = 8192
_WAIT_MS = 30_000  # how long a write waits for another process's transaction to end
_CACHE_KIB = 32 * 1024  # SQLite's page cache: bounded, and enough for the index's hot pages at 100k users

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (uid INTEGER PRIMARY KEY, entry TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ids (key TEXT NOT NULL, id_type TEXT NOT NULL, uid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ids_by_key ON ids (key);
CREATE INDEX IF NOT EXISTS ids_by_uid ON ids (uid);
CREATE TABLE IF NOT EXISTS items (uid INTEGER NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL,
                                  PRIMARY KEY (uid, kind));
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS codes (code_table TEXT NOT NULL, code TEXT NOT NULL, description TEXT NOT NULL,
                                  load_number INTEGER NOT NULL, PRIMARY KEY (code_table, code));
"""


class SqliteStore(Store):
    """A SQLite file (or ``":memory:"``): survives restarts, and is safe for several threads and processes.

    One connection serves every thread, guarded by a lock; writes run in ``BEGIN IMMEDIATE``
    transactions so a second process on the same file waits instead of interleaving.
    """

    def __init__(self, path: str | Path) -> None:
        """Open (creating if needed) the database at ``path``; raises ``sqlite3.Error`` if it cannot."""
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._loading = False
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so nesting is under our control.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=_WAIT_MS / 1000)
        if self.path != ":memory:":
            # A new file only (an existing one keeps its pages): a 2 KB record per 4 KB page wastes half of it.
            self._db.execute(f"PRAGMA page_size = {_PAGE_BYTES}")
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        self._db.executescript(_SCHEMA)
        self._search = SearchIndex(self._db)
        if not self._search.current():
            with self.transaction():  # another process may be building it: check again, holding the file
                if not self._search.current():
                    self._search.rebuild(self._indexable())

    def _indexable(self) -> Iterator[tuple[int, Entry, list[dict[str, Any]]]]:
        """Every user with its fees, read a batch at a time (memory holds a batch, never every user)."""
        last = 0
        while True:
            rows = self._db.execute(
                "SELECT u.uid, u.entry, i.data FROM users u LEFT JOIN items i ON i.uid = u.uid AND i.kind = 'fees' "
                "WHERE u.uid > ? ORDER BY u.uid LIMIT ?",
                (last, _BATCH),
            ).fetchall()
            for uid, text, fees in rows:
                yield int(uid), json.loads(text), json.loads(fees) if fees else []
            if len(rows) < _BATCH:
                return
            last = int(rows[-1][0])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the database exclusively for the block; commit at the outermost exit, roll back on error."""
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outermost:
                    self._db.execute("ROLLBACK")
                    self._search.invalidate()
                raise
            self._depth -= 1
            if outermost:
                self._db.execute("COMMIT")

    def get(self, uid: int) -> Entry | None:
        """A copy of the entry, or ``None``."""
        with self._lock:
            row = self._db.execute("SELECT entry FROM users WHERE uid = ?", (uid,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def get_many(self, uids: Sequence[int]) -> list[Entry]:
        """The entries of ``uids`` that exist, in the order given, read in one statement."""
        texts: dict[int, str] = {}
        with self._lock:
            for start in range(0, len(uids), _BATCH):
                chunk = tuple(uids[start : start + _BATCH])
                rows = self._db.execute(
                    f"SELECT uid, entry FROM users WHERE uid IN ({', '.join('?' * len(chunk))})",  # noqa: S608
                    chunk,
                ).fetchall()
                texts.update((int(uid), str(text)) for uid, text in rows)
        return [dict(json.loads(texts[uid])) for uid in uids if uid in texts]

    def _lookup(self, key: str, id_type: str | None) -> list[int]:
        with self._lock:
            if id_type is None:
                rows = self._db.execute("SELECT DISTINCT uid FROM ids WHERE key = ?", (key,)).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT DISTINCT uid FROM ids WHERE key = ? AND id_type = ?", (key, id_type)
                ).fetchall()
        return sorted(int(row[0]) for row in rows)

    def save(self, uid: int | None, entry: Entry) -> int:
        """Insert or replace (see `save`)."""
        with self.transaction():
            old = None
            if uid is None:
                uid = self.next_number("user")
            else:
                old = self.get(uid)
            text = json.dumps(entry, ensure_ascii=False)
            self._db.execute("INSERT OR REPLACE INTO users (uid, entry) VALUES (?, ?)", (uid, text))
            self._db.execute("DELETE FROM ids WHERE uid = ?", (uid,))
            self._db.executemany(
                "INSERT INTO ids (key, id_type, uid) VALUES (?, ?, ?)",
                [(key, kind, uid) for key, kind in index_keys(entry)],
            )
            # What was stored, not the caller's dict, which it may go on changing.
            self._search.put(uid, json.loads(text), old=old, fees=self.items(uid, "fees"))
            return uid

    def add_users(self, users: Sequence[tuple[Entry, Items]]) -> list[int]:
        """Insert new users with their items in one transaction (see `Store.add_users`)."""
        for _, items in users:
            for kind in items:
                check_kind(kind)
        with self.transaction():
            uids = list(self.next_numbers("user", len(users)))
            texts = [(uid, dump(entry)) for uid, (entry, _) in zip(uids, users, strict=True)]
            insert_rows(self._db, "users (uid, entry)", texts)
            insert_rows(
                self._db,
                "ids (key, id_type, uid)",
                [
                    (key, kind, uid)
                    for uid, (entry, _) in zip(uids, users, strict=True)
                    for key, kind in index_keys(entry)
                ],
            )
            insert_rows(
                self._db,
                "items (uid, kind, data)",
                [
                    (uid, kind, dump(listed))
                    for uid, (_, items) in zip(uids, users, strict=True)
                    for kind, listed in items.items()
                    if listed
                ],
            )
            self._search.put_many(
                (uid, entry, list(items.get("fees") or [])) for uid, (entry, items) in zip(uids, users, strict=True)
            )
            return uids

    @contextmanager
    def loading(self) -> Iterator[None]:
        """One transaction for many `add_users`: indexes are built at its end (see `Store.loading`).

        The id and search indexes of an empty store are dropped for the block and built once at its
        end, from sorted keys; new users' search terms are sorted into the index at its end. Other
        processes read the file as it was until the block ends. The write-ahead log the block grew is
        emptied after it (unless another process is reading).
        """
        with self._lock:
            if self._loading:  # a block inside another is part of it
                yield
                return
            outermost = not self._depth
            with self.transaction(), ExitStack() as later:
                self._loading = True
                later.callback(setattr, self, "_loading", False)
                if not self.count():  # else a seed looks ids up: they stay indexed
                    later.enter_context(deferred_indexes(self._db, "ids"))
                later.enter_context(self._search.loading())
                yield
            if outermost and self.path != ":memory:":
                self._empty_log()

    def _empty_log(self) -> None:
        """Copy the write-ahead log into the file and empty it, if nobody is reading: never waits, never raises
        (what was written is written; a log left as it is is emptied by a later checkpoint)."""
        self._db.execute("PRAGMA busy_timeout = 0")
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
        finally:
            self._db.execute(f"PRAGMA busy_timeout = {_WAIT_MS}")

    def delete(self, uid: int) -> None:
        """Remove the user and its items."""
        with self.transaction():
            old = self.get(uid)
            for table in ("users", "ids", "items"):
                self._db.execute(f"DELETE FROM {table} WHERE uid = ?", (uid,))  # noqa: S608 - fixed names
            if old is not None:
                self._search.drop(uid, old)

    def entries(self) -> list[tuple[int, Entry]]:
        """Every entry in insertion order."""
        with self._lock:
            rows = self._db.execute("SELECT uid, entry FROM users ORDER BY uid").fetchall()
        return [(int(uid), dict(json.loads(text))) for uid, text in rows]

    def search(self, query: UserQuery, limit: int, offset: int) -> tuple[int, list[int]]:
        """The users ``query`` wants, from the index (see `Store.search`); other processes' writes count."""
        with self._lock:
            version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
            found = self._search.search(query, limit, offset, version=version)
            if found is not None:
                return found
            every = scan_search(self, query)  # a malformed record in a field the query reads
            return len(every), every[offset : offset + limit]

    def count(self) -> int:
        """How many users."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM users").fetchone()[0])

    def items(self, uid: int, kind: str) -> list[dict[str, Any]]:
        """A copy of the user's items of ``kind``."""
        check_kind(kind)
        with self._lock:
            row = self._db.execute("SELECT data FROM items WHERE uid = ? AND kind = ?", (uid, kind)).fetchone()
        return [] if row is None else list(json.loads(row[0]))

    def set_items(self, uid: int, kind: str, items: list[dict[str, Any]]) -> None:
        """Replace the user's items of ``kind``."""
        check_kind(kind)
        with self.transaction():
            text = json.dumps(items, ensure_ascii=False)
            self._db.execute("INSERT OR REPLACE INTO items (uid, kind, data) VALUES (?, ?, ?)", (uid, kind, text))
            if kind == "fees":
                self._search.set_fees(uid, json.loads(text))

    def next_number(self, name: str) -> int:
        """Next value of counter ``name``."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1",
                (name,),
            )
            return int(self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0])

    def next_numbers(self, name: str, count: int) -> range:
        """The next ``count`` values of counter ``name``, in one statement."""
        if count <= 0:
            return range(0)
        with self.transaction():
            self._db.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                (name, count),
            )
            last = int(self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0])
        return range(last - count + 1, last + 1)

    def setting(self, name: str) -> str | None:
        """The setting ``name``, or ``None``."""
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, name: str, value: str) -> None:
        """Keep ``value`` as setting ``name``."""
        with self.transaction():
            self._db.execute("INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)", (name, value))

    def codes(self) -> dict[str, dict[str, str]]:
        """The loaded code tables (see `Store.codes`)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT code_table, code, description FROM codes ORDER BY load_number, rowid"
            ).fetchall()
        tables: dict[str, dict[str, str]] = {}
        for table, code, desc in rows:
            tables.setdefault(str(table), {})[str(code)] = str(desc)
        return tables

    def add_codes(self, tables: Mapping[str, Mapping[str, str]]) -> None:
        """Keep the code tables, all or nothing (see `Store.add_codes`)."""
        with self.transaction():
            load = int(self._db.execute("SELECT COALESCE(MAX(load_number), 0) + 1 FROM codes").fetchone()[0])
            for table, rows in tables.items():
                # Alma matches codes ignoring case (beyond ASCII too): a code kept in another case is replaced.
                kept = self._db.execute("SELECT code FROM codes WHERE code_table = ?", (table,)).fetchall()
                folded = {str(code).casefold(): str(code) for (code,) in kept}
                for code, desc in rows.items():
                    old = folded.get(code.casefold())
                    if old is not None:
                        self._db.execute("DELETE FROM codes WHERE code_table = ? AND code = ?", (table, old))
                    self._db.execute(
                        "INSERT INTO codes (code_table, code, description, load_number) VALUES (?, ?, ?, ?)",
                        (table, code, desc, load),
                    )
                    folded[code.casefold()] = code

    def codes_version(self) -> int:
        """The number of the last load (each `add_codes` is one), from the file: other processes' loads count."""
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(MAX(load_number), 0) FROM codes").fetchone()[0])

    def clear(self) -> None:
        """Remove every user, item, counter and setting; the loaded code tables stay."""
        with self.transaction():
            for table in ("users", "ids", "items", "counters", "settings"):
                self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
            self._search.clear()

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"
