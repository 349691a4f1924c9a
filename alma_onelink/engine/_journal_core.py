"""The journal's file and locks beneath `alma_onelink.engine.journal.Journal`: its state, and what each call holds.

Every public call of `Journal` runs inside `JournalCore._locked`: both locks held (a bounded wait,
`alma_onelink.engine._journal_lock`), the index brought up to date with the files, and an
``OSError`` turned into `JournalError`.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alma_onelink.errors import InputError

from ._journal_data import JournalEntry, JournalError
from ._journal_files import append_whole
from ._journal_index import index_for
from ._journal_lock import DEFAULT_LOCK_TIMEOUT, JournalLock, check_lock_timeout
from ._journal_lookup import Query
from ._journal_path import resolve_journal_path

__all__ = ["JournalCore"]

log = logging.getLogger("alma_onelink")

_MIN_PREFIX = 6


class JournalCore:
    """The state of a `Journal` and its internals: locking, the index, finding an entry, appending lines."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        now: Callable[[], datetime] | None = None,
        new_id: Callable[[], str] | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        resolved = resolve_journal_path(path)
        self._path = resolved
        self._now = now or (lambda: datetime.now(UTC))
        self._new_id = new_id or (lambda: uuid.uuid4().hex)
        self._index = index_for(resolved)  # shared by the Journal objects of this file in this process
        self._thread_lock = self._index.lock  # so they wait on each other in memory, not by polling the file lock
        self._lock = JournalLock(resolved, self._thread_lock, check_lock_timeout(lock_timeout))
        self._damaged: tuple[int, list[str]] | None = None  # the damaged lines, as the index last said
        self._skipped = 0
        self._warned = 0

    def close(self) -> None:
        """Close the index's database connection (shared by this process's Journal objects on the file).

        Optional: it is opened again when next needed, and closed when the process exits.
        """
        with self._thread_lock:
            self._index.close()

    @property
    def path(self) -> Path:
        """The journal file (absolute)."""
        return self._path

    @property
    def lock_timeout(self) -> float:
        """Seconds a call waits for another process using the journal (its lock ``<path>.lock``)."""
        return self._lock.timeout

    @property
    def skipped_lines(self) -> int:
        """How many damaged lines (torn, not JSON, or not a known shape) the last read skipped."""
        return self._skipped

    # --- internals: callers hold the locks -------------------------------------------------

    @contextmanager
    def _locked(self, *, write: bool = False) -> Iterator[None]:
        """Hold the journal's locks, the index brought up to date; an ``OSError`` inside becomes `JournalError`.

        A read goes on without the file lock where it cannot be created (a read-only folder).
        """
        try:
            with self._lock.held(write=write):
                self._sync()
                yield
        except OSError as exc:
            cause = str(exc) or type(exc).__name__
            what = "written" if write else "read"
            raise JournalError(
                f"The journal {self._path} could not be {what} ({cause})", path=self._path, cause=cause
            ) from exc

    def _select(self, **conditions: Any) -> list[tuple[int, JournalEntry]]:
        """For the engine's look-ups: entries matching `Query` conditions, each with its place in the journal."""
        query = Query(**conditions)
        with self._locked():
            return self._index.ask(lambda index: index.select(query))

    def _moves_without_create(self) -> set[str]:
        """For the engine's look-ups: registrations with an identifier move and no done create of the id after it."""
        with self._locked():
            return self._index.ask(lambda index: index.moves_without_create())

    def _sync(self) -> None:
        """Bring the index up to date with the files, and count the damaged lines."""
        self._index.ask(lambda index: index.sync())
        if self._damaged is None or self._damaged[0] != self._index.generation:
            self._damaged = (self._index.generation, self._index.ask(lambda index: index.damaged()))
        damaged = self._damaged[1]
        torn = [str(self._index.torn)] if self._index.torn else []  # a crash mid-write, or one in progress
        self._skipped = len(damaged) + len(torn)
        if self._skipped > self._warned:
            shown = ", ".join((damaged + torn)[:10])
            log.warning(
                "Journal %s: skipped %d damaged line(s) (line %s); the rest reads normally.",
                self._path,
                self._skipped,
                shown,
            )
        self._warned = self._skipped

    def _find(self, entry_id: str, *, exact: bool) -> JournalEntry:
        wanted = entry_id.strip() if isinstance(entry_id, str) else ""
        found = self._index.ask(lambda index: index.by_id(wanted)) if wanted else None
        if found is not None:
            return found[1]
        if not exact and len(wanted) >= _MIN_PREFIX:
            matches = self._index.ask(lambda index: index.by_prefix(wanted, 2))
            if len(matches) == 1:
                return matches[0][1]
            if matches:
                total = self._index.ask(lambda index: index.count_prefix(wanted))
                raise InputError(
                    f"{total} entries in the journal {self._path} have ids starting with {wanted!r}; "
                    "give more characters of the id."
                )
        hint = (
            "" if exact or len(wanted) >= _MIN_PREFIX else f" (give the full id or at least {_MIN_PREFIX} characters)"
        )
        raise InputError(f"No entry with id {entry_id!r} in the journal {self._path}{hint}.")

    def _append(self, data: bytes) -> None:
        append_whole(self._path, data)
