"""A ``GET /users`` search as data (`UserQuery`), and the reference that answers it by a scan.

``q`` takes ``field~value`` terms joined by `` AND ``, and such groups joined by `` OR `` (AND binds
tighter). `scan_matches` answers a query by reading every user: it is the definition of the search.
The stores answer the same queries from their index (`_index`); the property tests hold the two equal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from ._http import AlmaFailure
from ._searchable import QUERY_FIELDS, WORD_FIELDS, Row, digits, fold, words

__all__ = ["Term", "UnsupportedQuery", "UserQuery", "parse_query", "scan_matches"]

_DIGIT_FIELDS = frozenset({"phone_number", "birth_date"})


class UnsupportedQuery(AlmaFailure):
    """A ``q`` Alma cannot run: 402119, or ``total_record_count: -1`` when the knob says so."""

    def __init__(self) -> None:
        super().__init__("402119", "General error.")


class Term(NamedTuple):
    """One ``field~value`` term of ``q``, its value folded once."""

    field: str
    value: str  # folded (phone numbers and dates: digits only first); a prefix when `prefix`
    prefix: bool  # the value ended with ``*``
    words: tuple[str, ...]  # word fields: the folded words, each after a NUL as `Row.text` has them

    def matches(self, row: Row, fees: Callable[[int], float]) -> bool:
        """Whether the user of ``row`` satisfies this term (``fees(uid)``: the user's unpaid fees)."""
        if self.field == "fines_fees_sum":
            return f"{fees(row.uid):.2f}" == self.value
        if self.field in WORD_FIELDS:
            text = row.text(self.field)  # each word must start a word of the field
            return bool(self.words) and all(word in text for word in self.words)
        have = row.values(self.field)
        if self.prefix:
            return any(h.startswith(self.value) for h in have)
        if self.field == "phone_number":  # with or without the country code
            return any(h.endswith(self.value) for h in have if self.value)
        return self.value in have


def _term(part: str) -> Term:
    field, sep, value = part.strip().partition("~")
    field = field.strip()
    field = "ALL" if field.upper() == "ALL" else field.lower()
    value = value.strip()
    if not sep or field not in QUERY_FIELDS or not value:
        raise UnsupportedQuery
    if field == "fines_fees_sum":
        try:
            return Term(field, f"{float(value):.2f}", False, ())
        except ValueError:
            raise UnsupportedQuery from None
    if field in _DIGIT_FIELDS:
        value = digits(value)
    prefix = value.endswith("*")
    needles = tuple(f"\0{word}" for word in words(value.rstrip("*")))
    return Term(field, fold(value[:-1] if prefix else value), prefix, needles)


def parse_query(q: str) -> tuple[tuple[Term, ...], ...]:
    """``q`` as groups of terms: a user matches when every term of some group matches.

    Raises `UnsupportedQuery` for anything Alma cannot run.
    """
    groups = []
    for branch in q.split(" OR "):
        terms = tuple(_term(part) for part in branch.split(" AND "))
        if len(terms) > 1 and any(term.field == "ALL" for term in terms):
            raise UnsupportedQuery  # ALL: "without support for the AND operator" (OAS)
        groups.append(terms)
    return tuple(groups)


@dataclass(frozen=True)
class UserQuery:
    """Which users a search wants, in which order.

    ``groups``: the parsed ``q`` (`parse_query`), ``()`` for every user. ``keys``: the sort fields, of
    ``last_name``, ``first_name`` and ``primary_id``; ties keep the order users were added in.
    ``since``: only users changed on or after that day (``modify_date_from``), or ``None``.
    """

    groups: tuple[tuple[Term, ...], ...] = ()
    keys: tuple[str, ...] = ("last_name", "first_name", "primary_id")
    since: date | None = None


def scan_matches(rows: Iterable[Row], fees: Callable[[int], float], query: UserQuery) -> list[int]:
    """The internal ids of the users ``query`` wants, in its order, found by reading every row.

    ``rows`` in the order the users were added; ``fees(uid)`` is the user's unpaid total. Raises
    whatever reading a malformed record raises, as the search always has.
    """
    groups = query.groups or ((),)
    since = query.since
    hits = [
        row
        for row in rows
        if any(all(term.matches(row, fees) for term in group) for group in groups)
        and (since is None or date.fromisoformat(row.entry.get("modified", "1970-01-01")) >= since)
    ]
    hits.sort(key=lambda row: row.sort_key(query.keys))
    return [row.uid for row in hits]
