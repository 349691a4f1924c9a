"""Alma's rules for a user record: what a POST/PUT body must hold, what Alma fills in, how it is shown.

Input goes through `User` (lenient: ``"TRUE"``, dates without ``Z``, lone
objects for lists), then is checked and rebuilt as the full canonical JSON Alma returns: every key
present, codes as ``{"value", "desc"}`` with ``desc`` from the code tables, dates with ``Z``,
``password`` always ``""``. Uniqueness needs the store and lives in ``_users``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable

from pydantic import BaseModel, ValidationError

from alma_onelink._constants import PROTECTED_FIELDS
from alma_onelink.models import User
from alma_onelink.models._base import dump_date

from ._fields import Env, Json, as_bool, code_value, lacking_code, make_code, require, text
from ._http import AlmaFailure
from ._segments import blocks, contact_info, default_roles, identifiers, notes, roles, statistics

# Alma rejects these whatever else holds; the real list is longer and unpublished.
COMMON_PASSWORDS = frozenset(
    {"password", "password1", "12345678", "123456789", "1234567890", "qwertyui", "qwerty123", "iloveyou",
     "letmein1", "welcome1", "abcdefgh", "11111111", "00000000", "passw0rd", "sunshine", "football"}
)  # fmt: skip


_CODE_FIELDS = {
    "user_title": "UserTitles",
    "job_category": "JobTitles",
    "gender": "Genders",
    "user_group": "UserGroups",
    "campus_code": "CampusCodes",
    "cataloger_level": "CatalogerLevel",
    "preferred_language": "UserPreferredLanguage",
}
DEFAULT_RECORD_TYPE = "PUBLIC"
"""The record type of a user created without one."""

_PREF_FIELDS = ("pref_first_name", "pref_middle_name", "pref_last_name", "pref_name_suffix")
_DATE_FIELDS = ("birth_date", "expiry_date", "purge_date")

# --- parsing -------------------------------------------------------------------------------------


def _strip_extras(model: BaseModel, data: Json) -> None:
    """Drop fields Alma does not know, recursively: Alma ignores them, so the sandbox must not echo them."""
    for key in model.model_extra or {}:
        data.pop(key, None)
    for name, info in type(model).model_fields.items():
        key = info.alias or name
        value, dumped = getattr(model, name), data.get(key)
        if isinstance(value, BaseModel) and isinstance(dumped, dict):
            _strip_extras(value, dumped)
        elif isinstance(value, list) and isinstance(dumped, list):
            for item, item_data in zip(value, dumped, strict=False):
                if isinstance(item, BaseModel) and isinstance(item_data, dict):
                    _strip_extras(item, item_data)


def parse_user(body: bytes | Json) -> Json:
    """The body as canonical JSON (known fields only); raises 401676 if it is not a user object.

    Bodies must be JSON: XML, malformed JSON and JSON nested too deeply to parse all give 401676.
    """
    try:
        raw = json.loads(body) if isinstance(body, bytes) else body
        if not isinstance(raw, dict):
            raise TypeError("not an object")
        if isinstance(raw.get("user"), dict) and "primary_id" not in raw:
            raw = raw["user"]  # tolerate the XML-style wrapper some clients send
        model = User.from_alma(raw)
        # exclude_unset: only what the client sent (the rules fill the rest); much cheaper than to_alma().
        data = model.model_dump(mode="json", by_alias=True, exclude_unset=True)
        _strip_extras(model, data)
    except (ValueError, TypeError, ValidationError, RecursionError) as exc:
        raise AlmaFailure("401676", "No valid XML was given.") from exc
    return data


# --- passwords -----------------------------------------------------------------------------------


def check_password_rules(password: str, primary_id: str) -> None:
    """Alma's password rules; raises 500038 when the password breaks one."""
    folded = password.casefold()
    if len(password) < 8 or (primary_id and primary_id.casefold() in folded) or folded in COMMON_PASSWORDS:
        raise AlmaFailure(
            "500038",
            "New password must be at least 8 characters long and must not include the user-name "
            "or any commonly used password.",
        )


def hash_password(password: str) -> str:
    """A salted hash: the sandbox never keeps a password in clear."""
    salt = secrets.token_hex(8)
    return f"sha256${salt}${hashlib.sha256((salt + password).encode()).hexdigest()}"


def password_matches(password: str, stored: str | None) -> bool:
    """Whether ``password`` is the one ``stored`` was made from."""
    if not stored or stored.count("$") != 2:
        return False
    _, salt, digest = stored.split("$")
    return hmac.compare_digest(hashlib.sha256((salt + password).encode()).hexdigest(), digest)


def check_account(env: Env, data: Json, *, existing: Json | None) -> tuple[str, str]:
    """The account type and external id after Alma's rules (401853/401854/401855/401857/401858)."""
    old_type = code_value(existing.get("account_type")).upper() if existing else ""
    account = code_value(data.get("account_type")).upper() or old_type
    if not account:
        raise AlmaFailure("401664", "Mandatory field is missing: account_type")
    if "EXTERNAL_AUTH" in account or account == "INTERNAL_WITH_EXTERNAL_AUTHENTICATION":
        raise AlmaFailure(
            "401855", "The account type 'Internal with external authentication' is currently not supported."
        )
    if account not in ("INTERNAL", "EXTERNAL"):
        raise AlmaFailure("401857", "The given user account type is illegal (must be INTERNAL/EXTERNAL).")
    if old_type == "EXTERNAL" and account == "INTERNAL":
        raise AlmaFailure("401859", "Action currently not supported.")
    external_id = text(data.get("external_id")).strip()
    old_external = text(existing.get("external_id")).strip() if existing else ""
    if account == "INTERNAL":
        if external_id:
            raise AlmaFailure("401853", "External Id must be empty for internal user.")
        return account, ""
    if old_external:
        if external_id and external_id != old_external:
            raise AlmaFailure(
                "401858",
                "The external id in DB does not fit the given value in xml - external id cannot be updated.",
            )
        return account, old_external
    if not external_id:
        raise AlmaFailure("401854", "External Id must be given for external user.")
    if not env.codes.has("ExternalSystems", external_id):
        # Alma documents 401854 for an external_id that names no SIS profile too, and its own words
        # for that rule (rest_user.xsd): it "must match a valid SIS external system profile".
        raise lacking_code(
            "401854", "External Id must match a valid SIS external system profile.", "ExternalSystems", external_id
        )
    return account, external_id


def build_user(
    env: Env,
    data: Json,
    *,
    existing: Json | None = None,
    override: Iterable[str] = (),
    recalculate_roles: bool = False,
) -> Json:
    """The full canonical record for a POST (``existing=None``) or a swap-all PUT over ``existing``.

    Raises `AlmaFailure` (401664, 401852, 401853 to 401859, 401864) when the body breaks a rule.
    Passwords and uniqueness are checked by the caller.
    """
    codes = env.codes
    old = existing or {}
    merged = dict(data)
    for field in ("primary_id", "record_type"):
        if existing is not None and not code_value(merged.get(field)):
            merged[field] = old.get(field)  # a PUT without them keeps the current ones
    if existing is None and not code_value(merged.get("record_type")):
        # Alma documents record_type as mandatory, yet creates a user without one (a recorded run
        # against a real Alma, and two clients' documented bodies): such a user is a Public one.
        merged["record_type"] = DEFAULT_RECORD_TYPE
    for field in ("record_type", "primary_id", "last_name"):
        require(merged, field)
    record_type = code_value(merged["record_type"]).upper()
    record_type_code = make_code(codes, "RecordTypes", record_type, strict="record type")
    account, external_id = check_account(env, merged, existing=existing)
    external = account == "EXTERNAL"
    if existing is not None and external and code_value(old.get("account_type")) == "EXTERNAL":
        named = {name.strip().lower() for name in override}
        for name, field in PROTECTED_FIELDS.items():
            if name not in named:
                merged[field] = old.get(field)
    group = code_value(merged.get("user_group"))
    # A new user needs a group its record type allows (reference §5.4): none at all is not legal either,
    # nor is a PUT that takes a user's group away. A user stored without one keeps none.
    had_group = bool(code_value(old.get("user_group")))
    if (group or existing is None or had_group) and not codes.has("UserGroups", group):
        if group:
            raise lacking_code("401852", "Given user group is not legal.", "UserGroups", group)
        raise AlmaFailure("401852", "Given user group is not legal.")
    status = code_value(merged.get("status")).upper() or code_value(old.get("status")) or "ACTIVE"
    status_code = make_code(codes, "UserStatus", status, strict="status")

    record: Json = {"record_type": record_type_code}
    record["primary_id"] = str(merged["primary_id"]).strip()
    for field in ("first_name", "middle_name", "last_name"):
        record[field] = text(merged.get(field)).strip()
    names = (record["first_name"], record["middle_name"], record["last_name"])
    record["full_name"] = " ".join(part for part in names if part)
    defaults = {"preferred_language": "en", "cataloger_level": "00"} if existing is None else {}
    for field in ("user_title", "job_category"):
        record[field] = make_code(codes, _CODE_FIELDS[field], merged.get(field))
    record["job_description"] = text(merged.get("job_description"))
    for field in ("gender", "user_group", "campus_code"):
        record[field] = make_code(codes, _CODE_FIELDS[field], merged.get(field))
    record["web_site_url"] = text(merged.get("web_site_url"))
    for field in ("cataloger_level", "preferred_language"):
        record[field] = make_code(codes, _CODE_FIELDS[field], merged.get(field) or defaults.get(field))
    for field in _DATE_FIELDS:
        if merged.get(field):
            record[field] = merged[field]
    record["account_type"] = make_code(codes, "AccountTypes", account)
    record["external_id"] = external_id
    record["password"] = ""
    record["force_password_change"] = ""
    record["status"] = status_code
    unchanged = existing is not None and code_value(old.get("status")) == status and old.get("status_date")
    record["status_date"] = old["status_date"] if unchanged else dump_date(env.today)
    if old.get("last_patron_activity_date"):
        record["last_patron_activity_date"] = old["last_patron_activity_date"]
    record.update(requests=None, loans=None, fees=None)
    record["contact_info"] = contact_info(env, merged.get("contact_info") or {}, external)
    for field in _PREF_FIELDS:
        record[field] = text(merged.get(field))
    record["is_researcher"] = as_bool(merged.get("is_researcher"))
    record["researcher"] = merged.get("researcher")
    record["link"] = None
    record["user_identifier"] = identifiers(env, merged.get("user_identifier") or [], external)
    incoming_roles = merged.get("user_role") or []
    if incoming_roles:
        record["user_role"] = roles(env, incoming_roles)
    elif existing is not None and not recalculate_roles:
        record["user_role"] = list(old.get("user_role") or [])  # roles survive a PUT that omits them
    else:
        record["user_role"] = default_roles(env, record_type, record.get("expiry_date"))
    record["user_block"] = blocks(env, merged.get("user_block") or [], external)
    record["user_note"] = notes(env, merged.get("user_note") or [], external)
    record["user_statistic"] = statistics(env, merged.get("user_statistic") or [], external)
    record["proxy_for_user"] = list(old.get("proxy_for_user") or [])
    rs_libraries = [
        {"code": make_code(codes, "Libraries", item.get("code"))} for item in merged.get("rs_library") or []
    ]
    if rs_libraries:
        record["rs_library"] = rs_libraries
    notices = [
        {"code": make_code(codes, "LibraryNotices", item.get("code")), "value": as_bool(item.get("value"))}
        for item in merged.get("library_notice") or []
    ]
    if notices:
        record["library_notice"] = notices
    for field in ("source_institution_code", "source_link_id", "linking_id"):
        if old.get(field):
            record[field] = old[field]
    return record


# --- output --------------------------------------------------------------------------------------

_BRIEF_DROP = ("user_role", "user_block", "user_note", "proxy_for_user", "rs_library", "library_notice")


def render_brief_item(user: Json, link: str) -> Json:
    """A user as ``GET /users`` lists it without ``expand=full``."""
    return {
        "primary_id": user.get("primary_id"),
        "first_name": user.get("first_name", ""),
        "last_name": user.get("last_name", ""),
        "gender": user.get("gender") or {"value": "", "desc": ""},
        "status": user.get("status") or {"value": "", "desc": ""},
        "password": "",
        "link": link,
        "requests": None,
        "loans": None,
        "fees": None,
    }


def render_view_brief(user: Json) -> Json:
    """``GET /users/{id}?view=brief``: core fields, emails, identifiers and statistics only."""
    brief = {key: value for key, value in user.items() if key not in _BRIEF_DROP}
    contact = brief.get("contact_info")
    if isinstance(contact, dict):
        brief["contact_info"] = {"address": [], "email": contact.get("email", []), "phone": []}
    return brief
