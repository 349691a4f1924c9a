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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from typing import Any

from ._fields import Json, code_value
from ._searchable import Row, SearchCache

__all__ = ["MemoryStore", "Store"]

Entry = dict[str, Any]
ITEM_KINDS = ("loans", "requests", "fees")
PRIMARY = "primary_id"


def make_entry(record: Json, password_hash: str | None, today: date) -> Entry:
    """What a store keeps for a user: the record, its password hash (``None``: none) and the day written."""
    return {"user": record, "password": password_hash, "modified": today.isoformat()}


def index_keys(entry: Entry) -> list[tuple[str, str]]:
    """The ``(folded value, id type)`` pairs a user is found by: its primary id and identifier values."""
    user = entry.get("user") or {}
    keys: list[tuple[str, str]] = []
    primary = user.get("primary_id")
    if isinstance(primary, str) and primary:
        keys.append((primary.casefold(), PRIMARY))
    for ident in user.get("user_identifier") or []:
        value = ident.get("value") if isinstance(ident, dict) else None
        if isinstance(value, str) and value:
            keys.append((value.casefold(), code_value(ident.get("id_type")).upper()))
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

    def lookup(self, value: str, id_type: str | None = None) -> list[int]:
        """Internal ids of users found by ``value`` (ignoring case), optionally only as ``id_type``.

        ``id_type`` is ``"primary_id"`` or an identifier type code, in any case; ``None`` matches any of them.
        """
        if id_type is not None:
            id_type = id_type.strip()
            id_type = PRIMARY if id_type.lower() == PRIMARY else id_type.upper()
        return self._lookup(value.casefold(), id_type)

    @abstractmethod
    def _lookup(self, key: str, id_type: str | None) -> list[int]:
        """Sorted internal ids indexed under ``key`` (casefolded), as ``id_type`` (normalised) if given."""

    @abstractmethod
    def save(self, uid: int | None, entry: Entry) -> int:
        """Insert (``uid=None``) or replace an entry and re-index it; returns its internal id."""

    @abstractmethod
    def delete(self, uid: int) -> None:
        """Remove a user and every loan, request and fee it holds; an unknown id is ignored."""

    @abstractmethod
    def entries(self) -> list[tuple[int, Entry]]:
        """Every ``(uid, entry)`` in insertion order (copies)."""

    def scan(self, only: tuple[str, str] | None = None) -> list[Row]:
        """Every user as a search sees it, in insertion order, possibly shared with the store's cache: read only.

        ``only=(field, folded value)``, for a field of ``ID_FIELDS``, narrows the rows to the users holding
        that primary id or identifier value (and any whose ids cannot be read).
        """
        return SearchCache(self.entries()).rows(only)

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
        """Remove every user, item, counter and setting."""

    def setting(self, name: str) -> str | None:
        """The store's setting ``name`` (kept with the data, such as the day it was seeded), or ``None``."""
        raise NotImplementedError(f"{type(self).__name__} keeps no settings")

    def set_setting(self, name: str, value: str) -> None:
        """Keep ``value`` as the store's setting ``name``."""
        raise NotImplementedError(f"{type(self).__name__} keeps no settings")

    def codes(self) -> dict[str, dict[str, str]]:
        """The code tables loaded into this store (table → code → description), oldest load first.

        They are the institution's own codes, kept with the data; the sandbox lays them over its
        built-in tables. A store that keeps none answers ``{}``.
        """
        return {}

    def add_codes(self, tables: Mapping[str, Mapping[str, str]]) -> None:
        """Keep ``tables`` (table → code → description) with the data, in one transaction.

        A code already kept in another case is relabelled under the new spelling. The caller checks
        the tables first (see `check_code_tables`); `clear` leaves them alone.
        """
        raise NotImplementedError(f"{type(self).__name__} keeps no code tables")

    def codes_version(self) -> int:
        """A number that changes whenever `add_codes` stores something (by any process, for SQLite)."""
        return 0

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
        self._rows = SearchCache()  # parsed entries for scan(), so searches skip json.loads and folding
        self._index: dict[str, set[tuple[int, str]]] = {}
        self._items: dict[tuple[int, str], str] = {}
        self._counters: dict[str, int] = {}
        self._settings: dict[str, str] = {}
        self._codes: dict[str, dict[str, str]] = {}
        self._codes_version = 0

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
            self._cache(uid, None)  # dropped, then added again at the end of the scan order
            if uid in self._users:
                self._cache(uid, self._users[uid])

    def _cache(self, uid: int, text: str | None) -> None:
        """Bring the scan cache and the id index in step with ``uid``'s stored ``text`` (``None``: gone)."""
        old = self._rows.get(uid)
        for key, kind in index_keys(old.entry) if old is not None else []:
            hits = self._index.get(key, set())
            hits.discard((uid, kind))
            if not hits:
                self._index.pop(key, None)
        if text is None:
            self._rows.drop(uid)
            return
        entry = json.loads(text)  # a private copy: the caller may go on changing what it saved
        self._rows.put(uid, entry)
        for key, kind in index_keys(entry):
            self._index.setdefault(key, set()).add((uid, kind))

    def get(self, uid: int) -> Entry | None:
        """A copy of the entry, or ``None``."""
        with self._lock:
            text = self._users.get(uid)
        return None if text is None else dict(json.loads(text))

    def _lookup(self, key: str, id_type: str | None) -> list[int]:
        with self._lock:
            hits = self._index.get(key, set())
            return sorted({uid for uid, kind in hits if id_type is None or kind == id_type})

    def save(self, uid: int | None, entry: Entry) -> int:
        """Insert or replace (see `save`)."""
        with self.transaction():
            if uid is None:
                uid = self.next_number("user")
            self._remember(self._users, uid)
            text = json.dumps(entry, ensure_ascii=False)
            self._users[uid] = text
            self._cache(uid, text)
            return uid

    def delete(self, uid: int) -> None:
        """Remove the user and its items."""
        with self.transaction():
            if uid not in self._users:
                return
            self._remember(self._users, uid)
            del self._users[uid]
            self._cache(uid, None)
            for kind in ITEM_KINDS:
                self._remember(self._items, (uid, kind))
                self._items.pop((uid, kind), None)

    def entries(self) -> list[tuple[int, Entry]]:
        """Every entry in insertion order."""
        with self._lock:
            rows = list(self._users.items())
        return [(uid, dict(json.loads(text))) for uid, text in rows]

    def scan(self, only: tuple[str, str] | None = None) -> list[Row]:
        """Every user in insertion order, shared with the store: read only (see `scan`)."""
        with self._lock:
            return self._rows.rows(only)

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
        """Remove every user, item, counter and setting (not undone by a failing transaction); codes stay."""
        with self._lock:
            self._users.clear()
            self._rows = SearchCache()
            self._index.clear()
            self._items.clear()
            self._counters.clear()
            self._settings.clear()

    def __repr__(self) -> str:
        return f"MemoryStore(users={self.count()})"
