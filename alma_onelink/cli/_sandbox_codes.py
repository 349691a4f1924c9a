"""``sandbox codes load | show``: an institution's own code tables in the sandbox's SQLite file.

The sandbox checks user groups, identifier types, statistical categories, external systems and more
against its code tables. ``load`` keeps an institution's codes in the sandbox's database, so every
later command on the sandbox and ``sandbox serve`` (even one already running) accept them; ``show``
lists what the sandbox knows. A file with an unknown table or a bad entry is refused whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ._app import command
from ._state import ExitCode, State, UsageProblem, check_db_path, sandbox_db_problem, state_of

if TYPE_CHECKING:
    from alma_onelink.sandbox import CodeTables, SqliteStore

__all__ = ["codes_app"]

codes_app = typer.Typer(
    short_help="Your institution's code tables: load, show.",
    help=(
        "Load your institution's code tables (user groups, identifier types, statistical categories, "
        "external systems…) into the sandbox's SQLite file, or show the codes it knows."
    ),
    no_args_is_help=True,
)

_FILE_SHAPE = 'a JSON or TOML file like {"UserGroups": {"VISITOR": "Visiting scholar"}}'

DbOption = Annotated[
    Path | None,
    typer.Option("--db", metavar="PATH", help="The SQLite file (default: the global --db, else your data folder)."),
]


def _db(state: State, given: Path | None) -> Path:
    chosen = given if given is not None else state.settings.db
    return check_db_path(chosen) if chosen is not None else state.settings.db_path


def _no_banner(state: State) -> None:
    return None


def _open(path: Path) -> SqliteStore:
    import sqlite3  # noqa: PLC0415  (the emulator and its store load when a command runs, not for --help)

    from alma_onelink.sandbox import SqliteStore  # noqa: PLC0415

    try:
        return SqliteStore(path)
    except (sqlite3.Error, OSError) as exc:
        raise sandbox_db_problem(path, exc) from None


def _known(store: SqliteStore | None) -> tuple[CodeTables, dict[str, dict[str, str]]]:
    """The tables the sandbox checks against (built-in, then loaded) and the loaded ones alone."""
    from alma_onelink.sandbox import CodeTables  # noqa: PLC0415  (the emulator loads when a command runs)

    loaded = store.codes() if store is not None else {}
    tables = CodeTables()
    for table, rows in loaded.items():
        for code, desc in rows.items():
            tables.add(table, code, desc)
    return tables, loaded


@command(codes_app, "load", banner=_no_banner, short_help="Add codes from a JSON or TOML file.")
def load(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help=f"The codes: {_FILE_SHAPE}.")],
    *,
    db: DbOption = None,
) -> int:
    """Add your institution's codes to the sandbox's SQLite file; codes already there are relabelled.

    Every later command on the sandbox, and `alma-onelink sandbox serve` (even one already running),
    accepts them. The file is checked whole first: an unknown table or a bad entry stores nothing.
    """
    from alma_onelink.sandbox import CodeFileError  # noqa: PLC0415  (the emulator loads when a command runs)
    from alma_onelink.sandbox._codefile import read_code_file  # noqa: PLC0415

    state = state_of(ctx)
    path = _db(state, db)
    state.out.note(f"Sandbox at {path}", style="dim")
    if not file.expanduser().is_file():
        raise UsageProblem(f"FILE {str(file)!r} is not a file", f"give {_FILE_SHAPE}")
    try:
        tables = read_code_file(file.expanduser())
    except CodeFileError as exc:
        raise UsageProblem(" ".join(str(exc).split()), f"give {_FILE_SHAPE}") from None
    store = _open(path)
    try:
        known, _ = _known(store)
        counts: dict[str, dict[str, int]] = {}
        for table, rows in tables.items():
            count = counts[table] = {"added": 0, "relabelled": 0, "unchanged": 0}
            for code, desc in rows.items():
                hit = known.lookup(table, code)
                count["added" if hit is None else "unchanged" if hit[1] == desc else "relabelled"] += 1
        store.add_codes(tables)
    finally:
        store.close()
    total = sum(len(rows) for rows in tables.values())
    if state.out.json_mode:
        state.out.document({"store": str(path), "codes": total, "tables": counts})
        return ExitCode.OK
    state.out.line(f"Loaded {total} code(s) into {path}:")
    for table, count in counts.items():
        parts = [f"{n} {what}" for what, n in count.items() if n]
        state.out.line(f"  {table}: {', '.join(parts)}")
    state.out.line("Commands on this sandbox and alma-onelink sandbox serve use them now.")
    return ExitCode.OK


def _table_arg(name: str | None) -> list[str]:
    from alma_onelink.sandbox._codefile import LOADABLE_TABLES  # noqa: PLC0415  (the emulator loads when used)
    from alma_onelink.sandbox._codes import DEFAULT_TABLE_NAMES  # noqa: PLC0415

    if name is None:
        return list(LOADABLE_TABLES)
    if name in DEFAULT_TABLE_NAMES:
        return [name]
    folded = [t for t in sorted(DEFAULT_TABLE_NAMES) if t.casefold() == name.casefold()]
    if folded:
        return folded
    raise UsageProblem(f"unknown code table {name!r}", f"tables: {', '.join(LOADABLE_TABLES)}")


@command(codes_app, "show", banner=_no_banner, short_help="List the codes the sandbox knows.")
def show(
    ctx: typer.Context,
    table: Annotated[
        str | None, typer.Argument(metavar="[TABLE]", help="One table, such as UserGroups (default: all).")
    ] = None,
    *,
    loaded_only: Annotated[bool, typer.Option("--loaded", help="Only the codes loaded from files.")] = False,
    db: DbOption = None,
) -> int:
    """List the codes the sandbox accepts, table by table; those loaded from your files are marked."""
    state = state_of(ctx)
    names = _table_arg(table)
    path = _db(state, db)
    state.out.note(f"Sandbox at {path}", style="dim")
    store = _open(path) if path.exists() else None  # showing never creates the file
    try:
        known, loaded = _known(store)
    finally:
        if store is not None:
            store.close()
    shown: dict[str, list[tuple[str, str, bool]]] = {}  # table -> (code, description, loaded)
    for name in names:
        mine = {code.casefold() for code in loaded.get(name, {})}
        rows = [(code, known.desc(name, code), code.casefold() in mine) for code in known.codes(name)]
        rows = [row for row in rows if row[2]] if loaded_only else rows
        if rows or table is not None:
            shown[name] = rows
    if state.out.json_mode:
        tables = {
            name: [{"code": code, "description": desc, "loaded": was} for code, desc, was in rows]
            for name, rows in shown.items()
        }
        state.out.document({"store": str(path), "tables": tables})
        return ExitCode.OK
    if not shown:
        state.out.line("No codes loaded yet: alma-onelink sandbox codes load FILE adds them.")
    for name, rows in shown.items():
        state.out.line(f"{name} ({len(rows)} code(s), {sum(row[2] for row in rows)} loaded)")
        width = max((len(code) for code, _, _ in rows), default=0)
        for code, desc, was in rows:
            mark = "  [loaded]" if was and not loaded_only else ""
            state.out.line(f"  {code.ljust(width)}  {desc}{mark}")
    return ExitCode.OK
