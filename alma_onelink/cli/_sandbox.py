"""``sandbox serve | seed | reset | codes``: the embedded Alma sandbox over real HTTP, and its SQLite file.

``serve`` checks every flag and binds its port before it prints anything, so a port in use fails
with one error and no URL or key; ``--port 0`` prints the port the system chose. Ctrl-C stops it
at once (open keep-alive connections included) with one line, exit status 130.
"""

from __future__ import annotations

import copy
import errno
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from alma_onelink._constants import API_PATH

from ._app import app, command
from ._sandbox_codes import codes_app
from ._sdk import FAULT_KINDS
from ._state import (
    DEFAULT_PATRONS,
    MAX_PATRONS,
    ExitCode,
    State,
    UsageProblem,
    check_db_path,
    check_file_path,
    sandbox_db_problem,
    state_of,
)

if TYPE_CHECKING:
    import socket

    from alma_onelink.sandbox import Sandbox

__all__ = ["bind", "run_server", "sandbox_app"]

sandbox_app = typer.Typer(
    short_help="The local sandbox: serve, seed, reset, codes.",
    help="Run the embedded Alma sandbox over HTTP, fill or empty its SQLite file, or load your code tables.",
    no_args_is_help=True,
)
app.add_typer(sandbox_app, name="sandbox")
sandbox_app.add_typer(codes_app, name="codes")

SHUTDOWN_SECONDS: Final = 2
"""How long Ctrl-C waits for requests in flight before closing every connection."""

_DB_HELP = "The SQLite file (default: the global --db, else your data folder)."
_PATRONS_HELP = f"Generated patrons for a new or empty store (at most {MAX_PATRONS}; seed again to add more)."

DbOption = Annotated[Path | None, typer.Option("--db", metavar="PATH", help=_DB_HELP)]
SeedOption = Annotated[int, typer.Option("--seed", metavar="N", help="Seed for every random choice.")]
PatronsOption = Annotated[int, typer.Option("--patrons", metavar="N", min=0, max=MAX_PATRONS, help=_PATRONS_HELP)]
NoDukeOption = Annotated[bool, typer.Option("--no-duke", help="Leave out the Duke OneLink scenarios.")]


def _db(state: State, given: Path | None) -> Path:
    chosen = given if given is not None else state.settings.db
    return check_db_path(chosen)


def _banner(state: State, where: str) -> None:
    state.out.note(f"Sandbox {where}", style="dim")


def _no_banner(state: State) -> None:
    return None


def _kinds(text: str, flag: str) -> list[str]:
    from alma_onelink.sandbox import FAULT_KINDS, Faults  # noqa: PLC0415  (the emulator loads when a command runs)

    entries = [part.strip() for part in text.split(",") if part.strip()]
    try:
        Faults(script=entries)  # checks every entry
    except ValueError as exc:
        raise UsageProblem(f"{flag}: {exc}", f"kinds: {', '.join(FAULT_KINDS)}, or ok") from None
    return entries


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (``port`` 0: any free port). Raises `UsageProblem` saying why not."""
    import socket  # noqa: PLC0415  (only `serve` listens)

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageProblem(
                f"port {port} on {host} is in use", "stop what uses it, or choose another: --port 0 picks a free one"
            ) from None
        if exc.errno == errno.EACCES:
            raise UsageProblem(f"no permission to listen on port {port}", "ports below 1024 need privileges") from None
        raise UsageProblem(f"cannot listen on {host}:{port}: {exc.strerror or exc}", "check --host") from None
    sock.listen(128)  # connections wait in the queue from now on, even before the server loop accepts them
    sock.set_inheritable(True)
    return sock


def _log_config() -> dict[str, Any]:
    import uvicorn.config  # noqa: PLC0415 - only `serve` needs the server

    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"  # stdout holds only what serve prints
    return config


def run_server(sandbox: Sandbox, sock: socket.socket) -> None:
    """Serve ``sandbox`` on the bound ``sock`` until Ctrl-C (then close connections within `SHUTDOWN_SECONDS`)."""
    import uvicorn  # noqa: PLC0415 - only `serve` needs the server

    config = uvicorn.Config(
        sandbox.asgi_app(),
        http="h11",
        lifespan="on",
        log_level="info",
        log_config=_log_config(),
        timeout_graceful_shutdown=SHUTDOWN_SECONDS,
    )
    uvicorn.Server(config).run(sockets=[sock])


def _is_loopback(host: str) -> bool:
    import ipaddress  # noqa: PLC0415  (only `serve` asks)

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@command(sandbox_app, "serve", banner=_no_banner, short_help="Serve the sandbox over HTTP.")
def serve(
    ctx: typer.Context,
    *,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port; 0 picks a free one.")] = 8000,
    db: DbOption = None,
    memory: Annotated[bool, typer.Option("--memory", help="Keep users in memory only (lost on exit).")] = False,
    seed: SeedOption = 0,
    patrons: PatronsOption = DEFAULT_PATRONS,
    no_duke: NoDukeOption = False,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", metavar="KEY", help="The read/write key to accept (default: from --seed)."),
    ] = None,
    read_only_key: Annotated[
        list[str] | None,
        typer.Option("--read-only-key", metavar="KEY", help="Also accept KEY, read-only (repeatable)."),
    ] = None,
    latency_ms: Annotated[
        float, typer.Option("--latency-ms", min=0, metavar="X", help="Added to every response.")
    ] = 0.0,
    jitter_ms: Annotated[
        float, typer.Option("--jitter-ms", min=0, metavar="X", help="Random extra latency, up to X.")
    ] = 0.0,
    per_second: Annotated[
        int, typer.Option("--per-second", min=0, metavar="N", help="Per-second threshold (0: off).")
    ] = 25,
    daily_quota: Annotated[int, typer.Option("--daily-quota", min=0, metavar="N", help="Calls per day.")] = 100_000,
    fault_rate: Annotated[
        float, typer.Option("--fault-rate", metavar="P", help="Probability that a request fails (0 to 1).")
    ] = 0.0,
    faults: Annotated[
        str, typer.Option("--faults", metavar="KINDS", help=f"Kinds --fault-rate draws from: {', '.join(FAULT_KINDS)}.")
    ] = "500,503",
    fault_script: Annotated[
        str,
        typer.Option("--fault-script", metavar="LIST", help="Faults for the first requests, in order ('ok': none)."),
    ] = "",
    overstate_total: Annotated[
        int, typer.Option("--overstate-total", min=0, metavar="N", help="Added to total_record_count.")
    ] = 0,
    log: Annotated[
        Path | None, typer.Option("--log", metavar="PATH", help="Append the request log to this JSON Lines file.")
    ] = None,
) -> int:
    """Serve the Alma sandbox over real HTTP; a new or empty store is seeded first. Stop with Ctrl-C.

    Prints the URL, the key to use and a curl line, once the port is bound (--port 0: the port chosen).
    """
    import sqlite3  # noqa: PLC0415  (the emulator and its store load when a command runs, not for --help)

    from alma_onelink.sandbox import Faults, Sandbox  # noqa: PLC0415

    state = state_of(ctx)
    if memory and db is not None:
        raise UsageProblem("--db and --memory cannot be used together", "--memory keeps users in memory only")
    path = None if memory else _db(state, db)
    _banner(state, "in memory" if path is None else f"at {path}")
    log_path = check_file_path(log, "--log", what="a JSON Lines file") if log is not None else None
    kinds, script = _kinds(faults, "--faults"), _kinds(fault_script, "--fault-script")
    try:
        knobs = Faults(rate=fault_rate, kinds=kinds, script=script)
        sandbox = Sandbox(
            seed=seed,
            db_path=path,
            api_key=api_key,
            latency=latency_ms / 1000,
            jitter=jitter_ms / 1000,
            per_second_limit=per_second or None,
            daily_quota=daily_quota,
            faults=knobs,
            overstate_total=overstate_total,
            log_path=log_path,
        )
    except ValueError as exc:
        raise UsageProblem(" ".join(str(exc).split())) from None
    except (sqlite3.Error, OSError) as exc:
        if path is None:
            raise UsageProblem(f"cannot start the sandbox in memory: {' '.join(str(exc).split())}") from None
        raise sandbox_db_problem(path, exc) from None
    with sandbox:
        try:
            for key in read_only_key or []:
                sandbox.add_api_key(key, read_only=True)
        except ValueError as exc:
            raise UsageProblem(f"--read-only-key: {exc}") from None
        sock = bind(host, port)
        try:
            seeded = sandbox.seed(patrons, seed=seed, duke=not no_duke) if not len(sandbox.users) else []
            bound = sock.getsockname()[1]
            shown_host = f"[{host}]" if ":" in host else host
            origin = f"http://{shown_host}:{bound}"
            where = "memory" if path is None else str(path)
            if state.out.json_mode:
                state.out.document(
                    {
                        "url": origin + API_PATH,
                        "origin": origin,
                        "host": host,
                        "port": bound,
                        "api_key": sandbox.api_key,
                        "store": where,
                        "users": len(sandbox.users),
                        "seeded": len(seeded),
                    }
                )
            else:
                if seeded:
                    state.out.line(f"Seeded {len(seeded)} patrons.")
                state.out.line(f"Alma sandbox: {origin}{API_PATH}  (store: {where}, {len(sandbox.users)} users)")
                # The operator needs the sandbox's key to call it; it is shown here and nowhere else.
                state.out.line(f"API key (read/write): {sandbox.api_key}")
                state.out.line(
                    f"Try: curl -H 'Authorization: apikey {sandbox.api_key}' '{origin}{API_PATH}/users?limit=3'"
                )
                state.out.line(
                    f"Or:  alma-onelink --base-url {origin} --api-key {sandbox.api_key} user search --limit 3"
                )
                state.out.line("Stop with Ctrl-C.")
            if not _is_loopback(host):
                state.out.note("Warning: listening beyond loopback; the sandbox is a test tool, not a secure server.")
            run_server(sandbox, sock)
        finally:
            sock.close()
    return ExitCode.OK


@command(sandbox_app, "seed", banner=_no_banner, short_help="Add generated patrons to the sandbox.")
def seed_command(
    ctx: typer.Context,
    *,
    db: DbOption = None,
    seed: SeedOption = 0,
    patrons: PatronsOption = DEFAULT_PATRONS,
    no_duke: NoDukeOption = False,
) -> int:
    """Add --patrons generated patrons, and the Duke scenarios not there yet, to the sandbox's SQLite file."""
    import sqlite3  # noqa: PLC0415  (the emulator and its store load when a command runs, not for --help)

    from alma_onelink.sandbox import Sandbox  # noqa: PLC0415

    state = state_of(ctx)
    path = _db(state, db)
    _banner(state, f"at {path}")
    try:
        sandbox = Sandbox(seed=seed, db_path=path)
    except (sqlite3.Error, OSError) as exc:
        raise sandbox_db_problem(path, exc) from None
    with sandbox:
        added = sandbox.seed(patrons, seed=seed, duke=not no_duke)
        total = len(sandbox.users)
    if state.out.json_mode:
        state.out.document({"store": str(path), "added": len(added), "users": total})
    else:
        state.out.line(f"Added {len(added)} patrons to {path} ({total} users in all).")
    return ExitCode.OK


@command(sandbox_app, "reset", banner=_no_banner, short_help="Delete every user from the sandbox.")
def reset(
    ctx: typer.Context,
    *,
    db: DbOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
) -> int:
    """Delete every user, loan, request and fee from the sandbox's SQLite file (the file stays)."""
    import sqlite3  # noqa: PLC0415  (the emulator and its store load when a command runs, not for --help)

    from alma_onelink.sandbox import SqliteStore  # noqa: PLC0415

    state = state_of(ctx)
    path = _db(state, db)
    _banner(state, f"at {path}")
    if not yes:
        if not state.interactive:
            raise UsageProblem(f"this deletes every user in {path}", "run again with --yes to do it")
        if not typer.confirm(f"Delete every user in {path}?", err=True):
            return ExitCode.ACTION
    if not path.exists():
        if state.out.json_mode:
            state.out.document({"store": str(path), "deleted": 0})
        else:
            state.out.line(f"Nothing to reset: {path} does not exist.")
        return ExitCode.OK
    try:
        store = SqliteStore(path)
    except (sqlite3.Error, OSError) as exc:
        raise sandbox_db_problem(path, exc) from None
    try:
        count = store.count()
        store.clear()
    finally:
        store.close()
    if state.out.json_mode:
        state.out.document({"store": str(path), "deleted": count})
    else:
        state.out.line(f"Deleted {count} users from {path}.")
    return ExitCode.OK
