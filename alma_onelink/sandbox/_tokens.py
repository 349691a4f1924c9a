"""What the search index holds for one user: its folded words and values, sort keys, day and fees.

Everything is read as the `Row` of the reference search reads it (`read_fields`: the same
`field_values`, folded the same way), so the index and the scan agree: a term matches a user exactly
when the index holds a token that the term's value equals or starts (`Term.matches`, read token by
token).

Words of ``general_info`` and ``ALL`` are most of a user's words, and mostly the same ones: each word
is kept once, under the narrowest field that has it. The names and notes keep their own words;
``general_info`` only the words the names and notes lack, ``ALL`` only those ``general_info`` lacks.
A search in ``general_info`` or ``ALL`` reads every field below it (`SOURCES`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, NamedTuple

from ._fields import Json
from ._readall import read_fields
from ._searchable import SEARCH_FIELDS, SORT_FIELDS, WORD_FIELDS, fold, unpaid_total

__all__ = ["FIELD_CODES", "INDEX_VERSION", "SOURCES", "Indexed", "encode", "index_entry"]

INDEX_VERSION = f"1/unicode-{unicodedata.unidata_version}"
"""Changes whenever what `index_entry` produces could change: a store built by another rebuilds its index."""

_NAMES = ("first_name", "middle_name", "last_name", "note_text")  # general_info holds all their words
REVERSED_PHONE = "phone_number reversed"  # phone numbers read backwards: a suffix becomes a prefix
SOURCES: dict[str, tuple[str, ...]] = {
    "general_info": (*_NAMES, "general_info"),
    "ALL": (*_NAMES, "general_info", "ALL"),
}
"""The indexed fields a word search in ``general_info`` or ``ALL`` reads (each word is kept once, see above)."""

FIELD_CODES = {name: number for number, name in enumerate((*SEARCH_FIELDS, REVERSED_PHONE))}
"""Indexed field → the small number the index stores instead of its name."""
_REVERSED, _GENERAL_INFO, _ALL = FIELD_CODES[REVERSED_PHONE], FIELD_CODES["general_info"], FIELD_CODES["ALL"]

MODIFIED = "modify_date_from"  # the pseudo-fields a user can be unreadable in, besides SEARCH_FIELDS
FEES = "fines_fees_sum"
SORT = "order_by"


def encode(text: str) -> bytes:
    """``text`` as the index stores it: UTF-8 bytes, which sort as Python sorts strings (by code point).

    Lone surrogates (which JSON can carry) are kept too, in their place in that order.
    """
    return text.encode("utf-8", "surrogatepass")


class Indexed(NamedTuple):
    """One user as the index holds it (``None`` where the user cannot be read: see ``unreadable``)."""

    terms: frozenset[tuple[int, bytes]]  # (field code, folded word or value)
    sort: tuple[bytes, bytes, bytes] | None  # last name, first name, primary id, folded
    modified: str | None  # the day of the last change, ISO
    fees: str | None  # the unpaid fees, as fines_fees_sum compares them ("12.50")
    unreadable: tuple[str, ...]  # fields (and MODIFIED, FEES, SORT) that raised when read


def _terms(read: dict[str, Any], unreadable: list[str]) -> frozenset[tuple[int, bytes]]:
    found: list[tuple[int, str]] = []
    words: dict[str, set[str]] = {}
    for field in SEARCH_FIELDS:
        if field not in read:
            continue
        if field in WORD_FIELDS:
            words[field] = read[field]
        else:
            code = FIELD_CODES[field]
            values = read[field]
            found += [(code, value) for value in values]
            if field == "phone_number":
                found += [(_REVERSED, value[::-1]) for value in values]
    if any(name not in words for name in _NAMES):  # general_info and ALL cannot be split: the scan reads them
        unreadable.extend(name for name in ("general_info", "ALL") if words.pop(name, None) is not None)
    below: set[str] = set()
    for field in _NAMES:
        code = FIELD_CODES[field]
        named = words.get(field, set())
        found += [(code, word) for word in named]
        below |= named
    if "general_info" in words:
        found += [(_GENERAL_INFO, word) for word in words["general_info"] - below]
        if "ALL" in words:
            found += [(_ALL, word) for word in words["ALL"] - words["general_info"]]
    elif "ALL" in words:
        unreadable.append("ALL")
    return frozenset([(code, token.encode("utf-8", "surrogatepass")) for code, token in found])  # as `encode`


def _sort_key(entry: Mapping[str, Any]) -> tuple[bytes, bytes, bytes]:
    """The folded last name, first name and primary id, as `Row.sort_key` reads them (raises as it does)."""
    user = entry["user"]
    last, first, primary = (fold(str(user.get(field) or "")) for field in SORT_FIELDS)
    return encode(last), encode(first), encode(primary)


def index_entry(entry: Mapping[str, Any], fees: Iterable[Json] = ()) -> Indexed:
    """What the index keeps for a user stored as ``entry`` (see `Store`) who owes ``fees``; never raises.

    Each field is read as `Row` reads it (`read_fields`), so the index holds exactly the words and
    values the reference scan compares.
    """
    unreadable: list[str] = []
    terms = _terms(read_fields(entry, unreadable), unreadable)
    sort: tuple[bytes, bytes, bytes] | None = None
    try:
        sort = _sort_key(entry)
    except Exception:  # as above
        unreadable.append(SORT)
    modified: str | None = None
    try:
        modified = date.fromisoformat(entry.get("modified", "1970-01-01")).isoformat()
    except Exception:  # as above
        unreadable.append(MODIFIED)
    owed: str | None = None
    try:
        owed = f"{unpaid_total(fees):.2f}"
    except Exception:  # as above
        unreadable.append(FEES)
    return Indexed(terms, sort, modified, owed, tuple(unreadable))
