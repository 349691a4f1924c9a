"""The sans-I/O core: one request in, one response out. Gateway first (key, thresholds), then routes.

Order, as Alma's gateway does it: an unknown or missing key is refused, then the daily quota and the
per-second threshold; a refused request is answered at once, without drawing a fault or counting.
Then a fault is drawn for the accepted request: ``read_timeout``/``connection_reset`` lose it, and
``429``/``500``/``503`` answer with an Alma-shaped error; an injected ``429`` or ``connection_reset``
gives its call back (Alma never processed it). Then the API. ``commit_then_fail`` fires only if the
API succeeded. Any exception inside a route becomes an Alma-shaped 500, never a stack trace on the wire.
An answer asked for in XML that XML cannot carry (a control character in a record) is a 402119 naming
the character; a write whose answer that is is undone, so the refusal is true.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote

from alma_onelink._constants import API_PATH
from alma_onelink.errors import DAILY_THRESHOLD, PER_SECOND_THRESHOLD, InputError

from ._faults import Governor
from ._fields import Json, stamp_log
from ._http import (
    JSON_TYPE,
    XML_TYPE,
    AlmaFailure,
    SandboxRequest,
    SandboxResponse,
    body_is_xml,
    error_json,
    error_xml,
    json_body,
    wants_xml,
)
from ._log import LogEntry, RequestLog, masked_query
from ._routes import Route, match
from ._search import SearchKnobs, list_fees, list_loans, list_requests, search_users
from ._users import UserService
from ._xml import to_xml, user_from_xml

logger = logging.getLogger("alma_onelink.sandbox")

UNAUTHORIZED_MESSAGE = "API-key not defined or not configured to allow this API."
THRESHOLD_MESSAGES = {
    PER_SECOND_THRESHOLD: "HTTP requests are more than allowed per second",
    DAILY_THRESHOLD: "Daily API request threshold has been exceeded",
}
GATEWAY_RETRY_MESSAGE = "General error with the API Gateway \u2013 please retry later."
GENERAL_ERROR_MESSAGE = "General Error: An error has occurred while processing the request."
_WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
_DROPPED = frozenset({"read_timeout", "connection_reset"})
_UNPROCESSED = frozenset({"429", "connection_reset"})  # Alma never processed these: the call is given back


class KeyRing:
    """The API keys a sandbox accepts, each read-only or read/write. Thread-safe; never shows a key."""

    def __init__(self) -> None:
        self._keys: dict[str, bool] = {}
        self._lock = threading.Lock()

    def add(self, key: str, *, read_only: bool = False) -> None:
        """Accept ``key``; raises ``ValueError`` for a blank key."""
        if not key or not key.strip():
            raise ValueError("an API key cannot be blank")
        with self._lock:
            self._keys[key.strip()] = read_only

    def remove(self, key: str) -> None:
        """Stop accepting ``key`` (ignored if unknown)."""
        with self._lock:
            self._keys.pop(key.strip(), None)

    def read_only(self, key: str) -> bool | None:
        """``True``/``False`` for a known key, ``None`` for an unknown one."""
        with self._lock:
            return self._keys.get(key)

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)

    def __repr__(self) -> str:
        return f"KeyRing({len(self)} keys)"


def api_key_of(request: SandboxRequest) -> str | None:
    """The key from ``Authorization: apikey …`` or, failing that, the ``apikey`` query parameter."""
    header = request.header("authorization") or ""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "apikey" and value.strip():
        return value.strip()
    return request.params.get("apikey") or None


@dataclass(frozen=True)
class Call:
    """One request as the routes see it: its method, where it routed, its ``op`` and the base of its links."""

    request: SandboxRequest
    method: str  # upper case
    route: Route | None  # None: a path Alma does not have
    op: str  # the ``op`` parameter, lower case ("auth" when absent)
    base: str  # links in the answer start here: the origin the client used, then API_PATH

    @property
    def params(self) -> dict[str, str]:
        """The query parameters."""
        return self.request.params

    @property
    def operation(self) -> tuple[str, str] | None:
        """``(method, path pattern)``, the key of `ROUTES`; ``None`` for a path Alma does not have."""
        return (self.method, self.route.pattern) if self.route else None

    @property
    def user_id(self) -> str:
        """The ``{user_id}`` of the path."""
        return self.route.params["user_id"] if self.route else ""


class Handler:
    """Routes requests to the user service, under the gateway's rules; the sandbox's ``handle``."""

    def __init__(
        self,
        *,
        service: UserService,
        governor: Governor,
        keys: KeyRing,
        log: RequestLog,
        base_url: str,
        now: Callable[[], datetime],
    ) -> None:
        self.service = service
        self.governor = governor
        self.keys = keys
        self.log = log
        self.base_url = base_url
        self.now = now

    # --- the pipeline ----------------------------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Answer one request; never raises (internal failures become Alma-shaped 500s)."""
        started = time.perf_counter()
        arrived = self.now()
        method = request.method.upper()
        fault: str | None = None
        try:
            call = Call(
                request=request,
                method=method,
                route=match(request.segments, method),
                op=request.params.get("op", "auth").lower(),
                base=(request.origin or self.base_url).rstrip("/") + API_PATH,
            )
            self._check_key(call)
            threshold = self.governor.admit()
            if threshold is not None:
                raise AlmaFailure(threshold, THRESHOLD_MESSAGES[threshold], status=429)
            # Only now, past the gateway, is a fault drawn: a refused request never uses one up.
            fault = self.governor.fault()
            if fault in _UNPROCESSED:
                self.governor.refund()
            response = self._injected(fault) or self._api(call)
        except AlmaFailure as failure:
            response = self._error(failure, request)
        except InputError as exc:  # the answer, in XML, would be a broken document
            response = self._error(_not_in_xml(exc), request)
        except Exception:
            logger.exception("the Alma sandbox failed on %s %s", method, request.path)
            response = self._error(AlmaFailure("GENERAL_ERROR", GENERAL_ERROR_MESSAGE, status=500), request)
        if fault == "commit_then_fail":
            if 200 <= response.status < 300:
                response.fault = fault  # applied; now the response is lost
            else:
                fault = None  # Alma refused the request: the refusal is answered as normal
        response.headers["X-Exl-Api-Remaining"] = str(self.governor.remaining())
        response.delay = self.governor.delay()
        self._log(request=request, method=method, response=response, arrived=arrived, started=started, fault=fault)
        return response

    @staticmethod
    def _injected(fault: str | None) -> SandboxResponse | None:
        """The response an injected fault gives instead of the API's (raises for error responses)."""
        if fault in _DROPPED:
            return SandboxResponse(status=0, fault=fault)
        if fault == "429":
            raise AlmaFailure(PER_SECOND_THRESHOLD, THRESHOLD_MESSAGES[PER_SECOND_THRESHOLD], status=429)
        if fault == "500":
            raise AlmaFailure("GENERAL_ERROR", GENERAL_ERROR_MESSAGE, status=500)
        if fault == "503":
            raise AlmaFailure("GENERAL_ERROR", GATEWAY_RETRY_MESSAGE, status=503)
        return None

    def _check_key(self, call: Call) -> None:
        key = api_key_of(call.request)
        read_only = self.keys.read_only(key) if key else None
        # A read-only key may still authenticate a user (OAS: op=auth is allowed for read-only keys).
        auth_op = call.operation == ("POST", "/users/{user_id}") and call.op == "auth"
        if read_only is None or (read_only and call.method in _WRITE_METHODS and not auth_op):
            raise AlmaFailure("UNAUTHORIZED", UNAUTHORIZED_MESSAGE, status=400, xml=True)

    def _api(self, call: Call) -> SandboxResponse:
        """Past the gateway: the emulated operation ``call`` routes to, or why there is none."""
        route, method = call.route, call.method
        if route is None:
            raise AlmaFailure(
                "ROUTING_ERROR",
                f"No API matches {method} {call.request.path}; the sandbox emulates the Users API only.",
                status=404,
            )
        if method not in route.methods:
            raise AlmaFailure("ROUTING_ERROR", f"Method {method} is not allowed on {call.request.path}.", status=405)
        operation = ROUTES.get((method, route.pattern))
        if operation is None:
            raise _not_emulated(method, route.pattern)
        _check_paging(call)
        return operation(self, call)

    def _error(self, failure: AlmaFailure, request: SandboxRequest) -> SandboxResponse:
        tracking = None if failure.code == "UNAUTHORIZED" else self.governor.tracking_id()
        if failure.xml or wants_xml(request):
            body, content_type = error_xml(failure.code, failure.message, tracking), XML_TYPE
        else:
            body, content_type = error_json(failure.code, failure.message, tracking), JSON_TYPE
        return SandboxResponse(
            status=failure.status, headers={"Content-Type": content_type}, body=body, error_code=failure.code
        )

    def _log(
        self,
        *,
        request: SandboxRequest,
        method: str,
        response: SandboxResponse,
        arrived: datetime,
        started: float,
        fault: str | None,
    ) -> None:
        handled_ms = (time.perf_counter() - started) * 1000
        self.log.record(
            LogEntry(
                time=stamp_log(arrived),
                method=method,
                path=request.path,
                query=masked_query(request.query),
                status=None if response.fault in _DROPPED else response.status,
                latency_ms=round(handled_ms + response.delay * 1000, 3),
                fault=fault,
                error_code=response.error_code,
            )
        )

    def overstate(self) -> int:
        """What the ``overstate_total`` knob adds to every ``total_record_count`` now."""
        return self.governor.knobs.overstate_total

    def search_knobs(self) -> SearchKnobs:
        """The knobs a user search reads now."""
        knobs = self.governor.knobs
        return SearchKnobs(overstate=knobs.overstate_total, unsupported_query=knobs.unsupported_query)


# --- the emulated operations ---------------------------------------------------------------------


_MAX_INT = 2**31 - 1
"""The largest ``limit`` or ``offset`` Alma reads: it parses them as 32-bit whole numbers."""


def _check_paging(call: Call) -> None:
    """A ``limit`` or ``offset`` past what Alma reads is refused as Alma refuses it, a 400 (402119).

    The lists check the rest of their paging themselves; only the bound is checked here, before any
    list reads a number too large for its store.
    """
    for name in ("limit", "offset"):
        digits = call.params.get(name, "").strip().removeprefix("-").removeprefix("+").lstrip("0")
        if digits.isascii() and digits.isdigit() and (len(digits) > len(str(_MAX_INT)) or int(digits) > _MAX_INT):
            raise AlmaFailure("402119", "General error.")


def _ok(call: Call, root: str, data: Json) -> SandboxResponse:
    """200 with ``data`` in the format Alma would answer in: JSON, or XML with root element ``root``."""
    if wants_xml(call.request):
        body = to_xml(root, data) if data or root != "test" else b""
        return SandboxResponse(status=200, headers={"Content-Type": XML_TYPE}, body=body)
    return SandboxResponse(status=200, headers={"Content-Type": JSON_TYPE}, body=json_body(data))


def _not_in_xml(exc: InputError) -> AlmaFailure:
    """The refusal of an answer XML cannot carry: what holds which character, and how to read it anyway."""
    return AlmaFailure("402119", f"General error. Sandbox: {exc}; or ask for JSON (Accept: application/json).")


def _write(handler: Handler, call: Call, root: str, write: Callable[[], Json]) -> SandboxResponse:
    """A write and its answer in one transaction: if the answer cannot be written, neither is the record."""
    with handler.service.store.transaction():
        return _ok(call, root, write())


def _user_body(call: Call) -> bytes | Json:
    """The request body as the user rules take it: JSON bytes, or a ``<user>`` document read into JSON."""
    return user_from_xml(call.request.body) if body_is_xml(call.request) else call.request.body


def _delete_user(handler: Handler, call: Call) -> SandboxResponse:
    handler.service.delete(call.user_id, call.params)
    return SandboxResponse(status=204)


def _user_operation(handler: Handler, call: Call) -> SandboxResponse:
    if call.op == "refresh":
        raise _not_emulated(call.method, "/users/{user_id}", "?op=refresh")
    if call.op != "auth":
        raise AlmaFailure("401859", "Action currently not supported.")
    # Alma takes the password header URL-encoded (OAS).
    password = call.params.get("password") or unquote(call.request.header("exl-user-pw") or "")
    handler.service.authenticate(call.user_id, password)
    return SandboxResponse(status=204)


Operation = Callable[[Handler, Call], SandboxResponse]

ROUTES: dict[tuple[str, str], Operation] = {
    ("GET", "/users"): lambda h, c: _ok(c, "users", search_users(h.service, c.params, c.base, h.search_knobs())),
    ("POST", "/users"): lambda h, c: _write(h, c, "user", lambda: h.service.create(_user_body(c))),
    ("GET", "/users/operation/test"): lambda h, c: _ok(c, "test", {}),
    ("POST", "/users/operation/test"): lambda h, c: _ok(c, "test", {}),
    ("GET", "/users/{user_id}"): lambda h, c: _ok(c, "user", h.service.get(c.user_id, c.params, c.base)),
    ("PUT", "/users/{user_id}"): lambda h, c: _write(
        h, c, "user", lambda: h.service.update(c.user_id, _user_body(c), c.params)
    ),
    ("DELETE", "/users/{user_id}"): _delete_user,
    ("POST", "/users/{user_id}"): _user_operation,  # op=auth; op=refresh is not emulated
    ("GET", "/users/{user_id}/loans"): lambda h, c: _ok(
        c, "item_loans", list_loans(h.service, c.user_id, c.params, h.overstate())
    ),
    ("GET", "/users/{user_id}/requests"): lambda h, c: _ok(
        c, "user_requests", list_requests(h.service, c.user_id, c.params, h.overstate())
    ),
    ("GET", "/users/{user_id}/fees"): lambda h, c: _ok(c, "fees", list_fees(h.service, c.user_id, c.params, c.base)),
}
"""Every operation the sandbox emulates, by ``(method, path pattern)``; the rest of `ALMA_USERS_API` is 501."""


def _not_emulated(method: str, pattern: str, suffix: str = "") -> AlmaFailure:
    """501 for an operation of Alma's API the sandbox does not emulate (``suffix`` such as ``?op=refresh``)."""
    message = f"{method} {API_PATH}{pattern}{suffix} is part of Alma's API but not emulated by the sandbox."
    return AlmaFailure("NOT_EMULATED", message, status=501)
