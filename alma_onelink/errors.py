"""The exception tree, and the one place Alma error bodies are parsed.

Every error the SDK raises is an `AlmaError`. Errors that come from an Alma response are
`APIStatusError` subclasses chosen by Alma's error code first and the HTTP status second
(Alma reports "user not found" as HTTP 400 with code 401861, so the status alone would mislead).
No error ever carries the API key: only the method, the path and Alma's own error details.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AlmaError",
    "AlmaErrorDetail",
    "AlreadyExistsError",
    "AuthenticationError",
    "BadRequestError",
    "DailyThresholdExceeded",
    "EditNotTakenError",
    "InputError",
    "InternalServerError",
    "NoNextPageError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "QueryNotUnderstoodError",
    "RateLimitError",
    "body_kind",
    "body_excerpt",
    "error_for_response",
    "parse_error_details",
]

NOT_FOUND_CODES = frozenset({"401861", "401890", "4019990", "4019998", "412400"})
ALREADY_EXISTS_CODES = frozenset({"401851", "60227"})
PER_SECOND_THRESHOLD = "PER_SECOND_THRESHOLD"
DAILY_THRESHOLD = "DAILY_THRESHOLD"
AUTH_CODES = frozenset({"UNAUTHORIZED"})
FORBIDDEN_CODES = frozenset({"FORBIDDEN", "INVALID_REQUEST", "REQUEST_TOO_LARGE"})
SEARCH_NOT_UNDERSTOOD = "402119"
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "exl-user-pw"})

SEARCH_HINT = (
    "Alma could not run this search. Usual causes: a field Alma cannot search (see SEARCH_FIELDS), "
    "the same field twice, a condition without '~' (write field~value, joined by ' AND ' in capitals), "
    "a value Alma cannot parse (a date written other than YYYY-MM-DD), or q given with modify_date_from."
)

_HINTS: dict[str, str] = {
    "401861": "Alma looks the id up in the primary id and every unique identifier; "
    "check the id, or pass user_id_type= to say which kind it is.",
    "401890": "No user has that id with that id type; check the id and user_id_type.",
    "401851": "Another user already has this primary id or identifier value; "
    "look that user up with users.get(...) before creating a new one.",
    "401852": "The user group is not in this institution's UserGroups code table, or not allowed for the record type.",
    "401664": "Alma needs the named field; add it to the user before sending.",
    "401858": "external_id cannot change on update; send the value Alma has.",
    "500038": "Passwords need at least 8 characters and must not contain the user name.",
    SEARCH_NOT_UNDERSTOOD: "Alma could not read a parameter of this call; check the values of its options.",
    PER_SECOND_THRESHOLD: "More than the institution's per-second quota of calls reached Alma; "
    "lower the client's rate_limit (default 25/s) if this happens often.",
    DAILY_THRESHOLD: "The institution's daily API quota is used up; it resets at midnight. "
    "AlmaClient.remaining_daily_calls shows what is left.",
    "UNAUTHORIZED": "Check ALMA_API_KEY: the key must be set up for the Users API in the Ex Libris "
    "Developer Network, read/write for writes, for this environment (production or sandbox).",
}


@dataclass(frozen=True, slots=True)
class AlmaErrorDetail:
    """One entry of Alma's ``errorList``: code, message, tracking id, and any other field it carried."""

    code: str
    message: str
    tracking_id: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        tracking = f" (tracking id {self.tracking_id})" if self.tracking_id else ""
        more = "".join(f"; {key}: {value}" for key, value in self.extra.items())
        return f"{self.code}: {self.message}{tracking}{more}"


class AlmaError(Exception):
    """Base class of every error this SDK raises."""


class InputError(AlmaError, ValueError):
    """Input was rejected before any request was sent; the message says what to fix."""


class APIConnectionError(AlmaError):
    """Alma could not be reached, or the connection broke before a response arrived.

    ``request_sent`` tells whether the request may have reached Alma: ``False`` when the
    connection could not even be opened (always safe to retry), ``True`` when it broke later.
    """

    def __init__(self, message: str, *, method: str, path: str, request_sent: bool = True) -> None:
        self.method = method
        self.path = path
        self.request_sent = request_sent
        super().__init__(f"{message} ({method} {path})")


class APITimeoutError(APIConnectionError):
    """The request timed out. For a write, Alma may or may not have applied it."""


class OutcomeUnknownError(APIConnectionError):
    """A write's answer was lost and reading it back failed too: whether Alma applied it is not known.

    ``write`` is the kind of write (``"create"``, ``"update"``, ``"delete"``) and ``target`` the id it
    was about; the message says how to check. Never retried blindly: check first.
    """

    def __init__(self, message: str, *, method: str, path: str, write: str, target: str) -> None:
        self.write = write
        self.target = target
        super().__init__(message, method=method, path=path, request_sent=True)


class EditNotTakenError(AlmaError):
    """``users.edit(..., strict=True)``: Alma saved the record but did not take some of the changes.

    The PUT happened: ``user`` is the record Alma saved, ``fields`` the fields whose asked value it
    did not keep (for example a field Alma protects on external users, or a value it normalised away).
    """

    def __init__(self, message: str, *, user_id: str, fields: Sequence[str], user: Any) -> None:
        self.user_id = user_id
        self.fields = list(fields)
        self.user = user
        super().__init__(message)


class NoNextPageError(AlmaError):
    """``get_next_page()`` on the last page (check ``has_next_page()`` first).

    What is raised is also a ``StopIteration`` (``StopAsyncIteration`` from an async page), as this
    call always raised.
    """


class APIResponseValidationError(AlmaError):
    """Alma answered with a body that does not match the expected object.

    ``body_excerpt`` keeps the start of a body that was not JSON (an HTML page from a proxy, say),
    and ``body_kind`` says what it was (``"html"``, ``"xml"``, ``"json"``, ``"text"`` or ``"empty"``).
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status_code: int,
        body_excerpt: str | None = None,
        body_kind: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.status_code = status_code
        self.body_excerpt = body_excerpt
        self.body_kind = body_kind
        super().__init__(f"{message} ({method} {path}, HTTP {status_code})")


class APIStatusError(AlmaError):
    """Alma answered with an error. ``errors`` holds every entry of Alma's ``errorList``."""

    def __init__(
        self,
        *,
        status_code: int,
        method: str,
        path: str,
        errors: list[AlmaErrorDetail],
        headers: Mapping[str, str] | None = None,
        body_excerpt: str | None = None,
        body_kind: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.method = method
        self.path = path
        self.errors = errors
        # Response headers only; an Authorization header, should one be passed, is never kept.
        self.headers: dict[str, str] = {
            str(name): str(value) for name, value in (headers or {}).items() if str(name).lower() not in _SECRET_HEADERS
        }
        self.body_excerpt = body_excerpt
        self.body_kind = body_kind
        super().__init__(self._describe())

    @property
    def code(self) -> str | None:
        """Alma's error code of the first error (``"401861"``, ``"PER_SECOND_THRESHOLD"``…)."""
        return self.errors[0].code if self.errors else None

    @property
    def message(self) -> str:
        """Alma's message of the first error, or a short description of the response."""
        if self.errors:
            return self.errors[0].message
        return self.body_excerpt or "(empty response body)"

    @property
    def tracking_id(self) -> str | None:
        """Alma's tracking id of the first error that has one: quote it to Ex Libris support."""
        return next((err.tracking_id for err in self.errors if err.tracking_id), None)

    @property
    def hint(self) -> str | None:
        """What usually fixes this error, where we know."""
        if self.code == SEARCH_NOT_UNDERSTOOD and self.method == "GET" and self.path.rstrip("/").endswith("/users"):
            return SEARCH_HINT
        return _HINTS.get(self.code or "")

    def _describe(self) -> str:
        head = f"Alma answered HTTP {self.status_code} to {self.method} {self.path}"
        if self.errors:
            lines = [head + ":", *(f"  {err}" for err in self.errors)]
        elif self.body_kind == "html":
            lines = [f"{head} with an HTML page, not an Alma error (a proxy or firewall?): {self.message}"]
        else:
            lines = [f"{head}: {self.message}"]
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, code={self.code!r}, "
            f"method={self.method!r}, path={self.path!r})"
        )


class BadRequestError(APIStatusError):
    """Alma rejected the request (HTTP 4xx that no more specific error covers)."""


class QueryNotUnderstoodError(BadRequestError):
    """Alma could not run a search: it answered ``total_record_count: -1`` (its sign for a query it
    did not understand, such as the same field searched twice) instead of a count.

    Not the same as "no match", which is a count of 0.
    """

    def _describe(self) -> str:
        return (
            f"Alma could not run this search (GET {self.path} answered total_record_count "
            f"{self.body_excerpt}, its sign for a query it did not understand; no match would be 0).\n"
            f"  hint: {SEARCH_HINT}"
        )

    @property
    def hint(self) -> str | None:
        """What usually causes Alma not to understand a search."""
        return SEARCH_HINT


class AuthenticationError(APIStatusError):
    """The API key is missing, unknown, or not set up for this API (``UNAUTHORIZED`` or HTTP 401)."""


class PermissionDeniedError(APIStatusError):
    """The key may not do this (HTTP 403), for example a read-only key asked to write."""


class NotFoundError(APIStatusError):
    """No such user (Alma codes 401861/401890, sent as HTTP 400) or HTTP 404."""


class AlreadyExistsError(APIStatusError):
    """A user with that primary id or identifier already exists (Alma code 401851)."""


class RateLimitError(APIStatusError):
    """Alma's per-second threshold was hit (HTTP 429 ``PER_SECOND_THRESHOLD``). Safe to retry."""


class DailyThresholdExceeded(RateLimitError):
    """The institution's daily quota is used up (HTTP 429 ``DAILY_THRESHOLD``). Never retried."""


class InternalServerError(APIStatusError):
    """Alma failed (HTTP 5xx)."""


# --- parsing -------------------------------------------------------------------------------------

# Alma writes camelCase; some gateways and wrappers write snake_case. Each name maps to its role.
_CODE_KEYS = ("errorCode", "error_code", "ErrorCode")
_MESSAGE_KEYS = ("errorMessage", "error_message", "ErrorMessage")
_TRACKING_KEYS = ("trackingId", "tracking_id", "TrackingId", "trackingID")
_DETAIL_KEYS = frozenset(_CODE_KEYS + _MESSAGE_KEYS + _TRACKING_KEYS)
_CONTAINER_KEYS = frozenset({"web_service_result", "errorList", "error_list", "error", "errors"})
_MAX_DEPTH = 8


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _first(obj: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        if obj.get(key) not in (None, ""):
            return obj[key]
    return None


def _detail(obj: Mapping[str, Any], tracking: str | None) -> AlmaErrorDetail | None:
    code, message = _first(obj, _CODE_KEYS), _first(obj, _MESSAGE_KEYS)
    if code is None and message is None:
        return None
    own = _first(obj, _TRACKING_KEYS)
    extra = {
        str(key): _text(value)
        for key, value in obj.items()
        if key not in _DETAIL_KEYS and isinstance(value, str | int | float | bool) and _text(value)
    }
    return AlmaErrorDetail(
        code=_text(code),
        message=_text(message),
        tracking_id=_text(own) or tracking or None,
        extra=extra,
    )


def _details_from_json(data: Any) -> list[AlmaErrorDetail]:
    details: list[AlmaErrorDetail] = []

    def walk(node: Any, depth: int, tracking: str | None) -> None:
        if depth > _MAX_DEPTH:
            return
        if isinstance(node, list):
            for item in node:
                walk(item, depth + 1, tracking)
            return
        if not isinstance(node, dict):
            return
        # A tracking id next to the error list (some gateways put it there) belongs to its errors.
        tracking = _text(_first(node, _TRACKING_KEYS)) or tracking
        if depth > 0:
            found = _detail(node, tracking)
            if found is not None:
                details.append(found)
                return
        for key in _CONTAINER_KEYS:
            if key in node:
                walk(node[key], depth + 1, tracking)

    walk(data, 0, None)
    return details


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _details_from_xml(text: str) -> list[AlmaErrorDetail]:
    try:
        # The stdlib parser resolves no external entities; Alma's error bodies are tiny.
        root = ET.fromstring(text.strip())  # noqa: S314
    except (ET.ParseError, UnicodeError, ValueError, RecursionError):
        return []
    # A tracking id outside every <error> (beside the list) belongs to the errors that have none.
    inside = {child for el in root.iter() if _local(el.tag) == "error" for child in el}
    outer_tracking = next(
        (
            (el.text or "").strip()
            for el in root.iter()
            if el not in inside and _local(el.tag) in _TRACKING_KEYS and (el.text or "").strip()
        ),
        None,
    )
    details: list[AlmaErrorDetail] = []
    for element in root.iter():
        if _local(element.tag) != "error":
            continue
        fields: dict[str, Any] = {_local(name): value for name, value in element.attrib.items()}
        fields.update({_local(child.tag): (child.text or "").strip() for child in element})
        found = _detail(fields, outer_tracking)
        if found is not None:
            details.append(found)
    return details


def _decode(content: bytes | str) -> str:
    return content.decode("utf-8", "replace") if isinstance(content, bytes) else content


def parse_error_details(content: bytes | str) -> list[AlmaErrorDetail]:
    """Alma's error entries in a response body (JSON, XML or wrapped); ``[]`` if it holds none.

    Codes, messages and tracking ids are read wherever real error bodies put them (a single error
    object or a list, wrapped in ``web_service_result`` or not, a tracking id beside the list); any
    other field of an error is kept in ``extra``. Never raises: HTML pages, truncated JSON and empty
    bodies simply yield no details.
    """
    stripped = _decode(content).lstrip().lstrip("\ufeff").lstrip()
    if not stripped:
        return []
    if stripped[0] in "{[":
        try:
            return _details_from_json(json.loads(stripped))
        except (ValueError, RecursionError):  # not JSON, or nested deeper than any error body
            return []
    if stripped[0] == "<":
        return _details_from_xml(stripped)
    return []


_TAG = re.compile(r"<[^>]*>")
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
_HTML_START = re.compile(r"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)


def body_kind(content: bytes | str, content_type: str | None = None) -> str:
    """What a body is: ``"html"``, ``"xml"``, ``"json"``, ``"text"`` or ``"empty"`` (by its header, then its start)."""
    text = _decode(content[:2048])
    head = text.lstrip().lstrip("\ufeff").lstrip()
    kind = (content_type or "").lower()
    if not head:
        return "empty"
    if "html" in kind or _HTML_START.match(head):
        return "html"
    if head[0] in "{[":
        return "json"
    if head[0] == "<":
        return "xml"
    return "text"


def body_excerpt(content: bytes | str, content_type: str | None = None, limit: int = 200) -> str | None:
    """A short, one-line excerpt of a body; an HTML page is shown as its text (title, message, support id)."""
    text = _decode(content)
    if body_kind(content, content_type) == "html":
        text = html.unescape(_TAG.sub(" ", _SCRIPT.sub(" ", text)))
    text = " ".join(text.split())
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_class(status_code: int, codes: set[str]) -> type[APIStatusError]:
    if DAILY_THRESHOLD in codes:
        return DailyThresholdExceeded
    if PER_SECOND_THRESHOLD in codes:
        return RateLimitError
    if codes & NOT_FOUND_CODES:
        return NotFoundError
    if codes & ALREADY_EXISTS_CODES:
        return AlreadyExistsError
    if codes & AUTH_CODES:
        return AuthenticationError
    if codes & FORBIDDEN_CODES:
        return PermissionDeniedError
    if status_code == 401:
        return AuthenticationError
    if status_code == 403:
        return PermissionDeniedError
    if status_code == 404:
        return NotFoundError
    if status_code == 429:
        return RateLimitError
    if status_code >= 500:
        return InternalServerError
    return BadRequestError


def error_for_response(
    *,
    status_code: int,
    method: str,
    path: str,
    content: bytes | str,
    headers: Mapping[str, str] | None = None,
) -> APIStatusError:
    """Build the typed error for an Alma error response (by Alma's code first, HTTP status second)."""
    details = parse_error_details(content)
    cls = _error_class(status_code, {d.code for d in details})
    content_type = None
    if headers is not None:
        content_type = next((str(v) for k, v in headers.items() if str(k).lower() == "content-type"), None)
    return cls(
        status_code=status_code,
        method=method,
        path=path,
        errors=details,
        headers=headers,
        body_excerpt=None if details else body_excerpt(content, content_type),
        body_kind=body_kind(content, content_type),
    )
