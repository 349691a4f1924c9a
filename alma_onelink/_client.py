"""``AlmaClient`` and ``AsyncAlmaClient``: the only places that send requests and sleep.

Both take a `RequestSpec`, wait their turn at the rate limiter, send,
turn the outcome into a typed error or a parsed object, and retry what is safe to retry. All the
deciding happens in ``_base`` and ``_retry``; these loops differ only in ``await``.

Each request also passes the rate limiter's gate just before its headers are written (httpx's
``trace`` extension); transports that report nothing (the sandbox's, ``httpx.MockTransport``) have none.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

import httpx
import tenacity

from ._base import BaseClient, RequestSpec, async_send_tracer, send_tracer
from ._client_checks import check_parts, check_sandbox_options
from ._config import (
    DEFAULT_MAX_RESPONSE_BYTES,
    ClientConfig,
    check_default_headers,
    check_max_response_bytes,
    check_max_retries,
    check_timeout,
    deadline_seconds,
    resolve_config,
)
from ._limits import BodyReader
from ._ratelimit import TokenBucket, paced_by_limiter
from .errors import AlmaError, InputError
from .resources.users import AsyncUsers, Users

if TYPE_CHECKING:
    from .sandbox import Sandbox

__all__ = ["AlmaClient", "AsyncAlmaClient"]

T = TypeVar("T")

POOL = httpx.Limits(max_connections=100, max_keepalive_connections=100)
"""Every connection of a burst kept open (httpx keeps 20): each second's 25 go out on open connections."""


def _limiter_for(config: ClientConfig, rate_limiter: TokenBucket | None) -> TokenBucket | None:
    if rate_limiter is not None:
        return rate_limiter
    return TokenBucket(config.rate_limit) if config.rate_limit is not None else None


def _changed_config(
    config: ClientConfig,
    timeout: float | httpx.Timeout | None,
    max_retries: int | None,
    default_headers: Mapping[str, str] | None,
    max_response_bytes: int | None = None,
) -> ClientConfig:
    changes: dict[str, Any] = {}
    if max_response_bytes is not None:
        changes["max_response_bytes"] = check_max_response_bytes(max_response_bytes)
    if timeout is not None:
        changes["timeout"] = check_timeout(timeout)
    if max_retries is not None:
        changes["max_retries"] = check_max_retries(max_retries)
    if default_headers is not None:
        changes["default_headers"] = {**config.default_headers, **check_default_headers(default_headers)}
    return dataclasses.replace(config, **changes)


class _ClientCommon(BaseClient):
    """What both clients do the same way: configuration, copies, the sandbox and env constructors."""

    _owns_http: bool

    def _configure(
        self,
        *,
        make_http: Callable[[httpx.Timeout], Any],
        http_client: Any,
        transport: Any,
        rate_limiter: TokenBucket | None,
        sleep: object,
        asynchronous: bool,
        **config_args: Any,
    ) -> None:
        check_parts(http_client, transport, sleep, rate_limiter, asynchronous=asynchronous)
        config = resolve_config(**config_args)
        if http_client is not None and transport is not None:
            raise InputError("Give either http_client= or transport=, not both.")
        self._http = http_client if http_client is not None else make_http(config.timeout)
        self._owns_http = http_client is None
        self._init_base(config, _limiter_for(config, rate_limiter), [None])
        self._bind_resources()

    def _bind_resources(self) -> None:
        raise NotImplementedError

    @classmethod
    def _sandbox_transport(cls, sandbox: Sandbox) -> Any:
        raise NotImplementedError

    @classmethod
    def from_env(cls, **options: Any) -> Self:
        """A client configured from ``ALMA_API_KEY``, ``ALMA_REGION`` and ``ALMA_BASE_URL``.

        Raises:
            InputError: ``ALMA_API_KEY`` is not set (use `sandbox` to work without Alma).
        """
        return cast("Callable[..., Self]", cls)(**options)

    @classmethod
    def sandbox(cls, sandbox: Sandbox | None = None, **options: Any) -> Self:
        """A client on the in-process Alma sandbox (seeded demo data unless you pass your own).

        ``options`` are the constructor's other options (``rate_limit``, ``max_retries``, ``sleep``…);
        the key, the address and the transport are the sandbox's own.

        Raises:
            InputError: ``sandbox`` is not a `Sandbox`, an option sets the key, the address or the
                transport, or an option is not one the constructor takes.
        """
        from .sandbox import Sandbox  # noqa: PLC0415  (the emulator loads only when asked for)

        check_sandbox_options(cls, sandbox, options, isinstance(sandbox, Sandbox))
        target = sandbox if sandbox is not None else Sandbox.demo()
        make = cast("Callable[..., Self]", cls)
        return make(
            api_key=target.api_key, base_url=target.base_url, transport=cls._sandbox_transport(target), **options
        )

    def _left(self) -> None:
        """The request is out (or failed): if it passed no gate, the limiter counts it from when it was let through."""
        if self._limiter is not None:
            self._limiter.finished()

    def _paced_retries(self, first: AlmaError, wait: float, options: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        """With a rate limiter, a per-second 429 is retried as soon as the limiter lets it through.

        The limiter has already paused and slowed every request sharing it, and queues the retry
        ahead of first tries; a backoff on top would only leave Alma's budget unused.
        """
        if self._limiter is None:
            return wait, options
        backoff = options["wait"]

        def wait_for(state: tenacity.RetryCallState) -> float:
            outcome = state.outcome
            failure = outcome.exception() if outcome is not None else None
            return 0.0 if paced_by_limiter(failure) else float(backoff(state))

        return (0.0 if paced_by_limiter(first) else wait), {**options, "wait": wait_for}

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_response_bytes: int | None = None,
    ) -> Self:
        """A copy with other settings that shares this client's connections, rate limiter and quota reading."""
        clone = copy.copy(self)
        clone._owns_http = False
        config = _changed_config(self._config, timeout, max_retries, default_headers, max_response_bytes)
        clone._init_base(config, self._limiter, self._remaining)
        clone._bind_resources()
        return clone


class AlmaClient(_ClientCommon):
    """Synchronous client for the Alma Users API.

    Args:
        api_key: the Alma API key; defaults to ``ALMA_API_KEY``. Sent only in the
            ``Authorization`` header, never in a URL, log line or error.
        region: ``na``, ``eu``, ``ap``, ``aps``, ``ca`` or ``cn``; defaults to ``ALMA_REGION``, then ``na``.
        base_url: the gateway origin instead of a region (``ALMA_BASE_URL``); a trailing
            ``/almaws/v1`` is accepted.
        timeout: seconds, or an ``httpx.Timeout``; default 30 s (10 s to connect). A deadline for
            each attempt's whole response, connecting and every read of the body together (the
            largest of an ``httpx.Timeout``'s limits; none when reads have no limit): a server that
            answers a byte at a time is cut off at it with `APITimeoutError`. Each phase keeps its
            own limit too (connecting: at most 10 s by default). A call that is retried gets the
            deadline again for each attempt. The async client holds the deadline exactly; the sync
            one checks it as each part of the body arrives, and lets no single read wait longer than
            the time left when the body began.
        max_retries: retries of a failed call that is safe to retry (default 3).
        rate_limit: requests per second (default 25, Alma's per-institution threshold); ``None`` turns it off.
        rate_limiter: a `RateLimiter` to share with other clients of the same institution.
        default_headers: extra headers for every request.
        http_client: your own ``httpx.Client`` (not closed by this client).
        transport: an httpx transport, e.g. ``httpx.MockTransport`` in tests.
        sleep: how to wait between retries and for the rate limiter (tests pass a fake).
        max_response_bytes: the largest response body read, in bytes (default 50 MiB); past it the
            call raises `ResponseTooLargeError` and the rest is not read.

    Raises:
        InputError: no key, an unknown region, conflicting options, a value out of its range, or a part
            of the wrong kind (``http_client``, ``transport``, ``sleep``, ``rate_limiter``); from any
            call once the client is closed (after its ``with`` block): nothing is sent.
    """

    users: Users

    def __init__(
        self,
        *,
        api_key: str | None = None,
        region: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 3,
        rate_limit: float | None = 25.0,
        rate_limiter: TokenBucket | None = None,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._http: httpx.Client
        self._sleep = sleep if sleep is not None else time.sleep
        self._configure(
            make_http=lambda timeout: httpx.Client(transport=transport, timeout=timeout, limits=POOL),
            http_client=http_client,
            transport=transport,
            rate_limiter=rate_limiter,
            sleep=sleep,
            asynchronous=False,
            api_key=api_key,
            region=region,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            rate_limit=rate_limit,
            default_headers=default_headers,
            max_response_bytes=max_response_bytes,
        )

    def _bind_resources(self) -> None:
        self.users = Users(self)

    @classmethod
    def _sandbox_transport(cls, sandbox: Sandbox) -> httpx.BaseTransport:
        return sandbox.transport()

    def close(self) -> None:
        """Close the connection pool (unless it was passed in as ``http_client``).

        A closed client sends nothing more: each call raises `InputError` (make a new client).
        """
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send_once(self, spec: RequestSpec[Any], *, retry: bool = False) -> httpx.Response:
        request = self._build_request(self._http, spec)  # bad input fails here, before taking a turn
        if self._limiter is not None:
            self._limiter.acquire(self._sleep, retry=retry)
            self._limiter.follow_send()
            request.extensions["trace"] = send_tracer(self._limiter, self._sleep)
        started, began = time.perf_counter(), time.monotonic()
        failure: AlmaError
        try:
            try:
                response = self._http.send(request, stream=True)
            finally:
                self._left()
        except httpx.RequestError as exc:  # transport failures before the headers
            failure = self._connection_error(spec, exc)
        else:
            reader: BodyReader | None = None
            try:
                reader = self._body_reader(spec, response, began)
                for chunk in response.iter_bytes():
                    reader.add(chunk)
                reader.finish()
            except httpx.RequestError as exc:  # the body broke off, timed out, or cannot be decoded
                failure = self._body_failure(spec, exc, reader)
            except AlmaError as exc:  # past the size cap or the deadline
                failure = exc
            else:
                self._on_response(spec, response, started)
                return response
            finally:
                response.close()
                if reader is not None:
                    reader.restore()
        raise failure  # raised outside `except`: the error keeps no link to httpx's, which holds the request

    def _request(self, spec: RequestSpec[T], *, raw: bool | None = None) -> T:
        """Send ``spec`` with retries; the parsed object (or a ``RawResponse`` in raw mode)."""
        try:
            response = self._send_once(spec)
            attempts = 1
        except AlmaError as first:
            # _plan_retries re-raises what may not be retried
            wait, retry_options = self._paced_retries(first, *self._plan_retries(spec, first))
            self._sleep(wait)
            for attempt in tenacity.Retrying(sleep=self._sleep, **retry_options):
                with attempt:
                    attempts = attempt.retry_state.attempt_number + 1
                    response = self._send_once(spec, retry=True)
        return self._result(spec, response, attempts, raw)


class AsyncAlmaClient(_ClientCommon):
    """Asynchronous client for the Alma Users API; the same options as `AlmaClient`.

    Use it with ``async with AsyncAlmaClient(...) as alma:``. Every task of a client shares its
    connection pool and its rate limiter.
    """

    users: AsyncUsers

    def __init__(
        self,
        *,
        api_key: str | None = None,
        region: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 3,
        rate_limit: float | None = 25.0,
        rate_limiter: TokenBucket | None = None,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._http: httpx.AsyncClient
        self._sleep = sleep if sleep is not None else asyncio.sleep
        self._configure(
            make_http=lambda timeout: httpx.AsyncClient(transport=transport, timeout=timeout, limits=POOL),
            http_client=http_client,
            transport=transport,
            rate_limiter=rate_limiter,
            sleep=sleep,
            asynchronous=True,
            api_key=api_key,
            region=region,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            rate_limit=rate_limit,
            default_headers=default_headers,
            max_response_bytes=max_response_bytes,
        )

    def _bind_resources(self) -> None:
        self.users = AsyncUsers(self)

    @classmethod
    def _sandbox_transport(cls, sandbox: Sandbox) -> httpx.AsyncBaseTransport:
        return sandbox.async_transport()

    async def close(self) -> None:
        """Close the connection pool (unless it was passed in as ``http_client``).

        A closed client sends nothing more: each call raises `InputError` (make a new client).
        """
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _send_once(self, spec: RequestSpec[Any], *, retry: bool = False) -> httpx.Response:
        request = self._build_request(self._http, spec)  # bad input fails here, before taking a turn
        if self._limiter is not None:
            await self._limiter.acquire_async(self._sleep, retry=retry)
            self._limiter.follow_send()
            request.extensions["trace"] = async_send_tracer(self._limiter, self._sleep)
            # The other tasks due now are let through before this one does the work of sending: a
            # burst is let through together, and that work overlaps its wait at the gate.
            await asyncio.sleep(0)
        started, began = time.perf_counter(), time.monotonic()
        failure: AlmaError
        seconds = deadline_seconds(self._timeout_for(spec))
        reader: BodyReader | None = None
        try:
            # The deadline holds exactly here: the whole exchange is cancelled when it passes.
            async with asyncio.timeout(seconds):
                try:
                    response = await self._http.send(request, stream=True)
                finally:
                    self._left()
                try:
                    reader = self._body_reader(spec, response, began)
                    async for chunk in response.aiter_bytes():
                        reader.add(chunk)
                    reader.finish()
                finally:
                    await response.aclose()
                    if reader is not None:
                        reader.restore()
        except TimeoutError:
            failure = self._deadline_passed(spec, request, reader, seconds)
        except httpx.RequestError as exc:  # transport failures; a body that broke off or cannot be decoded
            failure = self._body_failure(spec, exc, reader)
        except AlmaError as exc:  # past the size cap or the deadline
            failure = exc
        else:
            self._on_response(spec, response, started)
            return response
        raise failure  # raised outside `except`: the error keeps no link to httpx's, which holds the request

    async def _request(self, spec: RequestSpec[T], *, raw: bool | None = None) -> T:
        """Send ``spec`` with retries; the parsed object (or a ``RawResponse`` in raw mode)."""
        try:
            response = await self._send_once(spec)
            attempts = 1
        except AlmaError as first:
            # _plan_retries re-raises what may not be retried
            wait, retry_options = self._paced_retries(first, *self._plan_retries(spec, first))
            await self._sleep(wait)
            async for attempt in tenacity.AsyncRetrying(sleep=self._sleep, **retry_options):
                with attempt:
                    attempts = attempt.retry_state.attempt_number + 1
                    response = await self._send_once(spec, retry=True)
        return self._result(spec, response, attempts, raw)
