"""``GET /users`` search and the per-user lists (loans, requests, fees), with Alma's paging and envelopes.

Search terms are ``field~value`` joined by `` AND ``. Names match word by word: each word of the value
must start a word of the field, ignoring case and accents. Ids, emails, identifiers and user groups
match whole values, ignoring case; a trailing ``*`` makes any value a prefix.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from ._fields import Json, code_value
from ._http import AlmaFailure
from ._records import render_brief_item
from ._store import Entry, Store
from ._users import UserService, is_active_loan, is_active_request, user_link

SEARCH_FIELDS = (
    "primary_id",
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "identifiers",
    "user_group",
    "phone_number",
    "ALL",
)
_WORD_FIELDS = frozenset({"first_name", "middle_name", "last_name"})
_ORDER_BY = ("last_name", "first_name", "primary_id")
_FEE_STATUSES = ("ACTIVE", "INDISPUTE", "EXPORTED", "CLOSED")
_WORD = re.compile(r"[^\W_]+")


def _general_error() -> AlmaFailure:
    return AlmaFailure("402119", "General error.")


def fold(value: str) -> str:
    """Case- and accent-insensitive form of ``value`` (``Müller`` → ``muller``)."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(value: str) -> list[str]:
    """The folded words of ``value``; ``_``, ``-`` and ``'`` separate words."""
    return _WORD.findall(fold(value))


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


def parse_query(q: str) -> list[tuple[str, str]]:
    """``[(field, value), …]`` from ``field~value AND field~value``; 402119 for anything else."""
    terms = []
    for part in q.split(" AND "):
        field, sep, value = part.strip().partition("~")
        field = field.strip()
        field = "ALL" if field.upper() == "ALL" else field.lower()
        if not sep or field not in SEARCH_FIELDS or not value.strip():
            raise _general_error()
        terms.append((field, value.strip()))
    return terms


def _values(user: Json, field: str) -> list[str]:
    if field in ("primary_id", "first_name", "middle_name", "last_name"):
        return [str(user.get(field) or "")]
    contact = user.get("contact_info") or {}
    if field == "email":
        return [str(e.get("email_address") or "") for e in contact.get("email") or []]
    if field == "phone_number":
        return [re.sub(r"\D", "", str(p.get("phone_number") or "")) for p in contact.get("phone") or []]
    if field == "identifiers":
        return [str(i.get("value") or "") for i in user.get("user_identifier") or []]
    if field == "user_group":
        return [code_value(user.get("user_group"))]
    # ALL: words from every searchable field, and the group's label.
    group = user.get("user_group") or {}
    every = [v for name in SEARCH_FIELDS[:-1] for v in _values(user, name)]
    return [*every, str(group.get("desc") or "") if isinstance(group, dict) else ""]


def _word_match(query: str, candidates: Iterable[str]) -> bool:
    wanted = words(query.rstrip("*"))
    have = [w for c in candidates for w in words(c)]
    return bool(wanted) and all(any(h.startswith(w) for h in have) for w in wanted)


def matches(user: Json, field: str, value: str) -> bool:
    """Whether ``user`` satisfies one ``field~value`` term."""
    candidates = _values(user, field)
    if field in _WORD_FIELDS or field == "ALL":
        return _word_match(value, candidates)
    if field == "phone_number":
        value = re.sub(r"[^\d*]", "", value)
    if value.endswith("*"):
        prefix = fold(value[:-1])
        return any(fold(c).startswith(prefix) for c in candidates if c)
    return any(fold(c) == fold(value) for c in candidates if c)


def _modified_since(params: Mapping[str, str]) -> date | None:
    raw = params.get("modify_date_from", "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw if "-" in raw else f"{raw[:4]}-{raw[4:6]}-{raw[6:8]}")
    except ValueError:
        raise _general_error() from None


def search_users(store: Store, params: Mapping[str, str], base: str, overstate: int) -> Json:
    """``GET /users``: filter, sort, page; brief items unless ``expand=full``."""
    limit, offset = paging(params)
    q = params.get("q", "").strip()
    since = _modified_since(params)
    if q and since is not None:
        raise _general_error()  # q and modify_date_from are mutually exclusive (OAS)
    terms = parse_query(q) if q else []
    order_by = params.get("order_by", "").strip().lower()
    if order_by and order_by not in _ORDER_BY:
        raise _general_error()
    hits: list[Entry] = [
        entry
        for _, entry in store.scan()
        if all(matches(entry["user"], field, value) for field, value in terms)
        and (since is None or date.fromisoformat(entry.get("modified", "1970-01-01")) >= since)
    ]
    keys = [order_by] if order_by else ["last_name", "first_name"]
    if order_by != "primary_id" and not q:
        keys.append("primary_id")  # Alma adds primary_id as a tie-breaker, except for queries
    hits.sort(key=lambda e: tuple(fold(str(e["user"].get(k) or "")) for k in keys))
    page = hits[offset : offset + limit]
    full = params.get("expand", "").strip().lower() == "full"
    items = []
    for entry in page:
        user = entry["user"]
        link = user_link(base, user["primary_id"])
        items.append({**user, "link": link} if full else render_brief_item(user, link))
    result: Json = {"user": items} if items else {}
    result["total_record_count"] = len(hits) + overstate
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
    page = [{**loan, "renewable": loan.get("renewable") if renewable else None} for loan in loans]
    page = page[offset : offset + limit]
    result: Json = {"item_loan": page} if page else {}
    result["total_record_count"] = len(loans) + overstate
    return result


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
    page = requests[offset : offset + limit]
    result: Json = {"user_request": page} if page else {}
    result["total_record_count"] = len(requests) + overstate
    return result


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
