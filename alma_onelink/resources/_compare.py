"""Is a user record as it was asked to be? The one comparison behind every write check and ``edit``.

Alma normalises what it stores: it fills ``desc`` from its code tables, spells codes as its tables
do, trims text, stamps notes and blocks, adds links, counts and a full name. So "the record Alma has"
is compared with "the record that was sent" on what was sent, ignoring what Alma fills in by itself.
Two modes:

* ``create``: a field left empty asks for nothing (Alma may fill a default);
* ``update`` (Alma's PUT swaps everything): a top-level field left empty asks for it to be empty,
  except those Alma keeps when they are missing (status, roles, account type, ids, password).

Lists must hold the same items (in any order). Pure functions on models; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, Literal

from .._constants import PROTECTED_FIELDS
from ..models import AlmaModel, Code, User

__all__ = ["PROTECTED_KEYS", "Mode", "changed_protected", "differences"]

Mode = Literal["create", "update"]

PROTECTED_KEYS: Mapping[str, str] = PROTECTED_FIELDS
"""Alma's ``override`` names of the fields it protects on external users, and the record key of each."""

_FILLED_BY_ALMA = frozenset(
    {
        "link", "desc", "full_name", "created_by", "created_date", "last_modified_by", "last_modified_date",
        "status_date", "last_patron_activity_date", "loans", "requests", "fees", "password", "pin_number",
        "force_password_change", "proxy_for_user", "source_link_id", "source_institution_code", "linking_id",
        "segment_type", "category_type",
    }
)  # fmt: skip
"""Keys Alma fills in, decides by itself (segments of internal users are Internal; a statistic's type
comes from its category) or never returns: never compared."""

_KEPT_WHEN_EMPTY = frozenset({"status", "user_role", "account_type", "external_id", "primary_id", "record_type"})
"""Top-level fields a PUT without them leaves as they were."""

_DEFAULTED_INSIDE = frozenset(
    {"block_type", "block_status", "status", "scope", "segment_type", "category_type", "note_owner", "statistic_owner"}
)
"""Fields of list items Alma fills with a default when they are sent empty."""

_CASELESS = frozenset({"value", "status", "block_status", "segment_type"})
"""Keys whose text Alma stores in its own case (code values, statuses)."""


def _empty(value: Any) -> bool:
    if value is None or value is False or value in ("", [], {}):
        return True
    if isinstance(value, Code):
        return not (value.value or "").strip()
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, AlmaModel):
        return all(_empty(getattr(value, name)) for name in type(value).model_fields if name not in _FILLED_BY_ALMA)
    return False


def _key(model: type[AlmaModel], name: str) -> str:
    alias = model.model_fields[name].alias
    return alias or name


def _scalar(value: Any, key: str) -> Any:
    if isinstance(value, Code):
        return (value.value or "").strip().casefold()
    if isinstance(value, str):
        text = value.strip()
        return text.casefold() if key in _CASELESS else text
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, bool) or value is None:
        return bool(value)
    return value


def _diff(asked: Any, found: Any, path: str, *, strict: bool, key: str, out: list[str]) -> None:
    """Append to ``out`` the paths under ``path`` where ``found`` is not what ``asked`` asked for."""
    if isinstance(asked, AlmaModel) and not isinstance(asked, Code):
        other = found if isinstance(found, AlmaModel) else None
        for name in type(asked).model_fields:
            field_key = _key(type(asked), name)
            if field_key in _FILLED_BY_ALMA:
                continue
            mine = getattr(asked, name)
            theirs = getattr(other, name, None) if other is not None else None
            sub = f"{path}.{field_key}" if path else field_key
            if _empty(mine):
                if strict and not _empty(theirs) and field_key not in _DEFAULTED_INSIDE:
                    out.append(sub)
                continue
            _diff(mine, theirs, sub, strict=strict, key=field_key, out=out)
        return
    if isinstance(asked, list):
        theirs = list(found) if isinstance(found, list) else []
        if len(theirs) != len(asked) or not _same_items(asked, theirs, strict=strict, key=key):
            out.append(path)
        return
    if isinstance(asked, dict):  # a free-form field (researcher) or an extra: compared as JSON
        if asked != found:
            out.append(path)
        return
    if _scalar(asked, key) != _scalar(found, key):
        out.append(path)


def _same_items(asked: list[Any], found: list[Any], *, strict: bool, key: str) -> bool:
    """Whether every asked item matches its own found item (order aside)."""
    left = list(found)
    for item in asked:
        for index, candidate in enumerate(left):
            problems: list[str] = []
            _diff(item, candidate, "", strict=strict, key=key, out=problems)
            if not problems:
                del left[index]
                break
        else:
            return False
    return True


def _one_preferred(asked: User) -> User:
    """``asked`` as Alma keeps it: of several addresses, emails or phones marked preferred, the first."""
    contact = asked.contact_info
    if contact is None:
        return asked
    kinds = (contact.address, contact.email, contact.phone)
    if all(sum(bool(item.preferred) for item in items) <= 1 for items in kinds):
        return asked
    kept = asked.model_copy(deep=True)
    assert kept.contact_info is not None
    for items in (kept.contact_info.address, kept.contact_info.email, kept.contact_info.phone):
        marked = False
        for item in items:
            if item.preferred:
                item.preferred = not marked
                marked = True
    return kept


def differences(asked: User, found: User, *, mode: Mode, skip: Iterable[str] = ()) -> list[str]:
    """The fields of ``asked`` that ``found`` does not hold as asked (paths such as ``contact_info.email``).

    ``skip`` names record keys not to compare (fields Alma protects and was not told to override).
    """
    asked = _one_preferred(asked)
    ignored = set(skip) | _FILLED_BY_ALMA
    out: list[str] = []
    strict = mode == "update"
    for name in User.model_fields:
        key = _key(User, name)
        if key in ignored:
            continue
        mine, theirs = getattr(asked, name), getattr(found, name)
        if _empty(mine):
            if strict and key not in _KEPT_WHEN_EMPTY and not _empty(theirs):
                out.append(key)
            continue
        if key == "primary_id":  # the one text compared exactly: another case is another user's id
            if (mine or "").strip() != (theirs or "").strip():
                out.append(key)
            continue
        _diff(mine, theirs, key, strict=strict, key=key, out=out)
    return out


def changed_protected(before: User, after: User) -> list[str]:
    """Alma's ``override`` names of the protected fields whose value differs between two records."""
    changed = []
    for name, key in PROTECTED_KEYS.items():
        old, new = getattr(before, key, None), getattr(after, key, None)
        if _empty(old) and _empty(new):
            continue
        problems: list[str] = []
        if _empty(old) or _empty(new):
            problems.append(key)
        else:
            _diff(new, old, key, strict=True, key=key, out=problems)
        if problems:
            changed.append(name)
    return changed
