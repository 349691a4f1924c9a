"""Where the command's output goes: stdout holds the result, stderr everything said along the way.

With ``--json``, stdout holds exactly one JSON document (`Output.document`), or one JSON object per
line for a stream (`Output.record`), and nothing else. Otherwise results are lines and renderings on
stdout. The banner, progress, prompts, notes and errors always go to stderr.

Nothing a person copies is ever broken. Commands, ids, paths, tokens and URLs are printed by
`Output.say`, `Output.rows`, `Output.note` and `Output.error`, which never wrap or crop a line, at
any terminal width or when piped: a long line is left for the terminal to fold on screen, and
copying it (or reading it from a pipe) gives it whole. `Output.show` (rich's own layout, which wraps
and crops to the width) is only for renderings that hold nothing to copy, like a table of counts.

Both consoles have markup off: names and notes read from Alma are shown as written, never
interpreted as rich markup (``[bold]`` in a patron's name stays text).

Nothing printed is run by the terminal either. Text from a CSV cell or an Alma record may hold
control characters (ESC and the sequences it starts, C1 controls) or Unicode direction controls
(U+202A to U+202E, U+2066 to U+2069) that reorder a line: every method here writes each as a visible
escape (``\\x1b``, ``\\u202e``; `alma_onelink._text`), line breaks and tabs kept where a text may
hold them (a cell of `rows` is one line: its breaks and tabs are escaped too). The consoles escape
whatever else a renderable holds (a table, a traceback) as they render it, and the JSON of ``--json``
writes C1 and direction controls as ``\\u`` escapes, which read back as the same text.
"""

from __future__ import annotations

import enum
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import is_dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Span, Text

from alma_onelink._text import UNSAFE, escape, visible

__all__ = ["Output", "Part", "safe_text", "to_json", "value"]

Part = str | Text | tuple[str, str]
"""A piece of a line: plain text, a rich `Text`, or ``(text, style)``."""


class _Console(Console):
    """A rich console that lets a broken pipe reach the command's error handling (rich would exit 1 itself)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterator[Segment]:
        """rich's rendering, with every unsafe character of the text written as its escape (rich's own
        control segments, which draw the progress bar, are left as they are)."""
        for segment in super().render(renderable, options):
            text, style, control = segment
            if control is None and UNSAFE.search(text):
                yield Segment(visible(text), style)
            else:
                yield segment


def value(text: object) -> str:
    """``text`` to embed in a line of output: every unsafe character written as its escape, line breaks and
    tabs too (``"Doe\\r\\nFAKE"`` → ``Doe\\r\\nFAKE``, shown as written), so a value from a record, a file or a
    message (a name, an id, a note, a reason) can never start a line of its own. The program's own line breaks
    stay: wrap each value, not the line."""
    return visible(str(text), keep="")


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
    pydantic = sys.modules.get("pydantic")  # a model can only be here if pydantic was loaded: never load it here
    if pydantic is not None and isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if is_dataclass(value) and hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_JSON_ESCAPED: Final = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")
"""What JSON leaves as it is (it escapes only C0) and a terminal could run or reorder: written as ``\\u`` escapes."""


def to_json(data: Any, *, indent: int | None = 2) -> str:
    """``data`` as JSON text (UTF-8 kept, dates as ISO text); nothing in it a terminal could run or reorder.

    C0 controls are escaped by JSON itself; DEL, C1 controls, direction controls, line separators and
    lone surrogates are written as ``\\uXXXX``, which reads back as the same text.
    """
    text = json.dumps(data, ensure_ascii=False, indent=indent, default=_plain)
    return _JSON_ESCAPED.sub(lambda found: f"\\u{ord(found[0]):04x}", text)


def safe_text(text: Text, *, keep: str = "\n\t") -> Text:
    """``text`` with every unsafe character but those in ``keep`` written as its escape, its styles kept."""
    plain = text.plain
    if not UNSAFE.search(plain):
        return text
    unsafe = {match.start() for match in UNSAFE.finditer(plain)}  # in context: a joiner between letters is not
    offsets = [0]  # offsets[i]: where the i-th character of ``plain`` starts in the new text
    pieces: list[str] = []
    for at, char in enumerate(plain):
        piece = escape(char) if at in unsafe and char not in keep else char
        pieces.append(piece)
        offsets.append(offsets[-1] + len(piece))
    safe = text.copy()
    safe.plain = "".join(pieces)
    safe.spans = [Span(offsets[span.start], offsets[span.end], span.style) for span in text.spans]
    return safe


def _text(parts: Sequence[Part], style: str | None, *, keep: str = "\n\t") -> Text:
    """The parts as one `Text`, every unsafe character but those in ``keep`` written as its escape."""
    text = Text(style=style or "")
    for part in parts:
        if isinstance(part, tuple):
            text.append(visible(part[0], keep=keep), style=part[1])
        elif isinstance(part, Text):
            text.append_text(safe_text(part, keep=keep))
        else:
            text.append(visible(str(part), keep=keep))
    return text


def _one_line(text: str) -> str:
    return visible(" ".join(str(text).split()), keep="")


class Output:
    """The command's two streams; ``json_mode`` is ``--json``, ``verbose`` is ``--verbose``."""

    def __init__(self, *, json_mode: bool, verbose: bool = False) -> None:
        self.json_mode = json_mode
        self.verbose = verbose
        # No `file=`: rich then writes to whatever sys.stdout/sys.stderr is at print time.
        self.out: Console = _Console(markup=False, highlight=False, emoji=False)
        self.err: Console = _Console(stderr=True, markup=False, highlight=False, emoji=False)

    # --- stdout -----------------------------------------------------------------------------------

    def show(self, *items: RenderableType) -> None:
        """Renderings laid out to the terminal's width on stdout (nothing with ``--json``).

        Only for what holds nothing to copy: rich wraps and crops them to the width. Lines with a
        command, an id, a path, a token or a URL go through `say` or `rows`.
        """
        if not self.json_mode:
            for item in items:
                self.out.print(
                    visible(item) if isinstance(item, str) else safe_text(item) if isinstance(item, Text) else item
                )

    def say(self, *parts: Part, style: str | None = None) -> None:
        """One line on stdout, never wrapped or cropped (nothing with ``--json``).

        ``parts`` are joined as given; a part may hold line breaks of its own. This is the way to
        print anything a person copies: commands, ids, paths, tokens, URLs.
        """
        if not self.json_mode:
            self.out.print(_text(parts, style), soft_wrap=True)

    def line(self, text: str = "") -> None:
        """One plain line on stdout, never wrapped (`say` without styles)."""
        self.say(text)

    def rows(self, rows: Sequence[Sequence[Part]], *, header: Sequence[str] | None = None, indent: int = 2) -> None:
        """A table as padded lines on stdout: every cell whole, every row one line (nothing with ``--json``).

        Unlike a rich table, no cell is wrapped, folded or cut to fit the width, so an id or an
        email in it can be copied as it is.
        """
        if self.json_mode:
            return
        lines = [[Text(h, style="bold") for h in header]] if header else []
        lines += [[_text([cell], None, keep="") for cell in row] for row in rows]
        if not lines:
            return
        widths = [max(len(line[i].plain) for line in lines if i < len(line)) for i in range(max(map(len, lines)))]
        for line in lines:
            text = Text(" " * indent)
            for i, cell in enumerate(line):
                text.append_text(cell)
                if i < len(line) - 1:
                    text.append(" " * (widths[i] - len(cell.plain) + 2))
            text.rstrip()
            self.out.print(text, soft_wrap=True)

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
        """A line for the person at the terminal, on stderr (also with ``--json``), never wrapped."""
        self.err.print(_text([text], style), soft_wrap=True)

    def error(self, message: str, hint: str | None = None) -> None:
        """``error: …`` and ``hint: …`` on stderr, one line each, never wrapped."""
        self.err.print(Text.assemble(("error: ", "bold red"), _one_line(message)), soft_wrap=True)
        if hint:
            self.err.print(Text.assemble(("hint: ", "bold"), _one_line(hint)), soft_wrap=True)
