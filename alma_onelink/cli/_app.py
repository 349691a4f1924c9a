"""The ``alma-onelink`` app: its global options, the banner, error handling and exit codes, and `main`.

Every command is registered with `command`: it runs inside `_guarded`, which prints the banner,
maps each kind of error to one ``error:``/``hint:`` pair and an exit code (see `ExitCode`), and
closes the client and the sandbox whatever happens.
"""

from __future__ import annotations

import functools
import inspect
import os
import shlex
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Final, TypeVar

import typer

from alma_onelink import __version__

from ._errors import error_parts
from ._globals import GlobalOptionsGroup
from ._help import DeskCommand
from ._sdk import REGION_NAMES
from ._state import ExitCode, Settings, State, default_staff, state_of
from ._stopped import NOTHING_SENT, say_stopped, stopped_line
from ._words import staff_words

__all__ = ["EXIT_CODES_HELP", "GLOBAL_OPTIONS_NOTE", "app", "command", "guarded", "main", "with_evaluated_annotations"]

_F = TypeVar("_F", bound=Callable[..., Any])

EXIT_CODES_HELP: Final = (
    "Exit status: 0 done; 1 done but a person must act (needs_merge, blocked, a refused merge or restore, "
    "not eligible, no account with that id, pending journal entries or one journal settle cannot decide); "
    "2 usage error (bad flag or value, missing file, unknown policy); "
    "3 Alma or network error (or a registration that failed); 4 the journal could not be written (Alma may hold "
    "writes the journal lacks: the message says which and what to check); 130 interrupted (Ctrl-C); "
    "141 the reader of the output stopped (| head)."
)


# --- errors and exit codes -------------------------------------------------------------------------------


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null, so the interpreter's last flush cannot fail noisily."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests), or already gone
        pass


def _guarded(state: State, body: Callable[[], int | None], *, banner: str | None, since: float) -> int:
    """Run one command's ``body`` (begun at ``since``): banner first, every error mapped to its exit code, everything
    closed after."""
    out = state.out
    try:
        if banner:
            out.note(banner, style="dim")
        return int(body() or 0)
    except typer.Exit:
        raise
    except (KeyboardInterrupt, typer.Abort) as stop:
        # typer.Abort: a question got Ctrl-C or the end of the input instead of an answer.
        return _interrupted(state, since, after_a_question=isinstance(stop, typer.Abort))
    except BrokenPipeError:
        _silence_stdout()
        return ExitCode.BROKEN_PIPE
    except Exception as exc:
        code, message, hint = error_parts(exc)
        prefix = state.command_prefix()
        message, hint = staff_words(message, prefix), (staff_words(hint, prefix) if hint else None)
        out.error(message, hint)
        if state.settings.debug:
            out.err.print(_traceback_text(exc))
        if state.settings.json:
            try:
                out.document({"error": {"message": message, "hint": hint, "exit_code": int(code)}})
            except BrokenPipeError:
                _silence_stdout()
        return code
    finally:
        state.close()


def _interrupted(state: State, since: float, *, after_a_question: bool = False) -> int:
    """Ctrl-C in a command begun at ``since``: everything stopped, then one line saying what was sent (exit 130)."""
    state.close()  # before printing: the server, threads and connections stop now, not at a second Ctrl-C
    say_stopped(stopped_line(state, since), after_a_question=after_a_question)
    return ExitCode.INTERRUPTED


def _traceback_text(exc: BaseException) -> str:
    """The traceback of ``exc`` as text (``--debug`` only)."""
    return "".join(traceback.format_exception(exc)).rstrip()


def _find_context(args: tuple[Any, ...], kwargs: dict[str, Any]) -> typer.Context:
    # typer passes the command's context as ``ctx`` (its class is click's, which typer.Context extends).
    found: Any = kwargs.get("ctx", args[0] if args else None)
    if not hasattr(found, "find_root"):
        raise TypeError("an alma-onelink command takes ctx: typer.Context first")  # pragma: no cover - a slip
    context: typer.Context = found
    return context


GLOBAL_OPTIONS_NOTE: Final = (
    "The options of alma-onelink itself (--json, --verbose, --policy, --journal, --staff, --db, --debug…: "
    "see alma-onelink --help) may be typed after the command's name too."
)
"""The epilog of every command's help."""


def guarded(
    *, banner: Callable[[State], str | None] | None = None
) -> Callable[[Callable[..., int | None]], Callable[..., None]]:
    """Wrap a command: it returns its exit code, or raises; the wrapper turns both into the process's exit."""

    def decorate(func: Callable[..., int | None]) -> Callable[..., None]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> None:
            state = state_of(_find_context(args, kwargs))
            since = time.time()
            try:
                state.begin()
                line = banner(state) if banner is not None else state.settings.target_line()
                code = _guarded(state, lambda: func(*args, **kwargs), banner=line, since=since)
            except KeyboardInterrupt:  # before the body, or while closing after it: the journal says what was sent
                code = _interrupted(state, since)
            if code:
                raise typer.Exit(code)

        return wrapper

    return decorate


def with_evaluated_annotations(func: _F, *, like: Callable[..., Any] | None = None) -> _F:
    """``func``, given the signature of ``like`` (default: its own) with every annotation evaluated, once.

    The command modules postpone their annotations (``from __future__ import annotations``), and typer
    evaluates each annotation's text four times as it builds the app, for ``--help`` too: evaluated
    here once, at import, they are read as they are.
    """
    signature = inspect.signature(like or func, eval_str=True)
    func.__signature__ = signature  # type: ignore[attr-defined]
    func.__annotations__ = {
        **{name: p.annotation for name, p in signature.parameters.items() if p.annotation is not p.empty},
        "return": signature.return_annotation,
    }
    return func


def command(
    group: typer.Typer, name: str, *, banner: Callable[[State], str | None] | None = None, **options: Any
) -> Callable[[Callable[..., int | None]], Callable[..., None]]:
    """Register ``func`` as the command ``name`` of ``group``, guarded (see `guarded`)."""

    def decorate(func: Callable[..., int | None]) -> Callable[..., None]:
        wrapped = with_evaluated_annotations(guarded(banner=banner)(func), like=func)
        options.setdefault("epilog", GLOBAL_OPTIONS_NOTE)
        options.setdefault("cls", DeskCommand)  # --help whole at any width (see _help)
        group.command(name, **options)(wrapped)
        return wrapped

    return decorate


# --- the app and its global options -------------------------------------------------------------------------

app = typer.Typer(
    name="alma-onelink",
    cls=GlobalOptionsGroup,
    help=(
        "Register library patrons in Alma with OneLink, look them up and fix them, merge old accounts, "
        "and undo from the journal. Commands go to Alma when ALMA_API_KEY (or --api-key) is set, "
        "otherwise to a local sandbox, and say which on stderr."
    ),
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # never a traceback with locals (the key could be one of them)
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"alma-onelink {__version__}\n")
        raise typer.Exit()


def _given(ctx: typer.Context, names: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """The options among ``names`` (parameter, flag) typed on the command line, with their values."""
    given: list[str] = []
    for param, flag in names:
        source = ctx.get_parameter_source(param)
        value = ctx.params.get(param)
        if source is not None and source.name == "COMMANDLINE" and value is not None:
            given += [flag, _quote(str(value))]
    return tuple(given)


def _quote(text: str) -> str:
    return shlex.quote(text)


@app.callback()
@with_evaluated_annotations
def _global_options(
    ctx: typer.Context,
    *,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="ALMA_API_KEY",
            metavar="KEY",
            show_default=False,
            help="Alma API key (Users API, read/write). Set: commands go to Alma. Never printed.",
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url", envvar="ALMA_BASE_URL", metavar="URL", help="Alma gateway origin, instead of --region."
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            envvar="ALMA_REGION",
            metavar="REGION",
            help=f"Alma region: {', '.join(REGION_NAMES)} (default na).",
        ),
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option("--db", metavar="PATH", help="The local sandbox's SQLite file (default: in your data folder)."),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            envvar="ALMA_ONELINK_POLICY",
            metavar="NAME",
            help="Institution policy (default: duke when installed, else default). See: alma-onelink policies.",
        ),
    ] = None,
    journal: Annotated[
        Path | None,
        typer.Option(
            "--journal", metavar="PATH", help="The journal file (default: $ALMA_ONELINK_JOURNAL or your data folder)."
        ),
    ] = None,
    staff: Annotated[
        str | None,
        typer.Option(
            "--staff",
            envvar="ALMA_ONELINK_STAFF",
            metavar="NAME",
            help="Your name for the journal (default: your login).",
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON document (JSON Lines for batch) on stdout, nothing else.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Also show each step's Alma calls and how long it took.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and the SDK's log on stderr.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """The global options, kept in a `State` every command reads. They may come after the command's name too."""
    key = api_key.strip() if api_key and api_key.strip() else None
    source = ctx.get_parameter_source("api_key")
    from_env = source is not None and source.name == "ENVIRONMENT"
    url, zone = (base_url or None), (region or None)
    if url and zone:
        # Typed beats the environment; both typed is a contradiction.
        url_typed = (s := ctx.get_parameter_source("base_url")) is not None and s.name == "COMMANDLINE"
        zone_typed = (s := ctx.get_parameter_source("region")) is not None and s.name == "COMMANDLINE"
        if url_typed and zone_typed:
            raise typer.BadParameter("give --base-url or --region, not both", param_hint="'--base-url'")
        url, zone = (url, None) if url_typed or not zone_typed else (None, zone)
    ctx.obj = State(
        Settings(
            api_key=key,
            api_key_source="ALMA_API_KEY" if from_env else "--api-key",
            base_url=url,
            region=zone,
            db=db,
            policy=policy.strip() if policy and policy.strip() else None,
            journal=journal,
            staff=(staff.strip() if staff and staff.strip() else None) or default_staff(),
            json=json_output,
            debug=debug,
            verbose=verbose,
            given=_given(
                ctx, [("db", "--db"), ("journal", "--journal"), ("base_url", "--base-url"), ("region", "--region")]
            ),
        )
    )


# --- the process entry -----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``alma-onelink`` with ``argv`` (default: the process arguments); returns the exit status."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="alma-onelink")
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        return code if isinstance(code, int) else 1
    except KeyboardInterrupt:  # while typer built the app, before any command ran
        say_stopped(NOTHING_SENT)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return ExitCode.BROKEN_PIPE
    return 0
