"""The request log: one entry per request, in memory and optionally as JSON Lines in a file.

Benchmarks and tests count requests from it. The API key never reaches it: a query parameter whose
percent-decoded name is ``apikey`` (or ``password``), in any case, is masked, and headers are not
recorded at all. The same masking keeps keys out of the served sandbox's access log.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote_plus

__all__ = ["LogEntry", "RequestLog"]

logger = logging.getLogger("alma_onelink.sandbox")

MASK = "***"
_SECRET_PARAMS = frozenset({"apikey", "password"})
# A query parameter inside a line of text (an access-log line): separator, raw name, raw value.
_PARAM_IN_TEXT = re.compile(r"([?&;])([^=&?;\s\"']+)=([^&?;\s\"']*)")


def is_secret_param(name: str) -> bool:
    """Whether a raw (still percent-encoded) parameter name decodes to ``apikey`` or ``password``."""
    return unquote_plus(name).strip().lower() in _SECRET_PARAMS


def masked_query(query: str) -> dict[str, str]:
    """The query parameters with the API key (and any password) replaced by ``***``."""
    params = dict(parse_qsl(query, keep_blank_values=True))
    return {name: MASK if name.strip().lower() in _SECRET_PARAMS else value for name, value in params.items()}


def _mask_param(match: re.Match[str]) -> str:
    separator, name, _ = match.groups()
    return f"{separator}{name}={MASK}" if is_secret_param(name) else match.group(0)


def mask_urls(text: str) -> str:
    """``text`` with the value of every secret query parameter (``apikey``, ``api%6Bey``…) replaced by ``***``."""
    return _PARAM_IN_TEXT.sub(_mask_param, text)


@dataclass(frozen=True)
class LogEntry:
    """One request as the sandbox saw it.

    Attributes:
        time: When it arrived (UTC, ISO 8601, from the sandbox's ``now``).
        method: HTTP method.
        path: The path as sent (percent-encoded).
        query: Query parameters, with ``apikey`` masked.
        status: The HTTP status answered; ``None`` when a fault dropped the request before any answer.
        latency_ms: Time spent handling plus the injected latency, in milliseconds.
        fault: The injected fault, if any (``"500"``, ``"read_timeout"``, ``"commit_then_fail"``…).
        error_code: Alma's error code when the answer was an error.
    """

    time: str
    method: str
    path: str
    query: dict[str, str]
    status: int | None
    latency_ms: float
    fault: str | None = None
    error_code: str | None = None

    def to_json(self) -> str:
        """The entry as one line of JSON."""
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))


def check_log_path(path: str | Path) -> Path:
    """``path`` as a ``Path``; raises ``ValueError`` if it is a folder or its folder does not exist."""
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"log_path {str(target)!r} is a folder; give the path of a JSON Lines file")
    if not target.parent.is_dir():
        raise ValueError(f"log_path {str(target)!r}: the folder {str(target.parent)!r} does not exist")
    return target


class RequestLog:
    """Keeps the last ``maxlen`` entries in memory and appends every entry to ``path`` as JSON Lines."""

    def __init__(self, path: str | Path | None = None, *, maxlen: int = 100_000) -> None:
        """Log to memory, and also to the JSONL file ``path`` if given.

        Raises ``ValueError`` if ``path`` is a folder or its folder does not exist.
        """
        self.path = check_log_path(path) if path is not None else None
        self._entries: deque[LogEntry] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._write_failed = False

    def record(self, entry: LogEntry) -> None:
        """Add an entry. Never raises: if the file cannot be written, a warning is logged once."""
        with self._lock:
            self._entries.append(entry)
            if self.path is None:
                return
            try:
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(entry.to_json() + "\n")
            except OSError as exc:
                if not self._write_failed:
                    self._write_failed = True
                    logger.warning(
                        "The Alma sandbox cannot write its request log to %s (%s); requests are still "
                        "answered and logged in memory. This warning is not repeated.",
                        self.path,
                        exc,
                    )

    def entries(self) -> list[LogEntry]:
        """A snapshot of the entries in memory, oldest first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget the entries in memory (the file is left alone)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
