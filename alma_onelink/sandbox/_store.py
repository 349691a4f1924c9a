"""Where the sandbox keeps its users: in memory for tests, or in a SQLite file that survives restarts.

Both stores hold *entries*: ``{"user": <Alma user JSON>, "password": <hash or None>, "modified": <date>}``
under an internal integer id (Alma's internal pid plays the same role), plus each user's loans, requests
and fees. Every id a user can be looked up by (the primary id and each identifier value) is indexed
case-insensitively, as Alma matches them. All methods are thread-safe; ``transaction()`` makes a
check-then-write sequence atomic, across processes too for SQLite.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["MemoryStore", "Store"]

Entry = dict[str, Any]
ITEM_KINDS = ("loans", "requests", "fees")
PRIMARY = "primary_id"


def index_keys(entry: Entry) -> list[tuple[str, str]]:
    """The ``(folded value, id type)`` pairs a user is found by: its primary id and identifier values."""
    user = entry.get("user") or {}
    keys: list[tuple[str, str]] = []
    primary = user.get("primary_id")
    if isinstance(primary, str) and primary:
        keys.append((primary.casefold(), PRIMARY))
    for ident in user.get("user_identifier") or []:
        if not isinstance(ident, dict):
            continue
        value = ident.get("value")
        id_type = ident.get("id_type")
        type_code = id_type.get("value") if isinstance(id_type, dict) else id_type
        if isinstance(value, str) and value:
            keys.append((value.casefold(), str(type_code or "").upper()))
    return keys


def check_kind(kind: str) -> None:
    """Raise ``ValueError`` unless ``kind`` is ``loans``, ``requests`` or ``fees``."""
    if kind not in ITEM_KINDS:
        raise ValueError(f"unknown item kind {kind!r}; expected one of {', '.join(ITEM_KINDS)}")


class Store(ABC):
    """The small interface both stores implement. Entries and items are plain JSON-able dicts."""

    @abstractmethod
    def transaction(self) -> Any:
        """A context manager holding the store exclusively; nested use is allowed."""

    @abstractmethod
    def get(self, uid: int) -> Entry | None:
        """A copy of the entry with internal id ``uid``, or ``None``."""

    @abstractmethod
    def lookup(self, value: str, id_type: str | None = None) -> list[int]:
        """Internal ids of users found by ``value`` (ignoring case), optionally only as ``id_type``.

        ``id_type`` is ``"primary_id"`` or an identifier type code; ``None`` matches any of them.
        """

    @abstractmethod
    def save(self, uid: int | None, entry: Entry) -> int:
        """Insert (``uid=None``) or replace an entry and re-index it; returns its internal id."""

    @abstractmethod
    def delete(self, uid: int) -> None:
        """Remove a user and every loan, request and fee it holds; an unknown id is ignored."""

    @abstractmethod
    def entries(self) -> list[tuple[int, Entry]]:
        """Every ``(uid, entry)`` in insertion order (copies)."""

    def scan(self) -> list[tuple[int, Entry]]:
        """Every ``(uid, entry)`` in insertion order, possibly shared with the store's cache: read only."""
        return self.entries()

    @abstractmethod
    def count(self) -> int:
        """How many users the store holds."""

    @abstractmethod
    def items(self, uid: int, kind: str) -> list[dict[str, Any]]:
        """A copy of the user's ``kind`` list (``loans``, ``requests`` or ``fees``)."""

    @abstractmethod
    def set_items(self, uid: int, kind: str, items: list[dict[str, Any]]) -> None:
        """Replace the user's ``kind`` list."""

    @abstractmethod
    def next_number(self, name: str) -> int:
        """The next value of counter ``name`` (1, 2, 3…), persisted with the data."""

    @abstractmethod
    def clear(self) -> None:
        """Remove every user, item and counter."""

    def close(self) -> None:  # noqa: B027 - optional for stores without resources
        """Release the store's resources; the store is unusable afterwards."""

    def add_item(self, uid: int, kind: str, item: dict[str, Any]) -> None:
        """Append one item to the user's ``kind`` list."""
        with self.transaction():
            self.set_items(uid, kind, [*self.items(uid, kind), item])


_MISSING = object()


class MemoryStore(Store):
    """Everything in process memory: fast, gone when the process ends.

    Entries are kept as JSON text so nobody can alias and mutate a stored record by accident. A
    transaction keeps an undo journal, so a failure inside one leaves the store as it was.
    """

    def __init__(self) -> None:
        """An empty store."""
        self._lock = threading.RLock()
        self._journal: list[tuple[dict[Any, Any], Any, Any]] | None = None
        self._users: dict[int, str] = {}
        self._parsed: dict[int, Entry] = {}  # what scan() hands out, so searches skip json.loads
        self._index: dict[str, set[tuple[int, str]]] = {}
        self._keys_of: dict[int, list[tuple[str, str]]] = {}
        self._items: dict[tuple[int, str], str] = {}
        self._counters: dict[str, int] = {}

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the store exclusively for the block; undo its writes if it raises."""
        with self._lock:
            outermost = self._journal is None
            if outermost:
                self._journal = []
            try:
                yield
            except BaseException:
                if outermost:
                    self._rollback()
                raise
            finally:
                if outermost:
                    self._journal = None

    def _remember(self, table: dict[Any, Any], key: Any) -> None:
        if self._journal is not None:
            self._journal.append((table, key, table.get(key, _MISSING)))

    def _rollback(self) -> None:
        journal, self._journal = self._journal or [], None
        touched = {key for table, key, _ in journal if table is self._users}
        for table, key, old in reversed(journal):
            if old is _MISSING:
                table.pop(key, None)
            else:
                table[key] = old
        for uid in touched:
            self._unindex(uid)
            self._parsed.pop(uid, None)
            if uid in self._users:
                self._parsed[uid] = json.loads(self._users[uid])
                self._index_entry(uid, self._parsed[uid])

    def get(self, uid: int) -> Entry | None:
        """A copy of the entry, or ``None``."""
        with self._lock:
            text = self._users.get(uid)
        return None if text is None else dict(json.loads(text))

    def lookup(self, value: str, id_type: str | None = None) -> list[int]:
        """Internal ids found by ``value`` (see `lookup`)."""
        with self._lock:
            hits = self._index.get(value.casefold(), set())
            wanted = None if id_type is None else id_type.upper() if id_type != PRIMARY else PRIMARY
            return sorted({uid for uid, kind in hits if wanted is None or kind == wanted})

    def _unindex(self, uid: int) -> None:
        for key, kind in self._keys_of.pop(uid, []):
            hits = self._index.get(key, set())
            hits.discard((uid, kind))
            if not hits:
                self._index.pop(key, None)

    def _index_entry(self, uid: int, entry: Entry) -> None:
        keys = index_keys(entry)
        self._keys_of[uid] = keys
        for key, kind in keys:
            self._index.setdefault(key, set()).add((uid, kind))

    def save(self, uid: int | None, entry: Entry) -> int:
        """Insert or replace (see `save`)."""
        with self.transaction():
            if uid is None:
                uid = self.next_number("user")
            else:
                self._unindex(uid)
            self._remember(self._users, uid)
            text = json.dumps(entry, ensure_ascii=False)
            self._users[uid] = text
            self._parsed[uid] = json.loads(text)  # a private copy: the caller may go on changing `entry`
            self._index_entry(uid, entry)
            return uid

    def delete(self, uid: int) -> None:
        """Remove the user and its items."""
        with self.transaction():
            if uid not in self._users:
                return
            self._remember(self._users, uid)
            del self._users[uid]
            self._parsed.pop(uid, None)
            self._unindex(uid)
            for kind in ITEM_KINDS:
                self._remember(self._items, (uid, kind))
                self._items.pop((uid, kind), None)

    def entries(self) -> list[tuple[int, Entry]]:
        """Every entry in insertion order."""
        with self._lock:
            rows = list(self._users.items())
        return [(uid, dict(json.loads(text))) for uid, text in rows]

    def scan(self) -> list[tuple[int, Entry]]:
        """Every entry in insertion order, shared with the store: read only."""
        with self._lock:
            return list(self._parsed.items())

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
            self._items[(uid, kind)] = json.dumps(items, ensure_ascii=False)

    def next_number(self, name: str) -> int:
        """Next value of counter ``name``."""
        with self.transaction():
            self._remember(self._counters, name)
            self._counters[name] = self._counters.get(name, 0) + 1
            return self._counters[name]

    def clear(self) -> None:
        """Remove everything (not undone by a failing transaction)."""
        with self._lock:
            self._users.clear()
            self._parsed.clear()
            self._index.clear()
            self._keys_of.clear()
            self._items.clear()
            self._counters.clear()

    def __repr__(self) -> str:
        return f"MemoryStore(users={self.count()})"
