"""Options of the whole command, typed before or after the command's name.

``alma-onelink register --json …`` is ``alma-onelink --json register …``: `GlobalOptionsGroup`, the
class of the root group, moves every option of the root group (``--json``, ``--policy``,
``--journal``, ``--staff``, ``--verbose``…) found after the command's name to before it, then lets
click parse as usual. It is done once, for every command, present and future.

An option a command declares itself wins over a global one of the same name (``sandbox serve --db``
is the served file, not the global ``--db``), a value is never mistaken for an option (``--notes
--json`` is a note reading "--json"), and nothing after ``--`` moves.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from ._help import DeskHelp
from ._output import Output
from ._stopped import NOTHING_SENT, say_stopped

__all__ = ["GlobalOptionsGroup", "hoist_global_options"]


def _arities(params: Iterable[Any]) -> dict[str, bool]:
    """Each option name of a command's ``params`` → whether it takes a value (``--policy NAME``) or not."""
    found: dict[str, bool] = {}
    for param in params:
        if getattr(param, "param_type_name", None) != "option":  # typer carries its own click: no isinstance
            continue
        takes_value = not (param.is_flag or param.count)
        for name in param.opts:
            found[name] = takes_value
        for name in param.secondary_opts:
            found[name] = False
    return found


def _width(word: str, arities: dict[str, bool], rest: list[str], ctx: typer.Context) -> int:
    """How many words the option ``word`` spans: 2 with its value, 1 for a flag or ``--name=value``."""
    name, equals, _ = word.partition("=")
    if not arities[name] or equals:
        return 1
    if not rest:
        raise typer.BadParameter("needs a value after it", ctx=ctx, param_hint=f"'{name}'")
    return 2


def _command_options(group: TyperGroup, ctx: typer.Context, words: list[str]) -> dict[str, bool]:
    """The options of every command on the path ``words`` names (``merge apply …``: merge's and apply's)."""
    found: dict[str, bool] = {}
    command: Any = group
    index = 0
    while hasattr(command, "get_command") and index < len(words):
        word = words[index]
        index += 1
        if word.startswith("-"):
            continue
        command = command.get_command(ctx, word)
        if command is not None:
            found.update(_arities(command.params))
    return found


def hoist_global_options(group: TyperGroup, ctx: typer.Context, args: list[str]) -> list[str]:
    """``args`` with the options of ``group`` typed after the command's name moved before it.

    Raises ``typer.BadParameter`` (a usage error) for an option that takes a value typed last without one.
    """
    globals_ = _arities(group.params)
    index = 0
    while index < len(args):  # the group's own options first, up to the command's name
        word = args[index]
        name = word.partition("=")[0]
        if word == "--" or not word.startswith("-"):
            break
        index += _width(word, globals_, args[index + 1 :], ctx) if name in globals_ else 1
    head, tail = args[:index], args[index:]
    theirs = _command_options(group, ctx, tail)
    moved: list[str] = []
    kept: list[str] = []
    index = 0
    while index < len(tail):
        word = tail[index]
        name = word.partition("=")[0]
        if word == "--":
            kept += tail[index:]
            break
        if name in theirs:
            span = _width(word, theirs, tail[index + 1 :], ctx)
            kept += tail[index : index + span]
        elif name in globals_:
            span = _width(word, globals_, tail[index + 1 :], ctx)
            moved += tail[index : index + span]
        else:
            span = 1
            kept.append(word)
        index += span
    return [*head, *moved, *kept]


def _stopped_before_the_command() -> NoReturn:
    say_stopped(NOTHING_SENT)
    raise typer.Exit(130)


def _is_usage_error(exc: BaseException) -> bool:
    # typer carries its own copy of click, so its exception classes are recognised by their shape.
    return hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)


def _show_usage_error(exc: Any) -> None:
    """A usage error as every error of the command reads: ``error: …`` and ``hint: …``, never wrapped."""
    if type(exc).__name__ == "NoArgsIsHelpError":
        typer.echo(exc.ctx.get_help())  # a group typed without its command: its help, on stdout (exit 2)
        return
    output = Output(json_mode=False)
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        output.note(ctx.get_usage())
    hint = f"{ctx.command_path} --help lists what it takes" if ctx is not None else None
    output.error(exc.format_message(), hint)


class GlobalOptionsGroup(DeskHelp, TyperGroup):
    """The root group of ``alma-onelink``: its options are read wherever they are typed, and a usage error
    (an unknown flag, a missing value) is said in one unbroken ``error:`` line with a ``hint:``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            moved: list[str] = super().parse_args(ctx, hoist_global_options(self, ctx, list(args)))
        except KeyboardInterrupt:  # typer would end silently with 130; no command has run: nothing was sent
            _stopped_before_the_command()
        return moved

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            # A command's own body says what Ctrl-C left (see `guarded`): this is before it, or between commands.
            _stopped_before_the_command()

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            # Not standalone: click returns an exit status instead of leaving, and raises usage errors for
            # `_show_usage_error` (rich would draw them in a box, wrapping the command they name).
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except Exception as exc:
            if not _is_usage_error(exc):
                raise
            _show_usage_error(exc)
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        sys.exit(code if isinstance(code, int) else 0)
