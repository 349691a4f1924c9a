"""The journal's data: `JournalEntry` (an intent with its completion or settlement) and the lines it is read from.

Pure: no file is touched here (`alma_onelink.engine.journal.Journal` reads and appends the lines).
An intent line starts an entry; a completion line (the write's own) or a settlement line (a later
run that read Alma) says how it ended; a line that fits no entry is damaged and skipped.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import pydantic
import pydantic_core
from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from alma_onelink.errors import AlmaError, InputError

from ._diff import record_diff

__all__ = ["Action", "Completion", "JournalEntry", "JournalError", "Result", "Settlement"]

Action = Literal["create", "update", "delete"]
Result = Literal["pending", "done", "failed", "unknown"]
Completion = Literal["done", "failed", "unknown"]
Settlement = Literal["done", "failed"]

ACTIONS: tuple[str, ...] = get_args(Action)
COMPLETIONS: tuple[str, ...] = get_args(Completion)
SETTLEMENTS: tuple[str, ...] = get_args(Settlement)
# Control characters, line and paragraph separators, and bidirectional overrides: shown escaped.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
HANDOFF = "sis_file"
"""The ``operation`` of an account handed off in a SIS file (``alma_onelink.onelink.handoff``)."""
_SIS_FILE = re.compile(r"in the SIS file (.+?) \(sha256 ")
_SUPERSEDED_BY = re.compile(r"created through Alma's API by journal entry ([0-9a-f]+)")
_INTENT_KEYS = (
    "id", "time", "staff", "action", "target", "before", "sending", "registration", "operation", "reason",
)  # fmt: skip
SETTLED_KEYS = {"note", "settled"}  # never in an intent line: the intent lines keep their shape


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, pydantic.AfterValidator(_as_utc)]


class JournalError(AlmaError):
    """The journal file could not be written or read (a full disk, no permission).

    ``path`` is the journal's file; ``cause`` the operating system's words (``"[Errno 28] No space
    left on device"``); ``nothing_sent`` is True when the call that raised it sent nothing to Alma;
    ``saved`` is the record Alma holds when the call's write IS saved in Alma but its completion
    could not be journaled (``users.edit``: the message says so).
    A call raises it before it sends anything to Alma; once it has written to Alma, it reports a
    journal failure in its result instead (``journal_error``), with what Alma holds. A write with no
    completion line is listed by ``alma-onelink journal pending`` until a later run settles it by
    reading Alma. `register_many` raises it once the patrons started are done, saying how many
    were not started.
    """

    saved: dict[str, Any] | None = None
    """The record Alma holds (Alma JSON) when a write Alma accepted could not have its completion journaled
    (``users.edit``): the change IS saved in Alma, the journal lacks its end (``alma-onelink journal settle``)."""

    def __init__(
        self,
        message: str,
        *,
        path: Path,
        cause: str = "",
        nothing_sent: bool = False,
        saved: dict[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.cause = cause
        self.nothing_sent = nothing_sent
        self.saved = saved
        super().__init__(message)

    def said_with(self, words: str, *, nothing_sent: bool | None = None) -> JournalError:
        """A copy of this error whose message ends with ``words`` (what happened, what to do); raise it from this one.

        ``path``, ``cause`` and ``saved`` are kept; ``nothing_sent`` too unless given.
        """
        return JournalError(
            f"{self}{words}",
            path=self.path,
            cause=self.cause,
            nothing_sent=self.nothing_sent if nothing_sent is None else nothing_sent,
            saved=self.saved,
        )


class JournalEntry(pydantic.BaseModel):
    """One write to Alma: its intent, merged with its completion once that is written.

    ``result`` is ``"pending"`` (intent written, no completion yet), ``"done"`` (the write took
    effect), ``"failed"`` (it did not) or ``"unknown"`` (it could not be known whether it took
    effect; ``error`` says how to check). A pending or unknown entry a later run settled by
    reading Alma is ``done`` or ``failed``, with ``note`` saying what was found and ``settled``
    when. Datetimes are aware and in UTC (a naive one is taken as UTC). ``before`` and ``after``
    are Alma JSON objects as plain dicts.
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
    sending: dict[str, Any] | None = None
    """The record the update was to send (Alma JSON), journaled ahead with its intent: what settles an update
    whose end was lost (`alma_onelink.engine.settle`). None for a create or a delete, and in entries written
    before it was journaled."""
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
    """When the write's own completion was written (UTC); None while pending, or when only settled."""
    note: str | None = None
    """How a pending or unknown outcome was settled later, like ``"settled by reading Alma: …"``; on an entry
    `alma_onelink.engine.settle` returns still open, why reading Alma could not tell (never journaled)."""
    settled: UtcDatetime | None = None
    """When it was settled (UTC); None unless a later run settled it (`Journal.settle`)."""

    @property
    def is_pending(self) -> bool:
        """True while the intent has no completion and no settlement (after a crash, until a run reads Alma)."""
        return self.result == "pending"

    @property
    def is_unsettled(self) -> bool:
        """True while it is not known whether the write took effect: ``pending`` or ``unknown``."""
        return self.result in ("pending", "unknown")

    @property
    def handoff_state(self) -> str | None:
        """For an account handed off in a SIS file (operation ``"sis_file"``): where it stands, in words staff
        read (``"waiting for Alma's load"``, ``"loaded"``, ``"superseded: created through Alma's API by journal
        entry …"``, ``"not loaded: …"``); None for any other write."""
        if self.operation != HANDOFF:
            return None
        if self.is_unsettled:
            return "waiting for Alma's load"
        if self.result == "done":
            return "loaded"
        said = self.note or self.error or ""
        superseded = _SUPERSEDED_BY.search(said)
        if superseded:
            return f"superseded: created through Alma's API by journal entry {superseded[1][:12]}"
        return f"not loaded: {_one_line(said)}" if said else "not loaded"

    @property
    def _handoff_file(self) -> str:
        named = _SIS_FILE.search(self.reason or "")
        return _one_line(named[1]) if named else "a SIS file"

    @property
    def _note_repeats_error(self) -> bool:
        """Whether the note says what the error says (a settlement often writes the same in both): shown once."""
        return bool(self.error and self.note and self.error.strip() == self.note.strip())

    def __str__(self) -> str:
        """One line: ``2026-11-30 14:05:01Z update jd123 done by jsmith (register 3f2a…): reason``.

        An account handed off in a SIS file reads ``2026-11-30 14:05:01Z hand-off 3000001 waiting by
        jsmith (sis_file 46dd…): handed off in the SIS file /path/new.zip; waiting for Alma's load``.
        Control characters (newlines, terminal escapes) in the free-text fields are shown escaped,
        so the line stays one line and cannot drive a terminal.
        """
        handoff = self.handoff_state
        if handoff is not None:
            return self._handoff_line(handoff)
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
        if self.note and not self._note_repeats_error:
            text += f" [{_one_line(self.note)}]"
        return text

    def _handoff_line(self, handoff: str) -> str:
        word = next(w for w in ("waiting", "loaded", "superseded", "not loaded") if handoff.startswith(w))
        text = f"{self.time:%Y-%m-%d %H:%M:%S}Z hand-off {_one_line(self.target)} {word}"
        if self.staff:
            text += f" by {_one_line(self.staff)}"
        registration = _one_line(self.registration or "")
        context = " ".join(
            part for part in (HANDOFF, registration[:4] + "…" if len(registration) > 8 else registration) if part
        )
        return text + f" ({context}): handed off in the SIS file {self._handoff_file}; {handoff}"

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
            ("note", self.note),
            ("settled", self.settled.isoformat() if self.settled else None),
        ]
        cells = "".join(
            f"<tr><th style='text-align:left'>{name}</th><td>{html.escape(value)}</td></tr>"
            for name, value in rows
            if value is not None
        )
        for name, record in (("before", self.before), ("sending", self.sending), ("after", self.after)):
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
        handoff = self.handoff_state
        title = f"{self.action} {_one_line(self.target)}: {self.result}"
        if handoff is not None:
            colour = "green" if self.result == "done" else "yellow"
            title = f"hand-off {_one_line(self.target)} in the SIS file {self._handoff_file}: {handoff}"
        table.title = Text(title, style=f"bold {colour}")
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
            ("note", None if self._note_repeats_error else self.note),
            ("settled", self.settled.isoformat() if self.settled else None),
        ]
        for name, value in rows:
            if value is not None:
                table.add_row(Text(name), Text(_one_line(value)))
        if self.action == "update" and self.before is not None and self.after is not None:
            changes = record_diff(self.before, self.after)
            shown = "\n".join(_one_line(change) for change in changes)
            table.add_row(Text("changes"), Text(shown or "none"))
        elif self.action == "update" and self.before is not None and self.sending is not None:
            changes = record_diff(self.before, self.sending)  # not known to have taken effect: what it was to do
            shown = "\n".join(_one_line(change) for change in changes)
            table.add_row(Text("to change"), Text(shown or "none"))
        else:
            for name, record in (("before", self.before), ("after", self.after)):
                if record is not None:
                    table.add_row(Text(name), Text(f"record of {_one_line(str(record.get('primary_id', '?')))}"))
        return table


def _one_line(text: str) -> str:
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class CompletionLine(pydantic.BaseModel):
    id: str
    result: Completion
    after: dict[str, Any] | None = None
    error: str | None = None
    completed: UtcDatetime


class SettlementLine(pydantic.BaseModel):
    id: str
    result: Settlement
    after: dict[str, Any] | None = None
    error: str | None = None
    note: str
    settled: UtcDatetime


Parsed = (
    tuple[Literal["intent"], JournalEntry]
    | tuple[Literal["completion"], CompletionLine]
    | tuple[Literal["settlement"], SettlementLine]
)
"""One line of the journal as read: its kind and what it holds."""


def parse_line(line: bytes) -> Parsed | None:
    """One line, parsed and checked; None if it is damaged or of unknown shape (whatever its place in the file)."""
    try:
        obj = pydantic_core.from_json(line)  # twice as fast as json.loads on a long journal
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    kind = obj.get("type")
    try:
        if kind == "intent":
            return "intent", JournalEntry.model_validate({key: obj[key] for key in _INTENT_KEYS if key in obj})
        if kind == "completion":
            return "completion", CompletionLine.model_validate(obj)
        if kind == "settlement":
            return "settlement", SettlementLine.model_validate(obj)
    except pydantic.ValidationError:
        return None
    return None


def apply_line(line: bytes, entries: dict[str, JournalEntry]) -> bool:
    """Merge one line into ``entries``; False if it is damaged, of unknown shape, or out of place.

    The journal read whole, line by line: what the index (`alma_onelink.engine._journal_index`) must
    always answer the same as.
    """
    parsed = parse_line(line)
    if parsed is None:
        return False
    if parsed[0] == "intent":
        entry = parsed[1]
        if entry.id in entries:
            return False
        entries[entry.id] = entry
        return True
    if parsed[0] == "completion":
        done = parsed[1]
        pending = entries.get(done.id)
        if pending is None or pending.completed is not None:
            return False
        entries[done.id] = merge(pending, done)
        return True
    settlement = parsed[1]
    found = entries.get(settlement.id)
    if found is None or not found.is_unsettled:
        return False
    entries[settlement.id] = settle(found, settlement)
    return True


def held_values(record: Mapping[str, Any] | None) -> set[str]:
    """The identifier values an Alma JSON record holds (``user_identifier``), casefolded."""
    identifiers = (record or {}).get("user_identifier") or []
    if isinstance(identifiers, dict):  # a lone identifier, as Alma sometimes writes it
        identifiers = [identifiers]
    if not isinstance(identifiers, list):
        return set()
    return {str(i.get("value") or "").casefold() for i in identifiers if isinstance(i, dict)}


def merge(pending: JournalEntry, done: CompletionLine) -> JournalEntry:
    # The write's own completion knows best: it replaces a settlement made while the write was under way.
    return pending.model_copy(
        update={
            "result": done.result,
            "after": done.after,
            "error": done.error,
            "completed": done.completed,
            "note": None,
            "settled": None,
        }
    )


def settle(found: JournalEntry, line: SettlementLine) -> JournalEntry:
    return found.model_copy(
        update={
            "result": line.result,
            "after": line.after,
            "error": line.error,
            "note": line.note,
            "settled": line.settled,
        }
    )


def detached(entry: JournalEntry) -> JournalEntry:
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


def plain_record(record: Mapping[str, Any] | None, name: str) -> dict[str, Any] | None:
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


def encode(line: Mapping[str, Any]) -> bytes:
    try:
        text = json.dumps(line, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return (text + "\n").encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError: a lone surrogate
        raise InputError(f"Cannot journal this write, its text is not valid Unicode: {exc}") from exc
