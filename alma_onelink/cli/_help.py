"""``--help`` laid out for any terminal width: option names and commands whole, descriptions wrapped.

A help page is copied from: an option's name (``--home-institution``), a command's name, the usage
line. Rich's tables crop a cell that does not fit (``--home-i…``) and break long words; here nothing
a person types is ever cropped or broken, at any width or when piped. Descriptions wrap between
words only (a word longer than the line stays whole: the terminal folds it, copying gets it whole).
Where the width leaves too little room beside the names, each description goes under its name.

Every command and group of ``alma-onelink`` uses it: `DeskHelp` is mixed into the root group (see
`GlobalOptionsGroup`), `DeskCommand` is the class `command` registers, and `use_desk_help` gives the
sub-groups (``journal``, ``merge``…) `DeskGroup`.
"""

from __future__ import annotations

import inspect
import shutil
import textwrap
from collections.abc import Iterable, Sequence
from typing import Any, Final

import typer
from typer.core import TyperCommand, TyperGroup
from typer.models import DefaultPlaceholder

__all__ = ["DeskCommand", "DeskGroup", "DeskHelp", "help_text", "use_desk_help"]

MAX_WIDTH: Final = 100
"""The widest a help page is laid out (a wider terminal gets lines no longer than this: easier to read)."""
_INDENT: Final = 2
_GAP: Final = 2
_NAMES_AT_MOST: Final = 30
"""The widest the column of names grows; a longer name stands on its own line, its description under it."""
_DESCRIPTION_AT_LEAST: Final = 24
"""Narrower than this beside the names, every description goes under its name instead."""


def _width() -> int:
    """The terminal's width (``COLUMNS`` first, 80 when unknown), at most `MAX_WIDTH`."""
    return max(1, min(shutil.get_terminal_size((80, 24)).columns, MAX_WIDTH))


def _wrap(text: str, width: int, indent: str = "", first: str | None = None) -> list[str]:
    """``text`` in lines of at most ``width`` where its words allow: broken between words only, never inside one."""
    wrapper = textwrap.TextWrapper(
        width=max(width, 1),
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return wrapper.wrap(text) or [(indent if first is None else first).rstrip()]


def _paragraphs(text: str) -> list[str]:
    """The paragraphs of a docstring-like ``text``: lines joined, blank lines between paragraphs kept apart."""
    return [" ".join(block.split()) for block in inspect.cleandoc(text).split("\n\n") if block.strip()]


def _definitions(rows: Sequence[tuple[str, str]], width: int) -> list[str]:
    """``(name, description)`` rows: names whole in a column, descriptions wrapped beside or under them."""
    column = min(max((len(name) for name, _ in rows), default=0), _NAMES_AT_MOST)
    beside = width - _INDENT - column - _GAP >= _DESCRIPTION_AT_LEAST
    lines: list[str] = []
    for name, description in rows:
        head = " " * _INDENT + name
        if not description:
            lines.append(head)
            continue
        if beside:
            at = _INDENT + column + _GAP
            if len(name) <= column:
                lines += _wrap(description, width, " " * at, first=head.ljust(at))
            else:
                lines += [head, *_wrap(description, width, " " * at)]
        else:
            lines += [head, *_wrap(description, width, " " * (_INDENT + 4))]
    return lines


def _panel_of(param: Any, default: str) -> str:
    panel = getattr(param, "rich_help_panel", None)
    return panel if isinstance(panel, str) and panel else default


def _parameter_sections(command: Any, ctx: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    """Arguments first, then options, each in the panel its parameter names (``Patron``), in the order given."""
    sections: dict[str, list[tuple[str, str]]] = {}
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        kind = "Arguments" if param.param_type_name == "argument" else "Options"
        sections.setdefault(_panel_of(param, kind), []).append((record[0], record[1] or ""))
    ordered: list[str] = [name for name in ("Arguments", "Options") if name in sections]
    ordered += [name for name in sections if name not in ordered]
    return [(name, sections[name]) for name in ordered]


def _command_rows(group: Any, ctx: Any) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        about = sub.short_help or next(iter(_paragraphs(sub.help or "")), "")
        rows.append((name, about))
    return rows


def _usage(ctx: Any, pieces: Iterable[str], width: int) -> list[str]:
    """``Usage: alma-onelink merge apply [OPTIONS] PLAN``: the command path whole, the rest wrapped after it."""
    head = f"Usage: {ctx.command_path}"
    rest = " ".join(pieces)
    if not rest:
        return [head]
    if len(head) + 1 + len(rest) <= width:
        return [f"{head} {rest}"]
    return [head, *_wrap(rest, width, " " * (_INDENT + 4))]


def help_text(command: Any, ctx: Any, width: int | None = None) -> str:
    """The help page of ``command`` (a click command of this app) in context ``ctx``, laid out to ``width``."""
    width = width or _width()
    lines = _usage(ctx, command.collect_usage_pieces(ctx), width)
    for paragraph in _paragraphs(command.help or ""):
        lines += ["", *_wrap(paragraph, width, " " * _INDENT)]
    for title, rows in _parameter_sections(command, ctx):
        lines += ["", f"{title}:", *_definitions(rows, width)]
    if isinstance(command, TyperGroup):
        rows = _command_rows(command, ctx)
        if rows:
            lines += ["", "Commands:", *_definitions(rows, width)]
    for paragraph in _paragraphs(command.epilog or ""):
        lines += ["", *_wrap(paragraph, width, " " * _INDENT)]
    return "\n".join(line.rstrip() for line in lines) + "\n"


class DeskHelp:
    """Mixed into a click command or group: ``--help`` is `help_text` (click's formatter and rich's are not used)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        formatter.write(help_text(self, ctx))


class DeskCommand(DeskHelp, TyperCommand):
    """A command of ``alma-onelink`` (the class `alma_onelink.cli._app.command` registers)."""


class DeskGroup(DeskHelp, TyperGroup):
    """A group of commands of ``alma-onelink`` (``journal``, ``merge``, ``sandbox``…)."""


def use_desk_help(app: typer.Typer) -> None:
    """Give every sub-group added to ``app`` (at any depth) `DeskGroup`, unless it names a class of its own."""
    for info in app.registered_groups:
        if isinstance(info.cls, DefaultPlaceholder) or info.cls is None:
            info.cls = DeskGroup
        if info.typer_instance is not None:
            use_desk_help(info.typer_instance)
