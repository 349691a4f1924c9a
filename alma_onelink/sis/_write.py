"""Writing a SIS import file: users checked one by one, streamed into zip members, published atomically."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import InputError
from ..models import User
from ..models._xml import DECLARATION, element_bytes, user_to_element
from ._paths import SisFileError, asked, shown_path, sis_path
from ._rules import check_record

__all__ = ["MAX_USERS_PER_FILE", "SisFile", "SisFileError", "SisMember", "sis_record", "write_sis_file"]

MAX_USERS_PER_FILE = 20_000
"""The most users one XML file of a SIS zip holds."""

_TEMP_PREFIX, _TEMP_RANDOM, _TEMP_SUFFIX = ".", 9, ".part"
"""The temporary name a zip is written under: ``.NAME.zip.`` and 8 random characters, then ``.part``."""
_SHOWN_PROBLEMS = 20  # a refusal lists this many problems, then counts the rest


@dataclass(frozen=True, slots=True)
class SisMember:
    """One XML file inside the zip: its name (``users-0001.xml``) and the primary ids of its users, in order."""

    name: str
    primary_ids: tuple[str, ...]

    @property
    def user_count(self) -> int:
        """How many users the member holds."""
        return len(self.primary_ids)


@dataclass(frozen=True, slots=True)
class SisFile:
    """A SIS import file as written: where it is, its XML members in order, its size and SHA-256 digest."""

    path: Path
    members: tuple[SisMember, ...]
    size: int
    sha256: str

    @property
    def primary_ids(self) -> tuple[str, ...]:
        """The primary ids of every user in the file, in the order written."""
        return tuple(primary_id for member in self.members for primary_id in member.primary_ids)

    @property
    def user_count(self) -> int:
        """How many users the file holds."""
        return sum(member.user_count for member in self.members)

    @property
    def member_names(self) -> tuple[str, ...]:
        """The names of the XML members, in order (``users-0001.xml``, ``users-0002.xml``…)."""
        return tuple(member.name for member in self.members)


def _prepared(user: User) -> tuple[dict[str, Any], list[str]]:
    if not isinstance(user, User):
        return {}, [f"is a {type(user).__name__}, not a User"]
    try:
        record = user.to_alma()
    except InputError as exc:
        return {}, [str(exc)]
    return record, check_record(record)


def sis_record(user: User) -> User:
    """``user`` as a SIS file carries it: what the schema requires and Alma defaults anyway filled in.

    Today that is a note's ``user_viewable`` and ``popup_note`` (false when absent). Raises
    `InputError` listing every field that keeps the user out of a SIS file.
    """
    record, problems = _prepared(user)
    if problems:
        raise InputError(f"This user cannot go in a SIS file: {'; '.join(problems)}")
    return User.from_alma(record)


class _Checker:
    """Per-user checks plus the file-wide one: no primary id or identifier twice (Alma ignores case)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.refused = 0
        self._seen: dict[str, str] = {}

    def check(self, number: int, user: User) -> dict[str, Any] | None:
        record, problems = _prepared(user)
        primary_id = record.get("primary_id")
        label = f"user {number}" + (f" ({primary_id})" if isinstance(primary_id, str) and primary_id else "")
        values = [("primary id", primary_id)]
        values += [("identifier", ident.get("value")) for ident in record.get("user_identifier") or []]
        for kind, value in values:
            if not isinstance(value, str) or not value.strip():
                continue
            key = value.strip().casefold()
            if key in self._seen:
                problems.append(
                    f"its {kind} {value!r} is already the {self._seen[key]}: Alma needs every primary id and "
                    "identifier in a SIS file to be unique, even within one user"
                )
            else:
                self._seen[key] = f"{kind} of {label}"
        if not problems:
            return record
        self.refused += 1
        self.problems += [f"{label}: {problem}" for problem in problems]
        return None

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        shown = self.problems[:_SHOWN_PROBLEMS]
        more = len(self.problems) - len(shown)
        raise InputError(
            f"No SIS file was written: {self.refused} user(s) cannot go in it. "
            + "; ".join(shown)
            + (f"; and {more} more problem(s)" if more else "")
        )


def _check_target(path: str | os.PathLike[str], limit: int, overwrite: bool) -> Path:
    target = sis_path(path, spare=len(_TEMP_PREFIX) + _TEMP_RANDOM + len(_TEMP_SUFFIX))
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_USERS_PER_FILE:
        raise InputError(f"max_users_per_file must be a whole number from 1 to {MAX_USERS_PER_FILE:,}, not {limit!r}")
    if not isinstance(overwrite, bool):
        raise InputError(f"overwrite must be True or False, not {overwrite!r:.40}")
    shown = shown_path(target)
    if target.suffix.lower() != ".zip":
        raise InputError(f"{shown} does not end in .zip: Alma's SIS load reads users from zip files; name it ….zip")
    if not asked(target.parent.is_dir, target):
        raise InputError(f"The folder {shown_path(target.parent)} does not exist; create it or choose another path")
    if asked(target.is_dir, target):
        raise InputError(f"{shown} is a folder; give the path of the zip file to write")
    if asked(target.exists, target) and not overwrite:
        raise InputError(f"{shown} already exists; choose another name, or pass overwrite=True to replace it")
    return target


class _Members:
    """The zip's XML members, each opened when its first user comes and closed when full."""

    def __init__(self, archive: zipfile.ZipFile, limit: int) -> None:
        self._archive = archive
        self._limit = limit
        self._stream: IO[bytes] | None = None
        self._ids: list[str] = []
        self.done: list[SisMember] = []

    def add(self, primary_id: str, xml: bytes) -> None:
        if self._stream is None:
            info = zipfile.ZipInfo(f"users-{len(self.done) + 1:04d}.xml")
            info.compress_type = zipfile.ZIP_DEFLATED
            self._stream = self._archive.open(info, "w")
            self._stream.write(DECLARATION.encode("utf-8") + b"\n<users>\n")
        self._stream.write(xml + b"\n")
        self._ids.append(primary_id)
        if len(self._ids) == self._limit:
            self.close()

    def discard(self) -> None:
        """Close an open member without caring what it holds: the file is being dropped."""
        with contextlib.suppress(Exception):
            self.close()

    def close(self) -> None:
        if self._stream is None:
            return
        self._stream.write(b"</users>\n")
        self._stream.close()
        number = len(self.done) + 1
        self.done.append(SisMember(f"users-{number:04d}.xml", tuple(self._ids)))
        self._stream, self._ids = None, []


def _publish(temp: Path, target: Path, overwrite: bool) -> None:
    """Put the finished file at ``target`` in one step; without ``overwrite``, never over an existing file."""
    if overwrite:
        os.replace(temp, target)
        return
    try:
        os.link(temp, target)  # atomic and fails if target exists: no window for another writer
    except FileExistsError:
        raise InputError(f"{target} appeared while the file was being written; nothing was replaced") from None
    except OSError:  # a file system without hard links
        if target.exists():
            raise InputError(f"{target} appeared while the file was being written; nothing was replaced") from None
        os.replace(temp, target)
        return
    with contextlib.suppress(OSError):
        temp.unlink()


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a folder to sync it
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _write(users: Iterable[User], target: Path, limit: int, overwrite: bool) -> SisFile:
    checker = _Checker()
    if isinstance(users, Sequence):  # checked whole before any file is made
        for number, user in enumerate(users, start=1):
            checker.check(number, user)
        checker.raise_if_any()
        checker = _Checker()
    descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f"{_TEMP_PREFIX}{target.name}.", suffix=_TEMP_SUFFIX)
    temp = Path(name)
    try:
        with os.fdopen(descriptor, "w+b") as raw:
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                members = _Members(archive, limit)
                try:
                    for number, user in enumerate(users, start=1):
                        record = checker.check(number, user)
                        if record is not None and not checker.problems:
                            try:
                                xml = element_bytes(user_to_element(record))
                            except InputError as exc:
                                checker.problems.append(f"user {number} ({record['primary_id']}): {exc}")
                                checker.refused += 1
                                continue
                            members.add(record["primary_id"], xml)
                    checker.raise_if_any()
                except BaseException:
                    members.discard()  # the zip cannot close with a member open, even when the file is dropped
                    raise
                members.close()
                if not members.done:
                    raise InputError("There are no users to write; no SIS file was made")
            raw.flush()
            os.fsync(raw.fileno())
            raw.seek(0)
            digest = hashlib.file_digest(raw, "sha256").hexdigest()
            size = raw.tell()
        _publish(temp, target, overwrite)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _sync_folder(target.parent)
    return SisFile(target, tuple(members.done), size, digest)


def write_sis_file(
    users: Iterable[User],
    path: str | os.PathLike[str],
    *,
    max_users_per_file: int = MAX_USERS_PER_FILE,
    overwrite: bool = False,
) -> SisFile:
    """Write ``users`` as an Alma SIS import file: a zip of ``users-0001.xml``, ``users-0002.xml``….

    Each member is a ``<users>`` document of Alma's user schema (``rest_users.xsd``), UTF-8, with
    the declaration Alma writes and no namespace, holding at most ``max_users_per_file`` users (1 to
    20,000). Users are streamed into the zip as they come, so a generator of 100,000 users is never
    held in memory. The zip is written beside ``path`` under a temporary name, synced to disk and
    renamed to ``path`` in one step: a crash or a full disk never leaves a part-written file at
    ``path`` (a kill may leave a hidden ``.NAME.zip.*.part`` beside it, safe to delete). The file is
    readable by its owner only: it holds patrons' personal data.

    Every user is checked first (`sis_record`'s rules: a primary id, no password, no roles, only
    fields the SIS load reads, within the schema's lengths) and no primary id or identifier may
    appear twice. When ``users`` is a sequence (a list, a tuple) it is checked whole before any
    file is made; any other iterable is checked as it is written, and a refusal removes what was
    written. Either way a refusal lists every problem and leaves nothing at ``path``.

    Returns a `SisFile` (path, members with their primary ids, size, SHA-256). Raises `InputError`
    for bad users or a bad ``path`` (not text or a path, not ``.zip``, a name too long for the file
    system, no such folder, the file exists and ``overwrite`` is false), `SisFileError` if the file
    system fails.
    """
    target = _check_target(path, max_users_per_file, overwrite)
    try:
        return _write(users, target, max_users_per_file, overwrite)
    except OSError as exc:
        raise SisFileError(
            f"Could not write the SIS file {shown_path(target)}: {exc.strerror or exc}; "
            f"nothing was written at {shown_path(target)}",
            path=target,
        ) from exc
