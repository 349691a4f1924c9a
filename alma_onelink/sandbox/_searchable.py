"""What ``GET /users`` compares: each user's search fields, folded (case and accents).

A `Row` is one user as the reference search (a scan over every user) sees it. The stores' search
index (`_index`) is built from the same `Row`, so the two agree by construction; the property tests
check that they return the same users in the same order.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from ._fields import Json, code_value, is_unpaid_fee

__all__ = [
    "ID_FIELDS",
    "QUERY_FIELDS",
    "SEARCH_FIELDS",
    "SORT_FIELDS",
    "WORD_FIELDS",
    "Row",
    "digits",
    "fold",
    "unpaid_total",
    "words",
]

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
ID_FIELDS = ("primary_id", "identifiers")  # the fields `Store.scan(only=...)` narrows by
SORT_FIELDS = ("last_name", "first_name", "primary_id")
_WORD = re.compile(r"[^\W_]+")
_REMEMBERED = 16_384  # folded strings kept: names, places and codes recur from user to user
_CODE_FIELDS = ("job_category", "user_group", "campus_code")
_SEGMENT_CODES = {
    "block_type": ("user_block", "block_type"),
    "id_type": ("user_identifier", "id_type"),
    "note_type": ("user_note", "note_type"),
    "statistic_category": ("user_statistic", "statistic_category"),
}


@lru_cache(maxsize=_REMEMBERED)
def fold(value: str) -> str:
    """Case- and accent-insensitive form of ``value`` (``Müller`` → ``muller``)."""
    if value.isascii():  # the same answer, much sooner: ASCII has no accents, and casefold is lower there
        return value.lower()
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(value: str) -> list[str]:
    """The folded words of ``value``; ``_``, ``-`` and ``'`` separate words."""
    return _WORD.findall(fold(value))


@lru_cache(maxsize=_REMEMBERED)
def _spelled(value: str) -> str:
    """The folded words of ``value``, each after a NUL (see `Row.text`)."""
    return "".join(f"\0{word}" for word in words(value))


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
    return [*_general_info(user), *_beyond_general_info(user)]  # ALL


def _beyond_general_info(user: Json) -> list[str]:
    """What ``ALL`` reads besides ``general_info``: emails, identifiers and the birth date."""
    birth_date = str(user.get("birth_date") or "")[:10]
    return [*field_values(user, "email"), *field_values(user, "identifiers"), birth_date]


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
            try:
                if field == "ALL" and "general_info" in self._folded:  # the same text, without reading it twice
                    more = "".join(_spelled(value) for value in _beyond_general_info(entry["user"]))
                    self._folded[field] = self._folded["general_info"] + more
                else:
                    self._folded[field] = self._fold(field)
            except Exception:  # noqa: S112 - left out: see above
                continue
        for field in SORT_FIELDS:
            try:
                self._sort[field] = self._sort_value(field)
            except Exception:  # noqa: S112 - left out: see above
                continue

    def _fold(self, field: str) -> tuple[str, ...] | str:
        values = field_values(self.entry["user"], field)
        if field in WORD_FIELDS:
            return "".join(_spelled(value) for value in values)
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


def unpaid_total(fees: Iterable[Json]) -> float:
    """What a user owes: the balances of the unpaid fees (`is_unpaid_fee`), rounded to cents.

    ``fines_fees_sum`` compares this; raises (``ValueError``, ``AttributeError``…) on a malformed fee.
    """
    return round(sum(float(fee.get("balance") or 0) for fee in fees if is_unpaid_fee(fee)), 2)
