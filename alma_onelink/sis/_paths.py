"""The path of a SIS file, checked before the file system is asked anything about it."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..errors import AlmaError, InputError

__all__ = ["MAX_NAME_BYTES", "SisFileError", "asked", "shown_path", "sis_path"]

T = TypeVar("T")

MAX_NAME_BYTES = 255
"""The longest file or folder name most file systems hold (ext4, APFS, NTFS: 255), in bytes as the name is stored."""

_SHOWN = 120  # a longer path is shown by its start and its end


class SisFileError(AlmaError):
    """The SIS file could not be written or read (a full disk, no permission, a damaged zip).

    ``path`` is the zip's path. A write that fails leaves nothing at ``path``.
    """

    def __init__(self, message: str, *, path: Path) -> None:
        self.path = path
        super().__init__(message)


def shown_path(path: Path | str) -> str:
    """``path`` for a message: whole up to 120 characters, else its start, ``…`` and its end."""
    text = str(path)
    return text if len(text) <= _SHOWN else f"{text[:60]}…{text[-50:]} ({len(text):,} characters)"


def sis_path(path: object, *, spare: int = 0) -> Path:
    """``path`` as a `Path` if it can name a file: text or a path-like object, not blank, without NUL, each
    name in it at most `MAX_NAME_BYTES` bytes, the file's own name ``spare`` bytes fewer (room for the
    temporary name a file is written under). Else `InputError` saying what to give instead."""
    text = os.fspath(path) if isinstance(path, os.PathLike) else path
    if not isinstance(text, str):
        raise InputError(
            "The SIS file's path must be text or a pathlib.Path, like 'onelink-new-accounts.zip'; "
            f"got {type(text).__name__}"
        )
    if not text.strip():
        raise InputError("The SIS file's path is blank; give the path of the zip, like 'onelink-new-accounts.zip'")
    if "\x00" in text:
        raise InputError(f"The SIS file's path {shown_path(text.replace(chr(0), '?'))} holds a NUL character")
    target = Path(text)
    for name in target.parts:
        size = len(os.fsencode(name))
        most = MAX_NAME_BYTES - spare if name == target.name else MAX_NAME_BYTES
        if size > most:
            raise InputError(
                f"The name {shown_path(name)} in the SIS file's path is {size:,} bytes long; it may be at most "
                f"{most}{' (it is written under a longer temporary name first)' if most < MAX_NAME_BYTES else ''}: "
                "choose a shorter name"
            )
    return target


def asked(question: Callable[[], T], target: Path) -> T:
    """The file system's answer to ``question`` about ``target``; its refusal as a typed error.

    A name too long for this file system (its limit may be below 255) is an `InputError`; anything else
    (no permission to look in a folder, a loop of links) a `SisFileError`.
    """
    try:
        return question()
    except OSError as exc:
        problem = exc
    if problem.errno == errno.ENAMETOOLONG:
        raise InputError(
            f"The SIS file's path {shown_path(target)} is too long for the file system: choose a shorter one"
        )
    raise SisFileError(
        f"Cannot look at the SIS file's path {shown_path(target)}: {problem.strerror or problem}", path=target
    )
