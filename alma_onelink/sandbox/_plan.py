"""A `UserQuery` as SQL over the search tables (`_index`): which users match, and in which index order.

Each term is a select of internal ids: an exact value one key of ``search_terms``, a prefix (of a
word, or of a value ending in ``*``) one range of keys, a phone number's ending a range over the
numbers reversed, ``fines_fees_sum`` a key of ``search_rows``. A word term needs each of its words:
its selects are intersected with the rest of its group; groups (OR) are united.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._query import Term, UserQuery
from ._searchable import WORD_FIELDS
from ._tokens import FEES, FIELD_CODES, MODIFIED, REVERSED_PHONE, SORT, SOURCES, encode

__all__ = ["COLUMNS", "ORDER_INDEXES", "ORDER_SCHEMA", "Select", "matching", "touched"]

Select = tuple[str, tuple[Any, ...]]

COLUMNS = {"last_name": "last", "first_name": "first", "primary_id": "pid"}
"""Sort field → its column in ``search_rows``."""

ORDER_INDEXES: dict[tuple[str, ...], str] = {
    ("last_name", "first_name", "primary_id"): "search_by_name",
    ("last_name", "primary_id"): "search_by_last",
    ("first_name", "primary_id"): "search_by_first",
    ("primary_id",): "search_by_pid",
    ("last_name", "first_name"): "search_by_name_only",
    ("last_name",): "search_by_last_only",
    ("first_name",): "search_by_first_only",
}
"""Every order a search can ask for → the index of ``search_rows`` that holds it (ties by internal id)."""

ORDER_SCHEMA = "CREATE INDEX IF NOT EXISTS search_by_modified ON search_rows (modified);\n" + "\n".join(
    f"CREATE INDEX IF NOT EXISTS {name} ON search_rows ({', '.join(COLUMNS[key] for key in keys)});"
    for keys, name in ORDER_INDEXES.items()
)

_MAX_SELECTS = 400  # SQLite allows 500 selects in one compound statement
_NOTHING: Select = ("SELECT uid FROM search_rows WHERE 0", ())


def _after(prefix: bytes) -> bytes | None:
    """The least byte string above every string that starts with ``prefix`` (``None``: there is none)."""
    stripped = prefix.rstrip(b"\xff")
    return stripped[:-1] + bytes([stripped[-1] + 1]) if stripped else None


def _starting(fields: Iterable[str], prefix: str) -> Select:
    """The users holding, in one of ``fields``, a token that starts with ``prefix``."""
    codes = tuple(FIELD_CODES[field] for field in fields)
    low = encode(prefix)
    high = _after(low)
    where = f"field IN ({', '.join('?' * len(codes))}) AND token >= ?" + ("" if high is None else " AND token < ?")
    return f"SELECT uid FROM search_terms WHERE {where}", (*codes, low, *(() if high is None else (high,)))  # noqa: S608


def _selects(term: Term) -> list[Select]:
    """Selects of internal ids whose intersection is the users ``term`` matches (see `Term.matches`)."""
    if term.field == FEES:
        return [("SELECT uid FROM search_rows WHERE fees = ?", (term.value,))]
    if term.field in WORD_FIELDS:
        if not term.words:
            return [_NOTHING]
        sources = SOURCES.get(term.field, (term.field,))
        return [_starting(sources, needle[1:]) for needle in term.words]  # each needle is NUL + word
    if term.prefix:
        return [_starting((term.field,), term.value)]
    if term.field == "phone_number":  # the number's ending: a prefix of the numbers reversed
        return [_starting((REVERSED_PHONE,), term.value[::-1])] if term.value else [_NOTHING]
    code = FIELD_CODES[term.field]
    return [("SELECT uid FROM search_terms WHERE field = ? AND token = ?", (code, encode(term.value)))]


def matching(query: UserQuery) -> Select | None:
    """One select of the internal ids ``query`` wants, in no order; ``None`` if ``q`` has too many terms."""
    groups = [[select for term in group for select in _selects(term)] for group in query.groups]
    if sum(len(group) for group in groups) > _MAX_SELECTS:
        return None
    params: list[Any] = []
    parts = []
    for group in groups:
        parts.append(" INTERSECT ".join(sql for sql, _ in group))
        params.extend(value for _, values in group for value in values)
    if not parts:  # every user, or those changed since a day
        if query.since is None:
            return "SELECT uid FROM search_rows", ()
        return "SELECT uid FROM search_rows WHERE modified >= ?", (query.since.isoformat(),)
    sql = parts[0] if len(parts) == 1 else " UNION ".join(f"SELECT uid FROM ({part})" for part in parts)  # noqa: S608
    if query.since is not None:
        sql = f"SELECT uid FROM search_rows WHERE modified >= ? AND uid IN ({sql})"  # noqa: S608 - fixed parts
        params.insert(0, query.since.isoformat())
    return sql, tuple(params)


def touched(query: UserQuery) -> set[str]:
    """The fields (and `SORT`, `MODIFIED`, `FEES`) ``query`` reads: if a record cannot be read in one,
    the reference scan answers."""
    fields = {SORT}
    if query.since is not None:
        fields.add(MODIFIED)
    for group in query.groups:
        for term in group:
            fields.update(SOURCES.get(term.field, (term.field,)))
    return fields
