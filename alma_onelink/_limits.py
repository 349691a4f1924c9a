"""The bounds every call keeps, decided once for both clients (sans-I/O).

What a request may carry: ids (`check_id`, `encode_path`), query values (`clean_params`) and JSON
bodies (`encode_json`), each refused with an `InputError` naming the part to fix. Then, for the
request as a whole, what Alma's gateway or httpx would refuse (a URL too long to send, a control
character in a query parameter) is an `InputError` before any request leaves. After it: a response
body is read in chunks under a size cap (`ResponseTooLargeError`) and the attempt's deadline
(`APITimeoutError`), so neither a huge body nor a server that drips a byte at a time can hold a
call past its ``timeout``.
"""

from __future__ import annotations

import json
import math
import time
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from .errors import APITimeoutError, InputError, ResponseTooLargeError
from .models._base import is_placeholder_id

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_URL_LENGTH",
    "BodyReader",
    "check_id",
    "check_request_bounds",
    "clean_params",
    "encode_json",
    "encode_path",
    "has_surrogate",
]

MAX_URL_LENGTH = 8192
"""The longest URL a request may need, in characters once encoded: what web gateways commonly accept
(Alma's does not publish its limit; httpx refuses 65,536). Alma's ids are at most 255 characters."""


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate (``"\\udc80"``): text no UTF-8 request can carry."""
    return not text.isascii() and any("\ud800" <= ch <= "\udfff" for ch in text)


MAX_ID_LENGTH = 255
"""The longest primary id or identifier value Alma holds (``string255Length`` in ``rest_user.xsd``)."""


def check_id(value: object, name: str = "user_id") -> str:
    """``value`` if it can name a user; else `InputError` saying what to give instead.

    Refused: a non-string, a blank id, broken text, Alma's "no primary id (…)" placeholder, and an id
    longer than `MAX_ID_LENGTH` characters (no Alma user has one, and a huge one cannot go in a URL).
    """
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string (a primary id or identifier), got {type(value).__name__}")
    if not value.strip():
        raise InputError(f"{name} must not be empty or blank.")
    if len(value) > MAX_ID_LENGTH:
        raise InputError(
            f"{name} is {len(value):,} characters long; Alma's ids are at most {MAX_ID_LENGTH}: check the id."
        )
    if has_surrogate(value):
        raise InputError(f"{name} holds a lone surrogate character (broken text); give the id as plain text.")
    if is_placeholder_id(value):
        raise InputError(
            f"{name} {value!r} is Alma's placeholder for a contact without a primary id, not an id: no request "
            "can name that user by it. Look the user up by one of their identifiers (user_id_type=...) instead."
        )
    return value


def encode_path(template: str, *args: str, name: str = "user_id") -> str:
    """Fill ``{}`` slots in ``template`` with percent-encoded ids; blank ids are rejected.

    Every character outside the unreserved set is escaped, so ``u0001#x/y?z`` reaches Alma as
    one id and can never change the route or the query. Raises `InputError` for a non-string, blank or
    broken id, and for Alma's "no primary id (…)" placeholder, which names no user.
    """
    encoded = []
    for arg in args:
        check_id(arg, name)
        segment = quote(arg, safe="")
        # "." and ".." are unreserved, and URL normalisation would turn them into a different route.
        encoded.append(segment.replace(".", "%2E") if set(arg) == {"."} else segment)
    return template.format(*encoded)


def _query_value(name: str, value: object) -> str:
    text = value.isoformat() if isinstance(value, date) else value
    if isinstance(text, int | float) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str):
        raise InputError(f"{name} must be text, got {type(value).__name__} {value!r}")
    if has_surrogate(text) or not text.isprintable():
        raise InputError(f"{name} holds control characters or broken text; give plain text.")
    return text


def clean_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters as Alma reads them: ``None`` dropped, booleans lower-case, lists comma-joined.

    Raises `InputError` (naming the parameter) for a value no URL can carry as text.
    """
    out: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, list | tuple | set | frozenset):
            items = [_query_value(name, v) for v in value]
            if isinstance(value, set | frozenset):
                items.sort()
            if items:
                out[name] = ",".join(items)
        else:
            out[name] = _query_value(name, value)
    return out


def encode_json(body: Any, what: str) -> bytes:
    """``body`` as the UTF-8 JSON Alma reads; `InputError` naming the field if JSON cannot carry it.

    Lone surrogates and NaN or infinite numbers have no JSON form: they are refused, never changed.
    """
    try:
        return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except (UnicodeError, ValueError, TypeError, RecursionError):
        where = _unsendable(body, what) or what
        raise InputError(
            f"{where} cannot be sent to Alma as JSON (broken text, a NaN or infinite number, or nesting too deep); "
            "give plain text and finite numbers"
        ) from None


def _unsendable(value: Any, path: str, depth: int = 0) -> str | None:
    if depth > 64:
        return path
    if isinstance(value, str):
        return path if has_surrogate(value) else None
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and has_surrogate(key):
                return f"{path} (a key)"
            found = _unsendable(item, f"{path}.{key}", depth + 1)
            if found:
                return found
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _unsendable(item, f"{path}[{index}]", depth + 1)
            if found:
                return found
    return None


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def check_request_bounds(api_root: str, path: str, params: Mapping[str, Any] | None) -> None:
    """Raise `InputError` if a request to ``api_root + path`` with ``params`` cannot or should not be sent.

    ``path`` is percent-encoded (as `encode_path` builds it); ``params`` are the query's text values.
    Refused: a control character (tab, line break, NUL…) in a parameter, and a URL longer than
    `MAX_URL_LENGTH` once encoded; the message names the longest part.
    """
    # Ids in the path are percent-encoded whatever they hold (a control character too reaches Alma as
    # one segment, which names no user); in the query, Alma reads the text itself, so only plain text goes.
    query = {str(k): str(v) for k, v in (params or {}).items()}
    for name, value in query.items():
        if _has_control(value):
            raise InputError(f"{name} holds a control character (a tab, line break or the like); give plain text.")
    encoded_query = urlencode(query, quote_via=quote)
    length = len(api_root) + len(path) + (1 + len(encoded_query) if encoded_query else 0)
    if length <= MAX_URL_LENGTH:
        return
    longest_segment = max((len(segment) for segment in path.split("/")), default=0)
    parts = {
        "the id in the path": longest_segment,
        **{f"the parameter {name}": len(quote(v)) for name, v in query.items()},
    }
    longest = max(parts, key=lambda part: parts[part])
    advice = "check the id: Alma's ids are at most 255 characters" if longest.endswith("path") else "shorten it"
    raise InputError(
        f"This call would need a URL of {length:,} characters, more than the {MAX_URL_LENGTH:,} a request to Alma "
        f"can carry; {longest} takes {parts[longest]:,} of them: {advice}."
    )


class BodyReader:
    """Collects one response body, chunk by chunk, under a size cap and the attempt's deadline.

    Build it when the headers are in (`start` checks ``Content-Length`` against the cap at once),
    `add` each decoded chunk (raising as soon as the cap or the deadline is passed), then `finish`
    to make the body the response's content. Errors name the method and path, never the key.
    """

    def __init__(
        self,
        method: str,
        path: str,
        response: httpx.Response,
        *,
        limit: int,
        deadline: float | None,
        timeout: float | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``deadline`` is a ``clock()`` reading (``None``: none); ``timeout`` the seconds it stands for."""
        self.method = method
        self.path = path
        self.response = response
        self.limit = limit
        self.deadline = deadline
        self.timeout = timeout
        self.clock = clock
        self.size = 0
        self._chunks: list[bytes] = []
        self._timeouts: Any = None  # the request's own timeouts while `limit_reads` stands in for them

    def start(self) -> None:
        """Refuse at once a body whose declared length is past the cap."""
        declared = self.response.headers.get("content-length", "").strip()
        if declared.isascii() and declared.isdigit() and int(declared) > self.limit:
            raise self.too_large(f"is {int(declared):,} bytes (its Content-Length)")

    def limit_reads(self) -> None:
        """Let no read of the body wait longer than the time left (until `restore`).

        httpx's transport takes the read limit for the body from the request when the body is first
        read, so a server that goes silent mid-body is cut off at the deadline, give or take one read.
        """
        left = self.remaining()
        extensions = self.response.request.extensions
        timeouts = extensions.get("timeout")
        if left is not None and isinstance(timeouts, dict):
            own = timeouts.get("read")
            self._timeouts = timeouts
            extensions["timeout"] = {**timeouts, "read": max(left if own is None else min(own, left), 0.001)}

    def restore(self) -> None:
        """Put the request's own timeouts back (what callers of ``with_raw_response`` see)."""
        if self._timeouts is not None:
            self.response.request.extensions["timeout"] = self._timeouts
            self._timeouts = None

    def remaining(self) -> float | None:
        """Seconds left before the deadline (``None``: no deadline); ``0.0`` once it has passed."""
        return None if self.deadline is None else max(0.0, self.deadline - self.clock())

    def passed(self) -> bool:
        """Whether the deadline has passed (within a few milliseconds: a read cut off at it ends just then)."""
        left = self.remaining()
        return left is not None and left <= 0.005

    def add(self, chunk: bytes) -> None:
        """Take the next chunk; raise if the body is now past the cap, or the deadline has passed."""
        self.size += len(chunk)
        if self.size > self.limit:
            raise self.too_large(f"ran past {self.limit:,} bytes")
        self._chunks.append(chunk)
        if self.deadline is not None and self.clock() > self.deadline:
            raise self.timed_out()

    def finish(self) -> None:
        """Make what was read the response's content (``response.content``, ``.text``, ``.json()``)."""
        # httpx keeps a read body in `_content` (what `Response.read()` sets); a streamed response
        # read chunk by chunk under our bounds ends the same way.
        self.response._content = b"".join(self._chunks)

    def timed_out(self) -> APITimeoutError:
        """The error for a response still arriving when the attempt's deadline passed."""
        seconds = f"{self.timeout:g} s" if self.timeout is not None else "its"
        return APITimeoutError(
            f"Alma's answer did not arrive in full within the {seconds} timeout (a deadline for the whole "
            f"response, not for each read; {self.size:,} bytes of the body had come)",
            method=self.method,
            path=self.path,
            request_sent=True,
        )

    def too_large(self, how: str) -> ResponseTooLargeError:
        """The error for a body past the cap; says what the status means for the call."""
        status = self.response.status_code
        done = " (the call itself was carried out)" if 200 <= status < 300 else ""
        return ResponseTooLargeError(
            f"The response body {how}: more than the client's max_response_bytes ({self.limit:,} bytes), so it "
            f"was not read; HTTP {status}{done}. Raise max_response_bytes if such bodies are expected",
            method=self.method,
            path=self.path,
            status_code=status,
            limit=self.limit,
        )
