"""Writing many rows to SQLite at once: several rows per statement, and indexes built after the rows.

Both are about the same rows reaching the same tables sooner: SQLite binds a few hundred rows per
statement faster than one at a time, and builds an index from sorted keys faster than it inserts
the keys one by one into a growing index.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import Any

__all__ = ["deferred_indexes", "insert_rows"]

_VARIABLES = 999  # parameters per statement: SQLite's smallest limit, so any build of it takes them


def insert_rows(db: sqlite3.Connection, table: str, rows: Sequence[Sequence[Any]]) -> None:
    """``INSERT INTO table VALUES …`` for every row of ``rows`` (all as wide as the first), in order.

    ``table`` is the caller's fixed text (never input): a name and its columns, ``"ids (key, id_type,
    uid)"``. Raises what SQLite raises.
    """
    if not rows:
        return
    width = len(rows[0])
    per = max(_VARIABLES // width, 1)
    one = f"({', '.join('?' * width)})"
    full = len(rows) - len(rows) % per
    if full:
        flat = list(chain.from_iterable(rows[:full]))
        step = per * width
        db.executemany(
            f"INSERT INTO {table} VALUES {', '.join([one] * per)}",  # noqa: S608 - fixed names
            (flat[start : start + step] for start in range(0, len(flat), step)),
        )
    if full < len(rows):
        db.executemany(f"INSERT INTO {table} VALUES {one}", rows[full:])  # noqa: S608 - fixed names


@contextmanager
def deferred_indexes(db: sqlite3.Connection, table: str) -> Iterator[None]:
    """If ``table`` is empty, drop its indexes for the block and build them again at its end.

    Run it inside a transaction: if the block raises, the caller's rollback restores the indexes.
    A table that holds rows keeps its indexes (rebuilding them would cost more than it saves).
    """
    if db.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]:  # noqa: S608 - fixed names
        yield
        return
    made = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name",
        (table,),
    ).fetchall()
    for name, _ in made:
        db.execute(f'DROP INDEX "{name}"')
    yield
    for _, sql in made:
        db.execute(sql)
