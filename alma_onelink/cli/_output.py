"""Where the command's output goes: stdout holds the result, stderr everything said along the way.

With ``--json``, stdout holds exactly one JSON document (`Output.document`), or one JSON object per
line for a stream (`Output.record`), and nothing else. Otherwise results are rich renderings on
stdout. The banner, progress, prompts, notes and errors always go to stderr.

Both consoles have markup off: names and notes read from Alma are shown as written, never
interpreted as rich markup (``[bold]`` in a patron's name stays text).
"""

from __future__ import annotations

import enum
import json
import sys
from dataclasses import is_dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rich.console import Console, RenderableType
from rich.text import Text

__all__ = ["Output", "to_json"]


class _Console(Console):
    """A rich console that lets a broken pipe reach the command's error handling (rich would exit 1 itself)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def _plain(value: Any) -> Any:
    """``json.dumps``' fallback for what our results hold: dates, paths, decimals, enums, models."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if is_dataclass(value) and hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(data: Any, *, indent: int | None = 2) -> str:
    """``data`` as JSON text (UTF-8 kept, dates as ISO text)."""
    return json.dumps(data, ensure_ascii=False, indent=indent, default=_plain)


class Output:
    """The command's two streams; ``json_mode`` is ``--json``."""

    def __init__(self, *, json_mode: bool) -> None:
        self.json_mode = json_mode
        # No `file=`: rich then writes to whatever sys.stdout/sys.stderr is at print time.
        self.out: Console = _Console(markup=False, highlight=False, emoji=False)
        self.err: Console = _Console(stderr=True, markup=False, highlight=False, emoji=False)

    # --- stdout -----------------------------------------------------------------------------------

    def show(self, *items: RenderableType) -> None:
        """Human output on stdout (nothing with ``--json``)."""
        if not self.json_mode:
            for item in items:
                self.out.print(item)

    def line(self, text: str) -> None:
        """One plain line on stdout, never wrapped (URLs, commands to copy), flushed; nothing with ``--json``."""
        if not self.json_mode:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    def document(self, data: Any) -> None:
        """The one JSON document of a ``--json`` run, on stdout."""
        sys.stdout.write(to_json(data) + "\n")
        sys.stdout.flush()

    def record(self, data: Any) -> None:
        """One JSON Lines record of a ``--json`` stream, on stdout, flushed at once."""
        sys.stdout.write(to_json(data, indent=None) + "\n")
        sys.stdout.flush()

    # --- stderr -----------------------------------------------------------------------------------

    def note(self, text: str, *, style: str | None = None) -> None:
        """A line for the person at the terminal, on stderr (also with ``--json``)."""
        self.err.print(Text(text, style=style or ""), soft_wrap=True)

    def error(self, message: str, hint: str | None = None) -> None:
        """``error: …`` and ``hint: …`` on stderr, one line each."""
        self.err.print(Text.assemble(("error: ", "bold red"), _one_line(message)), soft_wrap=True)
        if hint:
            self.err.print(Text.assemble(("hint: ", "bold"), _one_line(hint)), soft_wrap=True)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
