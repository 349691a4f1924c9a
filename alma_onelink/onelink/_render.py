"""How a registration result is laid out: its sections, headline words and step lines, in text, HTML and rich."""

from __future__ import annotations

import html
from dataclasses import dataclass

from rich.console import RenderableType
from rich.text import Text

from alma_onelink.engine import Step

__all__ = ["COLOURS", "Item", "Section", "beyond_outcome", "label", "step_line"]

COLOURS = {"blocked": "yellow", "failed": "red", "needs_merge": "magenta", "already_registered": "cyan"}
"""The rich colour of each outcome (green for the others)."""


def label(outcome: str) -> str:
    """An outcome's value as the headline shows it: ``"needs_merge"`` → ``"NEEDS MERGE"``."""
    return outcome.upper().replace("_", " ")


def beyond_outcome(reason: str, outcome: str) -> str:
    """``reason`` without a leading repeat of the outcome: "renewed: expired" → "expired", "created" → ""."""
    text = reason.strip()
    word = outcome.replace("_", " ")
    if not text.casefold().startswith(word):
        return text
    rest = text[len(word) :]
    if not rest.strip(" ."):
        return ""
    return rest.lstrip(":;,—- ") if rest.lstrip(" ")[:1] in (":", ";", ",", "—", "-") else text


def step_line(step: Step, *, verbose: bool) -> str:
    """``✓ find: found jd123`` (verbose: ``… [GET /users/jd123 → ok (12 ms)] 13 ms``)."""
    line = f"{str(step)[0]} {step.name}: {step.summary}"
    if verbose:
        calls = f" [{', '.join(str(call) for call in step.calls)}]" if step.calls else ""
        line += f"{calls} {step.seconds * 1000:.0f} ms"
    return line


@dataclass(frozen=True, slots=True)
class Item:
    """One line of a section, with what to do about it (``hint``) if anything."""

    line: str
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class Section:
    """A heading and its lines, each with an optional "what to do"."""

    heading: str
    items: list[Item]
    style: str = ""

    def text(self) -> list[str]:
        lines = [self.heading]
        for item in self.items:
            lines.append(f"  - {item.line}")
            if item.hint:
                lines.append(f"    What to do: {item.hint}")
        return lines

    def html(self) -> str:
        esc = html.escape
        items = "".join(
            f"<li>{esc(item.line)}{f'<br><i>What to do:</i> {esc(item.hint)}' if item.hint else ''}</li>"
            for item in self.items
        )
        return f"<p><b>{esc(self.heading)}</b></p><ul>{items}</ul>"

    def rich(self) -> list[RenderableType]:
        out: list[RenderableType] = [Text(self.heading, style=f"bold {self.style}".strip())]
        for item in self.items:
            out.append(Text(f"  • {item.line}", style=self.style))
            if item.hint:
                out.append(Text(f"    What to do: {item.hint}"))
        return out
