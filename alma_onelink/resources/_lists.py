"""List endpoints of the Users API: a user search and a user's loans, requests and fees.

Each builder checks its options and returns a `ListPlan`: the request of the page at any offset and
how to read its envelope. Pages (``pagination``) do the walking; the resources only send.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

import httpx

from .._base import RequestSpec, parse_model
from .._limits import clean_params, encode_path
from ..errors import InputError, QueryNotUnderstoodError
from ..models import AlmaModel, Fee, FeeList, Loan, LoanList, RequestList, User, UserList, UserRequest
from ._options import MAX_PAGE_SIZE, one_of, page_args, retry_opts, text_option
from ._query import build_query

__all__ = ["ListPlan", "list_fees", "list_loans", "list_requests", "list_users"]

T = TypeVar("T")
E = TypeVar("E", bound=AlmaModel)

_ORDER_BY = frozenset({"last_name", "first_name", "primary_id"})
_LOAN_ORDER_BY = frozenset({"id", "loan_date", "due_date", "barcode", "title", "author", "return_date"})
_LOAN_STATUS = frozenset({"Active", "Complete"})
_REQUEST_TYPES = frozenset({"HOLD", "DIGITIZATION", "BOOKING"})
_REQUEST_STATUS = frozenset({"active", "history"})
_FEE_STATUS = frozenset({"ACTIVE", "INDISPUTE", "EXPORTED", "CLOSED"})
_DIRECTIONS = frozenset({"ASC", "DESC"})


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
            "total_record_count": total if isinstance(total, int) and total >= 0 else None,
            "offset": offset,
            "limit": self.limit,
            "envelope": envelope,
            "key": self.key,
            "final": not self.paged,
        }


def _counted(envelope: type[E]) -> Callable[[httpx.Response], E]:
    """The envelope parser, refusing a negative ``total_record_count`` (Alma's "query not understood")."""
    parse = parse_model(envelope)

    def parse_counted(response: httpx.Response) -> E:
        result = parse(response)
        total = getattr(result, "total_record_count", None)
        if isinstance(total, int) and total < 0:
            request = response.request
            raise QueryNotUnderstoodError(
                status_code=response.status_code,
                method=request.method,
                path=request.url.path,
                errors=[],
                body_excerpt=str(total),
            )
        return result

    return parse_counted


def _paged(
    path: str,
    envelope: type[E],
    params: Mapping[str, Any],
    max_retries: int | None,
    timeout: float | httpx.Timeout | None,
) -> Callable[[int], RequestSpec[E]]:
    """The GET spec of the page at any offset of one list endpoint."""
    options = retry_opts(max_retries, timeout)
    parse = _counted(envelope)
    query = clean_params(params)

    def spec_for(page_offset: int) -> RequestSpec[E]:
        return RequestSpec("GET", path, parse, params={**query, "offset": str(page_offset)}, **options)

    return spec_for


_ALMA_DATE = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")


def _modified_since(value: date | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and _ALMA_DATE.match(value.strip()):
        return value.strip()
    raise InputError(f"modify_date_from must be a date or text like 2024-05-01, got {value!r}")


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
    limit, offset = page_args(limit, offset)
    query = build_query(q, filters)
    if query is not None and modify_date_from is not None:
        raise InputError("Alma does not combine a search (q or filters) with modify_date_from; use one of them.")
    if expand is not None and expand not in ("full", "none"):
        raise InputError(f"expand={expand!r} is not valid for a user search; use 'full' or leave it out.")
    params = {
        "q": query,
        "limit": limit,
        "order_by": one_of("order_by", order_by, _ORDER_BY),
        "expand": expand,
        "modify_date_from": _modified_since(modify_date_from),
        "source_institution_code": text_option("source_institution_code", source_institution_code),
        "source_user_id": text_option("source_user_id", source_user_id),
    }

    spec_for = _paged("/users", UserList, params, max_retries, timeout)
    return ListPlan(spec_for, lambda env: env.user, _user_key, limit, offset)


def _user_key(user: User) -> Hashable | None:
    return user.primary_id.casefold() if user.primary_id else None


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
    limit, offset = page_args(limit, offset)
    path = encode_path("/users/{}/loans", user_id)
    if expand is not None and expand != "renewable":
        raise InputError(f"expand={expand!r} is not valid for loans; use 'renewable' or leave it out.")
    params = {
        "user_id_type": text_option("user_id_type", user_id_type),
        "limit": limit,
        "loan_status": one_of("loan_status", loan_status, _LOAN_STATUS, fold=True),
        "order_by": one_of("order_by", order_by, _LOAN_ORDER_BY),
        "direction": one_of("direction", direction, _DIRECTIONS, fold=True),
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
    limit, offset = page_args(limit, offset)
    path = encode_path("/users/{}/requests", user_id)
    params = {
        "user_id_type": text_option("user_id_type", user_id_type),
        "limit": limit,
        "request_type": one_of("request_type", request_type, _REQUEST_TYPES, fold=True),
        "status": one_of("status", status, _REQUEST_STATUS, fold=True),
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
    params = clean_params(
        {
            "user_id_type": text_option("user_id_type", user_id_type),
            "status": one_of("status", status, _FEE_STATUS, fold=True),
        }
    )
    options = retry_opts(max_retries, timeout)
    parse = _counted(FeeList)

    def spec_for(page_offset: int) -> RequestSpec[FeeList]:
        return RequestSpec("GET", path, parse, params=params, **options)

    return ListPlan(spec_for, lambda env: env.fee, lambda fee: fee.id, MAX_PAGE_SIZE, 0, paged=False)
