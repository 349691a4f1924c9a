"""Alma's user search query (``q``): keyword filters written so that they mean what the caller wrote.

Alma's syntax is ``field~value`` conditions joined by `` AND `` in capitals; it has no documented
quoting. Matching ignores case (names word by word, ids and emails whole), so a value is made safe by
writing the words ``AND``/``OR``/``NOT`` inside it in lower case: the same words, found the same way,
but no longer read as the start of another condition. What cannot be written at all (a ``~`` in a
value, control characters, ``None``) is refused with an `InputError` that says what to do instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from .._limits import has_surrogate
from ..errors import InputError

__all__ = ["SEARCH_FIELDS", "build_query", "search_value"]

SEARCH_FIELDS = frozenset(
    {
        "primary_id", "first_name", "last_name", "middle_name", "email", "phone_number", "job_category",
        "identifiers", "birth_date", "user_group", "campus_code", "block_type", "id_type", "note_text",
        "note_type", "statistic_category", "fines_fees_sum", "general_info", "ALL",
    }
)  # fmt: skip
"""Fields Alma's user search understands (``q=field~value``)."""

_OPERATOR_WORD = re.compile(r"\b(?:AND|OR|NOT)\b")


def search_value(field: str, value: Any) -> str:
    """``value`` written for ``field~value``: operator words in lower case; `InputError` if it cannot be written."""
    if value is None:
        raise InputError(
            f"{field}=None cannot be searched: to search without a {field}, leave the keyword out "
            f'(to find the word "None", pass the text "None").'
        )
    if isinstance(value, bool) or not isinstance(value, str | int | float | date):
        raise InputError(f"The search value for {field} must be text, got {type(value).__name__} {value!r}.")
    text = (value.isoformat() if isinstance(value, date) else str(value)).strip()
    if not text:
        raise InputError(f"The search value for {field} is empty.")
    if has_surrogate(text) or not text.isprintable():
        raise InputError(f"The search value for {field} holds control characters or broken text; type plain text.")
    if "~" in text:
        raise InputError(
            f"{field}={text!r} cannot be searched: Alma reads '~' as the start of another condition "
            "(field~value) and has no way to quote it. Search for the words before or after it instead."
        )
    # Alma starts a new condition at the capitalised word AND (and may at OR/NOT); its matching ignores
    # case, so the word written in lower case finds the same users and stays part of this value.
    return _OPERATOR_WORD.sub(lambda match: match.group(0).lower(), text)


def build_query(q: str | None, filters: Mapping[str, Any]) -> str | None:
    """Alma's ``q``: the raw query and ``field~value`` filters joined with ``AND``.

    ``q`` is the caller's own Alma query and is sent as written; filter values are made safe by
    `search_value`. Raises ``InputError`` for a field Alma cannot search or a value that cannot be written.
    """
    parts: list[str] = []
    if q is not None:
        if not isinstance(q, str) or not q.strip():
            raise InputError("q must be a non-empty Alma query such as 'last_name~Smith'.")
        if has_surrogate(q) or not q.isprintable():
            raise InputError("q holds control characters or broken text; type plain text.")
        parts.append(q.strip())
    for field, value in filters.items():
        if field not in SEARCH_FIELDS:
            raise InputError(
                f"Unknown search field or option {field!r}; Alma can search: {', '.join(sorted(SEARCH_FIELDS))}"
            )
        parts.append(f"{field}~{search_value(field, value)}")
    return " AND ".join(parts) if parts else None
