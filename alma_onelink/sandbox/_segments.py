"""The segments of a user record (identifiers, contact info, roles, notes, blocks, statistics).

Each builder checks Alma's mandatory fields and code tables for its segment and writes the canonical
JSON Alma returns, with ``desc`` filled and ``segment_type`` set (all Internal for internal users).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._fields import Env, Json, as_bool, code_value, make_code, require, stamp_millis, text, type_list


def segment(account_external: bool, given: Any) -> str:
    # Internal users' segments are all Internal; external users' default to External (XSD).
    if not account_external:
        return "Internal"
    return "Internal" if str(given or "").strip().lower() == "internal" else "External"


def identifiers(env: Env, items: Iterable[Json], external: bool) -> list[Json]:
    result = []
    for item in items:
        require(item, "id_type", "user_identifier.id_type")
        require(item, "value", "user_identifier.value")
        result.append(
            {
                "id_type": make_code(env.codes, "UserIdentifierTypes", item["id_type"], strict="identifier type"),
                "value": str(item["value"]).strip(),
                "note": item.get("note"),
                "status": text(item.get("status") or "ACTIVE").upper(),
                "segment_type": segment(external, item.get("segment_type")),
            }
        )
    return result


def contact_info(env: Env, contact: Json, external: bool) -> Json:
    codes = env.codes
    addresses, emails, phones = [], [], []
    for item in contact.get("address") or []:
        for field in ("line1", "city", "address_type"):
            require(item, field, f"address.{field}")
        address: Json = {f"line{n}": item.get(f"line{n}") for n in range(1, 6)}
        address.update(
            city=item.get("city"),
            state_province=text(item.get("state_province")),
            postal_code=text(item.get("postal_code")),
            country=make_code(codes, "CountryCodes", item.get("country")),
            address_note=text(item.get("address_note")),
        )
        for field in ("start_date", "end_date"):
            if item.get(field):
                address[field] = item[field]
        address["preferred"] = as_bool(item.get("preferred"))
        address["segment_type"] = segment(external, item.get("segment_type"))
        address["address_type"] = type_list(codes, "UserAddressTypes", item["address_type"], "address type")
        addresses.append(address)
    for item in contact.get("email") or []:
        require(item, "email_address", "email.email_address")
        require(item, "email_type", "email.email_type")
        emails.append(
            {
                "email_address": str(item["email_address"]).strip(),
                "description": item.get("description"),
                "preferred": as_bool(item.get("preferred")),
                "segment_type": segment(external, item.get("segment_type")),
                "email_type": type_list(codes, "UserEmailTypes", item["email_type"], "email type"),
            }
        )
    for item in contact.get("phone") or []:
        require(item, "phone_number", "phone.phone_number")
        require(item, "phone_type", "phone.phone_type")
        phones.append(
            {
                "phone_number": str(item["phone_number"]).strip(),
                "preferred": as_bool(item.get("preferred")),
                "preferred_sms": as_bool(item.get("preferred_sms")),
                "segment_type": segment(external, item.get("segment_type")),
                "phone_type": type_list(codes, "UserPhoneTypes", item["phone_type"], "phone type"),
            }
        )
    for group in (addresses, emails, phones):
        # At most one preferred per kind: Alma keeps the first one marked.
        seen = False
        for entry in group:
            entry["preferred"] = bool(entry["preferred"]) and not seen
            seen = seen or bool(entry["preferred"])
    return {"address": addresses, "email": emails, "phone": phones}


def roles(env: Env, items: Iterable[Json]) -> list[Json]:
    result = []
    for item in items:
        require(item, "role_type", "user_role.role_type")
        status = code_value(item.get("status")).upper() or "ACTIVE"
        scope = code_value(item.get("scope")) or env.institution
        role: Json = {
            # An illegal status reads as Inactive (XSD documentation).
            "status": make_code(env.codes, "UserRoleStatus", status if status == "ACTIVE" else "INACTIVE"),
            "scope": {"value": scope, "desc": scope_desc(env, scope)},
            "role_type": make_code(env.codes, "UserRoles", item["role_type"]),
        }
        if item.get("expiry_date"):
            role["expiry_date"] = item["expiry_date"]
        role["parameter"] = [_role_parameter(env, param) for param in item.get("parameter") or []]
        result.append(role)
    return result


# Which code table a role parameter's value comes from, by parameter type (folded).
_PARAMETER_VALUE_TABLES = {"circulationdesk": "CirculationDesks"}


def _role_parameter(env: Env, item: Json) -> Json:
    kind = code_value(item.get("type"))
    scope = code_value(item.get("scope"))
    return {
        "type": make_code(env.codes, "RoleParameterTypes", kind),
        "scope": {"value": scope, "desc": scope_desc(env, scope) if scope else ""},
        "value": make_code(env.codes, _PARAMETER_VALUE_TABLES.get(kind.casefold(), ""), item.get("value")),
    }


def scope_desc(env: Env, scope: str) -> str:
    return env.institution_desc if scope == env.institution else env.codes.desc("Libraries", scope)


def default_roles(env: Env, record_type: str, expiry: Any) -> list[Json]:
    """Alma's role assignment rules as the sandbox sets them: PUBLIC and STAFF users become Patrons."""
    if record_type == "CONTACT":
        return []
    role: Json = {"role_type": "200", "status": "ACTIVE", "scope": env.institution}
    if expiry:
        role["expiry_date"] = expiry
    return roles(env, [role])


def notes(env: Env, items: Iterable[Json], external: bool) -> list[Json]:
    result = []
    for item in items:
        require(item, "note_type", "user_note.note_type")
        require(item, "note_text", "user_note.note_text")
        result.append(
            {
                "note_type": make_code(env.codes, "NoteTypes", item["note_type"], strict="note type"),
                "note_text": item["note_text"],
                "user_viewable": as_bool(item.get("user_viewable")),
                "popup_note": as_bool(item.get("popup_note")),
                "created_by": item.get("created_by") or "API",
                "created_date": item.get("created_date") or stamp_millis(env.now),
                "segment_type": segment(external, item.get("segment_type")),
            }
        )
    return result


def blocks(env: Env, items: Iterable[Json], external: bool) -> list[Json]:
    result = []
    for item in items:
        require(item, "block_description", "user_block.block_description")
        block: Json = {
            "block_type": make_code(env.codes, "UserBlockTypes", code_value(item.get("block_type")) or "GENERAL"),
            "block_description": make_code(env.codes, "UserBlockDescription", item["block_description"]),
            "block_status": text(item.get("block_status") or "ACTIVE").upper(),
            "block_note": item.get("block_note"),
            "created_by": item.get("created_by") or "API",
            "created_date": item.get("created_date") or stamp_millis(env.now),
        }
        if item.get("expiry_date"):
            block["expiry_date"] = item["expiry_date"]
        block["segment_type"] = segment(external, item.get("segment_type"))
        result.append(block)
    return result


def statistics(env: Env, items: Iterable[Json], external: bool) -> list[Json]:
    result = []
    for item in items:
        require(item, "statistic_category", "user_statistic.statistic_category")
        category = make_code(env.codes, "UserStatCategories", item["statistic_category"], strict="statistic category")
        category_type = env.codes.category_type(category["value"]) or code_value(item.get("category_type"))
        result.append(
            {
                "statistic_category": category,
                "category_type": make_code(env.codes, "UserStatisticalTypes", category_type),
                "statistic_note": item.get("statistic_note"),
                "segment_type": segment(external, item.get("segment_type")),
            }
        )
    return result
