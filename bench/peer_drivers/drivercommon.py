"""What every driver shares: the scenario's configuration, timing, captured logs and the result line.

Runs under each peer's own Python (3.9 or later), so it uses the standard library only.
"""

from __future__ import annotations

import gc
import io
import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

RESULT_MARK = "BENCH-RESULT "


class Run:
    """One scenario run: ``run.config`` from the bench, logs captured from every logger at DEBUG."""

    def __init__(self) -> None:
        self.scenario = sys.argv[1]
        with open(sys.argv[2], encoding="utf-8") as handle:
            self.config: dict[str, Any] = json.load(handle)
        self.base: str = self.config["base"]
        self.key: str = self.config["key"]
        self.logs = io.StringIO()
        handler = logging.StreamHandler(self.logs)
        handler.setLevel(logging.DEBUG)
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        self.started = 0.0
        self.started_at = 0.0  # the wall clock (epoch seconds) at `start`: the bench lines up the server's log with it

    def start(self) -> None:
        """Start the clock, after collecting what the imports and the set-up left behind.

        A full collection of the objects every import created takes tens of milliseconds (30-50 ms
        for ours, which imports pydantic's models); left to chance, it lands in the first burst.
        Collected and frozen here (as the served sandbox does), it counts with the imports, which
        the bench leaves out, for every client alike.
        """
        gc.collect()
        gc.freeze()
        self.started_at = time.time()
        self.started = time.perf_counter()

    def report(self, *, ok: bool, saw: str, count: int | None = None, exc: BaseException | None = None) -> None:
        """Print the result line (the wall time runs from `start` to now)."""
        wall = time.perf_counter() - self.started if self.started else 0.0
        exposed: list[str] = []
        if self.key in self.logs.getvalue():
            exposed.append("logs")
        if exc is not None and key_in_exception(exc, self.key):
            exposed.append("exception")
        result = {
            "ok": ok,
            "wall": round(wall, 4),
            "started_at": self.started_at,
            "saw": saw[:160],
            "count": count,
            "exposed": exposed,
        }
        sys.stdout.write(RESULT_MARK + json.dumps(result) + "\n")
        sys.stdout.flush()


def key_in_exception(exc: BaseException, key: str) -> bool:
    """Whether ``key`` shows in the exception's text or in the text of any of its attributes."""
    texts = [str(exc), repr(exc)] + [repr(arg) for arg in exc.args]
    for value in vars(exc).values():
        try:
            texts.append(repr(value))
            texts.append(str(getattr(value, "url", "")))
        except Exception:
            continue
    return any(key in text for text in texts)


def describe(exc: BaseException) -> str:
    """``ClassName: the first two lines of the message``."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {' '.join(lines[:2])}"


def id_found(get: Callable[[str], Any], user_id: str) -> str:
    """The primary id a client's lookup of ``user_id`` gives back, or the name of what it raised."""
    try:
        return str(get(user_id))
    except Exception as exc:
        return type(exc).__name__


async def id_found_async(get: Callable[[str], Any], user_id: str) -> str:
    """`id_found` for a lookup that is a coroutine function."""
    try:
        return str(await get(user_id))
    except Exception as exc:
        return type(exc).__name__


def report_ids(run: Run, found: dict[str, str]) -> None:
    """The "ids" scenario's result: each special id → what the lookup gave back."""
    wrong = [f"{user_id!r}→{got}" for user_id, got in found.items() if got != user_id]
    run.report(ok=not wrong, saw=f"{len(found) - len(wrong)}/{len(found)} right " + " ".join(wrong))


def guard(run: Run, body: Callable[[], None]) -> None:
    """Run ``body``; an exception it lets out becomes a failed result saying what the caller saw."""
    try:
        body()
    except BaseException as exc:
        run.report(ok=False, saw="raised " + describe(exc), exc=exc)
