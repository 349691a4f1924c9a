"""The journal: an append-only JSON Lines file of every write the OneLink workflow makes.

Each write to Alma is journaled ahead: an *intent* line (with the full record as it was before)
goes to disk before the request, then a *completion* line (the record after, or the error) once
the answer is known. Nothing is ever rewritten, so a crash leaves at worst an intent with no
completion, which `Journal.pending` lists. A later run settles it by reading Alma: a *settlement*
line (`Journal.settle`) says whether the write took effect, and how that was found out. A write's
own completion, should it come after a settlement, is what counts.

The file is shared safely by threads and processes: every append and every read happens under a
``threading.Lock`` and a ``filelock.FileLock`` on ``<path>.lock``, and each append is one write of
a complete line followed by fsync. Reading is lenient: a damaged line is skipped and counted.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import filelock
import platformdirs
import pydantic

from alma_onelink.errors import InputError

from ._journal_data import (
    ACTIONS,
    COMPLETIONS,
    SETTLED_KEYS,
    SETTLEMENTS,
    Action,
    Completion,
    CompletionLine,
    JournalEntry,
    JournalError,
    Result,
    Settlement,
    SettlementLine,
    apply_line,
    detached,
    encode,
    merge,
    plain_record,
    settle,
)

__all__ = ["Action", "Journal", "JournalEntry", "JournalError", "Result", "Settlement", "default_journal_path"]

log = logging.getLogger("alma_onelink")

_MIN_PREFIX = 6


def default_journal_path() -> Path:
    """Where ``Journal()`` writes when given no path.

    ``$ALMA_ONELINK_JOURNAL`` if set and not blank (``~`` is expanded), else
    ``platformdirs.user_data_path("alma-onelink", appauthor=False) / "journal.jsonl"``.
    """
    configured = os.environ.get("ALMA_ONELINK_JOURNAL", "").strip()
    if configured:
        return Path(configured).expanduser()
    return platformdirs.user_data_path("alma-onelink", appauthor=False) / "journal.jsonl"


@dataclass
class _ReadState:
    """What has been read of the file so far, so each read parses only the bytes appended since."""

    file_id: tuple[int, int] | None = None
    offset: int = 0  # bytes consumed, always just after a newline
    line_count: int = 0
    entries: dict[str, JournalEntry] = field(default_factory=dict)  # by id, in intent order
    damaged: list[int] = field(default_factory=list)  # line numbers (1-based) of skipped lines


# One thread lock per journal file in this process, so Journal objects on the same file wait on
# each other in memory instead of polling the file lock.
_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


def _thread_lock_for(path: Path) -> threading.Lock:
    with _thread_locks_guard:
        return _thread_locks.setdefault(str(path), threading.Lock())


class Journal:
    """An append-only JSON Lines journal of writes to Alma, safe to share across threads and processes.

    ``path`` defaults to `default_journal_path()`, whose folder is created if needed. An explicit
    path must be a file (existing or not) in an existing folder, else `InputError`. ``now``
    (returns an aware datetime; default ``datetime.now(UTC)``) and ``new_id`` (default
    ``uuid4().hex``) can be injected for tests. Reads never raise on a damaged file; writes raise
    `InputError` for bad input (before anything is written) and `OSError` if the file cannot be
    written.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        now: Callable[[], datetime] | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        if path is None:
            resolved = default_journal_path().absolute()
            if not resolved.is_dir():
                resolved.parent.mkdir(parents=True, exist_ok=True)
        else:
            resolved = Path(os.fspath(path)).expanduser().absolute()
        if resolved.is_dir():
            raise InputError(
                f"The journal path {resolved} is a folder; give a file path such as {resolved / 'journal.jsonl'}."
            )
        if not resolved.parent.is_dir():
            raise InputError(
                f"The folder {resolved.parent} for the journal does not exist; create it first "
                f"(mkdir -p {resolved.parent}) or give a path in an existing folder."
            )
        self._path = resolved
        self._now = now or (lambda: datetime.now(UTC))
        self._new_id = new_id or (lambda: uuid.uuid4().hex)
        self._thread_lock = _thread_lock_for(resolved)
        self._file_lock = filelock.FileLock(f"{resolved}.lock", thread_local=False, poll_interval=0.005)
        self._state = _ReadState()
        self._skipped = 0
        self._warned = 0

    @property
    def path(self) -> Path:
        """The journal file (absolute)."""
        return self._path

    @property
    def skipped_lines(self) -> int:
        """How many damaged lines (torn, not JSON, or not a known shape) the last read skipped."""
        return self._skipped

    def intend(
        self,
        *,
        action: Action,
        target: str,
        before: Mapping[str, Any] | None,
        staff: str | None = None,
        registration: str | None = None,
        operation: str | None = None,
        reason: str | None = None,
    ) -> JournalEntry:
        """Write the intent of one write to Alma, before sending it; return the pending entry.

        ``before`` is the record as Alma holds it now (Alma JSON, e.g. ``user.to_alma()``), None
        for a create. Raises `InputError` for an unknown action, a blank target, a record that is
        not JSON, or text fields that are not strings; nothing is written then.
        """
        if action not in ACTIONS:
            raise InputError(f"Unknown journal action {action!r}; use one of {', '.join(ACTIONS)}.")
        if not isinstance(target, str) or not target.strip():
            raise InputError("The journal needs the primary id of the record written (target); it was blank.")
        record = plain_record(before, "before")
        try:
            entry = JournalEntry(
                id=self._new_id(),
                time=self._now(),
                staff=staff,
                action=action,
                target=target,
                before=record,
                registration=registration,
                operation=operation,
                reason=reason,
            )
        except pydantic.ValidationError as exc:
            raise InputError(f"Cannot journal this write: {exc}") from exc
        line = {
            "type": "intent",
            **entry.model_dump(mode="json", exclude=SETTLED_KEYS),
            "time": entry.time.isoformat(),
        }
        data = encode(line)
        with self._locked():
            if entry.id in self._read():
                raise InputError(
                    f"The journal {self._path} already has an entry with id {entry.id}; ids must be unique."
                )
            self._append(data)
        return entry

    def complete(
        self,
        entry: JournalEntry | str,
        *,
        result: Completion,
        after: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> JournalEntry:
        """Write the completion of an intent; return the merged entry.

        ``entry`` is the pending entry or its id (a unique prefix of at least 6 characters works).
        ``after`` is Alma's answer (None for a delete or a failure); ``error`` says why it failed,
        or for ``"unknown"`` how to check. An intent another run settled meanwhile (by reading Alma
        while this write was under way) still takes its completion, which then counts. Raises
        `InputError` if the id is not in this journal, if the intent is already completed (never
        two completions for one intent), for a result other than done/failed/unknown, or a record
        that is not JSON; nothing is written then.
        """
        if result not in COMPLETIONS:
            raise InputError(f"Unknown completion result {result!r}; use one of {', '.join(COMPLETIONS)}.")
        if error is not None and not isinstance(error, str):
            raise InputError(f"The completion error must be text, not {type(error).__name__}.")
        record = plain_record(after, "after")
        with self._locked():
            pending = self._find(
                entry.id if isinstance(entry, JournalEntry) else entry, exact=isinstance(entry, JournalEntry)
            )
            if pending.completed is not None:
                raise InputError(
                    f"Journal entry {pending.id} in {self._path} was already completed "
                    f"({pending.result} at {pending.completed}); an intent gets one completion only."
                )
            try:
                done = CompletionLine(id=pending.id, result=result, after=record, error=error, completed=self._now())
            except pydantic.ValidationError as exc:
                raise InputError(f"Cannot journal this completion: {exc}") from exc
            line = {"type": "completion", **done.model_dump(mode="json"), "completed": done.completed.isoformat()}
            self._append(encode(line))
        return detached(merge(pending, done))

    def settle(
        self,
        entry: JournalEntry | str,
        *,
        result: Settlement,
        note: str,
        after: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> JournalEntry:
        """Settle a ``pending`` or ``unknown`` entry once Alma was read; return the settled entry.

        Appends a settlement line (nothing is rewritten): ``result`` is ``"done"`` (the write took
        effect; ``after`` is the record Alma holds now, None for a delete) or ``"failed"`` (it did
        not; ``error`` may say what was found). ``note`` says how it was settled, in words staff
        read (e.g. ``"settled by reading Alma: 0345678 exists"``). The entry leaves `pending`. If
        the write's own completion arrives later, it counts instead; an entry that is ``done`` or
        ``failed`` already (its write completed while Alma was read, or another run settled it) is
        returned as it stands, and nothing is written. Raises `InputError` if the id is not in this
        journal, for another result, a blank note or a record that is not JSON; nothing is written then.
        """
        if result not in SETTLEMENTS:
            raise InputError(f"Unknown settlement result {result!r}; use one of {', '.join(SETTLEMENTS)}.")
        if not isinstance(note, str) or not note.strip():
            raise InputError("A settlement needs a note saying how the outcome was found out (it was blank).")
        if error is not None and not isinstance(error, str):
            raise InputError(f"The settlement error must be text, not {type(error).__name__}.")
        record = plain_record(after, "after")
        with self._locked():
            found = self._find(
                entry.id if isinstance(entry, JournalEntry) else entry, exact=isinstance(entry, JournalEntry)
            )
            if not found.is_unsettled:
                return detached(found)  # completed meanwhile by the write itself, or settled by another run
            try:
                line = SettlementLine(
                    id=found.id, result=result, after=record, error=error, note=note.strip(), settled=self._now()
                )
            except pydantic.ValidationError as exc:
                raise InputError(f"Cannot journal this settlement: {exc}") from exc
            data = {"type": "settlement", **line.model_dump(mode="json"), "settled": line.settled.isoformat()}
            self._append(encode(data))
        return detached(settle(found, line))

    def entries(self, *, target: str | None = None, registration: str | None = None) -> list[JournalEntry]:
        """Every entry (intent merged with its completion), in the order the intents were written.

        ``target`` keeps entries for that primary id, compared ignoring case; ``registration``
        keeps entries of that registration, merge or restore. Never raises on a damaged file.
        """
        with self._locked():
            found = list(self._read().values())
        if target is not None:
            wanted = target.strip().casefold()
            found = [e for e in found if e.target.strip().casefold() == wanted]
        if registration is not None:
            found = [e for e in found if e.registration == registration]
        return [detached(e) for e in found]

    def _snapshot(self) -> list[JournalEntry]:
        """Every entry as read, not copied: for the engine's own look-ups, which never change them."""
        with self._locked():
            return list(self._read().values())

    def pending(self) -> list[JournalEntry]:
        """Intents with neither a completion nor a settlement: the process stopped between the two lines.

        ``alma-onelink journal settle`` (Python: `alma_onelink.engine.settle`) settles them by reading
        Alma; so do the next registration of the same patron, and ``restore`` and ``undo_merge`` for the
        entries they undo.
        """
        with self._locked():
            found = [e for e in self._read().values() if e.is_pending]
        return [detached(e) for e in found]

    def get(self, entry_id: str) -> JournalEntry:
        """The entry with this id, or with a unique prefix of it of at least 6 characters.

        Raises `InputError` naming the id and the file if no entry matches, or if the prefix is
        shared by several entries.
        """
        with self._locked():
            found = self._find(entry_id, exact=False)
        return detached(found)

    def __len__(self) -> int:
        """The number of intents in the journal."""
        with self._locked():
            return len(self._read())

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self.entries())

    def __repr__(self) -> str:
        return f"<Journal {self._path}>"

    # --- internals: callers hold the locks -------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock, self._file_lock:
            yield

    def _find(self, entry_id: str, *, exact: bool) -> JournalEntry:
        entries = self._read()
        wanted = entry_id.strip() if isinstance(entry_id, str) else ""
        if wanted in entries:
            return entries[wanted]
        if not exact and len(wanted) >= _MIN_PREFIX:
            prefix = wanted.lower()
            matches = [e for key, e in entries.items() if key.lower().startswith(prefix)]
            if len(matches) == 1:
                return matches[0]
            if matches:
                raise InputError(
                    f"{len(matches)} entries in the journal {self._path} have ids starting with {wanted!r}; "
                    "give more characters of the id."
                )
        hint = (
            "" if exact or len(wanted) >= _MIN_PREFIX else f" (give the full id or at least {_MIN_PREFIX} characters)"
        )
        raise InputError(f"No entry with id {entry_id!r} in the journal {self._path}{hint}.")

    def _append(self, data: bytes) -> None:
        with open(self._path, "a+b", buffering=0) as file:
            size = file.seek(0, os.SEEK_END)
            if size:
                file.seek(size - 1)
                if file.read(1) != b"\n":
                    data = b"\n" + data  # end a line torn by a crash, so this one stays whole
            written = 0
            while written < len(data):  # one write in practice; loop only on a short write
                written += file.write(data[written:])
            file.flush()
            os.fsync(file.fileno())

    def _read(self) -> dict[str, JournalEntry]:
        """Parse what was appended since the last read; start over if the file was replaced."""
        state = self._state
        try:
            stat = os.stat(self._path)
        except FileNotFoundError:
            self._state = _ReadState()
            self._skipped = self._warned = 0
            return self._state.entries
        file_id = (stat.st_dev, stat.st_ino)
        if state.file_id != file_id or stat.st_size < state.offset:
            state = self._restart(file_id)
        tail = b""
        if stat.st_size > state.offset:
            with open(self._path, "rb") as file:
                if state.offset:
                    file.seek(state.offset - 1)
                    if file.read(1) != b"\n":  # rewritten in place, not appended to: read it all again
                        state = self._restart(file_id)
                file.seek(state.offset)
                data = file.read()
            end = data.rfind(b"\n") + 1
            for line in data[:end].split(b"\n")[:-1]:
                state.line_count += 1
                if line.strip() and not apply_line(line, state.entries):
                    state.damaged.append(state.line_count)
            state.offset += end
            tail = data[end:]
        torn = [state.line_count + 1] if tail.strip() else []  # a crash mid-write, or one in progress
        self._skipped = len(state.damaged) + len(torn)
        if self._skipped > self._warned:
            shown = ", ".join(map(str, (state.damaged + torn)[:10]))
            log.warning(
                "Journal %s: skipped %d damaged line(s) (line %s); the rest reads normally.",
                self._path,
                self._skipped,
                shown,
            )
        self._warned = self._skipped
        return state.entries

    def _restart(self, file_id: tuple[int, int]) -> _ReadState:
        self._state = _ReadState(file_id=file_id)
        self._warned = 0
        return self._state
