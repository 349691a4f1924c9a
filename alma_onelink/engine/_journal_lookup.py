"""Asking the journal's index: which entries a look-up keeps, read from their lines and nothing else.

`Lookups` is the half of `alma_onelink.engine._journal_index.JournalIndex` that answers; the other
half keeps the index up to date with the files. `Query` says what to keep; `query_of` turns what
`Journal.entries` is given into one, refusing what is not a filter.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO

from alma_onelink.errors import InputError

from ._journal_data import JournalEntry, merge, parse_line, settle
from ._journal_files import Segment, read_at

if TYPE_CHECKING:
    from .journal import Journal

__all__ = ["UNSETTLED", "Lookups", "Query", "Stale", "fold", "micros", "query_of", "registrations_starting"]

UNSETTLED = ("pending", "unknown")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MOST_VALUES = 500  # parameters of one IN (...): far below SQLite's limit
LOCATION = "seq, id, i_seg, i_at, i_len, c_seg, c_at, c_len, s_seg, s_at, s_len"
"""The columns that say where an entry's lines are."""


def fold(text: str) -> str:
    """How targets are compared: ignoring case and surrounding blanks."""
    return text.strip().casefold()


def micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


class Stale(Exception):
    """The index points at bytes that are not the line it expects: the files changed under it."""


@dataclass(frozen=True, slots=True)
class Query:
    """What a look-up keeps (every given condition holds), oldest first; ``newest`` and ``limit`` take the last ones."""

    target: str | None = None
    registration: str | None = None
    registrations: frozenset[str] | None = None
    ids: frozenset[str] | None = None
    operation: str | None = None
    action: str | None = None
    held: str | None = None
    results: tuple[str, ...] | None = None
    after: int | None = None
    limit: int | None = None
    newest: bool = False

    def where(self) -> tuple[str, list[Any]] | None:
        """The SQL condition and its parameters; None when nothing can match."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("target_key", None if self.target is None else fold(self.target)),
            ("registration", self.registration),
            ("operation", self.operation),
            ("action", self.action),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        for column, values in (("registration", self.registrations), ("id", self.ids), ("result", self.results)):
            if values is not None:
                if not values:
                    return None
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                params.extend(sorted(values))
        if self.held is not None:
            clauses.append("seq IN (SELECT seq FROM held WHERE value = ?)")
            params.append(self.held.casefold())
        if self.after is not None:
            clauses.append("seq > ?")
            params.append(self.after)
        if not all(_encodable(p) for p in params):
            return None  # text no line can hold (a lone surrogate): nothing matches
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _encodable(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def query_of(*, target: str | None, registration: str | None, operation: str | None, last: int | None = None) -> Query:
    """The `Query` of `Journal.entries`' filters. Raises `InputError` for a filter that is not text, a bad ``last``."""
    for name, value in (("target", target), ("registration", registration), ("operation", operation)):
        if value is not None and not isinstance(value, str):
            raise InputError(f"{name} must be text (or None for every entry), not {type(value).__name__}.")
    if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 0):
        raise InputError(f"last must be a whole number of entries, 0 or more; got {last!r}.")
    return Query(target=target, registration=registration, operation=operation, limit=last, newest=last is not None)


class Lookups:
    """The look-ups of an index: every one is made holding the journal's locks, once the index is up to date."""

    segments: list[Segment]
    """The journal's files, archives first, as the index last read them."""

    def connection(self) -> sqlite3.Connection:
        raise NotImplementedError

    def select(self, query: Query) -> list[tuple[int, JournalEntry]]:
        """The entries ``query`` keeps, oldest first, each with its place in the journal (later entries have larger)."""
        if len(query.registrations or ()) > _MOST_VALUES or len(query.ids or ()) > _MOST_VALUES:
            return self._select_in_parts(query)
        where = query.where()
        if where is None or not self.segments:
            return []
        sql, params = where
        order = "DESC" if query.newest else ""
        limit = "" if query.limit is None else f" LIMIT {int(query.limit)}"
        statement = f"SELECT {LOCATION} FROM entries{sql} ORDER BY seq {order}{limit}"  # noqa: S608 - no value inlined
        rows = self.connection().execute(statement, params)
        found = self.load(rows.fetchall())
        return found[::-1] if query.newest else found

    def _select_in_parts(self, query: Query) -> list[tuple[int, JournalEntry]]:
        """`select` for more ids or registrations than SQLite takes in one statement."""
        found: dict[int, JournalEntry] = {}
        whole = replace(query, limit=None, newest=False)
        for name in ("registrations", "ids"):
            values = sorted(getattr(query, name) or ())
            if len(values) > _MOST_VALUES:
                for i in range(0, len(values), _MOST_VALUES):
                    part = frozenset(values[i : i + _MOST_VALUES])
                    asked = replace(whole, registrations=part) if name == "registrations" else replace(whole, ids=part)
                    found.update(self.select(asked))
                break
        ordered = sorted(found.items())
        if query.limit is None:
            return ordered
        return ordered[max(0, len(ordered) - query.limit) :] if query.newest else ordered[: query.limit]

    def count(self, query: Query) -> int:
        where = query.where()
        if where is None or not self.segments:
            return 0
        sql, params = where
        statement = f"SELECT count(*) FROM entries{sql}"  # noqa: S608 - no value inlined
        return int(self.connection().execute(statement, params).fetchone()[0])

    def moves_without_create(self) -> set[str]:
        """Registrations whose identifier move (a ``register`` update taking an identifier off its account) is done
        or not known, with no done create of that identifier after it: the candidates of a half-done registration."""
        if not self.segments:
            return set()
        rows = self.connection().execute(
            "SELECT DISTINCT e.registration FROM taken t JOIN entries e ON e.seq = t.seq "
            "WHERE e.registration IS NOT NULL AND e.result IN ('done', 'pending', 'unknown') AND NOT EXISTS ("
            "SELECT 1 FROM entries c WHERE c.target_key = t.value AND c.action = 'create' AND c.result = 'done' "
            "AND c.seq > e.seq)"
        )
        return {str(row[0]) for row in rows}

    def by_id(self, entry_id: str) -> tuple[int, JournalEntry] | None:
        found = self.select(Query(ids=frozenset({entry_id})))
        return found[0] if found else None

    def by_prefix(self, prefix: str, limit: int) -> list[tuple[int, JournalEntry]]:
        """Entries whose id starts with ``prefix`` ignoring case, at most ``limit``."""
        low = prefix.lower()
        if not self.segments or not _encodable(low):
            return []
        rows = self.connection().execute(
            f"SELECT {LOCATION} FROM entries WHERE id_key >= ? AND id_key < ? ORDER BY seq LIMIT ?",  # noqa: S608
            (low, low + "\U0010ffff", limit),
        )
        return self.load(rows.fetchall())

    def registrations_by_prefix(self, prefix: str, limit: int) -> list[str]:
        """The distinct registration ids (of registrations, merges, restores, hand-offs) starting with ``prefix``
        (as typed, or in lower case), at most ``limit``, in the order they were first journaled."""
        if not self.segments or not _encodable(prefix):
            return []
        found: list[str] = []
        for start in dict.fromkeys((prefix, prefix.lower())):
            rows = self.connection().execute(
                "SELECT registration, min(seq) AS first FROM entries WHERE registration >= ? AND registration < ? "
                "GROUP BY registration ORDER BY first LIMIT ?",
                (start, start + "\U0010ffff", limit),
            )
            found += [str(row[0]) for row in rows.fetchall() if str(row[0]) not in found]
        return found[:limit]

    def count_prefix(self, prefix: str) -> int:
        low = prefix.lower()
        if not self.segments or not _encodable(low):
            return 0
        row = (
            self.connection()
            .execute("SELECT count(*) FROM entries WHERE id_key >= ? AND id_key < ?", (low, low + "\U0010ffff"))
            .fetchone()
        )
        return int(row[0])

    def has(self, entry_id: str) -> bool:
        if not self.segments or not _encodable(entry_id):
            return False
        return self.connection().execute("SELECT 1 FROM entries WHERE id = ?", (entry_id,)).fetchone() is not None

    def damaged(self) -> list[str]:
        """The damaged lines: their numbers in the live file, ``name:number`` in an archive."""
        if not self.segments:
            return []
        rows = self.connection().execute("SELECT seg, line FROM damaged ORDER BY seg, line").fetchall()
        names = dict(enumerate(self.segments))
        return [str(line) if names[rank].live else f"{names[rank].name}:{line}" for rank, line in rows]

    def load(self, rows: Sequence[Sequence[Any]]) -> list[tuple[int, JournalEntry]]:
        """Read and merge each entry's lines. Raises `Stale` if a line is not where the index says."""
        with ExitStack() as stack:
            files: dict[int, BinaryIO] = {}

            def line(rank: int, at: int, length: int) -> bytes:
                if rank not in files:
                    try:
                        files[rank] = stack.enter_context(open(self.segments[rank].path, "rb"))
                    except (OSError, IndexError) as exc:
                        raise Stale(f"journal file {rank} cannot be read ({exc})") from exc
                return read_at(files[rank], at, length)

            found = []
            for seq, entry_id, *where in rows:
                found.append((seq, _entry(entry_id, line, where)))
            return found

    def live_rank(self) -> int | None:
        return len(self.segments) - 1 if self.segments and self.segments[-1].live else None

    def archivable(self, cutoff: datetime) -> tuple[set[str], int]:
        """Ids of the live file's entries `Journal.archive` moves, and how many older than ``cutoff`` it keeps.

        An entry moves when it and every entry of its registration are settled and older than
        ``cutoff``, and no earlier entry on the same account stays: so the writes of a registration
        stay together, and those on one account stay in their order.
        """
        live = self.live_rank()
        if live is None:
            return set(), 0
        statement = "SELECT id, target_key, coalesce(registration, id), result, time FROM entries WHERE i_seg = ?"
        rows = self.connection().execute(statement + " ORDER BY seq", (live,)).fetchall()
        limit = micros(cutoff)
        kept = {group for _, _, group, result, time in rows if result in UNSETTLED or time >= limit}
        while True:
            blocked: set[str] = set()
            grown = False
            for _, target, group, _, _ in rows:
                if group in kept or target in blocked:
                    blocked.add(target)
                    if group not in kept:
                        kept.add(group)
                        grown = True
            if not grown:
                break
        moving = {entry_id for entry_id, _, group, _, _ in rows if group not in kept}
        older = sum(1 for entry_id, _, _, _, time in rows if time < limit and entry_id not in moving)
        return moving, older

    def segment_of(self, entry_id: str) -> int | None:
        """The file (its rank) of an entry's intent; None if the journal has no such entry."""
        row = self.connection().execute("SELECT i_seg FROM entries WHERE id = ?", (entry_id,)).fetchone()
        return None if row is None else int(row[0])


def _entry(entry_id: str, line: Any, where: Iterable[Any]) -> JournalEntry:
    i_seg, i_at, i_len, c_seg, c_at, c_len, s_seg, s_at, s_len = where
    parsed = parse_line(line(i_seg, i_at, i_len))
    if parsed is None or parsed[0] != "intent" or parsed[1].id != entry_id:
        raise Stale(f"the intent of {entry_id} is not where the index says")
    entry = parsed[1]
    if c_seg is not None:
        done = parse_line(line(c_seg, c_at, c_len))
        if done is None or done[0] != "completion" or done[1].id != entry_id:
            raise Stale(f"the completion of {entry_id} is not where the index says")
        entry = merge(entry, done[1])
    if s_seg is not None:
        settled = parse_line(line(s_seg, s_at, s_len))
        if settled is None or settled[0] != "settlement" or settled[1].id != entry_id:
            raise Stale(f"the settlement of {entry_id} is not where the index says")
        entry = settle(entry, settled[1])
    return entry


def registrations_starting(journal: Journal, prefix: str, limit: int = 10) -> list[str]:
    """The registration ids in ``journal`` (archives included) that start with ``prefix``, at most ``limit``,
    oldest first: what a short id as `Journal.entries` lines show it (``911d…``) stands for. Reads the index only."""
    with journal._locked():
        return journal._index.ask(lambda index: index.registrations_by_prefix(prefix, limit))
