"""Client configuration: regions, base URLs, the API key and defaults. Frozen once built."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import SplitResult, unquote, urlsplit

import httpx

from ._constants import API_PATH
from ._version import __version__
from .errors import InputError

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "REGIONS",
    "ClientConfig",
    "Secret",
    "check_base_url",
    "deadline_seconds",
    "resolve_config",
    "shown_base_url",
]

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
MAX_TIMEOUT = 86_400
"""The longest ``timeout`` taken, in seconds (a day): a longer one is a slip, and the system's waits cannot hold one
of 10**30 seconds."""
MAX_RATE_LIMIT = 10_000
"""The highest ``rate_limit`` taken, in requests a second: 400 times Alma's per-institution threshold of 25."""
DEFAULT_MAX_RESPONSE_BYTES = 50 * 1024 * 1024
"""The largest response body a client reads (50 MiB): Alma's largest pages are a few megabytes."""
USER_AGENT = f"alma-onelink/{__version__}"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class Secret(str):
    """A string that never shows itself in a ``repr``: the API key, and the header that carries it.

    ``str(secret)`` and sending it work as for any string; ``repr()`` (and so any container's repr,
    a traceback's locals, a debugger's view) shows ``'<redacted>'``.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'<redacted>'"


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Everything a client needs to build requests. The key is kept out of ``repr``."""

    api_key: str = field(repr=False)
    api_root: str
    timeout: httpx.Timeout
    max_retries: int
    rate_limit: float | None
    default_headers: Mapping[str, str]
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES


_KEY_WORDS = "the key in ALMA_API_KEY or with --api-key (Python: api_key=): it is sent only in the Authorization header"
_BASE_URL_WORDS = "The base URL given with --base-url or ALMA_BASE_URL (Python: base_url=)"
_SHORT_KEY = 8
"""A key at least this long is looked for anywhere in a base URL; a shorter one only as a whole host label or path
segment (Alma's keys are 36 characters; a test key like ``"k"`` is in many URLs by chance)."""


def _shown(parts: SplitResult, key: str | None = None) -> str:
    # Only scheme and host: a rejected URL may hold the key, so it is never echoed whole.
    host = parts.hostname or "?"
    if key and _holds_key(host, key):
        host = "<a host that holds the API key>"
    return f"{parts.scheme}://{host}" if parts.scheme else host


def _holds_key(text: str, key: str) -> bool:
    """Whether ``text`` (a URL or a part of one) holds the API key ``key``, as it is or percent-encoded."""
    forms = {text, unquote(text)}
    if len(key) >= _SHORT_KEY:
        return any(key.casefold() in form.casefold() for form in forms)
    return any(key in re.split(r"[/.:@?#&=;]", form) for form in forms)


def shown_base_url(base_url: str, api_key: str | None = None) -> str:
    """What a message or a banner may show of ``base_url``: the whole origin and path once `check_base_url`
    takes it; otherwise only its scheme and host, never a key, a user name, a query or a fragment."""
    try:
        return check_base_url(base_url, api_key).removesuffix(API_PATH)
    except InputError:
        try:
            return _shown(urlsplit(str(base_url).strip()), api_key) + "…"
        except ValueError:
            return "(a base URL that cannot be read)"


def check_base_url(base_url: str, api_key: str | None = None) -> str:
    """The API root (``…/almaws/v1``) of the gateway ``base_url`` names. Raises `InputError` saying what to fix.

    Refused, before any request: anything but an http(s) URL with a host; a user name or password, a
    query (``?apikey=…``) or a fragment; the word ``apikey`` anywhere; the value of ``api_key`` anywhere
    (the host, the path, percent-encoded or not); characters that are not plain ASCII. No message
    shows more of the URL than its scheme and host, and never the key.
    """
    if not isinstance(base_url, str):
        raise InputError(
            f"The base URL given with --base-url or ALMA_BASE_URL (Python: base_url=) must be a URL such as "
            f"{REGIONS['na']}; got {type(base_url).__name__}"
        )
    text = base_url.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (a port that is not a number raises here)
    except ValueError:
        raise InputError(
            f"{_BASE_URL_WORDS} is not a URL that can be read; give the gateway's origin, like {REGIONS['na']}"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{_BASE_URL_WORDS} is not an http(s) URL; give the gateway's origin, like {REGIONS['na']}")
    carries_key = "apikey" in text.lower() or (api_key is not None and _holds_key(text, api_key))
    if carries_key or "@" in parts.netloc or parts.username is not None or parts.password is not None:
        what = "the API key" if carries_key else "a user name or password"
        raise InputError(
            f"The base URL {_shown(parts, api_key)}… (Python: base_url=) holds {what}, where it would be shown and "
            f"logged: give only the gateway's origin, like {REGIONS['na']}, and {_KEY_WORDS}."
        )
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise InputError(
            f"The base URL {_shown(parts, api_key)}… (Python: base_url=) has a query or a fragment (after ? or #): "
            f"give only the gateway's origin, like {REGIONS['na']}, and {_KEY_WORDS}."
        )
    if not text.isascii() or not text.isprintable():
        raise InputError(
            f"The base URL {_shown(parts, api_key)}… (Python: base_url=) must be plain ASCII without spaces or "
            "control characters"
        )
    path = parts.path.rstrip("/")
    if path.endswith(API_PATH):
        path = path[: -len(API_PATH)]
    return f"{parts.scheme}://{parts.netloc}{path}{API_PATH}"


def _header_safe(text: str) -> bool:
    """Whether an HTTP header value can carry ``text`` as it is: visible ASCII and inner spaces only."""
    return text.isascii() and text.isprintable() and "\r" not in text and "\n" not in text


def _check_api_key(api_key: str | None) -> Secret:
    if api_key is not None and not isinstance(api_key, str):
        raise InputError(f"api_key must be a string (the key from the Developer Network), got {type(api_key).__name__}")
    if api_key is None or not api_key.strip():
        raise InputError(
            "No Alma API key: pass api_key=... or set ALMA_API_KEY. "
            "To work without Alma, use AlmaClient.sandbox() (an in-process emulator)."
        )
    key = api_key.strip()
    if any(ch.isspace() for ch in key) or not key.isprintable():
        raise InputError("The Alma API key contains whitespace or control characters; copy it again.")
    if not key.isascii():
        # An HTTP header carries ASCII only: such a key could never be sent (Alma's keys are ASCII).
        raise InputError("The Alma API key contains characters that are not ASCII; copy it again.")
    return Secret(key)


def check_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not 0 < timeout <= MAX_TIMEOUT  # compared before float(): a huge int cannot be one
        or not math.isfinite(timeout)
    ):
        raise InputError(
            f"timeout must be a positive number of seconds, at most {MAX_TIMEOUT:,} (a day), got {_short(timeout)}"
        )
    return httpx.Timeout(float(timeout))


def deadline_seconds(timeout: httpx.Timeout) -> float | None:
    """The deadline of one attempt's whole response: the largest of ``timeout``'s limits.

    ``None`` (no deadline) when reads have no limit. Connecting, sending and each read keep their own
    limits as well; the deadline bounds them together.
    """
    if timeout.read is None:
        return None
    limits = [value for value in (timeout.connect, timeout.read, timeout.write, timeout.pool) if value is not None]
    return max(limits)


def _short(value: object) -> str:
    """``repr(value)`` cut to about 40 characters, for a message (a 10**400 stays readable)."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:39]}… ({len(text):,} characters)"


def check_max_response_bytes(max_response_bytes: int) -> int:
    """``max_response_bytes`` as given, if it is a whole number of bytes from 1 up."""
    if isinstance(max_response_bytes, bool) or not isinstance(max_response_bytes, int) or max_response_bytes < 1:
        raise InputError(f"max_response_bytes must be a whole number of bytes ≥ 1, got {max_response_bytes!r}")
    return max_response_bytes


def check_default_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Extra headers as given, unless one would carry the key outside ``api_key=`` or cannot be sent.

    Header names must be tokens and values visible ASCII: anything else could never leave as a header.
    """
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise InputError(f"default_headers must be a mapping of header names to values, got {type(headers).__name__}")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise InputError(f"default_headers: {name!r} is not a header name (letters, digits and -_.!#$%&'*+^`|~)")
        if name.lower() == "authorization":
            raise InputError("Pass the key as api_key=, not as an Authorization header.")
        if not isinstance(value, str) or not _header_safe(value):
            raise InputError(
                f"default_headers: the value of {name} must be text of visible ASCII characters "
                "(an HTTP header cannot carry others)"
            )
        checked[name] = value
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
        or not 0 < rate_limit <= MAX_RATE_LIMIT  # compared before float(): a huge int cannot be one
        or not math.isfinite(rate_limit)
    ):
        raise InputError(
            f"rate_limit must be a positive number of requests per second, at most {MAX_RATE_LIMIT:,} (Alma allows "
            f"25), or None to turn the limiter off; got {_short(rate_limit)}"
        )
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
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
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
    if region is not None and not isinstance(region, str):
        raise InputError(f"region must be one of {', '.join(REGIONS)}, got {type(region).__name__}")
    if base_url is None:
        code = (region or "").strip().lower()
        if code not in REGIONS:
            raise InputError(f"Unknown Alma region {region!r}; use one of {', '.join(REGIONS)} or pass base_url=.")
        base_url = REGIONS[code]
    return ClientConfig(
        api_key=key,
        api_root=check_base_url(base_url, key),
        timeout=check_timeout(timeout),
        max_retries=check_max_retries(max_retries),
        rate_limit=check_rate_limit(rate_limit),
        default_headers=check_default_headers(default_headers),
        max_response_bytes=check_max_response_bytes(max_response_bytes),
    )
