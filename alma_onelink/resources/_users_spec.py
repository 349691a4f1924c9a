"""Request specs for the Users endpoints: every check and every parameter, decided once.

``Users`` and ``AsyncUsers`` call these builders and only add I/O. Bad input raises
`InputError` here, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx
import pydantic

from .._base import RequestSpec, parse_model, parse_nothing
from .._constants import PROTECTED_FIELDS
from .._limits import check_id, clean_params, encode_json, encode_path
from ..errors import InputError
from ..models import User
from ..models._base import input_error
from ._edit import EditJournal, journal_edit_done, journal_edit_intent
from ._lists import ListPlan, list_fees, list_loans, list_requests, list_users
from ._options import MAX_PAGE_SIZE, flag, one_of, retry_opts, text_option
from ._query import SEARCH_FIELDS, build_query
from ._writes import outcome_unknown

__all__ = [
    "MAX_PAGE_SIZE",
    "EditJournal",
    "OVERRIDABLE_FIELDS",
    "SEARCH_FIELDS",
    "ListPlan",
    "Timeout",
    "build_query",
    "check_key",
    "create_user",
    "delete_user",
    "get_user",
    "journal_edit_done",
    "journal_edit_intent",
    "list_fees",
    "list_loans",
    "list_requests",
    "list_users",
    "outcome_unknown",
    "override_fields",
    "update_user",
]

Timeout = float | httpx.Timeout | None
"""A per-call timeout: seconds, an ``httpx.Timeout``, or ``None`` for the client's."""

OVERRIDABLE_FIELDS = frozenset(PROTECTED_FIELDS)
"""Fields of an external user that ``update(..., override=[...])`` may replace."""

_GET_EXPANDS = frozenset({"loans", "requests", "fees"})
_VIEWS = frozenset({"full", "brief"})


def _as_user(user: User | Mapping[str, Any], action: str) -> User:
    if isinstance(user, User):
        record = user
    elif isinstance(user, Mapping):
        try:
            record = User.model_validate(dict(user))
        except pydantic.ValidationError as exc:
            raise input_error("user", exc) from None
        except (RecursionError, ValueError, TypeError) as exc:
            raise InputError(
                f"The user cannot be read ({type(exc).__name__}); give a dict in Alma's JSON shape"
            ) from None
    else:
        raise InputError(f"Expected a User (or a dict in Alma's JSON shape), got {type(user).__name__}")
    if record.is_brief:
        hint = "change it with alma.users.edit(id)" if action == "update" else "build the full record"
        raise InputError(
            f"Cannot {action} {record.primary_id or 'a user'} from a brief search record: it lacks the identifiers, "
            f"contact details, notes and blocks Alma would then drop. Get the full record with "
            f"alma.users.get(id), or {hint}."
        )
    return record


def _check_required(user: User, action: str) -> None:
    missing = [
        name
        for name, value in (
            ("primary_id", user.primary_id),
            ("record_type", user.record_type.value if user.record_type else None),
            ("account_type", user.account_type.value if user.account_type else None),
        )
        if value is None or not str(value).strip()
    ]
    if missing:
        hint = " To change a few fields of an existing user, use users.edit(user_id)." if action == "update" else ""
        raise InputError(f"Cannot {action} a user without {', '.join(missing)} (Alma requires them).{hint}")
    check_id(user.primary_id, "primary_id")
    if user.password and len(user.password) < 8:
        raise InputError("password must be at least 8 characters (Alma rule 500038), or left out.")


def _body(user: User) -> bytes:
    return encode_json(user.to_alma(), "user")


def get_user(
    user_id: str,
    *,
    user_id_type: str | None,
    view: str | None,
    expand: str | Iterable[str] | None,
    max_retries: int | None = None,
    timeout: float | httpx.Timeout | None = None,
) -> RequestSpec[User]:
    """``GET /users/{id}``."""
    expands: list[str] = []
    if expand is not None:
        if isinstance(expand, str):
            expands = [e.strip() for e in expand.split(",")]
        elif isinstance(expand, Iterable) and all(isinstance(e, str) for e in expand):
            expands = list(expand)
        else:
            raise InputError(f"expand must be text such as 'loans,fees' or a list of names, got {expand!r}")
        expands = [e for e in expands if e and e != "none"]
        bad = [e for e in expands if e not in _GET_EXPANDS]
        if bad:
            raise InputError(f"expand={bad[0]!r} is not valid; use any of: fees, loans, requests")
    return RequestSpec(
        "GET",
        encode_path("/users/{}", user_id),
        parse_model(User),
        params=clean_params(
            {
                "user_id_type": text_option("user_id_type", user_id_type),
                "view": one_of("view", view, _VIEWS),
                "expand": expands or None,
            }
        ),
        **retry_opts(max_retries, timeout),
    )


def create_user(
    user: User | Mapping[str, Any],
    *,
    send_pin_number_letter: bool,
    source_institution_code: str | None,
    source_user_id: str | None = None,
    max_retries: int | None = None,
    timeout: float | httpx.Timeout | None = None,
) -> tuple[User, RequestSpec[User]]:
    """``POST /users``, after checking the fields Alma requires."""
    record = _as_user(user, "create")
    _check_required(record, "create")
    spec = RequestSpec(
        "POST",
        "/users",
        parse_model(User),
        params=clean_params(
            {
                "send_pin_number_letter": flag("send_pin_number_letter", send_pin_number_letter) or None,
                "source_institution_code": text_option("source_institution_code", source_institution_code),
                "source_user_id": text_option("source_user_id", source_user_id),
            }
        ),
        content=_body(record),
        **retry_opts(max_retries, timeout),
    )
    return record, spec


def override_fields(override: str | Iterable[str] | None) -> list[str]:
    """The ``override`` names as a list, each one a field Alma protects; else `InputError`."""
    if override is None:
        return []
    if isinstance(override, str):
        fields = [f.strip() for f in override.split(",") if f.strip()]
    elif isinstance(override, Iterable) and all(isinstance(f, str) for f in override):
        fields = [f.strip() for f in override]
    else:
        raise InputError(f"override must be field names such as ['user_group'], got {override!r}")
    bad = [f for f in fields if f not in OVERRIDABLE_FIELDS]
    if bad:
        raise InputError(
            f"override={bad[0]!r} is not a field Alma protects; use any of: {', '.join(sorted(OVERRIDABLE_FIELDS))}"
        )
    return fields


def update_user(
    user_id: str,
    user: User | Mapping[str, Any],
    *,
    user_id_type: str | None,
    override: str | Iterable[str] | None,
    send_pin_number_letter: bool,
    recalculate_roles: bool,
    max_retries: int | None = None,
    timeout: float | httpx.Timeout | None = None,
) -> tuple[User, list[str], RequestSpec[User]]:
    """``PUT /users/{id}``: replaces the whole record (Alma's "swap all").

    Never replayed blindly by the client: a PUT whose answer was lost is read back first (`_writes`).
    """
    path = encode_path("/users/{}", user_id)
    record = _as_user(user, "update")
    _check_required(record, "update")
    fields = override_fields(override)
    spec = RequestSpec(
        "PUT",
        path,
        parse_model(User),
        params=clean_params(
            {
                "user_id_type": text_option("user_id_type", user_id_type),
                "override": fields or None,
                "send_pin_number_letter": flag("send_pin_number_letter", send_pin_number_letter) or None,
                "recalculate_roles": flag("recalculate_roles", recalculate_roles) or None,
            }
        ),
        content=_body(record),
        idempotent=False,
        **retry_opts(max_retries, timeout),
    )
    return record, fields, spec


def delete_user(
    user_id: str,
    *,
    user_id_type: str | None,
    max_retries: int | None = None,
    timeout: float | httpx.Timeout | None = None,
) -> RequestSpec[None]:
    """``DELETE /users/{id}`` (204 on success); never replayed blindly (see `_writes`)."""
    return RequestSpec(
        "DELETE",
        encode_path("/users/{}", user_id),
        parse_nothing,
        params=clean_params({"user_id_type": text_option("user_id_type", user_id_type)}),
        idempotent=False,
        **retry_opts(max_retries, timeout),
    )


def read_back(
    user_id: str,
    *,
    user_id_type: str | None = None,
    max_retries: int | None = None,
    timeout: float | httpx.Timeout | None = None,
) -> RequestSpec[User]:
    """The ``GET`` that checks a write whose answer was lost (the full record, nothing expanded)."""
    return get_user(
        user_id, user_id_type=user_id_type, view=None, expand=None, max_retries=max_retries, timeout=timeout
    )


def check_key(*, write: bool, max_retries: int | None = None) -> RequestSpec[None]:
    """``GET``/``POST /users/operation/test``: is the key set up (for writing, with ``write=True``)?"""
    # The test endpoint changes nothing, so even its POST may be retried.
    return RequestSpec(
        "POST" if flag("write", write) else "GET",
        "/users/operation/test",
        parse_nothing,
        idempotent=True,
        **retry_opts(max_retries, None),
    )
