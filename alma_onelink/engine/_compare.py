"""Comparisons the procedures make: names as people write them, and what a record says."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

from alma_onelink.models import Code, User, UserStatistic

__all__ = ["comparable", "fold", "has_patron_type", "same_name", "same_value"]


def fold(text: str | None) -> str:
    """``text`` for comparing names: accents dropped, case folded, spaces collapsed (``"José "`` → ``"jose"``)."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().replace("-", " ").split())


def same_name(user: User, first_name: str, last_name: str) -> bool:
    """Whether ``user`` bears this name: last names equal, and one first name the other's leading words.

    Accents, case, hyphens and spacing are ignored, so "María José Ibáñez" matches "Maria Jose Ibanez"
    and "María Ibáñez" (a first name given short); "Mario Ibáñez" does not, and neither do two
    different compound first names that only begin alike ("Anne-Marie" and "Anne-Sophie", "Mary Ann"
    and "Mary Beth"): those are two people.
    """
    if fold(user.last_name) != fold(last_name) or not fold(last_name):
        return False
    ours, theirs = fold(first_name).split(), fold(user.first_name).split()
    if not ours or not theirs:
        return False
    shorter, longer = sorted((ours, theirs), key=len)
    return longer[: len(shorter)] == shorter


def same_value(a: str | None, b: str | None) -> bool:
    """Whether two ids or codes are the same, as Alma compares them (ignoring case)."""
    return a is not None and b is not None and a.casefold() == b.casefold()


def has_patron_type(user: User, patron_type: UserStatistic) -> bool:
    """Whether ``user`` carries ``patron_type`` (its category type and category, ignoring case)."""
    wanted = patron_type.statistic_category.value if patron_type.statistic_category else None
    for stat in user.user_statistic:
        if _code(stat.category_type) and not _same_code(stat.category_type, patron_type.category_type):
            continue
        if _same_code(stat.statistic_category, patron_type.statistic_category) and wanted:
            return True
    return False


def with_patron_type(user: User, patron_type: UserStatistic) -> None:
    """Replace ``user``'s statistics of the Patron type's category type by ``patron_type`` (in place)."""
    kept = [
        stat
        for stat in user.user_statistic
        if not (_code(stat.category_type) and _same_code(stat.category_type, patron_type.category_type))
    ]
    user.user_statistic = [*kept, patron_type.model_copy(deep=True)]


def is_expired(user: User, today: date) -> bool:
    """Whether the account's expiry date is before ``today`` (no expiry date: not expired)."""
    return user.expiry_date is not None and user.expiry_date < today


def is_active(user: User) -> bool:
    """Whether the account's status is ACTIVE (Alma's default when none is given)."""
    return user.status is None or user.status.value is None or user.status.matches("ACTIVE")


def _code(code: Code | None) -> str | None:
    return code.value if code is not None else None


def _same_code(a: Code | None, b: Code | None) -> bool:
    return same_value(_code(a), _code(b))


_VOLATILE = frozenset(
    {
        "link", "desc", "last_modified_date", "last_modified_by", "created_date", "created_by", "status_date",
        "loans", "requests", "fees", "full_name", "last_patron_activity_date", "password",
    }
)  # fmt: skip
"""Keys Alma fills in or changes by itself; two records that differ only here are the same record."""


def comparable(record: Any) -> Any:
    """``record`` (Alma JSON) without what Alma fills in by itself (links, ``desc``, timestamps, counts)."""
    if isinstance(record, dict):
        kept = {k: comparable(v) for k, v in record.items() if k not in _VOLATILE}
        return {k: v for k, v in kept.items() if v not in (None, "", [], {})}
    if isinstance(record, list):
        return [comparable(item) for item in record]
    return record
