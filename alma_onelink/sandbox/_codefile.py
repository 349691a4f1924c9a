"""An institution's code tables, from a JSON or TOML file, checked whole before anything is stored.

The shape is the one Alma's code tables have: ``{"UserGroups": {"CODE": "Description", …}, …}``. Every
table the sandbox checks or fills ``desc`` from can be loaded; the few whose codes Alma fixes itself
(record types, account types, statuses) cannot. A file with an unknown table, or a code or
description that is not plain text, raises `CodeFileError` naming the table and the code, so nothing
half-checked is ever stored.
"""

from __future__ import annotations

import difflib
import json
import tomllib
import unicodedata
from collections.abc import Mapping
from pathlib import Path

from ._codes import DEFAULT_TABLE_NAMES

__all__ = [
    "FIXED_TABLES",
    "LOADABLE_TABLES",
    "MAX_CODE_LENGTH",
    "CodeFileError",
    "check_code_tables",
    "parse_code_text",
    "read_code_file",
]

FIXED_TABLES = frozenset({"RecordTypes", "AccountTypes", "UserStatus", "UserRoleStatus"})
"""Tables whose codes Alma fixes (the sandbox's rules depend on them): they cannot be loaded."""

LOADABLE_TABLES: tuple[str, ...] = tuple(sorted(name for name in DEFAULT_TABLE_NAMES if name not in FIXED_TABLES))
"""The code tables a file may hold: every table the sandbox knows but the fixed ones."""

MAX_CODE_LENGTH = 255
"""Alma's limit for a code and for its description (``string255Length``)."""

MAX_FILE_BYTES = 10 * 1024 * 1024
"""A code file larger than this is refused (an institution's tables are a few hundred kilobytes)."""

_EXAMPLE = '{"UserGroups": {"VISITOR": "Visiting scholar"}}'


class CodeFileError(ValueError):
    """A code file that cannot be loaded; the message says which table or code, and how to fix it."""


def read_code_file(path: str | Path) -> dict[str, dict[str, str]]:
    """The code tables in the JSON or TOML file ``path``, checked (see `check_code_tables`).

    The format follows the suffix (``.json``, ``.toml``); any other suffix is read as JSON when the
    text starts with ``{``, else as TOML. Raises `CodeFileError` for a file that cannot be read, is
    neither, or holds a table or entry the sandbox cannot load.
    """
    where = Path(path)
    try:
        if where.stat().st_size > MAX_FILE_BYTES:
            raise CodeFileError(f"{where}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; is it a code file?")
        data = where.read_bytes()
    except CodeFileError:
        raise
    except OSError as exc:
        raise CodeFileError(f"cannot read {where}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CodeFileError(f"{where}: not UTF-8 text; save the file as UTF-8") from None
    suffix = where.suffix.lower()
    fmt = suffix[1:] if suffix in (".json", ".toml") else ("json" if text.lstrip().startswith("{") else "toml")
    return parse_code_text(text, fmt=fmt, source=str(where))


def parse_code_text(text: str, *, fmt: str, source: str = "the code file") -> dict[str, dict[str, str]]:
    """The code tables in ``text`` (``fmt`` ``"json"`` or ``"toml"``), checked; `CodeFileError` if not."""
    if fmt == "json":
        try:
            data: object = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CodeFileError(
                f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from None
        except RecursionError:
            raise CodeFileError(f"{source}: nested too deep to be a code file") from None
    elif fmt == "toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CodeFileError(f"{source}: not valid TOML ({exc})") from None
    else:
        raise CodeFileError(f"{source}: unknown format {fmt!r}; use JSON or TOML")
    return check_code_tables(data, source=source)


def _table_name(name: object, source: str) -> str:
    if not isinstance(name, str) or name not in DEFAULT_TABLE_NAMES:
        shown = name if isinstance(name, str) else repr(name)
        close = difflib.get_close_matches(str(name), LOADABLE_TABLES, n=1, cutoff=0.6)
        folded = [t for t in LOADABLE_TABLES if t.casefold() == str(name).casefold()]
        guesses = folded or close
        maybe = f" (did you mean {guesses[0]}?)" if guesses else ""
        raise CodeFileError(
            f"{source}: unknown code table {shown}{maybe}; the tables the sandbox can load are "
            f"{', '.join(LOADABLE_TABLES)}"
        )
    if name in FIXED_TABLES:
        raise CodeFileError(f"{source}: {name} holds codes Alma fixes itself, so it cannot be loaded; leave it out")
    return name


def _plain(value: object, what: str, source: str) -> str:
    """``value`` if it is one line of visible text of at most `MAX_CODE_LENGTH` characters."""
    if not isinstance(value, str):
        raise CodeFileError(f"{source}: {what} must be text, got {type(value).__name__} {value!r}")
    if not value.strip():
        raise CodeFileError(f"{source}: {what} is blank")
    if value != value.strip():
        raise CodeFileError(f"{source}: {what} {value!r} starts or ends with spaces; remove them")
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") for ch in value):
        raise CodeFileError(f"{source}: {what} {value!r} holds a control character or line break")
    if len(value) > MAX_CODE_LENGTH:
        raise CodeFileError(f"{source}: {what} is {len(value)} characters long; Alma allows {MAX_CODE_LENGTH}")
    return value


def check_code_tables(data: object, *, source: str = "the code file") -> dict[str, dict[str, str]]:
    """``data`` as ``{table: {code: description}}`` if every table and entry can be loaded.

    Raises `CodeFileError` (a ``ValueError``) for anything else: not a mapping, no table at all, an
    unknown or fixed table, a table that is not a mapping of codes to descriptions, a code or
    description that is not one line of text (codes hold no spaces), or two codes of one table that
    differ only in case (Alma matches codes ignoring case).
    """
    if not isinstance(data, Mapping):
        raise CodeFileError(f"{source}: must map table names to their codes, like {_EXAMPLE}")
    if not data:
        raise CodeFileError(f"{source}: names no code table; write the tables like {_EXAMPLE}")
    tables: dict[str, dict[str, str]] = {}
    for name, rows in data.items():
        table = _table_name(name, source)
        if not isinstance(rows, Mapping):
            raise CodeFileError(
                f"{source}: {table} must map each code to its description, like {_EXAMPLE}; got {type(rows).__name__}"
            )
        checked: dict[str, str] = {}
        seen: dict[str, str] = {}
        for given, desc in rows.items():
            code = _plain(given, f"a code of {table}", source)
            if any(ch.isspace() for ch in code):
                raise CodeFileError(f"{source}: code {code!r} of {table} holds a space; Alma's codes have none")
            checked[code] = _plain(desc, f"the description of {table} {code}", source)
            twin = seen.setdefault(code.casefold(), code)
            if twin != code:
                raise CodeFileError(
                    f"{source}: {table} has both {twin} and {code}; Alma matches codes ignoring case, keep one"
                )
        tables[table] = checked
    return tables
