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

__all__ = ["ID_FIELDS", "QUERY_FIELDS", "SEARCH_FIELDS", "WORD_FIELDS", "Row", "SearchCache", "digits", "fold", "words"]

SEARCH_FIELDS = (
    "primary_id",
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "phone_number",
    "job_category",
    "identifiers",
    "birth_date",
    "user_group",
    "campus_code",
    "block_type",
    "id_type",
    "note_text",
    "note_type",
    "statistic_category",
    "general_info",
    "ALL",
)
"""Every field of Alma's user search (OAS, ``GET /users`` ``q``) the rows keep folded; ``fines_fees_sum``,
the one more Alma documents, is computed from the fees when a search asks for it (`QUERY_FIELDS`)."""
QUERY_FIELDS = frozenset({*SEARCH_FIELDS, "fines_fees_sum"})
WORD_FIELDS = frozenset({"first_name", "middle_name", "last_name", "note_text", "general_info", "ALL"})
"""Fields matched word by word; the others match whole values."""
ID_FIELDS = ("primary_id", "identifiers")  # indexed by folded value
SORT_FIELDS = ("last_name", "first_name", "primary_id")
_WORD = re.compile(r"[^\W_]+")
_CODE_FIELDS = ("job_category", "user_group", "campus_code")
_SEGMENT_CODES = {
    "block_type": ("user_block", "block_type"),
    "id_type": ("user_identifier", "id_type"),
    "note_type": ("user_note", "note_type"),
    "statistic_category": ("user_statistic", "statistic_category"),
}


def fold(value: str) -> str:
    """Case- and accent-insensitive form of ``value`` (``Müller`` → ``muller``)."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(value: str) -> list[str]:
    """The folded words of ``value``; ``_``, ``-`` and ``'`` separate words."""
    return _WORD.findall(fold(value))


def digits(value: str) -> str:
    """Only the digits of ``value`` (phone numbers, dates), and a trailing ``*`` if it has one."""
    return re.sub(r"[^\d*]", "", value)


def _items(user: Json, key: str) -> list[Json]:
    return [item for item in user.get(key) or [] if isinstance(item, dict)]


def _desc(value: Any) -> str:
    return str(value.get("desc") or "") if isinstance(value, dict) else ""


def _general_info(user: Json) -> list[str]:
    """Words from every field except emails, the birth date and identifiers (Alma's ``general_info``)."""
    contact = user.get("contact_info") or {}
    found = [str(user.get(name) or "") for name in ("primary_id", "first_name", "middle_name", "last_name")]
    found += [str(user.get(name) or "") for name in ("job_description", "pref_first_name", "pref_last_name")]
    for name in ("user_title", "job_category", "user_group", "campus_code"):
        found += [code_value(user.get(name)), _desc(user.get(name))]
    found += field_values(user, "phone_number")
    for address in contact.get("address") or []:
        if isinstance(address, dict):
            keys = ("line1", "line2", "line3", "line4", "line5", "city", "state_province", "postal_code")
            found += [str(address.get(key) or "") for key in keys]
            found.append(code_value(address.get("country")))
    for note in _items(user, "user_note"):
        found.append(str(note.get("note_text") or ""))
    for stat in _items(user, "user_statistic"):
        category = stat.get("statistic_category")
        found += [code_value(category), _desc(category), str(stat.get("statistic_note") or "")]
    for block in _items(user, "user_block"):
        found += [code_value(block.get("block_type")), _desc(block.get("block_description"))]
    return found


def field_values(user: Json, field: str) -> list[str]:
    """The raw values a search ``field`` looks at (phone numbers and birth dates as digits only)."""
    if field in ("primary_id", "first_name", "middle_name", "last_name"):
        return [str(user.get(field) or "")]
    contact = user.get("contact_info") or {}
    if field == "email":
        return [str(e.get("email_address") or "") for e in contact.get("email") or []]
    if field == "phone_number":
        return [re.sub(r"\D", "", str(p.get("phone_number") or "")) for p in contact.get("phone") or []]
    if field == "identifiers":
        return [str(i.get("value") or "") for i in _items(user, "user_identifier")]
    if field == "birth_date":
        return [re.sub(r"\D", "", str(user.get("birth_date") or ""))]
    if field in _CODE_FIELDS:
        return [code_value(user.get(field))]
    if field in _SEGMENT_CODES:
        key, code = _SEGMENT_CODES[field]
        return [code_value(item.get(code)) for item in _items(user, key)]
    if field == "note_text":
        return [str(note.get("note_text") or "") for note in _items(user, "user_note")]
    if field == "general_info":
        return _general_info(user)
    # ALL: words from every field, emails, the birth date and identifiers included.
    birth_date = str(user.get("birth_date") or "")[:10]
    return [*_general_info(user), *field_values(user, "email"), *field_values(user, "identifiers"), birth_date]


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
