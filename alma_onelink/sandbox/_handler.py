"""The sans-I/O core: one request in, one response out. Gateway first (key, thresholds), then routes.

Order, as Alma's gateway does it: an unknown or missing key is refused, then the daily quota and the
per-second threshold; a refused request is answered at once, without drawing a fault or counting.
Then a fault is drawn for the accepted request: ``read_timeout``/``connection_reset`` lose it, and
``429``/``500``/``503`` answer with an Alma-shaped error; an injected ``429`` or ``connection_reset``
gives its call back (Alma never processed it). Then the API. ``commit_then_fail`` fires only if the
API succeeded. Any exception inside a route becomes an Alma-shaped 500, never a stack trace on the wire.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from urllib.parse import unquote

from alma_onelink.errors import parse_error_details

from ._faults import Governor
from ._fields import Json
from ._http import (
    JSON_TYPE,
    XML_TYPE,
    AlmaFailure,
    SandboxRequest,
    SandboxResponse,
    error_json,
    error_xml,
    json_body,
    wants_xml,
)
from ._log import LogEntry, RequestLog, masked_query
from ._routes import Route, match
from ._search import list_fees, list_loans, list_requests, search_users
from ._users import UserService

logger = logging.getLogger("alma_onelink.sandbox")

API_PREFIX = ["almaws", "v1"]
UNAUTHORIZED_MESSAGE = "API-key not defined or not configured to allow this API."
THRESHOLD_MESSAGES = {
    "PER_SECOND_THRESHOLD": "HTTP requests are more than allowed per second",
    "DAILY_THRESHOLD": "Daily API request threshold has been exceeded",
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
            self._check_key(request, method)
            threshold = self.governor.admit()
            if threshold is not None:
                raise AlmaFailure(threshold, THRESHOLD_MESSAGES[threshold], status=429)
            # Only now, past the gateway, is a fault drawn: a refused request never uses one up.
            fault = self.governor.fault()
            if fault in _UNPROCESSED:
                self.governor.refund()
            response = self._injected(fault) or self._api(request, method)
        except AlmaFailure as failure:
            response = self._error(failure, request)
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
            raise AlmaFailure("PER_SECOND_THRESHOLD", THRESHOLD_MESSAGES["PER_SECOND_THRESHOLD"], status=429)
        if fault == "500":
            raise AlmaFailure("GENERAL_ERROR", GENERAL_ERROR_MESSAGE, status=500)
        if fault == "503":
            raise AlmaFailure("GENERAL_ERROR", GATEWAY_RETRY_MESSAGE, status=503)
        return None

    def _api(self, request: SandboxRequest, method: str) -> SandboxResponse:
        if wants_xml(request):
            raise AlmaFailure(
                "UNSUPPORTED_FORMAT",
                "The Alma sandbox answers in JSON only; ask for format=json.",
                status=406,
                xml=True,
            )
        return self._route(request, method)

    def _check_key(self, request: SandboxRequest, method: str) -> None:
        key = api_key_of(request)
        read_only = self.keys.read_only(key) if key else None
        # A read-only key may still authenticate a user (OAS: op=auth is allowed for read-only keys).
        auth_op = (
            method == "POST" and request.params.get("op", "auth").lower() == "auth" and self._is_user_path(request)
        )
        if read_only is None or (read_only and method in _WRITE_METHODS and not auth_op):
            raise AlmaFailure("UNAUTHORIZED", UNAUTHORIZED_MESSAGE, status=400, xml=True)

    @staticmethod
    def _is_user_path(request: SandboxRequest) -> bool:
        segments = request.segments
        return segments[:2] == API_PREFIX and len(segments) == 4 and segments[2] == "users"

    def _error(self, failure: AlmaFailure, request: SandboxRequest) -> SandboxResponse:
        tracking = None if failure.code == "UNAUTHORIZED" else self.governor.tracking_id()
        if failure.xml or wants_xml(request):
            body, content_type = error_xml(failure.code, failure.message, tracking), XML_TYPE
        else:
            body, content_type = error_json(failure.code, failure.message, tracking), JSON_TYPE
        return SandboxResponse(status=failure.status, headers={"Content-Type": content_type}, body=body)

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
        error_code = None
        if response.status >= 400:
            details = parse_error_details(response.body)
            error_code = details[0].code if details else None
        handled_ms = (time.perf_counter() - started) * 1000
        self.log.record(
            LogEntry(
                time=arrived.isoformat().replace("+00:00", "Z"),
                method=method,
                path=request.path,
                query=masked_query(request.query),
                status=None if response.fault in _DROPPED else response.status,
                latency_ms=round(handled_ms + response.delay * 1000, 3),
                fault=fault,
                error_code=error_code,
            )
        )

    # --- routes ----------------------------------------------------------------------------------

    def _route(self, request: SandboxRequest, method: str) -> SandboxResponse:
        segments = request.segments
        route = match(segments[2:], method) if segments[:2] == API_PREFIX else None
        if route is None:
            raise AlmaFailure(
                "ROUTING_ERROR",
                f"No API matches {method} {request.path}; the sandbox emulates the Users API only.",
                status=404,
            )
        if method not in route.methods:
            raise AlmaFailure("ROUTING_ERROR", f"Method {method} is not allowed on {request.path}.", status=405)
        if not route.emulated(method):
            raise _not_emulated(route, method)
        params = request.params
        base = (request.origin or self.base_url).rstrip("/") + "/almaws/v1"
        pattern, user_id = route.pattern, route.params.get("user_id", "")
        if pattern == "/users":
            if method == "GET":
                return self._ok(search_users(self.service.store, params, base, self._overstate()))
            return self._ok(self.service.create(request.body, params))
        if pattern == "/users/operation/test":
            return self._ok({})
        if pattern == "/users/{user_id}":
            return self._user_route(request, route, method, base)
        if pattern == "/users/{user_id}/loans":
            return self._ok(list_loans(self.service, user_id, params, self._overstate()))
        if pattern == "/users/{user_id}/requests":
            return self._ok(list_requests(self.service, user_id, params, self._overstate()))
        return self._ok(list_fees(self.service, user_id, params, base))

    def _user_route(self, request: SandboxRequest, route: Route, method: str, base: str) -> SandboxResponse:
        user_id, params = route.params["user_id"], request.params
        if method == "GET":
            return self._ok(self.service.get(user_id, params, base))
        if method == "PUT":
            return self._ok(self.service.update(user_id, request.body, params))
        if method == "DELETE":
            self.service.delete(user_id, params)
            return SandboxResponse(status=204)
        op = params.get("op", "auth").lower()
        if op == "refresh":
            raise _not_emulated(route, method, "?op=refresh")
        if op != "auth":
            raise AlmaFailure("401859", "Action currently not supported.")
        password = params.get("password") or _unquote_header(request.header("exl-user-pw"))
        self.service.authenticate(user_id, password)
        return SandboxResponse(status=204)

    def _overstate(self) -> int:
        return self.governor.knobs.overstate_total

    @staticmethod
    def _ok(data: Json) -> SandboxResponse:
        return SandboxResponse(status=200, headers={"Content-Type": JSON_TYPE}, body=json_body(data))


def _not_emulated(route: Route, method: str, suffix: str = "") -> AlmaFailure:
    return AlmaFailure("NOT_EMULATED", route.not_emulated_message(method, suffix), status=501)


def _unquote_header(value: str | None) -> str:
    # Alma takes the password header URL-encoded (OAS).
    return unquote(value) if value else ""
