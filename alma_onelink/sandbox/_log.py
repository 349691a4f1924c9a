"""The request log: one entry per request, in memory and optionally as JSON Lines in a file.

Benchmarks and tests count requests from it. The API key never reaches it: the ``apikey`` query
parameter is masked and headers are not recorded at all.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["LogEntry", "RequestLog"]

MASK = "***"
_SECRET_PARAMS = frozenset({"apikey", "password"})


def masked_query(query: str) -> dict[str, str]:
    """The query parameters with the API key (and any password) replaced by ``***``."""
    params = dict(parse_qsl(query, keep_blank_values=True))
    return {name: MASK if name.lower() in _SECRET_PARAMS else value for name, value in params.items()}


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


class RequestLog:
    """Keeps the last ``maxlen`` entries in memory and appends every entry to ``path`` as JSON Lines."""

    def __init__(self, path: str | Path | None = None, *, maxlen: int = 100_000) -> None:
        """Log to memory, and also to the JSONL file ``path`` if given (its folder is created)."""
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._entries: deque[LogEntry] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def record(self, entry: LogEntry) -> None:
        """Add an entry; raises ``OSError`` if the log file cannot be written."""
        with self._lock:
            self._entries.append(entry)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(entry.to_json() + "\n")

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


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The entries of a JSONL request log file, as dicts."""
    with Path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
