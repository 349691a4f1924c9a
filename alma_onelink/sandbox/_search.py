"""``GET /users`` search and the per-user lists (loans, requests, fees), with Alma's paging and envelopes.

``q`` takes ``field~value`` terms joined by `` AND ``, and such groups joined by `` OR `` (AND binds
tighter). Every field Alma documents is searchable. Names, note texts, ``general_info`` and ``ALL``
match word by word: each word of the value must start a word of the field, ignoring case and accents.
The other fields match whole values, ignoring case; a trailing ``*`` makes any value a prefix. Phone
numbers and birth dates compare their digits only (``birth_date~1990-03-01`` or ``~19900301``), and a
phone number matches with or without its country code.
``fines_fees_sum~12.5`` matches users whose unpaid active fees add up to that amount.

A query Alma cannot run (an unknown field, a term without ``~`` or value, ``ALL`` with ``AND``) is
answered as the ``unsupported_query`` knob says: ``402119`` (the default), or ``-1``, Alma's
``{"total_record_count": -1}`` with no users.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from ._fields import Json, code_value
from ._http import AlmaFailure
from ._query import UnsupportedQuery, UserQuery, parse_query
from ._records import render_brief_item
from ._users import UserService, is_active_loan, is_active_request, user_link

_ORDER_BY = ("last_name", "first_name", "primary_id")
_FEE_STATUSES = ("ACTIVE", "INDISPUTE", "EXPORTED", "CLOSED")
T = TypeVar("T")


@dataclass(frozen=True)
class SearchKnobs:
    """What a search reads from the sandbox's knobs."""

    overstate: int = 0
    unsupported_query: str = "402119"


def _general_error() -> AlmaFailure:
    return AlmaFailure("402119", "General error.")


def paging(params: Mapping[str, str]) -> tuple[int, int]:
    """``limit`` (0 to 100, default 10) and ``offset`` (default 0); anything else is 402119."""
    try:
        limit = int(params.get("limit", "10") or "10")
        offset = int(params.get("offset", "0") or "0")
    except ValueError:
        raise _general_error() from None
    if not 0 <= limit <= 100 or offset < 0:
        raise _general_error()
    return limit, offset


def _page(
    key: str, items: Sequence[T], limit: int, offset: int, overstate: int, *, show: Callable[[T], Any] | None = None
) -> Json:
    """One page of ``items`` under ``key`` (no key when empty), shown with ``show``, and the total count."""
    page = items[offset : offset + limit]
    result: Json = {key: [show(item) for item in page] if show else list(page)} if page else {}
    result["total_record_count"] = len(items) + overstate
    return result


def _modified_since(params: Mapping[str, str]) -> date | None:
    raw = params.get("modify_date_from", "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw if "-" in raw else f"{raw[:4]}-{raw[4:6]}-{raw[6:8]}")
    except ValueError:
        raise _general_error() from None


def user_query(params: Mapping[str, str]) -> UserQuery:
    """The `UserQuery` of ``GET /users``'s ``q``, ``order_by`` and ``modify_date_from``.

    Raises `UnsupportedQuery` for a ``q`` Alma cannot run, 402119 for anything else it refuses.
    """
    q = params.get("q", "").strip()
    since = _modified_since(params)
    if q and since is not None:
        raise _general_error()  # q and modify_date_from are mutually exclusive (OAS)
    groups = parse_query(q) if q else ()
    order_by = params.get("order_by", "").strip().lower()
    if order_by and order_by not in _ORDER_BY:
        raise _general_error()
    keys = [order_by] if order_by else ["last_name", "first_name"]
    if order_by != "primary_id" and not q:
        keys.append("primary_id")  # Alma adds primary_id as a tie-breaker, except for queries
    return UserQuery(groups, tuple(keys), since)


def search_users(service: UserService, params: Mapping[str, str], base: str, knobs: SearchKnobs) -> Json:
    """``GET /users``: filter, sort, page; brief items unless ``expand=full``."""
    limit, offset = paging(params)
    try:
        query = user_query(params)
    except UnsupportedQuery:
        if knobs.unsupported_query == "-1":
            return {"total_record_count": -1}
        raise
    store = service.store
    total, uids = store.search(query, limit, offset)
    full = params.get("expand", "").strip().lower() == "full"
    shown = []
    for entry in store.get_many(uids):  # one deleted since the search (by another process) is left out
        user = entry["user"]
        link = user_link(base, user["primary_id"])
        shown.append({**user, "link": link} if full else render_brief_item(user, link))
    result: Json = {"user": shown} if shown else {}
    result["total_record_count"] = total + knobs.overstate
    return result


def _sort_items(items: list[Json], key: str, descending: bool) -> list[Json]:
    return sorted(items, key=lambda item: str(item.get(key) or ""), reverse=descending)


def list_loans(service: UserService, user_id: str, params: Mapping[str, str], overstate: int) -> Json:
    """``GET /users/{id}/loans``: ``loan_status`` Active (default) or Complete, sorted and paged."""
    uid, _ = service.find(user_id, params.get("user_id_type"))
    limit, offset = paging(params)
    status = params.get("loan_status", "Active").strip().lower()
    if status not in ("active", "complete"):
        raise AlmaFailure("401652", "General Error: An error has occurred while processing the request.")
    loans = [loan for loan in service.store.items(uid, "loans") if is_active_loan(loan) == (status == "active")]
    order = {"id": "loan_id", "barcode": "item_barcode"}.get(params.get("order_by", "id").lower())
    key = order or params.get("order_by", "loan_id").lower()
    loans = _sort_items(loans, key, params.get("direction", "ASC").upper() == "DESC")
    renewable = "renewable" in params.get("expand", "").lower()

    def show(loan: Json) -> Json:
        return {**loan, "renewable": loan.get("renewable") if renewable else None}

    return _page("item_loan", loans, limit, offset, overstate, show=show)


def list_requests(service: UserService, user_id: str, params: Mapping[str, str], overstate: int) -> Json:
    """``GET /users/{id}/requests``: ``status`` active (default) or history, optional ``request_type``."""
    uid, _ = service.find(user_id, params.get("user_id_type"))
    limit, offset = paging(params)
    history = params.get("status", "active").strip().lower() == "history"
    request_type = params.get("request_type", "").strip().upper()
    requests = [
        req
        for req in service.store.items(uid, "requests")
        if is_active_request(req) != history
        and (not request_type or str(req.get("request_type") or "").upper() == request_type)
    ]
    return _page("user_request", requests, limit, offset, overstate)


def list_fees(service: UserService, user_id: str, params: Mapping[str, str], base: str) -> Json:
    """``GET /users/{id}/fees``: fees of one ``status`` (ACTIVE by default), with their total."""
    uid, entry = service.find(user_id, params.get("user_id_type"))
    status = params.get("status", "ACTIVE").strip().upper() or "ACTIVE"
    if status not in _FEE_STATUSES:
        raise AlmaFailure("401666", "Parameter is not valid.")
    primary_id = entry["user"]["primary_id"]
    link = user_link(base, primary_id)
    fees: list[dict[str, Any]] = []
    for fee in service.store.items(uid, "fees"):
        if code_value(fee.get("status")).upper() == status:
            fees.append(
                {
                    **fee,
                    "user_primary_id": {"value": primary_id, "link": link},
                    "link": f"{link}/fees/{fee.get('id')}",
                }
            )
    if not fees:
        return {"total_record_count": 0, "total_sum": 0, "currency": None}
    total = round(sum(float(fee.get("balance") or 0) for fee in fees), 2)
    return {"fee": fees, "total_record_count": len(fees), "total_sum": total, "currency": "USD"}
