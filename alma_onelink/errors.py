"""The exception tree, and the one place Alma error bodies are parsed.

Every error the SDK raises is an `AlmaError`. Errors that come from an Alma response are
`APIStatusError` subclasses chosen by Alma's error code first and the HTTP status second
(Alma reports "user not found" as HTTP 400 with code 401861, so the status alone would mislead).
No error ever carries the API key: only the method, the path and Alma's own error details.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
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
    "InputError",
    "InternalServerError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitError",
    "error_for_response",
    "parse_error_details",
]

NOT_FOUND_CODES = frozenset({"401861", "401890", "4019990", "4019998", "412400"})
ALREADY_EXISTS_CODES = frozenset({"401851", "60227"})
PER_SECOND_THRESHOLD = "PER_SECOND_THRESHOLD"
DAILY_THRESHOLD = "DAILY_THRESHOLD"
AUTH_CODES = frozenset({"UNAUTHORIZED"})
FORBIDDEN_CODES = frozenset({"FORBIDDEN", "INVALID_REQUEST", "REQUEST_TOO_LARGE"})
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "exl-user-pw"})

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
    PER_SECOND_THRESHOLD: "More than the institution's per-second quota of calls reached Alma; "
    "lower the client's rate_limit (default 25/s) if this happens often.",
    DAILY_THRESHOLD: "The institution's daily API quota is used up; it resets at midnight. "
    "AlmaClient.remaining_daily_calls shows what is left.",
    "UNAUTHORIZED": "Check ALMA_API_KEY: the key must be set up for the Users API in the Ex Libris "
    "Developer Network, read/write for writes, for this environment (production or sandbox).",
}


@dataclass(frozen=True, slots=True)
class AlmaErrorDetail:
    """One entry of Alma's ``errorList``: code, message and tracking id."""

    code: str
    message: str
    tracking_id: str | None = None

    def __str__(self) -> str:
        tracking = f" (tracking id {self.tracking_id})" if self.tracking_id else ""
        return f"{self.code}: {self.message}{tracking}"


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

    ``write`` is the kind of write (``"create"``, ``"update"``, ``"delete"``) and ``target`` its
    primary id; the message says how to check. Never retried blindly: check first.
    """

    def __init__(self, message: str, *, method: str, path: str, write: str, target: str) -> None:
        self.write = write
        self.target = target
        super().__init__(message, method=method, path=path, request_sent=True)


class APIResponseValidationError(AlmaError):
    """Alma answered with a body that does not match the expected object."""

    def __init__(self, message: str, *, method: str, path: str, status_code: int) -> None:
        self.method = method
        self.path = path
        self.status_code = status_code
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
    ) -> None:
        self.status_code = status_code
        self.method = method
        self.path = path
        self.errors = errors
        # Response headers only; an Authorization header, should one be passed, is never kept.
        self.headers: dict[str, str] = {
            name: value for name, value in (headers or {}).items() if name.lower() not in _SECRET_HEADERS
        }
        self.body_excerpt = body_excerpt
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
        """Alma's tracking id of the first error: quote it to Ex Libris support."""
        return self.errors[0].tracking_id if self.errors else None

    @property
    def hint(self) -> str | None:
        """What usually fixes this error, where we know."""
        return _HINTS.get(self.code or "")

    def _describe(self) -> str:
        head = f"Alma answered HTTP {self.status_code} to {self.method} {self.path}"
        lines = [head + ":", *(f"  {err}" for err in self.errors)] if self.errors else [f"{head}: {self.message}"]
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


def _details_from_json_error(error: Any) -> AlmaErrorDetail | None:
    if not isinstance(error, dict):
        return None
    code = error.get("errorCode")
    message = error.get("errorMessage")
    if code is None and message is None:
        return None
    tracking = error.get("trackingId")
    return AlmaErrorDetail(
        code=str(code if code is not None else "").strip(),
        message=str(message if message is not None else "").strip(),
        tracking_id=str(tracking).strip() if tracking else None,
    )


def _details_from_json(data: Any) -> list[AlmaErrorDetail]:
    if not isinstance(data, dict):
        return []
    if "web_service_result" in data and isinstance(data["web_service_result"], dict):
        data = data["web_service_result"]
    error_list = data.get("errorList")
    if not isinstance(error_list, dict):
        return []
    errors = error_list.get("error")
    if isinstance(errors, dict):
        errors = [errors]
    if not isinstance(errors, list):
        return []
    return [d for d in (_details_from_json_error(e) for e in errors) if d is not None]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _details_from_xml(text: str) -> list[AlmaErrorDetail]:
    try:
        # The stdlib parser resolves no external entities; Alma's error bodies are tiny.
        root = ET.fromstring(text.strip())  # noqa: S314
    except (ET.ParseError, UnicodeError, ValueError):
        return []
    details: list[AlmaErrorDetail] = []
    for element in root.iter():
        if _local(element.tag) != "error":
            continue
        fields = {_local(child.tag): (child.text or "").strip() for child in element}
        if "errorCode" in fields or "errorMessage" in fields:
            details.append(
                AlmaErrorDetail(
                    code=fields.get("errorCode", ""),
                    message=fields.get("errorMessage", ""),
                    tracking_id=fields.get("trackingId") or None,
                )
            )
    return details


def parse_error_details(content: bytes | str) -> list[AlmaErrorDetail]:
    """Alma's error entries in a response body (JSON, XML or wrapped); ``[]`` if it holds none.

    Never raises: HTML pages, truncated JSON and empty bodies simply yield no details.
    """
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    stripped = text.lstrip().lstrip("\ufeff").lstrip()
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


def _excerpt(content: bytes | str, limit: int = 200) -> str | None:
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
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
    return cls(
        status_code=status_code,
        method=method,
        path=path,
        errors=details,
        headers=headers,
        body_excerpt=None if details else _excerpt(content),
    )
