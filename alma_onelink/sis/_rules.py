"""What a SIS file can carry, from ``rest_user.xsd``: the fields, their lengths, what is mandatory.

The schema tags each field with where it applies (``api``, ``sis``, ``get``, ``post``, ``put``). A SIS
file carries the fields tagged ``sis``; the three fields the SIS profile decides (``record_type``,
``account_type``, ``external_id``: "On SIS load, this field is determined according to the SIS
profile") are written as given, and Alma's profile overrides them; ``purge_date`` and
``is_researcher`` carry no tags and are written (real SIS files carry a purge date). Everything else is
refused, with the reason: a password, roles (the schema: "roles are NOT part of the SIS load"), what
Alma writes itself (``full_name``, ``status_date``…) and any field the schema does not define.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["check_record"]


@dataclass(frozen=True, slots=True)
class _Text:
    limit: int | None = 255
    required: bool = False


@dataclass(frozen=True, slots=True)
class _Code:
    limit: int = 255
    desc_limit: int = 4000
    required: bool = False


@dataclass(frozen=True, slots=True)
class _Plain:
    """A date, a date-time or a boolean: the models write these canonically."""


@dataclass(frozen=True, slots=True)
class _Object:
    fields: Mapping[str, Spec]
    refused: Mapping[str, str]
    required: bool = False
    mandatory: tuple[str, ...] = field(init=False)  # the fields marked required, worked out once

    def __post_init__(self) -> None:
        mandatory = tuple(key for key, spec in self.fields.items() if getattr(spec, "required", False))
        object.__setattr__(self, "mandatory", mandatory)


@dataclass(frozen=True, slots=True)
class _List:
    item: _Object | _Code
    required: bool = False


@dataclass(frozen=True, slots=True)
class _Any:
    """Written as given (the Esploro ``researcher`` object, which the SIS load carries whole)."""


Spec = _Text | _Code | _Plain | _Object | _List | _Any

_PLAIN = _Plain()
_SEGMENT = _Text(10)
_NOT_FOR_SIS = "Alma's user schema marks it for the API only, not for the SIS load"
_ALMA_WRITES = "Alma writes it itself; a new account's record cannot carry it"

_ADDRESS = _Object(
    {
        "line1": _Text(None, required=True),
        **{f"line{n}": _Text() for n in range(2, 6)},
        "city": _Text(required=True),
        "state_province": _Text(),
        "postal_code": _Text(),
        "country": _Code(),
        "address_note": _Text(1000),
        "start_date": _PLAIN,
        "end_date": _PLAIN,
        "address_type": _List(_Code(), required=True),
        "preferred": _PLAIN,
        "segment_type": _SEGMENT,
    },
    {},
)
_EMAIL = _Object(
    {
        "email_address": _Text(required=True),
        "description": _Text(),
        "email_type": _List(_Code(), required=True),
        "preferred": _PLAIN,
        "segment_type": _SEGMENT,
    },
    {},
)
_PHONE = _Object(
    {
        "phone_number": _Text(required=True),
        "phone_type": _List(_Code(), required=True),
        "preferred": _PLAIN,
        "preferred_sms": _PLAIN,
        "segment_type": _SEGMENT,
    },
    {},
)
_IDENTIFIER = _Object(
    {
        "id_type": _Code(required=True),
        "value": _Text(required=True),
        "note": _Text(2000),
        "status": _Text(),
        "segment_type": _SEGMENT,
    },
    {},
)
_BLOCK = _Object(
    {
        "block_type": _Code(),
        "block_description": _Code(required=True),
        "block_status": _Text(),
        "block_note": _Text(2000),
        "created_by": _Text(),
        "created_date": _PLAIN,
        "segment_type": _SEGMENT,
    },
    {"expiry_date": _NOT_FOR_SIS, "item_loan_id": _NOT_FOR_SIS},
)
_NOTE = _Object(
    {
        "note_type": _Code(required=True),
        "note_text": _Text(2000, required=True),
        "user_viewable": _PLAIN,
        "popup_note": _PLAIN,
        "created_by": _Text(),
        "created_date": _PLAIN,
        "segment_type": _SEGMENT,
    },
    {},
)
_STATISTIC = _Object(
    {
        "statistic_category": _Code(required=True),
        "category_type": _Code(),
        "statistic_note": _Text(2000),
        "segment_type": _SEGMENT,
    },
    {},
)
_NAMES = ("first_name", "middle_name", "last_name", "pref_first_name", "pref_middle_name", "pref_last_name")

USER = _Object(
    {
        "record_type": _Code(),
        "primary_id": _Text(required=True),
        **{name: _Text() for name in (*_NAMES, "pref_name_suffix", "pin_number", "job_description", "web_site_url")},
        **{name: _Code() for name in ("user_title", "job_category", "gender", "user_group", "cataloger_level")},
        "campus_code": _Code(50, 255),
        "preferred_language": _Code(),
        "birth_date": _PLAIN,
        "expiry_date": _PLAIN,
        "purge_date": _PLAIN,
        "account_type": _Code(),
        "external_id": _Text(),
        "status": _Code(),
        "contact_info": _Object({"address": _List(_ADDRESS), "email": _List(_EMAIL), "phone": _List(_PHONE)}, {}),
        "user_identifier": _List(_IDENTIFIER),
        "user_block": _List(_BLOCK),
        "user_note": _List(_NOTE),
        "user_statistic": _List(_STATISTIC),
        "rs_library": _List(_Object({"code": _Code(50, 255)}, {})),
        "library_notice": _List(_Object({"code": _Code(255, 255), "value": _PLAIN}, {})),
        "is_researcher": _PLAIN,
        "researcher": _Any(),
    },
    {
        "password": "SIS accounts for OneLink carry no password (and a SIS file is plain text on a server): "
        "remove it; the patron signs in through the institution's sign-on",
        "force_password_change": "it applies to a password, which a SIS account for OneLink does not carry",
        "user_role": "Alma's SIS load does not load roles (the schema: 'roles are NOT part of the SIS load'); "
        "Alma's role assignment rules give them: remove user_role, or register this patron through the API",
        **dict.fromkeys(
            ("full_name", "status_date", "last_patron_activity_date", "requests", "loans", "fees", "link"),
            _ALMA_WRITES,
        ),
        **dict.fromkeys(("proxy_for_user", "source_link_id", "source_institution_code", "linking_id"), _ALMA_WRITES),
        **dict.fromkeys(("created_by", "created_date", "last_modified_by", "last_modified_date"), _ALMA_WRITES),
    },
)

# XML 1.0's Char production (as in models/_xml.py), checked here first to name the field.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NOTE_DEFAULTS = {"user_viewable": False, "popup_note": False}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _check_text(value: Any, where: str, limit: int | None, problems: list[str]) -> None:
    if not isinstance(value, str):
        problems.append(f"{where} must be text, not {type(value).__name__}")
        return
    bad = _NOT_XML.search(value)
    if bad:
        problems.append(f"{where} holds the character U+{ord(bad.group()):04X}, which an XML file cannot carry")
    if limit is not None and len(value) > limit:
        problems.append(f"{where} is {len(value)} characters long; Alma's schema allows at most {limit}")


def _check_code(value: Any, where: str, spec: _Code, problems: list[str]) -> None:
    if not isinstance(value, dict):
        _check_text(value, where, spec.limit, problems)
        return
    for key in value.keys() - {"value", "desc"}:
        problems.append(f"{where}.{key} is not part of a code (only value and desc are)")
    if spec.required and _blank(value.get("value")):
        problems.append(f"{where} needs a code value")
    if value.get("value") is not None:
        _check_text(value["value"], where, spec.limit, problems)
    if value.get("desc") is not None:
        _check_text(value["desc"], f"{where}.desc", spec.desc_limit, problems)


def _check(value: Any, where: str, spec: Spec, problems: list[str]) -> None:
    if isinstance(spec, _Text):
        _check_text(value, where, spec.limit, problems)
    elif isinstance(spec, _Code):
        _check_code(value, where, spec, problems)
    elif isinstance(spec, _List):
        for number, item in enumerate(value if isinstance(value, list) else [value]):
            _check(item, f"{where}[{number}]", spec.item, problems)
    elif isinstance(spec, _Object):
        if not isinstance(value, dict):
            problems.append(f"{where} must be an object in Alma's JSON shape")
            return
        _check_object(value, where, spec, problems)


def _check_object(record: Mapping[str, Any], where: str, spec: _Object, problems: list[str]) -> None:
    prefix = f"{where}." if where else ""
    for key, value in record.items():
        known = spec.fields.get(key)
        if key in spec.refused:
            problems.append(f"{prefix}{key} cannot go in a SIS file: {spec.refused[key]}")
        elif known is None:
            problems.append(
                f"{prefix}{key} is not a field of Alma's user schema (rest_user.xsd), so Alma's SIS load cannot "
                "read it: remove it"
            )
        elif value is not None:
            _check(value, f"{prefix}{key}", known, problems)
    for key in spec.mandatory:
        if _blank(record.get(key)):
            problems.append(f"{prefix}{key} is missing; Alma requires it")


def check_record(record: dict[str, Any]) -> list[str]:
    """What keeps ``record`` (a user's ``to_alma()``) out of a SIS file: one line per problem, ``[]`` if none.

    Fills in place what the schema requires and Alma defaults anyway: a note's ``user_viewable`` and
    ``popup_note`` (false when absent).
    """
    problems: list[str] = []
    _check_object(record, "", USER, problems)
    primary_id = record.get("primary_id")
    if isinstance(primary_id, str) and primary_id.strip():
        if primary_id != primary_id.strip():
            problems.append(f"primary_id {primary_id!r} has spaces at its ends; remove them")
        elif re.fullmatch(r"no primary id\s*\(.*\)", primary_id, re.I | re.S):
            problems.append(f"primary_id {primary_id!r} is Alma's placeholder for a contact without one")
    for note in record.get("user_note") or []:
        if isinstance(note, dict):
            for key, default in _NOTE_DEFAULTS.items():
                if note.get(key) is None:
                    note[key] = default
    return problems
