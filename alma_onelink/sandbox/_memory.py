"""The in-memory store: every user in process memory, searched through an in-memory SQLite index."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from ._index import SearchIndex
from ._query import UserQuery
from ._store import Entry, Items, Store, check_kind, dump, index_keys, scan_search

__all__ = ["MemoryStore"]

_MISSING = object()


class MemoryStore(Store):
    """Everything in process memory: fast, gone when the process ends.

    Entries are kept as JSON text so nobody can alias and mutate a stored record by accident. A
    transaction keeps an undo journal, so a failure inside one leaves the store as it was. Searches
    read a private in-memory SQLite database that indexes every searchable field (see `_index`).
    """

    def __init__(self) -> None:
        """An empty store."""
        self._lock = threading.RLock()
        self._journal: list[tuple[dict[Any, Any], Any, Any]] | None = None
        self._users: dict[int, str] = {}
        self._ids: dict[str, set[tuple[int, str]]] = {}
        self._items: dict[tuple[int, str], str] = {}
        self._counters: dict[str, int] = {}
        self._settings: dict[str, str] = {}
        self._codes: dict[str, dict[str, str]] = {}
        self._codes_version = 0
        # The index joins each transaction of the store: a rollback of one is a rollback of the other.
        self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._search = SearchIndex(self._db)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the store exclusively for the block; undo its writes if it raises."""
        with self._lock:
            outermost = self._journal is None
            if outermost:
                self._journal = []
                self._search.begin()
            try:
                yield
            except BaseException:
                if outermost:
                    self._rollback()
                raise
            else:
                if outermost:
                    self._search.commit()
            finally:
                if outermost:
                    self._journal = None

    def _remember(self, table: dict[Any, Any], key: Any) -> None:
        if self._journal is not None:
            self._journal.append((table, key, table.get(key, _MISSING)))

    def _rollback(self) -> None:
        journal, self._journal = self._journal or [], None
        failed = {key: self._users.get(key) for table, key, _ in journal if table is self._users}
        for table, key, old in reversed(journal):
            if old is _MISSING:
                table.pop(key, None)
            else:
                table[key] = old
        for uid, text in failed.items():
            self._index_ids(uid, text, self._users.get(uid))
        self._search.rollback()

    def _index_ids(self, uid: int, old: str | None, new: str | None) -> None:
        """Bring the id index in step with ``uid``'s entry going from ``old`` to ``new`` (JSON; ``None``: none)."""
        for key, kind in index_keys(json.loads(old)) if old is not None else []:
            hits = self._ids.get(key, set())
            hits.discard((uid, kind))
            if not hits:
                self._ids.pop(key, None)
        for key, kind in index_keys(json.loads(new)) if new is not None else []:
            self._ids.setdefault(key, set()).add((uid, kind))

    def get(self, uid: int) -> Entry | None:
        """A copy of the entry, or ``None``."""
        with self._lock:
            text = self._users.get(uid)
        return None if text is None else dict(json.loads(text))

    def _lookup(self, key: str, id_type: str | None) -> list[int]:
        with self._lock:
            hits = self._ids.get(key, set())
            return sorted({uid for uid, kind in hits if id_type is None or kind == id_type})

    def save(self, uid: int | None, entry: Entry) -> int:
        """Insert or replace (see `save`)."""
        with self.transaction():
            if uid is None:
                uid = self.next_number("user")
            self._remember(self._users, uid)
            text = json.dumps(entry, ensure_ascii=False)
            old = self._users.get(uid)
            self._users[uid] = text
            self._index_ids(uid, old, text)
            copy = json.loads(text)  # what was stored, not the caller's dict, which it may go on changing
            self._search.put(uid, copy, old=None if old is None else json.loads(old), fees=self.items(uid, "fees"))
            return uid

    def add_users(self, users: Sequence[tuple[Entry, Items]]) -> list[int]:
        """Insert new users with their items in one transaction (see `Store.add_users`)."""
        for _, items in users:
            for kind in items:
                check_kind(kind)
        with self.transaction():
            uids = list(self.next_numbers("user", len(users)))
            indexed = []
            for uid, (entry, items) in zip(uids, users, strict=True):
                self._remember(self._users, uid)
                self._users[uid] = dump(entry)
                for key, kind in index_keys(entry):
                    self._ids.setdefault(key, set()).add((uid, kind))
                for kind, listed in items.items():
                    if listed:
                        self._remember(self._items, (uid, kind))
                        self._items[(uid, kind)] = dump(listed)
                indexed.append((uid, entry, list(items.get("fees") or [])))
            self._search.put_many(indexed)
            return uids

    @contextmanager
    def loading(self) -> Iterator[None]:
        """One transaction for many `add_users`: the search index is built at its end (see `Store.loading`)."""
        with self.transaction(), self._search.loading():
            yield

    def delete(self, uid: int) -> None:
        """Remove the user and its items."""
        with self.transaction():
            old = self._users.get(uid)
            if old is None:
                return
            self._remember(self._users, uid)
            del self._users[uid]
            self._index_ids(uid, old, None)
            self._search.drop(uid, json.loads(old))
            for kind in ("loans", "requests", "fees"):
                self._remember(self._items, (uid, kind))
                self._items.pop((uid, kind), None)

    def entries(self) -> list[tuple[int, Entry]]:
        """Every entry in insertion order."""
        with self._lock:
            rows = sorted(self._users.items())
        return [(uid, dict(json.loads(text))) for uid, text in rows]

    def search(self, query: UserQuery, limit: int, offset: int) -> tuple[int, list[int]]:
        """The users ``query`` wants, from the index (see `Store.search`)."""
        with self._lock:
            found = self._search.search(query, limit, offset)
            if found is not None:
                return found
            every = scan_search(self, query)  # a malformed record in a field the query reads
            return len(every), every[offset : offset + limit]

    def count(self) -> int:
        """How many users."""
        with self._lock:
            return len(self._users)

    def items(self, uid: int, kind: str) -> list[dict[str, Any]]:
        """A copy of the user's items of ``kind``."""
        check_kind(kind)
        with self._lock:
            text = self._items.get((uid, kind))
        return [] if text is None else list(json.loads(text))

    def set_items(self, uid: int, kind: str, items: list[dict[str, Any]]) -> None:
        """Replace the user's items of ``kind``."""
        check_kind(kind)
        with self.transaction():
            self._remember(self._items, (uid, kind))
            text = json.dumps(items, ensure_ascii=False)
            self._items[(uid, kind)] = text
            if kind == "fees":
                self._search.set_fees(uid, json.loads(text))

    def next_number(self, name: str) -> int:
        """Next value of counter ``name``."""
        with self.transaction():
            self._remember(self._counters, name)
            self._counters[name] = self._counters.get(name, 0) + 1
            return self._counters[name]

    def next_numbers(self, name: str, count: int) -> range:
        """The next ``count`` values of counter ``name`` at once."""
        with self.transaction():
            self._remember(self._counters, name)
            first = self._counters.get(name, 0) + 1
            self._counters[name] = first + max(count, 0) - 1
            return range(first, first + max(count, 0))

    def setting(self, name: str) -> str | None:
        """The setting ``name``, or ``None``."""
        with self._lock:
            return self._settings.get(name)

    def set_setting(self, name: str, value: str) -> None:
        """Keep ``value`` as setting ``name``."""
        with self.transaction():
            self._remember(self._settings, name)
            self._settings[name] = value

    def codes(self) -> dict[str, dict[str, str]]:
        """The loaded code tables (see `Store.codes`)."""
        with self._lock:
            return {table: dict(rows) for table, rows in self._codes.items()}

    def add_codes(self, tables: Mapping[str, Mapping[str, str]]) -> None:
        """Keep the code tables (see `Store.add_codes`)."""
        with self._lock:
            for table, rows in tables.items():
                kept = self._codes.setdefault(table, {})
                for code, desc in rows.items():
                    for old in [k for k in kept if k.casefold() == code.casefold()]:
                        del kept[old]
                    kept[code] = desc
            self._codes_version += 1

    def codes_version(self) -> int:
        """How many times code tables were added."""
        with self._lock:
            return self._codes_version

    def clear(self) -> None:
        """Remove every user, item, counter and setting (undone, like any write, by a failing transaction);
        codes stay."""
        with self.transaction():
            for table in (self._users, self._items, self._counters, self._settings):
                for key in list(table):
                    self._remember(table, key)
                table.clear()
            self._ids.clear()
            self._search.clear()

    def close(self) -> None:
        """Release the search index's in-memory database; the store is unusable afterwards."""
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"MemoryStore(users={self.count()})"
