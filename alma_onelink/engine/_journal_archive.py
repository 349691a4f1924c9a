"""Archiving old settled entries out of the live journal file, and exporting the whole journal as JSON Lines.

Both run holding the journal's locks, with its index up to date (`alma_onelink.engine.journal.Journal`).
Archiving, step by step, and what a crash at each step leaves:

1. ``<journal>.archiving`` names the new archive and the live file's inode (written beside, synced,
   renamed into place). A crash from here until step 4 is undone by the next run
   (`recover_archiving`): the archive is removed, since every line of it is still in the live file.
2. The lines of the entries that move go to ``<archive>.tmp``, every other line to
   ``<journal>.rewrite.tmp``, each line byte for byte and in its order; both are synced.
3. ``<archive>.tmp`` is renamed to the archive; the folder is synced.
4. ``<journal>.rewrite.tmp`` is renamed over the live file; the folder is synced. From here on the
   next run only removes the marker (step 5 did not happen).
5. The marker is removed; the index is brought up to date (from the new archive on).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import IO

import pydantic_core

from alma_onelink.errors import InputError

from ._journal_data import encode
from ._journal_files import archive_key, archive_name, fsync_folder, marker_path, rewrite_path
from ._journal_index import JournalIndex, index_path
from ._journal_lookup import Query

__all__ = ["Archived", "Destination", "archive_journal", "cutoff_of", "export_journal"]

_EXPORT_BATCH = 500


@dataclass(frozen=True, slots=True)
class Archived:
    """What `Journal.archive` did."""

    path: Path | None
    """The archive file written; None when no entry could move."""
    entries: int
    """How many entries moved into it."""
    kept: int
    """How many entries older than the date stay in the live file: unsettled ones (``alma-onelink journal
    settle`` settles them), and those of a registration or an account that still has one, or a newer write."""


def archive_journal(journal: Path, index: JournalIndex, cutoff: datetime, now: datetime) -> Archived:
    """Move the entries `JournalIndex.archivable` names into a new archive; see the module for the steps."""
    moving, kept = index.archivable(cutoff)
    live = index.live_rank()
    if not moving or live is None:
        return Archived(None, 0, kept)
    day = int(now.strftime("%Y%m%d"))
    existing = [key for name in os.listdir(journal.parent) if (key := archive_key(journal, name)) is not None]
    latest = max(existing, default=(0, 0))
    key = (day, 1) if (day, 1) > latest else (latest[0], latest[1] + 1)  # always read after every older archive
    archive = journal.with_name(archive_name(journal, key))
    staged, rewritten, marker = archive.with_name(archive.name + ".tmp"), rewrite_path(journal), marker_path(journal)
    stat = os.stat(journal)
    note = marker.with_name(marker.name + ".tmp")
    _write_synced(note, json.dumps({"archive": archive.name, "live_ino": stat.st_ino}))
    os.replace(note, marker)
    fsync_folder(journal.parent)
    replaced = False
    try:
        with ExitStack() as stack:
            source = stack.enter_context(open(journal, "rb"))
            out = stack.enter_context(open(staged, "wb"))
            stay = stack.enter_context(open(rewritten, "wb"))
            os.chmod(rewritten, stat.st_mode & 0o7777)  # staff sharing the journal keep their access
            for line in source:
                (out if _moves(_line_id(line), moving, index, live) else stay).write(line)
            for file in (out, stay):
                file.flush()
                os.fsync(file.fileno())
        os.replace(staged, archive)
        fsync_folder(journal.parent)
        os.replace(rewritten, journal)
        replaced = True
        fsync_folder(journal.parent)
        marker.unlink()
        fsync_folder(journal.parent)
    except BaseException:
        if not replaced:  # undo now what the next run would: the live file still holds every line
            for path in (staged, rewritten, archive, marker):
                path.unlink(missing_ok=True)
        raise
    return Archived(archive, len(moving), kept)


Destination = str | os.PathLike[str] | IO[bytes] | IO[str]


def export_journal(journal: Path, index: JournalIndex, destination: Destination) -> int:
    """Write every entry as one JSON line, oldest first; return how many."""
    if isinstance(destination, str | os.PathLike):
        path = Path(os.fspath(destination)).expanduser().absolute()
        _check_destination(journal, index, path)
        staged = path.with_name(path.name + ".tmp")
        try:
            count = 0
            with open(staged, "wb") as file:
                for line in _lines(index):
                    file.write(line)
                    count += 1
                file.flush()
                os.fsync(file.fileno())
            os.replace(staged, path)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        return count
    text = isinstance(destination, io.TextIOBase)
    count = 0
    for line in _lines(index):
        destination.write(line.decode("utf-8") if text else line)  # type: ignore[arg-type]
        count += 1
    return count


def _moves(entry_id: str | None, moving: set[str], index: JournalIndex, live: int) -> bool:
    """Whether a line goes to the archive: it names an entry that moves, or one already archived (a late line)."""
    if entry_id is None:
        return False  # not an entry's line (torn, not JSON): it stays where it was
    if entry_id in moving:
        return True
    found = index.segment_of(entry_id)
    return found is not None and found < live


def _lines(index: JournalIndex) -> Iterator[bytes]:
    after = 0
    while batch := index.select(Query(after=after, limit=_EXPORT_BATCH)):
        for _, entry in batch:
            fields = entry.model_dump(mode="json")
            for name in ("time", "completed", "settled"):
                moment = getattr(entry, name)
                fields[name] = moment.isoformat() if moment is not None else None
            yield encode(fields)
        after = batch[-1][0]


def _check_destination(journal: Path, index: JournalIndex, path: Path) -> None:
    if path.is_dir():
        raise InputError(f"The export path {path} is a folder; give a file path such as {path / 'export.jsonl'}.")
    if not path.parent.is_dir():
        raise InputError(f"The folder {path.parent} for the export does not exist; create it or give another path.")
    own = {journal, index_path(journal), marker_path(journal), journal.with_name(journal.name + ".lock")}
    own |= {segment.path for segment in index.segments}
    if path in own or (archive_key(journal, path.name) is not None and path.parent == journal.parent):
        raise InputError(f"{path} is one of the journal's own files; export to another file.")


def _line_id(line: bytes) -> str | None:
    """The ``id`` a line names, whatever its kind; None for a line that is not a JSON object with a text id."""
    try:
        obj = pydantic_core.from_json(line)
    except (ValueError, RecursionError):
        return None
    value = obj.get("id") if isinstance(obj, dict) else None
    return value if isinstance(value, str) else None


def _write_synced(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def cutoff_of(before: date | datetime) -> datetime:
    """``before`` as an aware UTC datetime: a date is its midnight UTC, a naive datetime is taken as UTC."""
    if isinstance(before, datetime):
        return before.replace(tzinfo=UTC) if before.tzinfo is None else before.astimezone(UTC)
    if isinstance(before, date):
        return datetime.combine(before, time(), tzinfo=UTC)
    raise InputError(f"before must be a date or a datetime, like date(2026, 1, 1); got {before!r}.")
