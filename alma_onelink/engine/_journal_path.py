"""Where the journal lives: the default path, and a path given, checked before anything is written."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from alma_onelink.errors import InputError

__all__ = ["default_journal_path", "resolve_journal_path"]


def default_journal_path() -> Path:
    """Where ``Journal()`` writes when given no path.

    ``$ALMA_ONELINK_JOURNAL`` if set and not blank (``~`` is expanded), else
    ``platformdirs.user_data_path("alma-onelink", appauthor=False) / "journal.jsonl"``.
    """
    configured = os.environ.get("ALMA_ONELINK_JOURNAL", "").strip()
    if configured:
        return Path(configured).expanduser()
    return platformdirs.user_data_path("alma-onelink", appauthor=False) / "journal.jsonl"


def resolve_journal_path(path: str | os.PathLike[str] | None) -> Path:
    """The journal's file, absolute; `InputError` for a path that cannot hold one (before anything is written)."""
    if path is not None and not isinstance(path, str | os.PathLike):
        raise InputError(f"The journal path must be a file path (text or a pathlib.Path), not {type(path).__name__}.")
    if path is not None and "\0" in os.fsdecode(os.fspath(path)):
        raise InputError(
            f"The journal path {os.fsdecode(os.fspath(path))[:80]!r} cannot be used: it holds a NUL character. Give a "
            "file path in an existing, writable folder, e.g. --journal ~/journal.jsonl."
        )
    try:
        if path is None:
            resolved = default_journal_path().absolute()
            if not resolved.is_dir():
                resolved.parent.mkdir(parents=True, exist_ok=True)
        else:
            resolved = Path(os.fspath(path)).expanduser().absolute()
        is_dir, parent_is_dir = resolved.is_dir(), resolved.parent.is_dir()
    except (OSError, ValueError, TypeError) as exc:  # too long a name, a folder that cannot be made
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if path is None:
            raise InputError(
                f"The default journal {default_journal_path()} cannot be used: {why}. Set ALMA_ONELINK_JOURNAL to a "
                "file in a writable folder, or give one with --journal PATH."
            ) from exc
        text = os.fsdecode(os.fspath(path))
        shown = text[:80] + ("…" if len(text) > 80 else "")
        raise InputError(
            f"The journal path {shown!r} ({len(text)} characters) cannot be used: {why}. Give a file path in an "
            "existing, writable folder (each name in it at most 255 bytes), e.g. --journal ~/journal.jsonl."
        ) from exc
    if is_dir:
        raise InputError(
            f"The journal path {resolved} is a folder; give a file path such as {resolved / 'journal.jsonl'}."
        )
    if not parent_is_dir:
        raise InputError(
            f"The folder {resolved.parent} for the journal does not exist; create it first "
            f"(mkdir -p {resolved.parent}) or give a path in an existing folder."
        )
    return resolved
