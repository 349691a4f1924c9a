"""The sans-I/O core both clients share: request specs, URL building, response checking.

Nothing here sends a request. ``AlmaClient`` and ``AsyncAlmaClient`` differ only in the loop that
sends a spec's request and sleeps between tries; everything they decide, they decide here.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import pydantic

from ._config import USER_AGENT, ClientConfig
from ._ratelimit import TokenBucket
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
    error_for_response,
)
from .models import AlmaModel

__all__ = ["BaseClient", "RequestSpec", "encode_path", "parse_model"]

log = logging.getLogger("alma_onelink")

T = TypeVar("T")
M = TypeVar("M", bound=AlmaModel)

# Set by `with_raw_response` wrappers: the next request returns a RawResponse instead of a parsed object.
raw_response_mode: contextvars.ContextVar[bool] = contextvars.ContextVar("alma_onelink_raw", default=False)


def encode_path(template: str, *args: str) -> str:
    """Fill ``{}`` slots in ``template`` with percent-encoded ids; blank ids are rejected.

    Every character outside the unreserved set is escaped, so ``u0001#x/y?z`` reaches Alma as
    one id and can never change the route or the query.
    """
    encoded = []
    for arg in args:
        if not isinstance(arg, str):
            raise InputError(f"An id must be a string, got {type(arg).__name__} {arg!r}")
        if not arg.strip():
            raise InputError("An id must not be empty or blank.")
        segment = quote(arg, safe="")
        # "." and ".." are unreserved, and URL normalisation would turn them into a different route.
        encoded.append(segment.replace(".", "%2E") if set(arg) == {"."} else segment)
    return template.format(*encoded)


def clean_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters as Alma reads them: ``None`` dropped, booleans lower-case, lists comma-joined."""
    out: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, list | tuple | set | frozenset):
            items = sorted(value) if isinstance(value, set | frozenset) else list(value)
            if items:
                out[name] = ",".join(str(v) for v in items)
        else:
            out[name] = str(value)
    return out


def parse_model(model: type[M]) -> Callable[[httpx.Response], M]:
    """A parser that validates a JSON response body as ``model``."""

    def parse(response: httpx.Response) -> M:
        try:
            return model.model_validate_json(response.content)
        except pydantic.ValidationError as exc:
            request = response.request
            raise APIResponseValidationError(
                f"Alma's response is not a valid {model.__name__}: {_first_problem(exc, response)}",
                method=request.method,
                path=request.url.path,
                status_code=response.status_code,
            ) from exc

    return parse


def _first_problem(exc: pydantic.ValidationError, response: httpx.Response) -> str:
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type and response.content.lstrip()[:1] == b"<":
        return "Alma sent XML where JSON was asked for"
    errors = exc.errors()
    if not errors:
        return str(exc)
    first = errors[0]
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
            idempotent=self.idempotent,
            max_retries=self.max_retries,
            timeout=self.timeout,
        )


class BaseClient:
    """State and decisions shared by the sync and async clients."""

    _config: ClientConfig
    _limiter: TokenBucket | None
    _remaining: list[int | None]  # shared with with_options() copies
    _request_headers: dict[str, str]

    def _init_base(self, config: ClientConfig, limiter: TokenBucket | None, remaining: list[int | None]) -> None:
        self._config = config
        self._limiter = limiter
        self._remaining = remaining
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        headers.update(config.default_headers)
        headers["Authorization"] = f"apikey {config.api_key}"
        self._request_headers = headers

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

    def _build_request(self, http: httpx.Client | httpx.AsyncClient, spec: RequestSpec[Any]) -> httpx.Request:
        timeout = spec.timeout if spec.timeout is not None else self._config.timeout
        return http.build_request(
            spec.method,
            self._config.api_root + spec.path,
            params=dict(spec.params) if spec.params else None,  # an empty dict costs httpx a URL rebuild
            json=spec.json,
            headers=self._request_headers,
            timeout=timeout,
        )

    def _retries_for(self, spec: RequestSpec[Any]) -> int:
        return self._config.max_retries if spec.max_retries is None else spec.max_retries

    def _on_response(self, spec: RequestSpec[Any], response: httpx.Response) -> None:
        """Record the quota header; raise the typed error for an error response."""
        remaining = response.headers.get("x-exl-api-remaining")
        if remaining is not None and remaining.strip().isdigit():
            self._remaining[0] = int(remaining)
        log.debug("%s %s -> %d", spec.method, self._config.api_root + spec.path, response.status_code)
        if response.is_success:
            return
        error = error_for_response(
            status_code=response.status_code,
            method=spec.method,
            path=response.request.url.path,
            content=response.content,
            headers=response.headers,
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
            return RawResponse(response, retries_taken=attempts - 1, parser=spec.parse)  # type: ignore[return-value]
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
