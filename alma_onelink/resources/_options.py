"""Checks of the options every Users call shares (ids aside): each bad value an `InputError` naming it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from .._config import check_max_retries, check_timeout
from ..errors import InputError

__all__ = ["MAX_OFFSET", "MAX_PAGE_SIZE", "flag", "one_of", "page_args", "retry_opts", "shown", "text_option"]

MAX_PAGE_SIZE = 100
MAX_OFFSET = 2**31 - 1
"""The largest ``offset`` Alma reads (a 32-bit whole number); no list has that many records."""


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)`` for an error message, cut to about ``limit`` characters (a huge value stays readable)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text):,} characters)"


def one_of(name: str, value: str | None, allowed: Iterable[str], *, fold: bool = False) -> str | None:
    """``value`` spelled as in ``allowed`` (ignoring case with ``fold``), ``None`` for ``None``; else `InputError`."""
    if value is None:
        return None
    options = sorted(allowed)
    if isinstance(value, str):
        for option in options:
            if value == option or (fold and value.casefold() == option.casefold()):
                return option
    raise InputError(f"{name}={shown(value)} is not valid; use one of: {', '.join(options)}")


def text_option(name: str, value: Any) -> str | None:
    """An optional text option (``user_id_type=``, ``source_institution_code=``…) as given; else `InputError`."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{name} must be non-empty text, got {shown(value)}")
    return value


def flag(name: str, value: Any) -> bool:
    """``value`` if it is ``True`` or ``False`` (not a truthy string); else `InputError`."""
    if not isinstance(value, bool):
        raise InputError(f"{name} must be True or False, got {shown(value)}")
    return value


def page_args(limit: int, offset: int) -> tuple[int, int]:
    """``limit`` (0 to 100) and ``offset`` (0 to `MAX_OFFSET`) as given; else `InputError`, before any request."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_PAGE_SIZE:
        raise InputError(
            f"limit must be a whole number from 0 to {MAX_PAGE_SIZE} (Alma's page size), got {shown(limit, 40)}"
        )
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise InputError(
            f"offset must be a whole number from 0 to {MAX_OFFSET:,} (the most Alma reads), got {shown(offset, 40)}"
        )
    return limit, offset


def retry_opts(max_retries: int | None, timeout: float | httpx.Timeout | None) -> dict[str, Any]:
    """A call's own ``max_retries`` and ``timeout`` for its `RequestSpec`, checked (``None``: the client's)."""
    return {
        "max_retries": None if max_retries is None else check_max_retries(max_retries),
        "timeout": None if timeout is None else check_timeout(timeout),
    }
