"""The ``alma-onelink`` command.

Each command group is added by one ``_add_<group>(subparsers)`` function listed in ``COMMAND_GROUPS``;
each subcommand sets ``func`` to the function that runs it and returns the exit status. Bad flags,
alone or in combination, end in an argparse error (exit status 2), never a traceback.
"""

from __future__ import annotations

import argparse
import ipaddress
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, TypeVar

from alma_onelink import __version__
from alma_onelink._constants import API_PATH
from alma_onelink.sandbox import FAULT_KINDS, Faults, Sandbox, SqliteStore, Store, default_db_path

__all__ = ["COMMAND_GROUPS", "build_parser", "main", "make_sandbox"]

T = TypeVar("T")
Number = TypeVar("Number", int, float)


# --- argument types ------------------------------------------------------------------------------


def _non_negative(convert: Callable[[str], Number], noun: str) -> Callable[[str], Number]:
    """An argument type: ``convert`` the text (else "expected ``noun``"), and refuse a negative value."""

    def parse(text: str) -> Number:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
        return value

    return parse


_count = _non_negative(int, "a whole number")
_number = _non_negative(float, "a number")


def _port(text: str) -> int:
    value = _count(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port between 0 and 65535, got {value}")
    return value


def _checked(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argument type from ``parse``: its ``ValueError`` becomes argparse's one-line error for the flag."""

    def checked(text: str) -> T:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return checked


def _fault_list(text: str) -> list[str]:
    entries = [part.strip() for part in text.split(",") if part.strip()]
    Faults(script=entries)  # checks every entry
    return entries


def _fault_rate(text: str) -> float:
    return Faults(rate=_number(text)).rate  # checks the range


# --- the sandbox group ---------------------------------------------------------------------------


def _add_store_options(parser: argparse.ArgumentParser, *, allow_memory: bool) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db", type=Path, metavar="PATH", help=f"SQLite file to use (default: {default_db_path()})")
    if allow_memory:
        where.add_argument("--memory", action="store_true", help="keep users in memory only (lost on exit)")


def _add_seed_options(parser: argparse.ArgumentParser, *, patrons: int) -> None:
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="seed for every random choice (default 0)")
    parser.add_argument(
        "--patrons",
        type=_count,
        default=patrons,
        metavar="N",
        help=f"patrons to generate (default {patrons})",
    )
    parser.add_argument("--no-duke", action="store_true", help="leave out the Duke OneLink scenarios")


def _add_sandbox(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sandbox = subparsers.add_parser("sandbox", help="run or manage the embedded Alma sandbox")
    commands = sandbox.add_subparsers(dest="sandbox_command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve",
        help="serve the sandbox over HTTP (an emulated Alma Users API)",
        description="Serve the Alma sandbox over real HTTP. A new or empty store is seeded first.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port, 0 to 65535 (default 8000)")
    _add_store_options(serve, allow_memory=True)
    _add_seed_options(serve, patrons=40)
    serve.add_argument("--api-key", metavar="KEY", help="the read/write API key to accept (default: from --seed)")
    serve.add_argument(
        "--read-only-key",
        action="append",
        default=[],
        metavar="KEY",
        help="also accept KEY, read-only (repeatable)",
    )
    serve.add_argument("--latency-ms", type=_number, default=0.0, metavar="X", help="added to every response")
    serve.add_argument("--jitter-ms", type=_number, default=0.0, metavar="X", help="random extra latency, up to X")
    serve.add_argument(
        "--per-second", type=_count, default=25, metavar="N", help="per-second threshold (default 25; 0 = off)"
    )
    serve.add_argument("--daily-quota", type=_count, default=100_000, metavar="N", help="calls per day")
    serve.add_argument(
        "--fault-rate", type=_checked(_fault_rate), default=0.0, metavar="P", help="probability a request fails"
    )
    serve.add_argument(
        "--faults",
        type=_checked(_fault_list),
        default=["500", "503"],
        metavar="KINDS",
        help=f"comma-separated kinds --fault-rate draws from: {', '.join(FAULT_KINDS)} (default 500,503)",
    )
    serve.add_argument(
        "--fault-script",
        type=_checked(_fault_list),
        default=[],
        metavar="LIST",
        help="faults for the first requests, in order ('ok' = none)",
    )
    serve.add_argument("--overstate-total", type=_count, default=0, metavar="N", help="added to total_record_count")
    serve.add_argument("--log", type=Path, metavar="PATH", help="append the request log to this JSON Lines file")
    serve.set_defaults(func=_cmd_serve, usage_error=serve.error)

    seed = commands.add_parser(
        "seed", help="add generated patrons (and the Duke scenarios) to the sandbox's SQLite file"
    )
    _add_store_options(seed, allow_memory=False)
    _add_seed_options(seed, patrons=100)
    seed.set_defaults(func=_cmd_seed, usage_error=seed.error)

    reset = commands.add_parser("reset", help="delete every user from the sandbox's SQLite file")
    _add_store_options(reset, allow_memory=False)
    reset.add_argument("--yes", action="store_true", help="really delete (required)")
    reset.set_defaults(func=_cmd_reset, usage_error=reset.error)


def make_sandbox(args: argparse.Namespace) -> Sandbox:
    """The `Sandbox` that ``sandbox serve`` arguments describe (nothing is seeded yet).

    Raises ``ValueError`` when the flags do not fit together (a fault rate without fault kinds, a
    log file in a missing folder, a blank key…); ``sqlite3.Error``/``OSError`` if ``--db`` cannot be opened.
    """
    sandbox = Sandbox(
        seed=args.seed,
        db_path=None if args.memory else (args.db or default_db_path()),
        api_key=args.api_key,
        latency=args.latency_ms / 1000,
        jitter=args.jitter_ms / 1000,
        per_second_limit=args.per_second or None,
        daily_quota=args.daily_quota,
        faults=Faults(rate=args.fault_rate, kinds=args.faults, script=args.fault_script),
        overstate_total=args.overstate_total,
        log_path=args.log,
    )
    try:
        for key in args.read_only_key:
            sandbox.add_api_key(key, read_only=True)
    except ValueError:
        sandbox.close()
        raise
    return sandbox


def _open(args: argparse.Namespace, build: Callable[[], T]) -> T:
    """``build()``, turning a bad flag (``ValueError``) or an unusable ``--db`` into an argparse error."""
    fail: Callable[[str], NoReturn] = args.usage_error
    try:
        return build()
    except ValueError as exc:
        fail(" ".join(str(exc).split()))  # one line
    except (sqlite3.Error, OSError) as exc:
        fail(f"cannot open the sandbox database: {' '.join(str(exc).split())}")


def _run_server(sandbox: Sandbox, host: str, port: int) -> None:
    import uvicorn  # noqa: PLC0415 - only `serve` needs the server

    config = uvicorn.Config(sandbox.asgi_app(), host=host, port=port, http="h11", lifespan="on", log_level="info")
    uvicorn.Server(config).run()


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _cmd_serve(args: argparse.Namespace) -> int:
    out = sys.stdout
    with _open(args, lambda: make_sandbox(args)) as sandbox:
        if not len(sandbox.users):
            added = sandbox.seed(args.patrons, seed=args.seed, duke=not args.no_duke)
            print(f"Seeded {len(added)} patrons.", file=out)
        where = "memory" if args.memory else str(args.db or default_db_path())
        origin = f"http://{args.host}:{args.port}"
        print(f"Alma sandbox: {origin}{API_PATH}  (store: {where}, {len(sandbox.users)} users)", file=out)
        # The operator needs the key to call the sandbox; it is shown here and nowhere else.
        print(f"API key (read/write): {sandbox.api_key}", file=out)
        print(f"Try: curl -H 'Authorization: apikey {sandbox.api_key}' '{origin}{API_PATH}/users?limit=3'", file=out)
        if not _is_loopback(args.host):
            print(
                "Warning: listening beyond loopback; the sandbox is a test tool, not a secure server.", file=sys.stderr
            )
        out.flush()
        _run_server(sandbox, args.host, args.port)
    return 0


def _cmd_seed(args: argparse.Namespace) -> int:
    path = args.db or default_db_path()
    with _open(args, lambda: Sandbox(seed=args.seed, db_path=path)) as sandbox:
        added = sandbox.seed(args.patrons, seed=args.seed, duke=not args.no_duke)
        print(f"Added {len(added)} patrons to {path} ({len(sandbox.users)} users in all).")
    return 0


def _cmd_reset(args: argparse.Namespace) -> int:
    path = args.db or default_db_path()
    if not args.yes:
        print(f"This deletes every user in {path}. Run again with --yes to do it.", file=sys.stderr)
        return 2
    if not Path(path).exists():
        print(f"Nothing to reset: {path} does not exist.")
        return 0
    store: Store = _open(args, lambda: SqliteStore(path))
    try:
        count = store.count()
        store.clear()
    finally:
        store.close()
    print(f"Deleted {count} users from {path}.")
    return 0


def _add_demo(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="a guided tour of the SDK on the embedded sandbox (no Alma key needed)",
        description="Search, get, create, edit, a typed error and a retried 429, on the in-process sandbox.",
    )
    demo.add_argument("--patrons", type=_count, default=120, help="generated patrons (default 120)")
    demo.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from alma_onelink.demo import run  # noqa: PLC0415  (the tour loads only when asked for)

    return run(patrons=args.patrons)


# --- the command ---------------------------------------------------------------------------------

COMMAND_GROUPS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = [_add_demo, _add_sandbox]
"""Every command group, in help order. A new group registers itself with one line here."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every ``alma-onelink`` command."""
    parser = argparse.ArgumentParser(
        prog="alma-onelink", description="Alma Users API tools: the OneLink workflow and an embedded Alma sandbox."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add_group in COMMAND_GROUPS:
        add_group(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``alma-onelink`` with ``argv`` (default: the process arguments); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    status: int = func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
