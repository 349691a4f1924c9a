"""What ``GET /users`` compares: each user's search fields folded (case and accents) once, when it is saved.

Both stores keep a `SearchCache` where they keep what ``scan()`` hands out, so a search folds only its
query. The cache also indexes the folded primary ids and identifier values, so an exact id term
looks its users up instead of reading every row.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from contextlib import suppress
from typing import Any

from ._fields import Json, code_value

__all__ = ["ID_FIELDS", "SEARCH_FIELDS", "WORD_FIELDS", "Row", "SearchCache", "fold", "words"]

SEARCH_FIELDS = (
    "primary_id",
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "identifiers",
    "user_group",
    "phone_number",
    "ALL",
)
WORD_FIELDS = frozenset({"first_name", "middle_name", "last_name", "ALL"})  # matched word by word
ID_FIELDS = ("primary_id", "identifiers")  # indexed by folded value
SORT_FIELDS = ("last_name", "first_name", "primary_id")
_WORD = re.compile(r"[^\W_]+")


def fold(value: str) -> str:
    """Case- and accent-insensitive form of ``value`` (``Müller`` → ``muller``)."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(value: str) -> list[str]:
    """The folded words of ``value``; ``_``, ``-`` and ``'`` separate words."""
    return _WORD.findall(fold(value))


def field_values(user: Json, field: str) -> list[str]:
    """The raw values a search ``field`` looks at (phone numbers as digits only)."""
    if field in ("primary_id", "first_name", "middle_name", "last_name"):
        return [str(user.get(field) or "")]
    contact = user.get("contact_info") or {}
    if field == "email":
        return [str(e.get("email_address") or "") for e in contact.get("email") or []]
    if field == "phone_number":
        return [re.sub(r"\D", "", str(p.get("phone_number") or "")) for p in contact.get("phone") or []]
    if field == "identifiers":
        return [str(i.get("value") or "") for i in user.get("user_identifier") or []]
    if field == "user_group":
        return [code_value(user.get("user_group"))]
    # ALL: words from every searchable field, and the group's label.
    group = user.get("user_group") or {}
    every = [v for name in SEARCH_FIELDS[:-1] for v in field_values(user, name)]
    return [*every, str(group.get("desc") or "") if isinstance(group, dict) else ""]


class Row:
    """One user as a search sees it: ``entry`` (shared with the store: read only) and its folded fields."""

    __slots__ = ("_folded", "_sort", "entry", "uid")

    def __init__(self, uid: int, entry: Json) -> None:
        self.uid = uid
        self.entry = entry
        # Fold every field now, once. A field that cannot be read (a malformed record stored as given
        # by `SandboxUsers.put`) is left out, and fails again when a search reads it, as it always has.
        self._folded: dict[str, Any] = {}
        self._sort: dict[str, str] = {}
        for field in SEARCH_FIELDS:
            with suppress(Exception):
                self._folded[field] = self._fold(field)
        for field in SORT_FIELDS:
            with suppress(Exception):
                self._sort[field] = self._sort_value(field)

    def _fold(self, field: str) -> tuple[str, ...] | str:
        values = field_values(self.entry["user"], field)
        if field in WORD_FIELDS:
            return "".join(f"\0{word}" for value in values for word in words(value))
        return tuple(fold(value) for value in values if value)

    def _sort_value(self, field: str) -> str:
        return fold(str(self.entry["user"].get(field) or ""))

    def _get(self, field: str) -> Any:
        try:
            return self._folded[field]
        except KeyError:
            return self._fold(field)  # it could not be read when saved: this raises again

    def values(self, field: str) -> tuple[str, ...]:
        """Every non-blank value of ``field`` folded (a field outside `WORD_FIELDS`)."""
        found: tuple[str, ...] = self._get(field)
        return found

    def text(self, field: str) -> str:
        """The folded words of a name field or ``ALL``, each after a NUL (``"\\0maria\\0jose"``): a word
        starts one of them exactly when NUL + word occurs in it."""
        found: str = self._get(field)
        return found

    def sort_key(self, fields: Iterable[str]) -> tuple[str, ...]:
        """The folded ``fields``, as results are sorted by them (``""`` for an unset one)."""
        try:
            return tuple([self._sort[field] for field in fields])
        except KeyError:
            return tuple([self._sort_value(field) for field in fields])  # unreadable when saved: raises again


class SearchCache:
    """A store's rows in ``scan()`` order, with the folded primary ids and identifier values indexed.

    Not thread-safe: the store calls it under its own lock.
    """

    def __init__(self, entries: Iterable[tuple[int, Json]] = ()) -> None:
        self._rows: dict[int, Row] = {}
        self._ids: dict[tuple[str, str], set[int]] = {}
        self._unindexed: set[int] = set()  # rows whose ids cannot be read: every id lookup includes them
        for uid, entry in entries:
            self.put(uid, entry)

    def get(self, uid: int) -> Row | None:
        """The row of ``uid``, if any."""
        return self._rows.get(uid)

    def put(self, uid: int, entry: Json) -> None:
        """Add a row at the end, or replace one in its place."""
        self._unindex(uid)
        row = self._rows[uid] = Row(uid, entry)
        try:
            keys = [(field, value) for field in ID_FIELDS for value in row.values(field)]
        except Exception:  # a malformed record: searches read it, and fail, as before
            self._unindexed.add(uid)
            return
        for key in keys:
            self._ids.setdefault(key, set()).add(uid)

    def drop(self, uid: int) -> None:
        """Forget ``uid`` (ignored if unknown)."""
        self._unindex(uid)
        self._rows.pop(uid, None)

    def _unindex(self, uid: int) -> None:
        row = self._rows.get(uid)
        if row is None or uid in self._unindexed:
            self._unindexed.discard(uid)
            return
        for key in {(field, value) for field in ID_FIELDS for value in row.values(field)}:
            hits = self._ids[key]
            hits.discard(uid)
            if not hits:
                del self._ids[key]

    def rows(self, only: tuple[str, str] | None = None) -> list[Row]:
        """Every row in order; with ``only=(field, folded value)`` (a field of `ID_FIELDS`), just the rows
        holding that value, plus any whose ids cannot be read."""
        if only is None:
            return list(self._rows.values())
        wanted = self._ids.get(only, set()) | self._unindexed
        return [row for uid, row in self._rows.items() if uid in wanted] if wanted else []
