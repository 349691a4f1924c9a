"""The checks of what a client is built from, made once for `AlmaClient` and `AsyncAlmaClient` alike."""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import httpx

from ._ratelimit import TokenBucket
from .errors import InputError

__all__ = ["check_parts", "check_sandbox_options"]

_SANDBOX_OWN = frozenset({"api_key", "base_url", "region", "transport", "http_client"})
"""What `_ClientCommon.sandbox` sets itself."""


def check_parts(
    http_client: object, transport: object, sleep: object, rate_limiter: object, *, asynchronous: bool
) -> None:
    """Raises `InputError` unless each part a client is built from is of the kind its client uses.

    ``asynchronous``: the parts of an `AsyncAlmaClient` (an ``httpx.AsyncClient``, an async transport),
    else of an `AlmaClient`. Checked when the client is made, so a wrong part never waits for the first call.
    """
    client = "AsyncAlmaClient" if asynchronous else "AlmaClient"
    http_type: type[object] = httpx.AsyncClient if asynchronous else httpx.Client
    transport_type: type[object] = httpx.AsyncBaseTransport if asynchronous else httpx.BaseTransport
    if http_client is not None and not isinstance(http_client, http_type):
        raise InputError(
            f"http_client= of an {client} must be an httpx.{http_type.__name__} (or None: the client makes its own); "
            f"got {type(http_client).__name__}"
        )
    if transport is not None and not isinstance(transport, transport_type):
        raise InputError(
            f"transport= of an {client} must be an httpx.{transport_type.__name__}, such as httpx.MockTransport "
            f"or Sandbox().{'async_transport' if asynchronous else 'transport'}(); got {type(transport).__name__}"
        )
    if sleep is not None and not callable(sleep):
        raise InputError(f"sleep= must be a function that waits a number of seconds; got {type(sleep).__name__}")
    if sleep is not None and not asynchronous and inspect.iscoroutinefunction(sleep):
        raise InputError(
            "sleep= of an AlmaClient must wait without await (like time.sleep); an async function such as "
            "asyncio.sleep is for an AsyncAlmaClient"
        )
    if rate_limiter is not None and not isinstance(rate_limiter, TokenBucket):
        raise InputError(
            f"rate_limiter= must be a RateLimiter (alma_onelink.RateLimiter(25)) to share, or None; "
            f"got {type(rate_limiter).__name__}"
        )


def check_sandbox_options(cls: type[object], sandbox: object, options: Mapping[str, object], is_sandbox: bool) -> None:
    """Raises `InputError` unless ``cls.sandbox(sandbox, **options)`` can be made: ``sandbox`` a `Sandbox`
    (``is_sandbox``) or ``None``, and ``options`` only the constructor's others (not the key, address or transport)."""
    name = f"{cls.__name__}.sandbox()"
    if sandbox is not None and not is_sandbox:
        raise InputError(
            f"{name} takes a Sandbox (alma_onelink.sandbox.Sandbox(), Sandbox.demo()) or nothing; "
            f"got {type(sandbox).__name__}"
        )
    own = sorted(set(options) & _SANDBOX_OWN)
    if own:
        raise InputError(
            f"{name} sets {', '.join(f'{key}=' for key in own)} itself, to the sandbox's: leave "
            f"{'it' if len(own) == 1 else 'them'} out. For a sandbox served over HTTP, use "
            f"{cls.__name__}(api_key=..., base_url=served.origin)."
        )
    unknown = sorted(set(options) - set(inspect.signature(cls).parameters))
    if unknown:
        raise InputError(f"{name} takes no option {', '.join(f'{key}=' for key in unknown)}")
