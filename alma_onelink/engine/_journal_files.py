"""The journal's files: the live file, its archive segments beside it, and what tells the index they are unchanged.

Archives are named ``<journal>.archive-YYYYMMDD.jsonl`` (``-2``, ``-3``… for a second archive of the
same day) and read before the live file, oldest first. Each is written whole, once, by
`Journal.archive`; while one is being made, ``<journal>.archiving`` names it, so a run that finds
the marker left by a crash can tell whether the live file was rewritten yet: if not, the archive
is removed (its lines are all still in the live file), else only the marker is.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "Segment",
    "append_whole",
    "archive_key",
    "archive_name",
    "fingerprint",
    "fsync_folder",
    "list_segments",
    "marker_path",
    "read_at",
    "recover_archiving",
    "rewrite_path",
]

log = logging.getLogger("alma_onelink")

_FINGERPRINT_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Segment:
    """One file of the journal: an archive, or the live file (always last)."""

    path: Path
    live: bool

    @property
    def name(self) -> str:
        return self.path.name


def archive_key(journal: Path, name: str) -> tuple[int, int] | None:
    """``(YYYYMMDD, n)`` if ``name`` is an archive of ``journal``, which sorts archives oldest first; else None."""
    found = re.fullmatch(re.escape(journal.name) + r"\.archive-(\d{8})(?:-(\d{1,6}))?\.jsonl", name)
    if found is None:
        return None
    return int(found[1]), int(found[2] or 1)


def archive_name(journal: Path, key: tuple[int, int]) -> str:
    day, n = key
    return f"{journal.name}.archive-{day:08d}{'' if n == 1 else f'-{n}'}.jsonl"


def marker_path(journal: Path) -> Path:
    """``<journal>.archiving``: present only while an archive is being made (or after a crash during it)."""
    return journal.with_name(journal.name + ".archiving")


def rewrite_path(journal: Path) -> Path:
    """Where the live file's new content is written before it replaces the live file."""
    return journal.with_name(journal.name + ".rewrite.tmp")


def list_segments(journal: Path, names: list[str], *, live: bool, ignore: str | None) -> list[Segment]:
    """The journal's files in reading order: archives in ``names`` but ``ignore``, oldest first, then the live file."""
    keyed = sorted((key, name) for name in names if (key := archive_key(journal, name)) is not None)
    found = [Segment(journal.with_name(name), live=False) for _, name in keyed if name != ignore]
    if live:
        found.append(Segment(journal, live=True))
    return found


def recover_archiving(journal: Path) -> str | None:
    """Finish what a crash left of `Journal.archive`; returns an archive to leave unread (if it cannot be removed).

    Call it holding the journal's lock. Until the live file was replaced, every line of the new
    archive is still in the live file: the archive is removed. After, only the marker is left to remove.
    """
    marker = marker_path(journal)
    try:
        info = json.loads(marker.read_bytes())
        archive, live_ino = str(info["archive"]), int(info["live_ino"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("Journal %s: ignoring the unreadable archiving marker %s (%s).", journal, marker, exc)
        return None
    try:
        replaced = os.stat(journal).st_ino != live_ino
    except FileNotFoundError:
        replaced = True
    leftovers = [journal.with_name(archive + ".tmp"), rewrite_path(journal)]
    if not replaced:
        leftovers.append(journal.with_name(archive))
    try:
        for path in leftovers:
            path.unlink(missing_ok=True)
        marker.unlink(missing_ok=True)
        fsync_folder(journal.parent)
    except OSError as exc:
        log.warning("Journal %s: an archiving was interrupted and cannot be cleaned up (%s).", journal, exc)
        return None if replaced else archive
    return None


def fingerprint(file: BinaryIO, offset: int) -> tuple[bytes, bytes]:
    """Hashes of the first and the last few KiB before ``offset``: what tells that indexed bytes were not rewritten.

    The file's position is left where it was.
    """
    position = file.tell()
    head = read_at(file, 0, min(offset, _FINGERPRINT_BYTES))
    start = max(0, offset - _FINGERPRINT_BYTES)
    tail = read_at(file, start, offset - start)
    file.seek(position)
    return hashlib.blake2b(head, digest_size=16).digest(), hashlib.blake2b(tail, digest_size=16).digest()


def read_at(file: BinaryIO, offset: int, length: int) -> bytes:
    """``length`` bytes at ``offset``; fewer only if the file is shorter."""
    file.seek(offset)
    return file.read(length)


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def append_whole(path: Path, data: bytes) -> None:
    """Append ``data`` (whole lines) to ``path`` in one write, then fsync; a line torn by a crash is ended first.

    A write that fails part-way (a full disk) is taken back: the file is cut to its size before, so no torn
    line stays behind, and the ``OSError`` is raised.
    """
    with open(path, "a+b", buffering=0) as file:
        size = file.seek(0, os.SEEK_END)
        if size:
            file.seek(size - 1)
            if file.read(1) != b"\n":
                data = b"\n" + data  # end a line torn by a crash, so this one stays whole
        written = 0
        try:
            while written < len(data):  # one write in practice; loop only on a short write
                written += file.write(data[written:])
            file.flush()
            os.fsync(file.fileno())
        except OSError:
            with contextlib.suppress(OSError):
                file.truncate(size)  # what did reach the disk of these lines is taken back
                os.fsync(file.fileno())
            raise
