"""The sans-I/O core both clients share: request specs, URL building, response checking.

Nothing here sends a request. ``AlmaClient`` and ``AsyncAlmaClient`` differ only in the loop that
sends a spec's request and sleeps between tries; everything they decide, they decide here.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
import pydantic

from ._config import USER_AGENT, ClientConfig, Secret, deadline_seconds
from ._limits import BodyReader, check_request_bounds
from ._ratelimit import RateLimiter, TokenBucket
from ._response import RawResponse
from ._retry import IDEMPOTENT_METHODS, first_retry_wait, retry_kwargs, retry_reason
from .errors import (
    AlmaError,
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    DailyThresholdExceeded,
    InputError,
    RateLimitError,
    body_excerpt,
    body_kind,
    error_for_response,
)
from .models import AlmaModel

__all__ = ["BaseClient", "RequestSpec", "async_send_tracer", "parse_model", "quota_left", "send_tracer"]

log = logging.getLogger("alma_onelink")

T = TypeVar("T")
M = TypeVar("M", bound=AlmaModel)

# Set by `with_raw_response` wrappers: the next request returns a RawResponse instead of a parsed object.
raw_response_mode: contextvars.ContextVar[bool] = contextvars.ContextVar("alma_onelink_raw", default=False)


def parse_model(model: type[M]) -> Callable[[httpx.Response], M]:
    """A parser that validates a JSON response body as ``model``."""

    def parse(response: httpx.Response) -> M:
        try:
            return model.model_validate_json(response.content)
        except (pydantic.ValidationError, ValueError, RecursionError) as exc:
            problem = exc
        raise unreadable(response, f"Alma's response is not a valid {model.__name__}", problem)

    return parse


def unreadable(response: httpx.Response, what: str, exc: BaseException | None = None) -> APIResponseValidationError:
    """The error for a response whose body cannot be read as what was asked for; says what came instead."""
    request = response.request
    content_type = response.headers.get("content-type")
    kind = body_kind(response.content, content_type)
    excerpt = body_excerpt(response.content, content_type, limit=300)
    return APIResponseValidationError(
        f"{what}: {_first_problem(exc, kind, excerpt)}",
        method=request.method,
        path=request.url.path,
        status_code=response.status_code,
        body_excerpt=excerpt,
        body_kind=kind,
    )


def _first_problem(exc: BaseException | None, kind: str, excerpt: str | None) -> str:
    if kind == "html":
        return f"an HTML page came back where JSON was expected (a proxy or firewall in the way?): {excerpt}"
    if kind == "xml":
        return f"Alma sent XML where JSON was asked for: {excerpt}"
    if kind == "empty":
        return "the body is empty"
    if kind == "text":
        return f"the body is not JSON: {excerpt}"
    if not isinstance(exc, pydantic.ValidationError):
        return f"the body cannot be read ({type(exc).__name__})"
    errors = exc.errors(include_input=False, include_url=False)
    if not errors:
        return "the body does not fit"
    first = errors[0]
    if first.get("type") == "json_invalid":
        return f"the body is not valid JSON (cut short?): {excerpt}"
    where = ".".join(str(p) for p in first.get("loc", ())) or "(body)"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"


def parse_nothing(response: httpx.Response) -> None:
    """A parser for responses without a body worth reading (204, the test endpoint)."""
    return


@dataclass(frozen=True, slots=True)
class RequestSpec(Generic[T]):
    """One Alma call, fully decided: method, path, query, body, how to parse, whether to retry."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    idempotent: bool | None = None
    max_retries: int | None = None
    timeout: float | httpx.Timeout | None = None

    @property
    def is_idempotent(self) -> bool:
        """Whether sending this request twice has the same effect as sending it once."""
        return self.idempotent if self.idempotent is not None else self.method in IDEMPOTENT_METHODS

    def with_parse(self, parse: Callable[[httpx.Response], Any]) -> RequestSpec[Any]:
        """The same request with another parser (pages wrap the envelope parser)."""
        return RequestSpec(
            method=self.method,
            path=self.path,
            parse=parse,
            params=self.params,
            json=self.json,
            content=self.content,
            idempotent=self.idempotent,
            max_retries=self.max_retries,
            timeout=self.timeout,
        )


def quota_left(value: str) -> int | None:
    """``X-Exl-Api-Remaining`` as a number, or ``None`` if it is not one (only ASCII digits count)."""
    text = value.strip()
    return int(text) if text.isascii() and text.isdigit() else None


# httpcore's events (``http11.…``, ``http2.…``) just before and just after it writes a request's headers.
_LEAVING, _LEFT = "send_request_headers.started", "send_request_headers.complete"


def send_tracer(limiter: RateLimiter, sleep: Callable[[float], object]) -> Callable[[str, dict[str, Any]], None]:
    """httpx's ``trace`` callback that holds a request at ``limiter``'s gate just before it leaves
    (`RateLimiter.clear_to_send`, waiting with ``sleep``) and counts it from when it is written out."""

    def trace(event: str, info: dict[str, Any]) -> None:
        if event.endswith(_LEAVING):
            limiter.clear_to_send(sleep)
        elif event.endswith(_LEFT):
            limiter.sent()

    return trace


def async_send_tracer(
    limiter: RateLimiter, sleep: Callable[[float], Awaitable[object]]
) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
    """`send_tracer` for httpx's async transports, which await the callback."""

    async def trace(event: str, info: dict[str, Any]) -> None:
        if event.endswith(_LEAVING):
            await limiter.clear_to_send_async(sleep)
        elif event.endswith(_LEFT):
            limiter.sent()

    return trace


ELAPSED = "alma_onelink.elapsed"
"""The response extension holding the seconds measured around the send (in-process transports set no ``elapsed``)."""


def without_key(response: httpx.Response) -> httpx.Response:
    """``response`` with its request replaced by a copy that has no Authorization header.

    Done for the responses that reach callers (``with_raw_response``), whose request would otherwise
    carry the key; the others are dropped once parsed, and no error keeps one.
    """
    request = response.request
    if "authorization" in request.headers:
        try:
            content: bytes | None = request.content
        except httpx.RequestNotRead:
            content = None
        response.request = httpx.Request(
            request.method,
            request.url,
            headers=[(k, v) for k, v in request.headers.raw if k.lower() != b"authorization"],
            content=content,
            extensions=request.extensions,
        )
    return response


class BaseClient:
    """State and decisions shared by the sync and async clients."""

    _config: ClientConfig
    _limiter: TokenBucket | None
    _remaining: list[int | None]  # shared with with_options() copies
    _request_headers: dict[str, str]
    _body_headers: dict[str, str]

    def _init_base(self, config: ClientConfig, limiter: TokenBucket | None, remaining: list[int | None]) -> None:
        self._config = config
        self._limiter = limiter
        self._remaining = remaining
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        headers.update(config.default_headers)
        headers["Authorization"] = Secret(f"apikey {config.api_key}")
        self._request_headers = headers
        self._body_headers = {**headers, "Content-Type": "application/json"}

    @property
    def base_url(self) -> str:
        """The API root requests go to, e.g. ``https://api-na.hosted.exlibrisgroup.com/almaws/v1``."""
        return self._config.api_root

    @property
    def max_retries(self) -> int:
        """How many times a failed call is retried by default."""
        return self._config.max_retries

    @property
    def rate_limiter(self) -> TokenBucket | None:
        """The token bucket shared by this client and its copies, or ``None`` when off."""
        return self._limiter

    @property
    def remaining_daily_calls(self) -> int | None:
        """Calls left today under the institution's quota, from the last ``X-Exl-Api-Remaining``."""
        return self._remaining[0]

    def _timeout_for(self, spec: RequestSpec[Any]) -> httpx.Timeout:
        timeout = spec.timeout if spec.timeout is not None else self._config.timeout
        return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)

    def _build_request(self, http: httpx.Client | httpx.AsyncClient, spec: RequestSpec[Any]) -> httpx.Request:
        """The request for ``spec``; `InputError` (nothing sent) if it breaks a bound (see `check_request_bounds`)
        or ``http`` is closed."""
        if http.is_closed:
            raise InputError(self._closed_words())
        check_request_bounds(self._config.api_root, spec.path, spec.params)
        try:
            return http.build_request(
                spec.method,
                self._config.api_root + spec.path,
                params=dict(spec.params) if spec.params else None,  # an empty dict costs httpx a URL rebuild
                json=spec.json,
                content=spec.content,
                headers=self._body_headers if spec.content is not None else self._request_headers,
                timeout=self._timeout_for(spec),
            )
        except (httpx.InvalidURL, UnicodeError) as exc:  # a bound httpx knows and the checks above missed
            problem = f"This call cannot be sent: {exc}"
        raise InputError(problem)  # outside `except`: httpx's error holds the URL

    def _closed_words(self) -> str:
        name = type(self).__name__
        opener = "async with" if name.startswith("Async") else "with"
        return (
            f"This {name} is closed (its `{opener}` block has ended, or close() was called, or the httpx client "
            f"given as http_client= was closed), so nothing was sent: make a new client, and make each call inside "
            f"its `{opener}` block ({opener} {name}(...) as alma: ...)."
        )

    def _body_reader(self, spec: RequestSpec[Any], response: httpx.Response, started: float) -> BodyReader:
        """A reader for ``response``'s body under the size cap and the deadline of the attempt begun at ``started``.

        The deadline is the largest limit of the call's timeout, counted from ``started`` (a
        ``time.monotonic()`` reading taken before connecting). Raises at once for a declared length past
        the cap. For the sync client's transport, each later read may wait only for the time left.
        """
        seconds = deadline_seconds(self._timeout_for(spec))
        reader = BodyReader(
            spec.method,
            response.request.url.path,
            response,
            limit=self._config.max_response_bytes,
            deadline=None if seconds is None else started + seconds,
            timeout=seconds,
        )
        reader.start()
        reader.limit_reads()
        return reader

    def _body_failure(self, spec: RequestSpec[Any], exc: httpx.RequestError, reader: BodyReader | None) -> AlmaError:
        """A transport failure while the body was read; the deadline's error when the deadline cut the read off."""
        if reader is not None and isinstance(exc, httpx.TimeoutException) and reader.passed():
            return reader.timed_out()
        return self._connection_error(spec, exc)

    def _deadline_passed(
        self, spec: RequestSpec[Any], request: httpx.Request, reader: BodyReader | None, seconds: float | None
    ) -> APITimeoutError:
        """The error for an attempt cut off at its deadline: while the body was arriving, or before the headers."""
        if reader is not None:
            return reader.timed_out()
        return APITimeoutError(
            f"Alma did not answer within the {seconds:g} s timeout (a deadline for the whole response)",
            method=spec.method,
            path=request.url.path,
            request_sent=True,
        )

    def _retries_for(self, spec: RequestSpec[Any]) -> int:
        return self._config.max_retries if spec.max_retries is None else spec.max_retries

    def _on_response(self, spec: RequestSpec[Any], response: httpx.Response, started: float | None = None) -> None:
        """Record the quota header and the time taken; raise the typed error for an error response."""
        if started is not None:
            response.extensions[ELAPSED] = time.perf_counter() - started
        remaining = response.headers.get("x-exl-api-remaining")
        left = quota_left(remaining) if remaining is not None else None
        if left is not None:
            self._remaining[0] = left
        log.debug("%s %s -> %d", spec.method, self._config.api_root + spec.path, response.status_code)
        if response.is_success:
            return
        content = response.content
        key = self._config.api_key.encode()
        if key in content:  # a proxy that echoes the request back: the key never reaches an error
            content = content.replace(key, b"<redacted>")
        error = error_for_response(
            status_code=response.status_code,
            method=spec.method,
            path=response.request.url.path,
            content=content,
            headers={k: v for k, v in response.headers.items() if self._config.api_key not in v},
        )
        if isinstance(error, RateLimitError) and not isinstance(error, DailyThresholdExceeded):
            # Alma says the institution is too fast: every thread sharing the bucket slows down,
            # whether or not this call retries.
            self._rate_limited()
        raise error

    def _plan_retries(self, spec: RequestSpec[Any], first: AlmaError) -> tuple[float, dict[str, Any]]:
        """After a failed first try: the wait before retry 1 and the retry loop's settings.

        Re-raises ``first`` when the call may not be retried (no retries left, or sending again
        could do harm).
        """
        retries = self._retries_for(spec)
        if retries == 0 or retry_reason(first, idempotent=spec.is_idempotent) is None:
            raise first
        wait = first_retry_wait(first, method=spec.method, path=spec.path, max_retries=retries)
        options = retry_kwargs(method=spec.method, path=spec.path, max_retries=retries, idempotent=spec.is_idempotent)
        return wait, options

    def _result(self, spec: RequestSpec[T], response: httpx.Response, attempts: int, raw: bool | None) -> T:
        """The parsed object, or a ``RawResponse`` in raw mode (``with_raw_response``)."""
        if raw_response_mode.get() if raw is None else raw:
            return RawResponse(without_key(response), retries_taken=attempts - 1, parser=spec.parse)  # type: ignore[return-value]
        return spec.parse(response)

    def _connection_error(self, spec: RequestSpec[Any], exc: httpx.RequestError) -> APIConnectionError:
        path = httpx.URL(self._config.api_root + spec.path).path
        # Failing to open the connection means the request never left; anything later may have landed.
        not_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(
                f"Request to Alma timed out ({type(exc).__name__})",
                method=spec.method,
                path=path,
                request_sent=not not_sent,
            )
        return APIConnectionError(
            f"Connection to Alma failed ({type(exc).__name__}: {exc})",
            method=spec.method,
            path=path,
            request_sent=not not_sent,
        )

    def _rate_limited(self) -> None:
        if self._limiter is not None:
            self._limiter.slow_down()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._config.api_root!r})"
