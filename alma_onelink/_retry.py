"""Retry decisions, written once for both clients: what may be retried, and how long to wait.

The rule is *retries that cannot do harm*:

* a per-second 429 was not processed by Alma, so any method may be sent again;
* a connection that could not be opened never carried the request: any method again;
* a timeout, a broken connection after sending, 408 or 5xx may or may not have been applied,
  so only idempotent requests are sent again here: reads. A user write (create, update, delete) is
  never replayed blindly: its spec says it is not idempotent, and ``resources._writes`` reads the
  record back and compares it with what was sent before deciding to send it again;
* the daily quota (429 ``DAILY_THRESHOLD``) is never retried: nothing changes until midnight.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import tenacity

from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    DailyThresholdExceeded,
    RateLimitError,
)

__all__ = [
    "IDEMPOTENT_METHODS",
    "INITIAL_BACKOFF",
    "MAX_BACKOFF",
    "MAX_RETRY_AFTER",
    "backoff_seconds",
    "first_retry_wait",
    "retry_after_seconds",
    "retry_reason",
    "wait_seconds",
]

log = logging.getLogger("alma_onelink")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
JITTER = 0.25
MAX_RETRY_AFTER = 60.0


def retry_reason(exc: BaseException, *, idempotent: bool) -> str | None:
    """Why ``exc`` may be retried, or ``None`` if sending again could do harm or cannot help."""
    if isinstance(exc, DailyThresholdExceeded):
        return None
    if isinstance(exc, RateLimitError):
        return f"HTTP 429 {exc.code or 'Too Many Requests'}"
    if isinstance(exc, APIConnectionError):
        if not exc.request_sent:
            return "could not connect"
        return ("timed out" if isinstance(exc, APITimeoutError) else "connection lost") if idempotent else None
    if isinstance(exc, APIStatusError) and (exc.status_code == 408 or exc.status_code >= 500):
        return f"HTTP {exc.status_code}" if idempotent else None
    return None


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The server's ``Retry-After`` in seconds (number or HTTP date), capped at 60 s; else ``None``."""
    value = headers.get("retry-after") or headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):  # neither seconds nor an HTTP date: backoff
            return None
        seconds = float(parsed.timestamp()) - (time.time() if now is None else now)
    if math.isnan(seconds):  # "nan"; "1e999" is infinite and capped below
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def backoff_seconds(retry_number: int, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff: 0.5 s doubling per retry, capped at 8 s, minus up to 25 % jitter."""
    base: float = min(MAX_BACKOFF, INITIAL_BACKOFF * 2.0 ** max(0, retry_number - 1))
    return base * (1.0 - JITTER * rand())


def wait_seconds(exc: BaseException | None, retry_number: int) -> float:
    """How long to wait before retry number ``retry_number`` (1-based) after ``exc``."""
    if isinstance(exc, APIStatusError):
        hinted = retry_after_seconds(exc.headers)
        if hinted is not None:
            return hinted
    return backoff_seconds(retry_number)


def _log_retry(method: str, path: str, exc: BaseException, *, retry_number: int, max_retries: int, wait: float) -> None:
    log.warning(
        "Retrying %s %s in %.2fs (retry %d of %d): %s",
        method,
        path,
        wait,
        retry_number,
        max_retries,
        retry_reason(exc, idempotent=True) or type(exc).__name__,
    )


def first_retry_wait(exc: BaseException, *, method: str, path: str, max_retries: int) -> float:
    """After a first failure that may be retried: log it, and say how long to wait before retry 1."""
    wait = wait_seconds(exc, 1)
    _log_retry(method, path, exc, retry_number=1, max_retries=max_retries, wait=wait)
    return wait


def retry_kwargs(*, method: str, path: str, max_retries: int, idempotent: bool) -> dict[str, Any]:
    """Keyword arguments for ``tenacity.Retrying``/``AsyncRetrying`` (add ``sleep=``) for retries 2 onwards.

    The first try runs outside tenacity (most calls succeed at once, and building a retry loop for
    them would cost more than the call's own bookkeeping); the loop starts with retry 1 and makes
    at most ``max_retries`` tries, so tenacity attempt ``n`` is retry ``n``.
    """

    def should_retry(exc: BaseException) -> bool:
        return retry_reason(exc, idempotent=idempotent) is not None

    def wait(retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        return wait_seconds(exc, retry_state.attempt_number + 1)

    def before_sleep(retry_state: tenacity.RetryCallState) -> None:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        sleep = retry_state.next_action.sleep if retry_state.next_action else 0.0
        if exc is not None:
            _log_retry(
                method, path, exc, retry_number=retry_state.attempt_number + 1, max_retries=max_retries, wait=sleep
            )

    return {
        "stop": tenacity.stop_after_attempt(max_retries),
        "wait": wait,
        "retry": tenacity.retry_if_exception(should_retry),
        "before_sleep": before_sleep,
        "reraise": True,
    }
