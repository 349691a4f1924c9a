"""The journal: an append-only JSON Lines file of every write the OneLink workflow makes.

Each write to Alma is journaled ahead: an *intent* line (with the full record as it was before)
goes to disk before the request, then a *completion* line (the record after, or the error) once
the answer is known. Nothing is ever rewritten, so a crash leaves at worst an intent with no
completion, which `Journal.pending` lists for a person to check.

The file is shared safely by threads and processes: every append and every read happens under a
``threading.Lock`` and a ``filelock.FileLock`` on ``<path>.lock``, and each append is one write of
a complete line followed by fsync. Reading is lenient: a damaged line is skipped and counted.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import filelock
import platformdirs
import pydantic
import pydantic_core
from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from alma_onelink.errors import AlmaError, InputError

from ._diff import record_diff

__all__ = ["Action", "Journal", "JournalEntry", "JournalError", "Result", "default_journal_path"]

log = logging.getLogger("alma_onelink")

Action = Literal["create", "update", "delete"]
Result = Literal["pending", "done", "failed", "unknown"]
Completion = Literal["done", "failed", "unknown"]

_ACTIONS: tuple[str, ...] = get_args(Action)
_COMPLETIONS: tuple[str, ...] = get_args(Completion)
_MIN_PREFIX = 6
# Control characters, line and paragraph separators, and bidirectional overrides: shown escaped.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_INTENT_KEYS = ("id", "time", "staff", "action", "target", "before", "registration", "operation", "reason")


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, pydantic.AfterValidator(_as_utc)]


class JournalError(AlmaError):
    """The journal file could not be written (a full disk, no permission): nothing more was written to Alma.

    ``path`` is the journal's file. A write to Alma made just before may have no completion line:
    ``Journal.pending()`` lists it, for a person to check in Alma.
    """

    def __init__(self, message: str, *, path: Path) -> None:
        self.path = path
        super().__init__(message)


class JournalEntry(pydantic.BaseModel):
    """One write to Alma: its intent, merged with its completion once that is written.

    ``result`` is ``"pending"`` (intent written, no completion yet), ``"done"`` (the write took
    effect), ``"failed"`` (it did not) or ``"unknown"`` (it could not be known whether it took
    effect; ``error`` says how to check). Datetimes are aware and in UTC (a naive one is taken
    as UTC). ``before`` and ``after`` are Alma JSON objects as plain dicts.
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    id: str
    """uuid4 hex, unique per intent."""
    time: UtcDatetime
    """When the intent was written (UTC)."""
    staff: str | None = None
    """Who did it (free text, e.g. ``"jsmith"``)."""
    action: Action
    target: str
    """Primary id of the record written."""
    before: dict[str, Any] | None = None
    """The record as Alma held it before; None for a create."""
    after: dict[str, Any] | None = None
    """The record after (Alma's answer); None while pending, for a delete, or on failure."""
    result: Result = "pending"
    error: str | None = None
    """Why the write failed, or why its outcome is unknown and how to check."""
    registration: str | None = None
    """Id of the registration, merge or restore this write belongs to."""
    operation: str | None = None
    """What made the write: ``"register"``, ``"merge"``, ``"restore"``, ``"edit"``, ..."""
    reason: str | None = None
    """Why, in words staff read."""
    completed: UtcDatetime | None = None
    """When the completion was written (UTC); None while pending."""

    @property
    def is_pending(self) -> bool:
        """True while the intent has no completion (after a crash, until someone checks Alma)."""
        return self.result == "pending"

    def __str__(self) -> str:
        """One line: ``2026-11-30 14:05:01Z update jd123 done by jsmith (register 3f2a…): reason``.

        Control characters (newlines, terminal escapes) in the free-text fields are shown escaped,
        so the line stays one line and cannot drive a terminal.
        """
        text = f"{self.time:%Y-%m-%d %H:%M:%S}Z {self.action} {_one_line(self.target)} {self.result}"
        if self.staff:
            text += f" by {_one_line(self.staff)}"
        context = [_one_line(self.operation)] if self.operation else []
        if self.registration:
            registration = _one_line(self.registration)
            context.append(registration if len(registration) <= 8 else registration[:4] + "…")
        if context:
            text += f" ({' '.join(context)})"
        if self.reason:
            text += f": {_one_line(self.reason)}"
        if self.error:
            text += f" [error: {_one_line(self.error)}]"
        return text

    def _repr_html_(self) -> str:
        """A small HTML table for notebooks; every value is HTML-escaped."""
        rows = [
            ("id", self.id),
            ("time", self.time.isoformat()),
            ("staff", self.staff),
            ("action", self.action),
            ("target", self.target),
            ("result", self.result),
            ("operation", self.operation),
            ("registration", self.registration),
            ("reason", self.reason),
            ("error", self.error),
            ("completed", self.completed.isoformat() if self.completed else None),
        ]
        cells = "".join(
            f"<tr><th style='text-align:left'>{name}</th><td>{html.escape(value)}</td></tr>"
            for name, value in rows
            if value is not None
        )
        for name, record in (("before", self.before), ("after", self.after)):
            if record is not None:
                dumped = html.escape(json.dumps(record, ensure_ascii=False, indent=2))
                cells += (
                    f"<tr><th style='text-align:left'>{name}</th>"
                    f"<td><details><summary>record</summary><pre>{dumped}</pre></details></td></tr>"
                )
        return f"<table>{cells}</table>"

    def __rich__(self) -> RenderableType:
        """A small table for a terminal (``rich.print(entry)``): the fields, and what the write changed.

        Free text is shown escaped as in `__str__` and never read as rich markup. An update that is
        done shows its changes (``~ status: ACTIVE → INACTIVE``); the records themselves are in
        ``before`` and ``after``.
        """
        colour = {"done": "green", "failed": "red", "unknown": "yellow", "pending": "yellow"}[self.result]
        table = Table(box=box.ROUNDED, show_header=False, title_justify="left")
        table.title = Text(f"{self.action} {_one_line(self.target)}: {self.result}", style=f"bold {colour}")
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        rows = [
            ("id", self.id),
            ("time", self.time.isoformat()),
            ("staff", self.staff),
            ("operation", self.operation),
            ("registration", self.registration),
            ("reason", self.reason),
            ("error", self.error),
            ("completed", self.completed.isoformat() if self.completed else None),
        ]
        for name, value in rows:
            if value is not None:
                table.add_row(Text(name), Text(_one_line(value)))
        if self.action == "update" and self.before is not None and self.after is not None:
            changes = record_diff(self.before, self.after)
            shown = "\n".join(_one_line(change) for change in changes)
            table.add_row(Text("changes"), Text(shown or "none"))
        else:
            for name, record in (("before", self.before), ("after", self.after)):
                if record is not None:
                    table.add_row(Text(name), Text(f"record of {_one_line(str(record.get('primary_id', '?')))}"))
        return table


def _one_line(text: str) -> str:
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def default_journal_path() -> Path:
    """Where ``Journal()`` writes when given no path.

    ``$ALMA_ONELINK_JOURNAL`` if set and not blank (``~`` is expanded), else
    ``platformdirs.user_data_path("alma-onelink", appauthor=False) / "journal.jsonl"``.
    """
    configured = os.environ.get("ALMA_ONELINK_JOURNAL", "").strip()
    if configured:
        return Path(configured).expanduser()
    return platformdirs.user_data_path("alma-onelink", appauthor=False) / "journal.jsonl"


class _CompletionLine(pydantic.BaseModel):
    id: str
    result: Completion
    after: dict[str, Any] | None = None
    error: str | None = None
    completed: UtcDatetime


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
        if action not in _ACTIONS:
            raise InputError(f"Unknown journal action {action!r}; use one of {', '.join(_ACTIONS)}.")
        if not isinstance(target, str) or not target.strip():
            raise InputError("The journal needs the primary id of the record written (target); it was blank.")
        record = _plain_record(before, "before")
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
        line = {"type": "intent", **entry.model_dump(mode="json"), "time": entry.time.isoformat()}
        data = _encode(line)
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
        or for ``"unknown"`` how to check. Raises `InputError` if the id is not in this journal, if
        the intent is already completed (never two completions for one intent), for a result
        other than done/failed/unknown, or a record that is not JSON; nothing is written then.
        """
        if result not in _COMPLETIONS:
            raise InputError(f"Unknown completion result {result!r}; use one of {', '.join(_COMPLETIONS)}.")
        if error is not None and not isinstance(error, str):
            raise InputError(f"The completion error must be text, not {type(error).__name__}.")
        record = _plain_record(after, "after")
        with self._locked():
            pending = self._find(
                entry.id if isinstance(entry, JournalEntry) else entry, exact=isinstance(entry, JournalEntry)
            )
            if not pending.is_pending:
                raise InputError(
                    f"Journal entry {pending.id} in {self._path} was already completed "
                    f"({pending.result} at {pending.completed}); an intent gets one completion only."
                )
            try:
                done = _CompletionLine(id=pending.id, result=result, after=record, error=error, completed=self._now())
            except pydantic.ValidationError as exc:
                raise InputError(f"Cannot journal this completion: {exc}") from exc
            line = {"type": "completion", **done.model_dump(mode="json"), "completed": done.completed.isoformat()}
            self._append(_encode(line))
        return _detached(_merge(pending, done))

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
        return [_detached(e) for e in found]

    def pending(self) -> list[JournalEntry]:
        """Intents that never got a completion: a crash between the two; check Alma for each."""
        with self._locked():
            found = [e for e in self._read().values() if e.is_pending]
        return [_detached(e) for e in found]

    def get(self, entry_id: str) -> JournalEntry:
        """The entry with this id, or with a unique prefix of it of at least 6 characters.

        Raises `InputError` naming the id and the file if no entry matches, or if the prefix is
        shared by several entries.
        """
        with self._locked():
            found = self._find(entry_id, exact=False)
        return _detached(found)

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
                if line.strip() and not _apply_line(line, state.entries):
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


def _apply_line(line: bytes, entries: dict[str, JournalEntry]) -> bool:
    """Merge one line into ``entries``; False if it is damaged, of unknown shape, or out of place."""
    try:
        obj = pydantic_core.from_json(line)  # twice as fast as json.loads on a long journal
    except (ValueError, RecursionError):
        return False
    if not isinstance(obj, dict):
        return False
    try:
        if obj.get("type") == "intent":
            entry = JournalEntry.model_validate({key: obj[key] for key in _INTENT_KEYS if key in obj})
            if entry.id in entries:
                return False
            entries[entry.id] = entry
            return True
        if obj.get("type") == "completion":
            done = _CompletionLine.model_validate(obj)
            pending = entries.get(done.id)
            if pending is None or not pending.is_pending:
                return False
            entries[done.id] = _merge(pending, done)
            return True
    except pydantic.ValidationError:
        return False
    return False


def _merge(pending: JournalEntry, done: _CompletionLine) -> JournalEntry:
    return pending.model_copy(
        update={"result": done.result, "after": done.after, "error": done.error, "completed": done.completed}
    )


def _detached(entry: JournalEntry) -> JournalEntry:
    """The entry with its own copies of the records, so changing them cannot change what later reads show."""
    if entry.before is None and entry.after is None:
        return entry
    return entry.model_copy(update={"before": _copy_json(entry.before), "after": _copy_json(entry.after)})


def _copy_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_json(item) for item in value]
    return value  # str, int, float, bool, None: immutable


def _plain_record(record: Mapping[str, Any] | None, name: str) -> dict[str, Any] | None:
    """A detached plain-JSON copy of an Alma record; InputError if it is not JSON."""
    if record is None:
        return None
    if not isinstance(record, Mapping):
        raise InputError(
            f"The journal stores {name} as an Alma JSON object (a dict, e.g. user.to_alma()), "
            f"not {type(record).__name__}."
        )
    try:
        plain = json.loads(json.dumps(dict(record), ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        raise InputError(f"The {name} record cannot be journaled, it is not plain JSON: {exc}") from exc
    if not isinstance(plain, dict):  # pragma: no cover - a Mapping always dumps to an object
        raise InputError(f"The {name} record must be a JSON object.")
    return plain


def _encode(line: Mapping[str, Any]) -> bytes:
    try:
        text = json.dumps(line, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return (text + "\n").encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError: a lone surrogate
        raise InputError(f"Cannot journal this write, its text is not valid Unicode: {exc}") from exc
