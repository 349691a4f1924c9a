"""Where the sandbox keeps its users: in memory for tests, or in a SQLite file that survives restarts.

Both stores hold *entries*: ``{"user": <Alma user JSON>, "password": <hash or None>, "modified": <date>}``
under an internal integer id (Alma's internal pid plays the same role), plus each user's loans, requests
and fees. Every id a user can be looked up by (the primary id and each identifier value) is indexed
case-insensitively, as Alma matches them, and so is every field a search reads (`search`, see
`_index`). All methods are thread-safe; ``transaction()`` makes a check-then-write sequence atomic,
across processes too for SQLite.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from functools import cache
from typing import Any

from ._fields import Json, code_value
from ._query import UserQuery, scan_matches
from ._searchable import ID_FIELDS, Row, unpaid_total

__all__ = ["Store", "scan_search"]

Entry = dict[str, Any]
Items = Mapping[str, list[dict[str, Any]]]
ITEM_KINDS = ("loans", "requests", "fees")
PRIMARY = "primary_id"


dump = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
"""An entry or item list as the stores keep it: JSON text, non-ASCII as is (what ``json.dumps`` writes).

Raises ``TypeError`` for what JSON cannot hold, ``RecursionError`` for a value that contains itself."""


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

    def get_many(self, uids: Sequence[int]) -> list[Entry]:
        """Copies of the entries of ``uids`` that exist, in the order given (a page of a search)."""
        return [entry for uid in uids if (entry := self.get(uid)) is not None]

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
        """Every user as the reference search sees it, in insertion order: read only, and read whole.

        ``only=(field, folded value)``, for a field of ``ID_FIELDS``, narrows the rows to the users holding
        that primary id or identifier value (and any whose ids cannot be read).
        """
        rows = [Row(uid, entry) for uid, entry in self.entries()]
        if only is None:
            return rows
        field, value = only
        if field not in ID_FIELDS:
            raise ValueError(f"only= takes one of {', '.join(ID_FIELDS)}, not {field!r}")
        return [row for row in rows if _holds(row, field, value)]

    def search(self, query: UserQuery, limit: int, offset: int) -> tuple[int, list[int]]:
        """``(how many users match query, the internal ids from offset, at most limit)`` in query's order.

        This base answers by the reference scan (`scan_search`); both stores answer from their index,
        with the same result. Raises what reading a malformed record raises, as the scan does.
        """
        found = scan_search(self, query)
        return len(found), found[offset : offset + limit]

    def add_users(self, users: Sequence[tuple[Entry, Items]]) -> list[int]:
        """Insert new users, each with its ``loans``, ``requests`` and ``fees``, in one transaction.

        Returns their internal ids, in order. Raises ``ValueError`` for an unknown item kind. The
        bulk path of seeding: the stores write a whole batch at once.
        """
        for _, items in users:
            for kind in items:
                check_kind(kind)
        with self.transaction():
            uids = [self.save(None, entry) for entry, _ in users]
            for uid, (_, items) in zip(uids, users, strict=True):
                for kind, listed in items.items():
                    if listed:
                        self.set_items(uid, kind, listed)
            return uids

    @contextmanager
    def loading(self) -> Iterator[None]:
        """One transaction for many `add_users` calls (seeding): the stores index the users at its end.

        Nothing the block writes is searchable before the block ends; an error in it writes nothing.
        This base is a plain `transaction`.
        """
        with self.transaction():
            yield

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

    def next_numbers(self, name: str, count: int) -> range:
        """The next ``count`` values of counter ``name`` at once (``count >= 0``)."""
        with self.transaction():
            numbers = [self.next_number(name) for _ in range(count)]
        return range(numbers[0], numbers[-1] + 1) if numbers else range(0)

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


def _holds(row: Row, field: str, value: str) -> bool:
    try:
        return value in row.values(field)
    except Exception:
        return True


def scan_search(store: Store, query: UserQuery) -> list[int]:
    """The reference search: the internal ids ``query`` wants, in its order, by reading every user.

    Slow by design (it folds every record); it defines what the stores' indexes must answer.
    """

    @cache
    def fees(uid: int) -> float:
        return unpaid_total(store.items(uid, "fees"))

    return scan_matches(store.scan(), fees, query)
