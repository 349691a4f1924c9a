"""The exception tree, and the one place Alma error bodies are parsed.

Every error the SDK raises is an `AlmaError`. Errors that come from an Alma response are
`APIStatusError` subclasses chosen by Alma's error code first and the HTTP status second
(Alma reports "user not found" as HTTP 400 with code 401861, so the status alone would mislead).
No error ever carries the API key: only the method, the path and Alma's own error details.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._error_body import AlmaErrorDetail, body_excerpt, body_kind, parse_error_details

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
    "ResponseTooLargeError",
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
    "Alma could not run this search. Usual causes: a field Alma cannot search (Python: see SEARCH_FIELDS), "
    "the same field twice, a condition without '~' (write field~value, joined by ' AND ' in capitals), "
    "a value Alma cannot parse (a date written other than YYYY-MM-DD), or a query given with a date "
    "of change (Python: q= with modify_date_from=)."
)

# Each hint in the command's words; what a Python caller passes goes in a `(Python: …)` aside, which the
# command leaves out (alma_onelink.cli._words.staff_words).
_HINTS: dict[str, str] = {
    "401861": "Alma looks the id up in the primary id and every unique identifier; "
    "check the id (Python: or pass user_id_type= to say which kind it is).",
    "401890": "No user has that id with that id type; check the id and its type (Python: user_id_type=).",
    "401851": "Another user already has this primary id or identifier value; look that user up with "
    "alma-onelink user show ID (Python: users.get(ID)) before creating a new one.",
    "401852": "The user group is not in this institution's UserGroups code table, or not allowed for the record type.",
    "401664": "Alma needs the named field; add it to the user before sending.",
    "401858": "The external id cannot change on update; send the value Alma has (Python: external_id).",
    "500038": "Passwords need at least 8 characters and must not contain the user name.",
    SEARCH_NOT_UNDERSTOOD: "Alma could not read a parameter of this call; check the values of its options.",
    PER_SECOND_THRESHOLD: "More than the institution's per-second quota of calls reached Alma; run it again in a "
    "moment (Python: if this happens often, lower the client's rate_limit=, 25 a second by default).",
    DAILY_THRESHOLD: "The institution's daily API quota is used up; it resets at midnight "
    "(Python: AlmaClient.remaining_daily_calls shows what is left).",
    "UNAUTHORIZED": "Check ALMA_API_KEY: the key must be set up for the Users API in the Ex Libris "
    "Developer Network, read/write for writes, for this environment (production or sandbox).",
}


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


class ResponseTooLargeError(APIResponseValidationError):
    """The response body was larger than the client's ``max_response_bytes``; the rest was not read.

    ``limit`` is that cap in bytes. The HTTP status in ``status_code`` says how Alma answered: a 2xx
    means the call itself was carried out (for a write, Alma applied it). Raise the cap with
    ``AlmaClient(max_response_bytes=...)`` if such bodies are expected; never retried.
    """

    def __init__(self, message: str, *, method: str, path: str, status_code: int, limit: int) -> None:
        self.limit = limit
        super().__init__(message, method=method, path=path, status_code=status_code)


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
