"""The journal: an append-only JSON Lines file of every write the OneLink workflow makes, with an index beside it.

Each write to Alma is journaled ahead: an *intent* line (with the full record as it was before)
goes to disk before the request, then a *completion* line (the record after, or the error) once
the answer is known. Nothing is ever rewritten, so a crash leaves at worst an intent with no
completion, which `Journal.pending` lists. A later run settles it by reading Alma: a *settlement*
line (`Journal.settle`) says whether the write took effect, and how that was found out. A write's
own completion, should it come after a settlement, is what counts.

The file is shared safely by threads and processes: every append and every read happens under a
``threading.Lock`` and a ``filelock.FileLock`` on ``<path>.lock``, and each append is one write of
a complete line followed by fsync. Reading is lenient: a damaged line is skipped and counted.
Look-ups go through ``<path>.index.sqlite3`` (`alma_onelink.engine._journal_index`), derived from
the file and its archives and checked against them on every use, so they read only the lines they
need; `Journal.archive` moves old settled entries to ``<path>.archive-YYYYMMDD.jsonl`` files that
stay part of the journal, and `Journal.export` writes it whole as JSON Lines for an audit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

import pydantic

from alma_onelink.errors import InputError

from ._journal_archive import Archived, Destination, archive_journal, cutoff_of, export_journal
from ._journal_core import JournalCore
from ._journal_data import (
    COMPLETIONS,
    SETTLEMENTS,
    Action,
    Completion,
    CompletionLine,
    JournalEntry,
    JournalError,
    Result,
    Settlement,
    SettlementLine,
    encode,
    merge,
    plain_record,
    settle,
)
from ._journal_intent import Intent, intent_of
from ._journal_lock import DEFAULT_LOCK_TIMEOUT
from ._journal_lookup import UNSETTLED, Query, query_of
from ._journal_path import default_journal_path

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "Action",
    "Archived",
    "Intent",
    "Journal",
    "JournalEntry",
    "JournalError",
    "Result",
    "Settlement",
    "default_journal_path",
]


class Journal(JournalCore):
    """An append-only JSON Lines journal of writes to Alma, safe to share across threads and processes.

    ``path`` defaults to `default_journal_path()`, whose folder is created if needed. An explicit
    path must be a file (existing or not) in an existing folder, else `InputError` (so is a path
    that is not text or a ``PathLike``, or one the system refuses, like a name longer than 255
    bytes). ``now`` (returns an aware datetime; default ``datetime.now(UTC)``) and ``new_id``
    (default ``uuid4().hex``) can be injected for tests. ``lock_timeout`` is how many seconds a call
    waits for another process (or thread) using the journal before it raises `JournalError` naming
    the lock file (default 60; a warning is logged after a second of waiting). Reads never raise on
    a damaged file; writes raise `InputError` for bad input (before anything is written) and
    `JournalError` if the file cannot be written (a full disk, no permission, a read-only folder,
    the lock not released in time). Reading a journal in a read-only folder works without the lock.
    """

    def intend(
        self,
        *,
        action: Action,
        target: str,
        before: Mapping[str, Any] | None,
        sending: Mapping[str, Any] | None = None,
        staff: str | None = None,
        registration: str | None = None,
        operation: str | None = None,
        reason: str | None = None,
    ) -> JournalEntry:
        """Write the intent of one write to Alma, before sending it; return the pending entry.

        ``before`` is the record as Alma holds it now (Alma JSON, e.g. ``user.to_alma()``), None
        for a create; ``sending`` the record an update is to send (what tells, should the run stop
        before the write's end is journaled, whether it took effect: `alma_onelink.engine.settle`).
        Raises `InputError` for an unknown action, a blank target, a record that is not JSON, or
        text fields that are not strings, and `JournalError` if the file cannot be written; nothing
        is written then.
        """
        intent = Intent(action, target, before, sending, staff, registration, operation, reason)
        [entry] = self.intend_many([intent])
        return entry

    def intend_many(self, intents: Iterable[Intent]) -> list[JournalEntry]:
        """Write the intents of many writes at once (one lock, one append, one fsync); return the pending entries.

        Each `Intent` holds what `intend` takes. All are checked first: one that the journal cannot
        hold raises `InputError` and nothing is written. Raises `JournalError` if the file cannot be
        written. Journaling 2,000 intents this way takes one disk sync instead of 2,000.
        """
        if isinstance(intents, Intent):
            raise InputError("intend_many takes a list of Intent objects; for one, use intend(...).")
        built = [intent_of(intent, entry_id=self._new_id(), time=self._now()) for intent in intents]
        ids = [entry.id for entry, _ in built]
        if len(set(ids)) != len(ids):
            raise InputError(f"The intents for the journal {self._path} repeat an id; ids must be unique.")
        if not built:
            return []
        with self._locked(write=True):
            taken = self._index.ask(lambda index: [entry_id for entry_id in ids if index.has(entry_id)])
            if taken:
                raise InputError(
                    f"The journal {self._path} already has an entry with id {taken[0]}; ids must be unique."
                )
            self._append(b"".join(line for _, line in built))
        return [entry for entry, _ in built]

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
        with self._locked(write=True):
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
        return merge(pending, done)

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
        with self._locked(write=True):
            found = self._find(
                entry.id if isinstance(entry, JournalEntry) else entry, exact=isinstance(entry, JournalEntry)
            )
            if not found.is_unsettled:
                return found  # completed meanwhile by the write itself, or settled by another run
            try:
                line = SettlementLine(
                    id=found.id, result=result, after=record, error=error, note=note.strip(), settled=self._now()
                )
            except pydantic.ValidationError as exc:
                raise InputError(f"Cannot journal this settlement: {exc}") from exc
            data = {"type": "settlement", **line.model_dump(mode="json"), "settled": line.settled.isoformat()}
            self._append(encode(data))
        return settle(found, line)

    def entries(
        self,
        *,
        target: str | None = None,
        registration: str | None = None,
        operation: str | None = None,
        last: int | None = None,
    ) -> list[JournalEntry]:
        """Every entry (intent merged with its completion), in the order the intents were written.

        ``target`` keeps entries for that primary id, compared ignoring case; ``registration``
        keeps entries of that registration, merge or restore; ``operation`` those of one kind
        (``"register"``, ``"merge"``, ``"restore"``…); ``last`` keeps only the newest N (still
        oldest first). Each look-up reads only the lines it returns (archives included). Raises
        `InputError` for a filter that is not text, or a ``last`` below 0; never on a damaged file.
        """
        query = query_of(target=target, registration=registration, operation=operation, last=last)
        with self._locked():
            return [entry for _, entry in self._index.ask(lambda index: index.select(query))]

    def count(self, *, target: str | None = None, registration: str | None = None, operation: str | None = None) -> int:
        """How many entries `entries` would return with these filters, without reading them."""
        query = query_of(target=target, registration=registration, operation=operation)
        with self._locked():
            return self._index.ask(lambda index: index.count(query))

    def pending(self) -> list[JournalEntry]:
        """Intents with neither a completion nor a settlement: the process stopped between the two lines.

        ``alma-onelink journal settle`` (Python: `alma_onelink.engine.settle`) settles them by reading
        Alma; so do the next registration of the same patron, and ``restore`` and ``undo_merge`` for the
        entries they undo.
        """
        with self._locked():
            return [entry for _, entry in self._index.ask(lambda index: index.select(Query(results=("pending",))))]

    def unsettled(self) -> list[JournalEntry]:
        """Entries whose outcome is not known, oldest first: ``pending``, and ``unknown`` (Alma's answer was lost)."""
        with self._locked():
            return [entry for _, entry in self._index.ask(lambda index: index.select(Query(results=UNSETTLED)))]

    def get(self, entry_id: str) -> JournalEntry:
        """The entry with this id, or with a unique prefix of it of at least 6 characters (archives included).

        Raises `InputError` naming the id and the file if no entry matches, or if the prefix is
        shared by several entries.
        """
        with self._locked():
            return self._find(entry_id, exact=False)

    def __len__(self) -> int:
        """The number of intents in the journal, archives included."""
        with self._locked():
            return self._index.ask(lambda index: index.count(Query()))

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self.entries())

    def __repr__(self) -> str:
        return f"<Journal {self._path}>"

    def archive(self, *, before: date | datetime) -> Archived:
        """Move the settled entries older than ``before`` into a new archive file beside the journal; return what moved.

        ``before`` is a date (midnight UTC) or a datetime (a naive one is taken as UTC). An entry
        moves when it is ``done`` or ``failed``, older than ``before``, every entry of its
        registration (or merge, or restore) is too, and no entry kept on the same account is older:
        the writes of one registration stay together, those on one account in their order. The
        archive, ``<journal>.archive-YYYYMMDD.jsonl`` (today's date, ``-2``… for a second one),
        keeps each line as it was; the live file is rewritten without them, atomically (written
        beside it, synced, renamed over it), after the archive is synced. A crash at any point
        leaves every entry readable exactly once. Archived entries stay part of the journal:
        `get`, `entries`, ``restore`` and `export` read them. Raises `InputError` for a ``before``
        that is not a date, `JournalError` if the files cannot be written (nothing is lost then).
        """
        cutoff = cutoff_of(before)
        with self._locked(write=True):
            try:
                done = archive_journal(self._path, self._index, cutoff, cutoff_of(self._now()))
            except OSError as exc:
                cause = str(exc) or type(exc).__name__
                raise JournalError(
                    f"The journal {self._path} could not be archived ({cause}); nothing was moved or lost",
                    path=self._path,
                    cause=cause,
                    nothing_sent=True,
                ) from exc
            self._sync()
        return done

    def export(self, destination: Destination) -> int:
        """Write every entry, archives included, as JSON Lines (one merged entry a line, oldest first); return how many.

        ``destination`` is a file path (written beside it first, then renamed into place, so it is
        whole or absent) or an open file (text or binary). Each line is an entry's fields as
        `JournalEntry` has them: readable, and greppable by id, target or registration. Raises
        `InputError` for a path that is one of the journal's own files or in a folder that does not
        exist, `JournalError` if it cannot be written. The journal stays locked while it is written.
        """
        with self._locked():
            try:
                return export_journal(self._path, self._index, destination)
            except OSError as exc:
                cause = str(exc) or type(exc).__name__
                raise JournalError(
                    f"The export of the journal {self._path} could not be written ({cause})",
                    path=self._path,
                    cause=cause,
                    nothing_sent=True,
                ) from exc

    def reindex(self) -> int:
        """Rebuild the index from the journal's files (after a hand edit, say); return how many entries it holds."""
        with self._locked():
            self._index.ask(lambda index: index.rebuild())
            self._sync()
            return self._index.ask(lambda index: index.count(Query()))
