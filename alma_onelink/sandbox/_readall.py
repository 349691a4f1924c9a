"""Every search field of a well-formed user in one pass: what `Row` reads field by field, sooner.

The search index reads each user it stores; `read_whole` walks the record once, with the very
expressions `field_values` evaluates, so whenever it answers, it answers what reading each field
would (a test holds the two equal on generated and malformed records). Anything it cannot read
raises, and the caller reads the fields one by one instead (a malformed record is rare).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from ._fields import code_value
from ._searchable import SEARCH_FIELDS, WORD_FIELDS, field_values, fold, words
from ._searchable import _beyond_general_info as beyond_general_info

__all__ = ["read_fields", "read_whole"]

_REMEMBERED = 16_384  # word sets kept: names, places and codes recur from user to user
_NOT_DIGIT = re.compile(r"\D")
_ADDRESS_KEYS = ("line1", "line2", "line3", "line4", "line5", "city", "state_province", "postal_code")


@lru_cache(maxsize=_REMEMBERED)
def _words_of(value: str) -> frozenset[str]:
    """The folded words of one value: those `Row.text` spells for it, each after a NUL."""
    return frozenset(words(value))


def _word_set(values: Iterable[str]) -> set[str]:
    """Every folded word of ``values``: the words `Row.text` holds for a field of these raw values."""
    return set().union(*map(_words_of, values))


def _folded(values: Iterable[str]) -> tuple[str, ...]:
    """What `Row.values` holds for a field of these raw values."""
    return tuple([fold(value) for value in values if value])


def _items(user: Any, key: str) -> list[Any]:
    return [item for item in user.get(key) or [] if isinstance(item, dict)]


def _desc(value: Any) -> str:
    return str(value.get("desc") or "") if isinstance(value, dict) else ""


def read_whole(user: Any) -> dict[str, Any]:
    """Every field of `SEARCH_FIELDS` as `Row` holds it: word fields as sets of folded words, the others
    as tuples of folded values. Raises if any field cannot be read (the caller then reads them one by one).
    """
    get = user.get
    contact = get("contact_info") or {}
    names = [str(get(name) or "") for name in ("primary_id", "first_name", "middle_name", "last_name")]
    emails = [str(e.get("email_address") or "") for e in contact.get("email") or []]
    phones = [_NOT_DIGIT.sub("", str(p.get("phone_number") or "")) for p in contact.get("phone") or []]
    identifiers = _items(user, "user_identifier")
    notes = _items(user, "user_note")
    statistics = _items(user, "user_statistic")
    blocks = _items(user, "user_block")
    ids = [str(i.get("value") or "") for i in identifiers]
    note_texts = [str(note.get("note_text") or "") for note in notes]
    birth = str(get("birth_date") or "")

    general = [*names, *(str(get(name) or "") for name in ("job_description", "pref_first_name", "pref_last_name"))]
    for name in ("user_title", "job_category", "user_group", "campus_code"):
        general += [code_value(get(name)), _desc(get(name))]
    general += phones
    for address in contact.get("address") or []:
        if isinstance(address, dict):
            general += [str(address.get(key) or "") for key in _ADDRESS_KEYS]
            general.append(code_value(address.get("country")))
    general += note_texts
    for stat in statistics:
        category = stat.get("statistic_category")
        general += [code_value(category), _desc(category), str(stat.get("statistic_note") or "")]
    for block in blocks:
        general += [code_value(block.get("block_type")), _desc(block.get("block_description"))]
    general_words = _word_set(general)

    return {
        "primary_id": _folded(names[:1]),
        "first_name": _words_of(names[1]),
        "middle_name": _words_of(names[2]),
        "last_name": _words_of(names[3]),
        "email": _folded(emails),
        "phone_number": _folded(phones),
        "job_category": _folded([code_value(get("job_category"))]),
        "identifiers": _folded(ids),
        "birth_date": _folded([_NOT_DIGIT.sub("", birth)]),
        "user_group": _folded([code_value(get("user_group"))]),
        "campus_code": _folded([code_value(get("campus_code"))]),
        "block_type": _folded([code_value(item.get("block_type")) for item in blocks]),
        "id_type": _folded([code_value(item.get("id_type")) for item in identifiers]),
        "note_text": _word_set(note_texts),
        "note_type": _folded([code_value(item.get("note_type")) for item in notes]),
        "statistic_category": _folded([code_value(item.get("statistic_category")) for item in statistics]),
        "general_info": general_words,
        "ALL": general_words | _word_set([*emails, *ids, birth[:10]]),
    }


def read_fields(entry: Any, unreadable: list[str]) -> dict[str, Any]:
    """Every search field of a stored ``entry`` (``{"user": …}``) as `read_whole` gives them, as far as
    each can be read: a field `Row` cannot read (it raises) is left out and named in ``unreadable``, in
    `SEARCH_FIELDS` order. ``ALL`` is ``general_info``'s words and those ``ALL`` reads besides, as in `Row`.
    """
    try:
        return read_whole(entry["user"])
    except Exception:  # noqa: S110 - some field cannot be read: read them one by one, as `Row` does
        pass
    read: dict[str, Any] = {}
    for field in SEARCH_FIELDS:
        try:
            if field == "ALL" and "general_info" in read:
                read[field] = read["general_info"] | _word_set(beyond_general_info(entry["user"]))
            elif field in WORD_FIELDS:
                read[field] = _word_set(field_values(entry["user"], field))
            else:
                read[field] = _folded(field_values(entry["user"], field))
        except Exception:  # a malformed record: the search reads it by a scan, and fails as before
            unreadable.append(field)
    return read
