"""The journal's index: a SQLite file beside it that says where each entry's lines are, so a look-up reads only those.

``<journal>.index.sqlite3`` (stdlib ``sqlite3``, WAL) holds, for each entry, the byte offsets of its
intent line and of the completion and settlement lines that decide its result, with indexed columns
for what the journal is asked by: the folded target, the registration, the operation, the result
and the identifiers the record before held. It is derived, never trusted over the files: it
records how far into each file it has read (and a hash of the bytes around that point); each use
first reads what was appended since; a file replaced, rewritten or shortened, an archive added or
removed, an index missing, damaged or of another version is rebuilt from the files. A line read at
an offset that is not the line expected means the same. Where the index cannot be written (a
read-only folder), it is built in memory from the files instead. Every method is called holding
the journal's locks.
"""

from __future__ import annotations

import atexit
import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from stat import S_ISREG
from typing import Any, BinaryIO, TypeVar

from ._journal_data import JournalError, held_values, parse_line
from ._journal_files import Segment, fingerprint, list_segments, marker_path, recover_archiving
from ._journal_lookup import UNSETTLED, Lookups, Query, Stale, fold, micros

__all__ = ["JournalIndex", "Query", "Stale", "index_for", "index_path"]

log = logging.getLogger("alma_onelink")

_VERSION = 2
_COMMIT_EVERY = 5000  # lines: a rebuild cut short resumes from its last commit
_CHUNK = 1 << 20
_TABLES = ("segments", "entries", "held", "taken", "damaged")
_SCHEMA = """
CREATE TABLE segments (
    rank INTEGER PRIMARY KEY, name TEXT NOT NULL, ino INTEGER NOT NULL, offset INTEGER NOT NULL,
    lines INTEGER NOT NULL, head BLOB NOT NULL, tail BLOB NOT NULL);
CREATE TABLE entries (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, id_key TEXT NOT NULL, target_key TEXT NOT NULL,
    registration TEXT, operation TEXT, action TEXT NOT NULL, result TEXT NOT NULL, completed INTEGER NOT NULL,
    time INTEGER NOT NULL,
    i_seg INTEGER NOT NULL, i_at INTEGER NOT NULL, i_len INTEGER NOT NULL,
    c_seg INTEGER, c_at INTEGER, c_len INTEGER, s_seg INTEGER, s_at INTEGER, s_len INTEGER);
CREATE INDEX entries_id_key ON entries (id_key);
CREATE INDEX entries_target ON entries (target_key, seq);
CREATE INDEX entries_registration ON entries (registration, seq);
CREATE INDEX entries_operation ON entries (operation, seq);
CREATE INDEX entries_result ON entries (result, seq);
CREATE TABLE held (value TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (value, seq)) WITHOUT ROWID;
CREATE TABLE taken (value TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (value, seq)) WITHOUT ROWID;
CREATE TABLE damaged (seg INTEGER NOT NULL, line INTEGER NOT NULL, PRIMARY KEY (seg, line)) WITHOUT ROWID;
"""
_SEGMENTS = "SELECT rank, name, ino, offset, lines, head, tail FROM segments ORDER BY rank"

T = TypeVar("T")
_OPEN_AT_MOST = 8  # connections kept open in one process; the least recently used idle one is closed beyond

# Connections inherited through fork() are never closed in the child: closing one there could disturb the parent's.
_inherited: list[sqlite3.Connection] = []
# One index per journal file in a process, shared by every Journal object on it (and guarded by its lock), so a
# new Journal object on the same file (each call given a path makes one) finds it open and up to date.
_indexes: dict[str, JournalIndex] = {}
_open: OrderedDict[str, JournalIndex] = OrderedDict()
_registry_guard = threading.Lock()


def index_for(journal: Path) -> JournalIndex:
    """The process's index of ``journal``: its ``lock`` serialises every use in this process."""
    with _registry_guard:
        found = _indexes.get(str(journal))
        if found is None:
            found = _indexes[str(journal)] = JournalIndex(journal)
        return found


def _opened(index: JournalIndex) -> None:
    """Count a connection opened; close the least recently opened ones beyond `_OPEN_AT_MOST` that are idle."""
    with _registry_guard:
        _open[str(index.journal)] = index
        _open.move_to_end(str(index.journal))
        for key, other in list(_open.items())[:-_OPEN_AT_MOST]:
            if other is not index and other.lock.acquire(blocking=False):  # never wait: that could deadlock
                try:
                    other.close()
                finally:
                    other.lock.release()
                del _open[key]


@atexit.register
def _close_all() -> None:
    for index in list(_open.values()):
        if index.lock.acquire(blocking=False):
            try:
                index.close()
            finally:
                index.lock.release()


def index_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".index.sqlite3")


class JournalIndex(Lookups):
    """The index of one journal file and its archives. Not thread-safe: the journal's locks serialise every call."""

    def __init__(self, journal: Path) -> None:
        self.journal = journal
        self.path = index_path(journal)
        self.lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._ino: int | None = None  # the index file's, to notice it was deleted or replaced
        self._memory = False
        self._listing: tuple[int, list[str]] | None = None  # the folder's mtime and names, when last listed
        self.segments: list[Segment] = []
        self._seen: tuple[list[Any], tuple[int, int, int] | None, list[Segment]] | None = None  # as last synced
        self.generation = 0  # counts the syncs that found something new
        self.torn = 0  # the line number of the live file's last line while it has no newline (a crash mid-write)

    # --- the connection -------------------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is not None and self._pid == os.getpid() and (self._memory or self._same_file()):
            return conn
        self.close()
        conn = self._open()
        self._conn, self._pid = conn, os.getpid()
        _opened(self)
        return conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        self._seen = None
        if conn is None:
            return
        if self._pid != os.getpid():
            _inherited.append(conn)
        else:
            conn.close()

    def broken(self, exc: Exception) -> None:
        """An error from SQLite: start over with a fresh index file, or in memory where files cannot be written."""
        self.close()
        if self._memory:
            raise exc
        if isinstance(exc, sqlite3.OperationalError):  # cannot write here: full disk, read-only folder
            log.warning("Journal %s: its index %s cannot be used (%s); reading the file.", self.journal, self.path, exc)
            self._memory = True
            return
        log.warning("Journal %s: its index %s is damaged (%s); rebuilding it.", self.journal, self.path, exc)
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            except OSError:
                self._memory = True

    def ask(self, question: Callable[[JournalIndex], T]) -> T:
        """``question(self)``; an index SQLite cannot use, or pointing at lines that are not there, is rebuilt first.

        Raises `JournalError` if it still cannot answer after rebuilding twice.
        """
        problem: Exception | None = None
        for _ in range(3):
            try:
                if isinstance(problem, Stale):
                    log.warning("Journal %s: its index is out of date (%s); rebuilding it.", self.journal, problem)
                    self.rebuild()
                elif problem is not None:
                    self.broken(problem)
                    self.sync()
                return question(self)
            except (sqlite3.Error, Stale) as exc:
                problem = exc
        raise JournalError(
            f"The index of the journal {self.journal} cannot be used ({problem})", path=self.journal, cause=str(problem)
        ) from problem

    def _same_file(self) -> bool:
        try:
            return os.stat(self.path).st_ino == self._ino
        except OSError:
            return False

    def _open(self) -> sqlite3.Connection:
        if self._memory:
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            for statement in _SCHEMA.split(";"):
                conn.execute(statement)
            return conn
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL").fetchall()
            conn.execute("PRAGMA synchronous=NORMAL")
            if conn.execute("PRAGMA user_version").fetchone()[0] != _VERSION:  # new, or of another version
                conn.execute("BEGIN IMMEDIATE")
                for table in _TABLES:
                    conn.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in _SCHEMA.split(";"):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version={_VERSION}")
                conn.execute("COMMIT")
            conn.execute("SELECT count(*) FROM segments").fetchone()
            self._ino = os.stat(self.path).st_ino
        except BaseException:
            conn.close()
            raise
        return conn

    # --- keeping up with the files ---------------------------------------------------------------

    def sync(self) -> bool:
        """Read what the files gained since the index last did; rebuild from the first file that changed otherwise.

        Returns whether anything changed since the last call.
        """
        for fresh in (False, True):  # a folder's time can be coarse: list it again before rebuilding anything
            if fresh:
                self._listing = None
            names = self._names()
            ignore = None
            if marker_path(self.journal).name in names:  # an archiving was cut short: finish or undo it first
                ignore = recover_archiving(self.journal)
                self._listing = None
                names = self._names()
            live = _identity(self.journal)
            segments = list_segments(self.journal, names, live=live is not None, ignore=ignore)
            if not segments and self._conn is None and not self.path.exists():
                self.segments, self.torn = [], 0
                return False  # no journal yet: nothing to index, and no index file made for it
            conn = self.connection()
            rows = conn.execute(_SEGMENTS).fetchall()
            if self._seen == (rows, live, segments):
                return False  # nobody wrote since: the usual case, told by three stats and one small query
            start = next((rank for rank, seg in enumerate(segments) if not _matches(seg, rank, rows)), len(segments))
            if start == len(rows) == len(segments):
                break  # the same files, grown at most
        self.torn = 0
        if start < len(rows):
            start = self._forget(conn, start)
            rows = rows[:start]
        self.segments = segments
        for rank, seg in enumerate(segments):
            offset, lines = (rows[rank][3], rows[rank][4]) if rank < len(rows) else (0, 0)
            self._read(conn, rank, seg, offset, lines, new=rank >= len(rows))
        self._seen = (conn.execute(_SEGMENTS).fetchall(), live, segments)
        self.generation += 1
        return True

    def rebuild(self) -> None:
        """Forget everything and index the files again."""
        conn = self.connection()
        self._forget(conn, 0)
        self._listing = self._seen = None
        self.sync()

    def _names(self) -> list[str]:
        folder = self.journal.parent
        try:
            mtime = os.stat(folder).st_mtime_ns
        except OSError:
            return []
        if self._listing is None or self._listing[0] != mtime:
            self._listing = (mtime, os.listdir(folder))
        return self._listing[1]

    def _forget(self, conn: sqlite3.Connection, start: int) -> int:
        """Drop what was indexed of the files from ``start`` on (all of it if a line there ended an earlier entry)."""
        conn.execute("BEGIN IMMEDIATE")
        crossing = conn.execute(
            "SELECT 1 FROM entries WHERE i_seg < ? AND (c_seg >= ? OR s_seg >= ?) LIMIT 1", (start, start, start)
        ).fetchone()
        if crossing is not None:
            start = 0
        conn.execute("DELETE FROM held WHERE seq IN (SELECT seq FROM entries WHERE i_seg >= ?)", (start,))
        conn.execute("DELETE FROM taken WHERE seq IN (SELECT seq FROM entries WHERE i_seg >= ?)", (start,))
        conn.execute("DELETE FROM entries WHERE i_seg >= ?", (start,))
        conn.execute("DELETE FROM damaged WHERE seg >= ?", (start,))
        conn.execute("DELETE FROM segments WHERE rank >= ?", (start,))
        conn.execute("COMMIT")
        return start

    def _read(self, conn: sqlite3.Connection, rank: int, seg: Segment, offset: int, lines: int, *, new: bool) -> None:
        """Index the lines of ``seg`` past ``offset``, committing as it goes; a live file's torn last line waits."""
        with open(seg.path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size == offset and not new:
                return
            file.seek(offset)
            conn.execute("BEGIN IMMEDIATE")
            try:
                at, rest, since = offset, b"", 0
                while chunk := file.read(min(_CHUNK, size - at - len(rest))):  # what is there now, no more
                    data, start = rest + chunk, 0
                    while (end := data.find(b"\n", start)) >= 0:
                        lines += 1
                        if data[start:end].strip():
                            self._apply(conn, rank, lines, data[start:end], at=at + start)
                        start, since = end + 1, since + 1
                        if since >= _COMMIT_EVERY:
                            self._mark(conn, rank, seg, file, offset=at + start, lines=lines)
                            conn.execute("COMMIT")
                            conn.execute("BEGIN IMMEDIATE")
                            since = 0
                    at, rest = at + start, data[start:]
                if rest.strip() and not seg.live:  # an archive is never appended to: its last line is damaged
                    lines += 1
                    conn.execute("INSERT OR IGNORE INTO damaged VALUES (?, ?)", (rank, lines))
                    at, rest = at + len(rest), b""
                self.torn = lines + 1 if rest.strip() else 0
                self._mark(conn, rank, seg, file, offset=at, lines=lines)
                conn.execute("COMMIT")
            except BaseException:
                conn.rollback()
                raise

    @staticmethod
    def _mark(conn: sqlite3.Connection, rank: int, seg: Segment, file: BinaryIO, *, offset: int, lines: int) -> None:
        head, tail = fingerprint(file, offset)
        conn.execute(
            "INSERT OR REPLACE INTO segments VALUES (?, ?, ?, ?, ?, ?, ?)",
            (rank, seg.name, os.fstat(file.fileno()).st_ino, offset, lines, head, tail),
        )

    @staticmethod
    def _apply(conn: sqlite3.Connection, rank: int, line_no: int, line: bytes, *, at: int) -> None:
        """Index one line as reading the file whole takes it (`apply_line`); a line that does not fit is damaged."""
        length = len(line)
        parsed = parse_line(line)
        applied = False
        if parsed is not None and parsed[0] == "intent":
            entry = parsed[1]
            cursor = conn.execute(
                "INSERT OR IGNORE INTO entries (id, id_key, target_key, registration, operation, action, result, "
                "completed, time, i_seg, i_at, i_len) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)",
                (entry.id, entry.id.lower(), fold(entry.target), entry.registration, entry.operation, entry.action,
                 micros(entry.time), rank, at, length),
            )  # fmt: skip
            applied = cursor.rowcount == 1
            if applied:
                seq = cursor.lastrowid
                held = [(value, seq) for value in held_values(entry.before)]
                conn.executemany("INSERT OR IGNORE INTO held VALUES (?, ?)", held)
                if entry.operation == "register" and entry.action == "update" and entry.sending is not None:
                    # A registration's identifier move: what it takes off the old account (the OneLink ID).
                    taken = held_values(entry.before) - held_values(entry.sending)
                    conn.executemany("INSERT OR IGNORE INTO taken VALUES (?, ?)", [(v, seq) for v in taken])
        elif parsed is not None:
            row = conn.execute("SELECT seq, result, completed FROM entries WHERE id = ?", (parsed[1].id,)).fetchone()
            if parsed[0] == "completion" and row is not None and not row[2]:
                conn.execute(
                    "UPDATE entries SET result = ?, completed = 1, c_seg = ?, c_at = ?, c_len = ?, "
                    "s_seg = NULL, s_at = NULL, s_len = NULL WHERE seq = ?",
                    (parsed[1].result, rank, at, length, row[0]),
                )
                applied = True
            elif parsed[0] == "settlement" and row is not None and row[1] in UNSETTLED:
                conn.execute(
                    "UPDATE entries SET result = ?, s_seg = ?, s_at = ?, s_len = ? WHERE seq = ?",
                    (parsed[1].result, rank, at, length, row[0]),
                )
                applied = True
        if not applied:
            conn.execute("INSERT OR IGNORE INTO damaged VALUES (?, ?)", (rank, line_no))


def _identity(path: Path) -> tuple[int, int, int] | None:
    """Inode, size and time of a regular file; None for none (a device such as /dev/full holds no journal to read)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns) if S_ISREG(stat.st_mode) else None


def _matches(seg: Segment, rank: int, rows: Sequence[Sequence[Any]]) -> bool:
    """Whether what the index read of ``seg`` is still there, unchanged (a live file may have grown since)."""
    if rank >= len(rows) or rows[rank][1] != seg.name:
        return False
    _, _, ino, offset, _, head, tail = rows[rank]
    try:
        with open(seg.path, "rb") as file:
            stat = os.fstat(file.fileno())
            if stat.st_ino != ino or stat.st_size < offset or (not seg.live and stat.st_size != offset):
                return False
            return fingerprint(file, offset) == (head, tail)
    except OSError:
        return False
