"""What is typed on the command line and cannot be used: `UsageProblem` (exit 2), and the checks of the paths typed.

A path is checked before anything is opened or written there: a folder where a file is meant, a
folder that does not exist, a name longer than the file system takes, a sandbox database path
longer than SQLite opens (`SQLITE_PATH_BYTES`). Each is a `UsageProblem` naming the flag, the
length and the limit, and what to type instead; never an ``OSError`` from deep inside.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Final

from alma_onelink.errors import InputError

__all__ = ["SQLITE_PATH_BYTES", "UsageProblem", "check_db_path", "check_file_path", "sandbox_db_problem"]

SQLITE_PATH_BYTES: Final = 504
"""The longest path (in bytes, made absolute) SQLite opens a database at: its limit of 512 bytes for a file
name, less the ``-journal`` it appends to name the rollback journal."""


class UsageProblem(InputError):
    """Something typed on the command line cannot be used (exit 2); ``hint`` says what to type instead."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.hint = hint
        super().__init__(message)


_SHOWN_PATH: Final = 120
"""The most characters a message shows of a path too long to use: its start, and its length."""


def _shown(path: Path) -> str:
    """``path`` quoted, or its start and its length in bytes when it is too long to read in a message."""
    text = str(path)
    if len(text) <= _SHOWN_PATH:
        return repr(text)
    return f"{text[:_SHOWN_PATH]!r}… ({len(os.fsencode(text))} bytes)"


def _system_limit(path: Path, name: str, fallback: int) -> int:
    """The file system's limit ``name`` (``PC_NAME_MAX``, ``PC_PATH_MAX``) where ``path`` would be, or ``fallback``."""
    folder = path.parent
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    try:
        return int(os.pathconf(folder, name))
    except (OSError, ValueError, AttributeError):  # not known there, or not a POSIX system
        return fallback


def _path_problem(target: Path, flag: str, exc: OSError) -> UsageProblem:
    """The usage error for a path the system would not even look at (too long, not readable)."""
    if exc.errno == errno.ENAMETOOLONG:
        longest = max((len(os.fsencode(part)) for part in target.parts), default=0)
        name_max = _system_limit(target, "PC_NAME_MAX", 255)
        if longest > name_max:
            why = f"a name in it is {longest} bytes long, and this system takes names of at most {name_max} bytes"
        else:
            size, path_max = len(os.fsencode(target.absolute())), _system_limit(target, "PC_PATH_MAX", 4096)
            why = f"it is {size} bytes long, and this system takes paths of at most {path_max} bytes"
        return UsageProblem(f"{flag} {_shown(target)}: {why}", f"give a shorter path with {flag}")
    return UsageProblem(
        f"{flag} {_shown(target)} cannot be used: {exc.strerror or type(exc).__name__}",
        f"give another path with {flag}",
    )


def check_file_path(path: Path, flag: str, *, what: str) -> Path:
    """``path`` if it can name a file: not a folder, in a folder that exists. Else `UsageProblem` naming ``flag``.

    A path the system cannot look at (a name in it longer than the file system takes, no permission
    to look) is a `UsageProblem` too, naming the length and the limit.
    """
    target = path.expanduser()
    try:
        is_folder, folder_exists = target.is_dir(), target.parent.is_dir()
    except OSError as exc:
        raise _path_problem(target, flag, exc) from None
    if is_folder:
        raise UsageProblem(f"{flag} {str(target)!r} is a folder", f"give the path of {what} in it")
    if not folder_exists:
        raise UsageProblem(
            f"{flag} {str(target)!r}: the folder {str(target.parent)!r} does not exist",
            f"create it first (mkdir -p {target.parent}) or give a path in an existing folder",
        )
    return target


def check_db_path(path: Path | None, flag: str = "--db") -> Path:
    """The sandbox database at ``path`` (``None``: the default in the data folder), if SQLite can open a file there.

    Raises `UsageProblem` for a path longer than SQLite takes (`SQLITE_PATH_BYTES`, made absolute),
    naming its length and the limit, and for any path `check_file_path` refuses.
    """
    from alma_onelink.sandbox import default_db_path  # noqa: PLC0415  (the emulator loads only when used)

    target = path.expanduser() if path is not None else default_db_path()
    size = len(os.fsencode(target.absolute()))
    if size > SQLITE_PATH_BYTES:
        raise _too_long_for_sqlite(target, size, flag)
    return check_file_path(target, flag, what="a SQLite file") if path is not None else target


def _too_long_for_sqlite(path: Path, size: int, flag: str = "--db") -> UsageProblem:
    return UsageProblem(
        f"cannot open the sandbox database {str(path.absolute())!r}: its path is {size} bytes long, and SQLite "
        f"cannot open a database whose path is longer than {SQLITE_PATH_BYTES} bytes",
        f"give a shorter path with {flag} (for example {flag} ~/sandbox.sqlite3)",
    )


def sandbox_db_problem(path: Path, exc: BaseException) -> UsageProblem:
    """The usage error for a sandbox database at ``path`` that SQLite or the system could not open (``exc``).

    SQLite says only "unable to open database file" for a path longer than it can take: that case
    names the path, its length and the limit, and asks for a shorter ``--db``.
    """
    import sqlite3  # noqa: PLC0415  (loaded by the store that raised ``exc``)

    full = path.expanduser().absolute()
    size = len(os.fsencode(full))
    if size > SQLITE_PATH_BYTES:
        return _too_long_for_sqlite(full, size)
    if isinstance(exc, OSError) and not isinstance(exc, sqlite3.Error) and exc.errno == errno.ENAMETOOLONG:
        return _path_problem(full, "--db", exc)
    return UsageProblem(
        f"cannot open the sandbox database {str(path)!r}: {' '.join(str(exc).split())}",
        "give another file with --db, or remove this one (alma-onelink sandbox reset empties it)",
    )
