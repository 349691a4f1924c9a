"""Client configuration: regions, base URLs, the API key and defaults. Frozen once built."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from ._constants import API_PATH
from ._version import __version__
from .errors import InputError

__all__ = ["DEFAULT_TIMEOUT", "REGIONS", "ClientConfig", "resolve_config"]

REGIONS: Mapping[str, str] = {
    "na": "https://api-na.hosted.exlibrisgroup.com",
    "eu": "https://api-eu.hosted.exlibrisgroup.com",
    "ap": "https://api-ap.hosted.exlibrisgroup.com",
    "aps": "https://api-aps.hosted.exlibrisgroup.com",
    "ca": "https://api-ca.hosted.exlibrisgroup.com",
    "cn": "https://api-cn.hosted.exlibrisgroup.com.cn",
}
"""Alma's regional API gateways (the ``servers`` of Ex Libris' OpenAPI spec)."""

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
USER_AGENT = f"alma-onelink/{__version__}"


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Everything a client needs to build requests. The key is kept out of ``repr``."""

    api_key: str = field(repr=False)
    api_root: str
    timeout: httpx.Timeout
    max_retries: int
    rate_limit: float | None
    default_headers: Mapping[str, str]


def _normalise_base_url(base_url: str) -> str:
    text = base_url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(
            f"base_url {base_url!r} is not an http(s) URL; give the gateway origin, "
            "e.g. https://api-na.hosted.exlibrisgroup.com"
        )
    if parts.query or parts.fragment:
        raise InputError(f"base_url {base_url!r} must not have a query or fragment (the key goes in a header)")
    path = parts.path.rstrip("/")
    if path.endswith(API_PATH):
        path = path[: -len(API_PATH)]
    return f"{parts.scheme}://{parts.netloc}{path}{API_PATH}"


def _check_api_key(api_key: str | None) -> str:
    if api_key is None or not api_key.strip():
        raise InputError(
            "No Alma API key: pass api_key=... or set ALMA_API_KEY. "
            "To work without Alma, use AlmaClient.sandbox() (an in-process emulator)."
        )
    key = api_key.strip()
    if any(ch.isspace() for ch in key) or not key.isprintable():
        raise InputError("The Alma API key contains whitespace or control characters; copy it again.")
    return key


def check_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout <= 0:
        raise InputError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return httpx.Timeout(float(timeout))


def check_default_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Extra headers as given, unless one of them would carry the key outside ``api_key=``."""
    checked = dict(headers or {})
    if any(name.lower() == "authorization" for name in checked):
        raise InputError("Pass the key as api_key=, not as an Authorization header.")
    return checked


def check_max_retries(max_retries: int) -> int:
    """``max_retries`` as given, if it is a whole number from 0 up."""
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise InputError(f"max_retries must be a whole number ≥ 0, got {max_retries!r}")
    return max_retries


def check_rate_limit(rate_limit: float | None) -> float | None:
    """``rate_limit`` as given, if it is ``None`` (off) or a positive number of requests a second."""
    if rate_limit is None:
        return None
    if (
        isinstance(rate_limit, bool)
        or not isinstance(rate_limit, int | float)
        or not math.isfinite(rate_limit)
        or rate_limit <= 0
    ):
        raise InputError(f"rate_limit must be a positive number of requests per second or None, got {rate_limit!r}")
    return float(rate_limit)


def resolve_config(
    *,
    api_key: str | None,
    region: str | None,
    base_url: str | None,
    timeout: float | httpx.Timeout | None,
    max_retries: int,
    rate_limit: float | None,
    default_headers: Mapping[str, str] | None,
    environ: Mapping[str, str] | None = None,
) -> ClientConfig:
    """Build a config from arguments, falling back to ``ALMA_API_KEY``/``ALMA_REGION``/``ALMA_BASE_URL``.

    Raises `InputError` with what to fix when the key is missing, the region unknown, or
    both a region and a base URL are given.
    """
    env = os.environ if environ is None else environ
    key = _check_api_key(api_key if api_key is not None else env.get("ALMA_API_KEY"))
    if region is not None and base_url is not None:
        raise InputError("Give either region= or base_url=, not both.")
    if region is None and base_url is None:
        base_url = env.get("ALMA_BASE_URL") or None
        if base_url is None:
            region = env.get("ALMA_REGION") or "na"
    if base_url is None:
        code = (region or "").strip().lower()
        if code not in REGIONS:
            raise InputError(f"Unknown Alma region {region!r}; use one of {', '.join(REGIONS)} or pass base_url=.")
        base_url = REGIONS[code]
    return ClientConfig(
        api_key=key,
        api_root=_normalise_base_url(base_url),
        timeout=check_timeout(timeout),
        max_retries=check_max_retries(max_retries),
        rate_limit=check_rate_limit(rate_limit),
        default_headers=check_default_headers(default_headers),
    )
