"""What a procedure did, step by step: each step's summary, reason, Alma calls and duration."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ApiCall", "Step", "StepStatus", "Trace"]

StepStatus = Literal["done", "planned", "skipped", "failed"]
"""``done``; ``planned``: a dry run would do it; ``skipped``: not needed; ``failed``: tried and did not happen."""


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One Alma call: method, path (ids as given, never the key), how it ended, and how long it took."""

    method: str
    path: str
    outcome: str
    """``"ok"``, or the SDK error's class and Alma code, like ``"NotFoundError 401861"``."""
    seconds: float

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.outcome} ({self.seconds * 1000:.0f} ms)"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"method": self.method, "path": self.path, "outcome": self.outcome, "seconds": round(self.seconds, 6)}


@dataclass(slots=True)
class Step:
    """One step of a procedure: what was done (``summary``), why, its Alma calls and its duration (seconds)."""

    name: str
    why: str
    summary: str = ""
    status: StepStatus = "done"
    calls: list[ApiCall] = field(default_factory=list)
    seconds: float = 0.0

    def __str__(self) -> str:
        calls = f" [{', '.join(f'{c.method} {c.path}' for c in self.calls)}]" if self.calls else ""
        mark = {"done": "✓", "planned": "…", "skipped": "-", "failed": "✗"}[self.status]
        return f"{mark} {self.name}: {self.summary}{calls}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "name": self.name,
            "why": self.why,
            "summary": self.summary,
            "status": self.status,
            "calls": [call.to_dict() for call in self.calls],
            "seconds": round(self.seconds, 6),
        }


class Trace:
    """The steps of one run. The procedure opens and closes steps; the driver records each Alma call."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.steps: list[Step] = []
        self.calls: list[ApiCall] = []
        self._clock = clock
        self._open: Step | None = None
        self._started = 0.0

    def begin(self, name: str, why: str) -> Step:
        """Open a step (closing any still open, as done)."""
        if self._open is not None:
            self.end(self._open.summary or "done")
        self._open = Step(name=name, why=why)
        self._started = self._clock()
        self.steps.append(self._open)
        return self._open

    def end(self, summary: str, status: StepStatus = "done") -> None:
        """Close the open step with what was done."""
        if self._open is None:
            return
        self._open.summary = summary
        self._open.status = status
        self._open.seconds = self._clock() - self._started
        self._open = None

    def call(self, call: ApiCall) -> None:
        """Record an Alma call, in the open step if there is one."""
        self.calls.append(call)
        if self._open is not None:
            self._open.calls.append(call)
