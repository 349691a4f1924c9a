"""``--help`` at any width: every option name and command name whole (they get copied), descriptions wrapped.

Every command and group of the app, at 20, 40 and 80 columns: each name of each option appears
whole, each command of a group too, and every word of every description is there (nothing is
cropped to ``…`` or broken). A line wider than the terminal holds nothing but what cannot be broken.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.core import TyperGroup
from typer.main import get_command
from typer.testing import CliRunner

from alma_onelink.cli import app

WIDTHS = (20, 40, 80)


def _commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and group of the app with its path of names (the root's is empty)."""
    root = get_command(app)
    stack: list[tuple[tuple[str, ...], Any]] = [((), root)]
    while stack:
        path, command = stack.pop(0)
        yield path, command
        if isinstance(command, TyperGroup):
            stack += [((*path, name), sub) for name, sub in command.commands.items() if not sub.hidden]


COMMANDS = list(_commands())


def _context(path: tuple[str, ...]) -> Any:
    """The click context of the command at ``path`` (for its parameters' help records)."""
    command: Any = get_command(app)
    ctx = typer.Context(command, info_name="alma-onelink", help_option_names=["-h", "--help"])
    for name in path:
        command = command.commands[name]
        ctx = typer.Context(command, info_name=name, parent=ctx)
    return ctx


def _whole(name: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def test_every_command_is_walked() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"", "register", "check", "batch", "merge apply", "journal restore", "sandbox codes load"} <= paths


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) or "alma-onelink" for p, _ in COMMANDS])
def test_help_names_every_option_and_command_whole_at_any_width(
    path: tuple[str, ...], command: Any, width: int
) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    shown = result.stdout
    assert shown.startswith(f"Usage: {' '.join(['alma-onelink', *path])}")
    ctx = _context(path)
    words = set(shown.split())
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        for name in [*param.opts, *param.secondary_opts]:
            if param.param_type_name == "option":
                assert _whole(name, shown), f"{name} is not shown whole at {width} columns:\n{shown}"
        missing = [word for word in (record[1] or "").split() if word not in words]
        assert not missing, f"cropped or broken at {width} columns: {missing}\n{shown}"
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            if not sub.hidden:
                assert re.search(rf"^  {re.escape(name)}(  |$)", shown, re.M), f"command {name} not whole:\n{shown}"
    for line in shown.splitlines():
        if len(line) > width:  # only a name, or a word, too wide for the terminal: never a wrappable description
            text = line.strip()
            assert text.startswith(("-", "Usage:")) or " " not in text, f"{line!r} is wider than {width}"


def test_a_narrow_terminal_puts_the_description_under_the_name() -> None:
    shown = CliRunner().invoke(app, ["register", "--help"], env={"COLUMNS": "40"}).stdout
    lines = shown.splitlines()
    at = lines.index("  --home-institution TEXT")
    assert lines[at + 1].strip().startswith("Home institution")
    wide = CliRunner().invoke(app, ["register", "--help"], env={"COLUMNS": "80"}).stdout
    assert re.search(r"^  --home-institution TEXT +Home institution", wide, re.M)
    assert "--home-i…" not in shown
