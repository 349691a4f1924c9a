"""How a merge reads to a person: segment items in a few words, and a record's changes line by line.

Works on Alma JSON (plain dicts), so a plan read back from a file renders exactly as it was made.
"""

from __future__ import annotations

from typing import Any

from ._compare import comparable

__all__ = ["SEGMENT_FIELDS", "describe", "record_diff", "segment_items"]

SEGMENT_FIELDS: dict[str, tuple[str, ...]] = {
    "identifiers": ("user_identifier",),
    "addresses": ("contact_info", "address"),
    "emails": ("contact_info", "email"),
    "phones": ("contact_info", "phone"),
    "notes": ("user_note",),
    "blocks": ("user_block",),
    "statistics": ("user_statistic",),
    "proxies": ("proxy_for_user",),
}
"""Segment name → where its items are in an Alma user record."""

_LABELS = {
    "identifiers": "identifier",
    "addresses": "address",
    "emails": "email",
    "phones": "phone",
    "notes": "note",
    "blocks": "block",
    "statistics": "statistic",
    "proxies": "proxy for",
}
_NOTE_SHOWN = 80


def segment_items(record: dict[str, Any], segment: str) -> list[dict[str, Any]]:
    """The items of ``segment`` in an Alma JSON record (a lone object read as a list of one)."""
    value: Any = record
    for key in SEGMENT_FIELDS[segment]:
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, dict):
        return [value]
    return [item for item in value or [] if isinstance(item, dict)]


def _value(field: Any) -> str:
    if isinstance(field, dict):
        return str(field.get("value") or "")
    return "" if field is None else str(field)


def _types(item: dict[str, Any], key: str) -> str:
    kinds = item.get(key) or []
    kinds = kinds if isinstance(kinds, list) else [kinds]
    shown = ", ".join(_value(kind) for kind in kinds if _value(kind))
    return f" ({shown})" if shown else ""


def describe(segment: str, item: dict[str, Any]) -> str:
    """``item`` of ``segment`` in a few words: ``BARCODE DK250000123456``, ``jane@example.org (school)``…"""
    if segment == "identifiers":
        return f"{_value(item.get('id_type')) or '(no type)'} {_value(item.get('value'))}"
    if segment == "addresses":
        parts = [_value(item.get(key)) for key in ("line1", "city", "state_province", "postal_code")]
        return ", ".join(part for part in parts if part) + _types(item, "address_type")
    if segment == "emails":
        return _value(item.get("email_address")) + _types(item, "email_type")
    if segment == "phones":
        return _value(item.get("phone_number")) + _types(item, "phone_type")
    if segment == "notes":
        text = " ".join(_value(item.get("note_text")).split())
        text = text if len(text) <= _NOTE_SHOWN else text[: _NOTE_SHOWN - 1] + "…"
        return f'{_value(item.get("note_type")) or "(no type)"}: "{text}"'
    if segment == "blocks":
        status = _value(item.get("block_status"))
        return f"{_value(item.get('block_type')) or 'GENERAL'} {_value(item.get('block_description'))}" + (
            f" ({status})" if status else ""
        )
    if segment == "statistics":
        kind = _value(item.get("category_type"))
        return f"{kind + ' ' if kind else ''}{_value(item.get('statistic_category'))}"
    if segment == "proxies":
        name = _value(item.get("full_name"))
        return _value(item.get("primary_id")) + (f" ({name})" if name else "")
    raise ValueError(f"unknown segment {segment!r}")  # pragma: no cover - callers pass known segments


def _flags(item: dict[str, Any]) -> str:
    flags = [flag for flag in ("preferred", "preferred_sms") if item.get(flag) is True]
    if item.get("segment_type"):
        flags.append(str(item["segment_type"]))
    return f" [{', '.join(flags)}]" if flags else ""


def _list_diff(segment: str, old: list[Any], new: list[Any]) -> list[str]:
    remaining = list(old)
    added = []
    for item in new:
        if item in remaining:
            remaining.remove(item)
        else:
            added.append(item)
    label = _LABELS[segment]
    return [f"- {label} {describe(segment, item)}{_flags(item)}" for item in remaining] + [
        f"+ {label} {describe(segment, item)}{_flags(item)}" for item in added
    ]


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, dict) and set(value) <= {"value", "desc"}:
        return _value(value) or "(none)"
    return str(value)


_BY_FIELD = {fields[0]: segment for segment, fields in SEGMENT_FIELDS.items() if len(fields) == 1}
_CONTACT = {fields[1]: segment for segment, fields in SEGMENT_FIELDS.items() if len(fields) == 2}


def record_diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changes from ``before`` to ``after`` (Alma JSON), ignoring what Alma fills in by itself.

    Segment items are added (``+``) or removed (``-``); other fields change (``~ field: old → new``).
    """
    a, b = comparable(before), comparable(after)
    lines: list[str] = []
    for key in [*a, *(key for key in b if key not in a)]:
        old, new = a.get(key), b.get(key)
        if old == new:
            continue
        if key == "contact_info":
            for sub, segment in _CONTACT.items():
                lines += _list_diff(segment, (old or {}).get(sub) or [], (new or {}).get(sub) or [])
        elif key in _BY_FIELD:
            lines += _list_diff(_BY_FIELD[key], old or [], new or [])
        else:
            lines.append(f"~ {key}: {_show(old)} → {_show(new)}")
    return lines
