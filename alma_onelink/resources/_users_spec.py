"""Request specs for the Users endpoints: every check and every parameter, decided once.

``Users`` and ``AsyncUsers`` call these builders and only add I/O. Bad input raises
`InputError` here, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, Protocol, TypeVar, cast

import httpx

from .._base import RequestSpec, clean_params, encode_path, parse_model, parse_nothing
from .._config import check_max_retries, check_timeout
from .._response import RawResponse
from ..errors import (
    AlmaError,
    AlmaErrorDetail,
    AlreadyExistsError,
    APIConnectionError,
    APIStatusError,
    InputError,
    OutcomeUnknownError,
)
from ..models import AlmaModel, Fee, FeeList, Loan, LoanList, RequestList, User, UserList, UserRequest

__all__ = [
    "EditJournal",
    "OVERRIDABLE_FIELDS",
    "SEARCH_FIELDS",
    "ListPlan",
    "Timeout",
    "build_query",
    "create_user",
    "delete_user",
    "get_user",
    "list_fees",
    "list_loans",
    "list_requests",
    "list_users",
    "check_key",
    "update_user",
    "as_parsed",
    "create_outcome_unknown",
    "journal_edit_done",
    "journal_edit_intent",
    "not_ours",
    "outcome_unknown",
    "same_person",
]

T = TypeVar("T")
E = TypeVar("E", bound=AlmaModel)

Timeout = float | httpx.Timeout | None
"""A per-call timeout: seconds, an ``httpx.Timeout``, or ``None`` for the client's."""

MAX_PAGE_SIZE = 100

SEARCH_FIELDS = frozenset(
    {
        "primary_id", "first_name", "last_name", "middle_name", "email", "phone_number", "job_category",
        "identifiers", "birth_date", "user_group", "campus_code", "block_type", "id_type", "note_text",
        "note_type", "statistic_category", "fines_fees_sum", "general_info", "ALL",
    }
)  # fmt: skip
"""Fields Alma's user search understands (``q=field~value``)."""

OVERRIDABLE_FIELDS = frozenset(
    {
        "user_group", "job_category", "pin_number", "preferred_language", "campus_code", "rs_libraries",
        "user_title", "library_notices", "pref_first_name", "pref_middle_name", "pref_last_name",
        "cataloger_level",
    }
)  # fmt: skip
"""Fields of an external user that ``update(..., override=[...])`` may replace."""

_GET_EXPANDS = frozenset({"loans", "requests", "fees"})
_VIEWS = frozenset({"full", "brief"})
_ORDER_BY = frozenset({"last_name", "first_name", "primary_id"})
_LOAN_ORDER_BY = frozenset({"id", "loan_date", "due_date", "barcode", "title", "author", "return_date"})
_LOAN_STATUS = frozenset({"Active", "Complete"})
_REQUEST_TYPES = frozenset({"HOLD", "DIGITIZATION", "BOOKING"})
_REQUEST_STATUS = frozenset({"active", "history"})
_FEE_STATUS = frozenset({"ACTIVE", "INDISPUTE", "EXPORTED", "CLOSED"})
_DIRECTIONS = frozenset({"ASC", "DESC"})


def _one_of(name: str, value: str | None, allowed: Iterable[str], *, fold: bool = False) -> str | None:
    if value is None:
        return None
    options = sorted(allowed)
    for option in options:
        if value == option or (fold and value.casefold() == option.casefold()):
            return option
    raise InputError(f"{name}={value!r} is not valid; use one of: {', '.join(options)}")


def _page_args(limit: int, offset: int) -> tuple[int, int]:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_PAGE_SIZE:
        raise InputError(f"limit must be a whole number from 0 to {MAX_PAGE_SIZE} (Alma's page size), got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InputError(f"offset must be a whole number ≥ 0, got {offset!r}")
    return limit, offset


def _as_user(user: User | Mapping[str, Any]) -> User:
    if isinstance(user, User):
        return user
    if isinstance(user, Mapping):
        return User.model_validate(dict(user))
    raise InputError(f"Expected a User (or a dict in Alma's JSON shape), got {type(user).__name__}")


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
    if user.password and len(user.password) < 8:
        raise InputError("password must be at least 8 characters (Alma rule 500038), or left out.")


def build_query(q: str | None, filters: Mapping[str, Any]) -> str | None:
    """Alma's ``q``: the raw query and ``field~value`` filters joined with ``AND``.

    Raises ``InputError`` for a field Alma cannot search or an empty value.
    """
    parts: list[str] = []
    if q is not None:
        if not isinstance(q, str) or not q.strip():
            raise InputError("q must be a non-empty Alma query such as 'last_name~Smith'.")
        parts.append(q.strip())
    for field, value in filters.items():
        if field not in SEARCH_FIELDS:
            raise InputError(
                f"Unknown search field or option {field!r}; Alma can search: {', '.join(sorted(SEARCH_FIELDS))}"
            )
        text = value.isoformat() if isinstance(value, date) else str(value)
        if not text.strip():
            raise InputError(f"The search value for {field} is empty.")
        parts.append(f"{field}~{text.strip()}")
    return " AND ".join(parts) if parts else None


@dataclass(frozen=True, slots=True)
class ListPlan(Generic[T, E]):
    """How to fetch any page of a list: the spec for an offset, and how to read the envelope."""

    spec_for: Callable[[int], RequestSpec[E]]
    items: Callable[[E], list[T]]
    key: Callable[[T], Hashable | None]
    limit: int
    offset: int
    paged: bool = True

    def page_fields(self, offset: int, envelope: E) -> dict[str, Any]:
        """What a page of this list holds, read from the envelope of the page at ``offset``."""
        total = getattr(envelope, "total_record_count", None)
        return {
            "items": self.items(envelope),
            "total_record_count": total if isinstance(total, int) else None,
            "offset": offset,
            "limit": self.limit,
            "envelope": envelope,
            "key": self.key,
            "final": not self.paged,
        }


def _retry_opts(max_retries: int | None, timeout: float | httpx.Timeout | None) -> dict[str, Any]:
    return {
        "max_retries": None if max_retries is None else check_max_retries(max_retries),
        "timeout": None if timeout is None else check_timeout(timeout),
    }


def _paged(
    path: str,
    envelope: type[E],
    params: Mapping[str, Any],
    max_retries: int | None,
    timeout: float | httpx.Timeout | None,
) -> Callable[[int], RequestSpec[E]]:
    """The GET spec of the page at any offset of one list endpoint."""
    options = _retry_opts(max_retries, timeout)
    parse = parse_model(envelope)

    def spec_for(page_offset: int) -> RequestSpec[E]:
        return RequestSpec("GET", path, parse, params=clean_params({**params, "offset": page_offset}), **options)

    return spec_for


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
        expands = [e.strip() for e in expand.split(",")] if isinstance(expand, str) else [str(e) for e in expand]
        expands = [e for e in expands if e and e != "none"]
        bad = [e for e in expands if e not in _GET_EXPANDS]
        if bad:
            raise InputError(f"expand={bad[0]!r} is not valid; use any of: fees, loans, requests")
    return RequestSpec(
        "GET",
        encode_path("/users/{}", user_id),
        parse_model(User),
        params=clean_params(
            {"user_id_type": user_id_type, "view": _one_of("view", view, _VIEWS), "expand": expands or None}
        ),
        **_retry_opts(max_retries, timeout),
    )


def list_users(
    *,
    q: str | None,
    limit: int,
    offset: int,
    order_by: str | None,
    expand: str | None,
    modify_date_from: date | str | None,
    source_institution_code: str | None,
    source_user_id: str | None,
    filters: Mapping[str, Any],
    max_retries: int | None = None,
    timeout: float | httpx.Timeout | None = None,
) -> ListPlan[User, UserList]:
    """``GET /users``: the plan for every page of a search."""
    limit, offset = _page_args(limit, offset)
    query = build_query(q, filters)
    if query is not None and modify_date_from is not None:
        raise InputError("Alma does not combine a search (q or filters) with modify_date_from; use one of them.")
    if expand is not None and expand not in ("full", "none"):
        raise InputError(f"expand={expand!r} is not valid for a user search; use 'full' or leave it out.")
    modified = modify_date_from.isoformat() if isinstance(modify_date_from, date) else modify_date_from
    params = {
        "q": query,
        "limit": limit,
        "order_by": _one_of("order_by", order_by, _ORDER_BY),
        "expand": expand,
        "modify_date_from": modified,
        "source_institution_code": source_institution_code,
        "source_user_id": source_user_id,
    }

    spec_for = _paged("/users", UserList, params, max_retries, timeout)
    return ListPlan(spec_for, lambda env: env.user, _user_key, limit, offset)


def _user_key(user: User) -> Hashable | None:
    return user.primary_id.casefold() if user.primary_id else None


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
    record = _as_user(user)
    _check_required(record, "create")
    spec = RequestSpec(
        "POST",
        "/users",
        parse_model(User),
        params=clean_params(
            {
                "send_pin_number_letter": send_pin_number_letter or None,
                "source_institution_code": source_institution_code,
                "source_user_id": source_user_id,
            }
        ),
        json=record.to_alma(),
        **_retry_opts(max_retries, timeout),
    )
    return record, spec


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
) -> RequestSpec[User]:
    """``PUT /users/{id}``: replaces the whole record (Alma's "swap all")."""
    record = _as_user(user)
    _check_required(record, "update")
    fields: list[str] = []
    if override is not None:
        fields = [f.strip() for f in override.split(",")] if isinstance(override, str) else list(override)
        bad = [f for f in fields if f not in OVERRIDABLE_FIELDS]
        if bad:
            raise InputError(
                f"override={bad[0]!r} is not a field Alma protects; use any of: {', '.join(sorted(OVERRIDABLE_FIELDS))}"
            )
    return RequestSpec(
        "PUT",
        encode_path("/users/{}", user_id),
        parse_model(User),
        params=clean_params(
            {
                "user_id_type": user_id_type,
                "override": fields or None,
                "send_pin_number_letter": send_pin_number_letter or None,
                "recalculate_roles": recalculate_roles or None,
            }
        ),
        json=record.to_alma(),
        **_retry_opts(max_retries, timeout),
    )


def delete_user(
    user_id: str,
    *,
    user_id_type: str | None,
    max_retries: int | None = None,
    timeout: float | httpx.Timeout | None = None,
) -> RequestSpec[None]:
    """``DELETE /users/{id}`` (204 on success)."""
    return RequestSpec(
        "DELETE",
        encode_path("/users/{}", user_id),
        parse_nothing,
        params=clean_params({"user_id_type": user_id_type}),
        **_retry_opts(max_retries, timeout),
    )


def list_loans(
    user_id: str,
    *,
    user_id_type: str | None,
    limit: int,
    offset: int,
    loan_status: str | None,
    order_by: str | None,
    direction: str | None,
    expand: str | None,
    max_retries: int | None = None,
    timeout: float | httpx.Timeout | None = None,
) -> ListPlan[Loan, LoanList]:
    """``GET /users/{id}/loans``."""
    limit, offset = _page_args(limit, offset)
    path = encode_path("/users/{}/loans", user_id)
    if expand is not None and expand != "renewable":
        raise InputError(f"expand={expand!r} is not valid for loans; use 'renewable' or leave it out.")
    params = {
        "user_id_type": user_id_type,
        "limit": limit,
        "loan_status": _one_of("loan_status", loan_status, _LOAN_STATUS, fold=True),
        "order_by": _one_of("order_by", order_by, _LOAN_ORDER_BY),
        "direction": _one_of("direction", direction, _DIRECTIONS, fold=True),
        "expand": expand,
    }

    spec_for = _paged(path, LoanList, params, max_retries, timeout)
    return ListPlan(spec_for, lambda env: env.item_loan, lambda loan: loan.loan_id, limit, offset)


def list_requests(
    user_id: str,
    *,
    user_id_type: str | None,
    limit: int,
    offset: int,
    request_type: str | None,
    status: str | None,
    max_retries: int | None = None,
    timeout: float | httpx.Timeout | None = None,
) -> ListPlan[UserRequest, RequestList]:
    """``GET /users/{id}/requests``."""
    limit, offset = _page_args(limit, offset)
    path = encode_path("/users/{}/requests", user_id)
    params = {
        "user_id_type": user_id_type,
        "limit": limit,
        "request_type": _one_of("request_type", request_type, _REQUEST_TYPES, fold=True),
        "status": _one_of("status", status, _REQUEST_STATUS, fold=True),
    }

    spec_for = _paged(path, RequestList, params, max_retries, timeout)
    return ListPlan(spec_for, lambda env: env.user_request, lambda req: req.request_id, limit, offset)


def list_fees(
    user_id: str,
    *,
    user_id_type: str | None,
    status: str | None,
    max_retries: int | None = None,
    timeout: float | httpx.Timeout | None = None,
) -> ListPlan[Fee, FeeList]:
    """``GET /users/{id}/fees``: Alma returns every fee of a status in one response (no paging)."""
    path = encode_path("/users/{}/fees", user_id)
    params = clean_params({"user_id_type": user_id_type, "status": _one_of("status", status, _FEE_STATUS, fold=True)})

    def spec_for(page_offset: int) -> RequestSpec[FeeList]:
        return RequestSpec("GET", path, parse_model(FeeList), params=params, **_retry_opts(max_retries, timeout))

    return ListPlan(spec_for, lambda env: env.fee, lambda fee: fee.id, MAX_PAGE_SIZE, 0, paged=False)


def check_key(*, write: bool, max_retries: int | None = None) -> RequestSpec[None]:
    """``GET``/``POST /users/operation/test``: is the key set up (for writing, with ``write=True``)?"""
    # The test endpoint changes nothing, so even its POST may be retried.
    return RequestSpec(
        "POST" if write else "GET",
        "/users/operation/test",
        parse_nothing,
        idempotent=True,
        **_retry_opts(max_retries, None),
    )


# --- create recovery: decisions for a create whose answer was lost ---------------------------------


def outcome_unknown(exc: Exception) -> bool:
    """Whether a failed create may nevertheless have been applied by Alma."""
    if isinstance(exc, APIConnectionError):
        return exc.request_sent
    return isinstance(exc, APIStatusError) and (exc.status_code >= 500 or exc.status_code == 408)


def same_person(found: User, sent: User) -> bool:
    for name in ("first_name", "last_name"):
        ours, theirs = getattr(sent, name), getattr(found, name)
        if ours and theirs and ours.strip().casefold() != theirs.strip().casefold():
            return False
    return True


def not_ours(sent: User, cause: Exception) -> AlreadyExistsError:
    detail = AlmaErrorDetail(
        code="401851",
        message=f"User with identifier {sent.primary_id} already exists (found, with other names, while "
        "checking whether a create whose answer was lost took effect).",
    )
    method = getattr(cause, "method", "POST")
    path = getattr(cause, "path", "/almaws/v1/users")
    return AlreadyExistsError(status_code=400, method=method, path=path, errors=[detail])


def create_outcome_unknown(sent: User, cause: Exception, check: AlmaError) -> OutcomeUnknownError:
    """The error for a create whose answer was lost and whose check (a GET of the primary id) failed too."""
    method = getattr(cause, "method", "POST")
    path = getattr(cause, "path", "/almaws/v1/users")
    return OutcomeUnknownError(
        f"The create of {sent.primary_id} may or may not have taken effect: its answer was lost ({cause}) and "
        f"reading {sent.primary_id} back failed ({type(check).__name__}: {check}). Check with "
        f"alma.users.get({sent.primary_id!r}) before creating it again",
        method=method,
        path=path,
        write="create",
        target=str(sent.primary_id),
    )


def as_parsed(result: Any) -> User:
    return cast(User, result.parse() if isinstance(result, RawResponse) else result)


# --- journaling an edit: what goes into the journal, decided once for both clients ------------------


class EditJournal(Protocol):
    """What ``users.edit(..., journal=...)`` needs of a journal (``alma_onelink.onelink.Journal`` has it)."""

    def intend(
        self,
        *,
        action: Any,
        target: str,
        before: Mapping[str, Any] | None,
        staff: str | None = None,
        registration: str | None = None,
        operation: str | None = None,
        reason: str | None = None,
    ) -> Any: ...

    def complete(
        self, entry: Any, *, result: Any, after: Mapping[str, Any] | None = None, error: str | None = None
    ) -> Any: ...


def journal_edit_intent(journal: EditJournal, before: dict[str, Any], *, staff: str | None, reason: str | None) -> Any:
    """Journal the PUT of an edit ahead of it (the record before is the backup); returns the pending entry."""
    target = str(before.get("primary_id") or "")
    return journal.intend(
        action="update", target=target, before=before, staff=staff, operation="edit", reason=reason or "users.edit"
    )


def journal_edit_done(journal: EditJournal, entry: Any, saved: User | None, error: Exception | None) -> None:
    """Journal how the PUT of an edit ended: done (Alma's answer), failed, or unknown (its answer was lost)."""
    if error is None:
        journal.complete(entry, result="done", after=saved.to_alma() if saved is not None else None)
        return
    unknown = outcome_unknown(error)
    journal.complete(
        entry,
        result="unknown" if unknown else "failed",
        error=f"{type(error).__name__}: {error}".replace("\n", " "),
    )
