"""The sans-I/O core: one request in, one response out. Gateway first (key, thresholds), then routes.

Order: a fault that loses the request on the way (``read_timeout``, ``connection_reset``) comes first,
since the gateway never sees such a request; then, as Alma's gateway does it, an unknown or missing key
is refused before anything is counted; then the daily quota and the per-second threshold; then the
injected error responses (429/500/503); then the API. Any exception inside a route becomes an
Alma-shaped 500, never a stack trace on the wire.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
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
        # Faults come first: a request lost on the way never reaches the gateway's counters.
        fault = self.governor.fault()
        try:
            dropped = fault in _DROPPED
            response = SandboxResponse(status=0) if dropped else self._through_gateway(request, method, fault)
        except AlmaFailure as failure:
            response = self._error(failure, request)
        except Exception:
            logger.exception("the Alma sandbox failed on %s %s", method, request.path)
            response = self._error(AlmaFailure("GENERAL_ERROR", GENERAL_ERROR_MESSAGE, status=500), request)
        response.headers["X-Exl-Api-Remaining"] = str(self.governor.remaining())
        response.delay = self.governor.delay()
        if fault in _DROPPED or fault == "commit_then_fail":
            response.fault = fault
        self._log(request=request, method=method, response=response, arrived=arrived, started=started, fault=fault)
        return response

    def _through_gateway(self, request: SandboxRequest, method: str, fault: str | None) -> SandboxResponse:
        self._check_key(request, method)
        threshold = self.governor.admit()
        if threshold is not None:
            raise AlmaFailure(threshold, THRESHOLD_MESSAGES[threshold], status=429)
        if wants_xml(request):
            raise AlmaFailure(
                "UNSUPPORTED_FORMAT",
                "The Alma sandbox answers in JSON only; ask for format=json.",
                status=406,
                xml=True,
            )
        if fault == "429":
            raise AlmaFailure("PER_SECOND_THRESHOLD", THRESHOLD_MESSAGES["PER_SECOND_THRESHOLD"], status=429)
        if fault == "500":
            raise AlmaFailure("GENERAL_ERROR", GENERAL_ERROR_MESSAGE, status=500)
        if fault == "503":
            raise AlmaFailure("GENERAL_ERROR", GATEWAY_RETRY_MESSAGE, status=503)
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
        if segments[:2] != API_PREFIX or len(segments) < 3 or segments[2] != "users":
            raise self._no_route(method, request)
        rest = segments[3:]
        params = request.params
        base = (request.origin or self.base_url).rstrip("/") + "/almaws/v1"
        if not rest:
            if method == "GET":
                return self._ok(search_users(self.service.store, params, base, self._overstate()))
            if method == "POST":
                return self._ok(self.service.create(request.body, params))
            raise self._bad_method(method, request)
        if rest == ["operation", "test"]:
            if method in ("GET", "POST"):
                return self._ok({})
            raise self._bad_method(method, request)
        user_id = rest[0]
        if len(rest) == 1:
            return self._user_route(request, method, user_id, params, base)
        if len(rest) == 2 and rest[1] in ("loans", "requests", "fees"):
            if method != "GET":
                raise self._bad_method(method, request)
            if rest[1] == "loans":
                return self._ok(list_loans(self.service, user_id, params, self._overstate()))
            if rest[1] == "requests":
                return self._ok(list_requests(self.service, user_id, params, self._overstate()))
            return self._ok(list_fees(self.service, user_id, params, base))
        raise self._no_route(method, request)

    def _user_route(
        self, request: SandboxRequest, method: str, user_id: str, params: Mapping[str, str], base: str
    ) -> SandboxResponse:
        if method == "GET":
            return self._ok(self.service.get(user_id, params, base))
        if method == "PUT":
            return self._ok(self.service.update(user_id, request.body, params))
        if method == "DELETE":
            self.service.delete(user_id, params)
            return SandboxResponse(status=204)
        if method == "POST":
            op = params.get("op", "auth").lower()
            if op != "auth":
                raise AlmaFailure("401859", "Action currently not supported.")
            password = params.get("password") or _unquote_header(request.header("exl-user-pw"))
            self.service.authenticate(user_id, password)
            return SandboxResponse(status=204)
        raise self._bad_method(method, request)

    def _overstate(self) -> int:
        return self.governor.knobs.overstate_total

    @staticmethod
    def _ok(data: Json) -> SandboxResponse:
        return SandboxResponse(status=200, headers={"Content-Type": JSON_TYPE}, body=json_body(data))

    @staticmethod
    def _no_route(method: str, request: SandboxRequest) -> AlmaFailure:
        return AlmaFailure(
            "ROUTING_ERROR",
            f"No API matches {method} {request.path}; the sandbox emulates the Users API only.",
            status=404,
        )

    @staticmethod
    def _bad_method(method: str, request: SandboxRequest) -> AlmaFailure:
        return AlmaFailure("ROUTING_ERROR", f"Method {method} is not allowed on {request.path}.", status=405)


def _unquote_header(value: str | None) -> str:
    # Alma takes the password header URL-encoded (OAS).
    return unquote(value) if value else ""
