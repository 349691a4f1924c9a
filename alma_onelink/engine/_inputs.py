"""The arguments every journaled procedure takes, checked once: the client, the journal, the day, the staff name."""

from __future__ import annotations

import os
import unicodedata
from datetime import date, datetime
from pathlib import Path

from alma_onelink._text import describe, unsafe_characters
from alma_onelink.errors import InputError

from .journal import Journal, default_journal_path

__all__ = ["JournalLike", "check_client", "check_staff", "check_today", "journal_for", "open_journal"]

JournalLike = Journal | str | os.PathLike[str] | None
"""A `Journal`, the path of one, or ``None`` for the default journal (``$ALMA_ONELINK_JOURNAL`` or the
per-user data directory)."""


def journal_for(journal: JournalLike, *, dry_run: bool) -> Journal | None:
    """The journal a run writes to; for a dry run, only one that already exists (it is read, never written)."""
    if not dry_run:
        return open_journal(journal)
    if isinstance(journal, Journal):
        return journal
    path = _journal_path(journal)
    path = path if path is not None else default_journal_path()
    try:
        exists = path.is_file()
    except OSError as exc:  # a name longer than the file system takes, say
        raise InputError(f"The journal path cannot be used: {exc.strerror or exc}; give a shorter path") from None
    return Journal(path) if exists else None


def open_journal(journal: JournalLike) -> Journal:
    """The `Journal` ``journal`` names. Raises ``InputError`` for a path that cannot hold one."""
    if isinstance(journal, Journal):
        return journal
    return Journal(_journal_path(journal))


def _journal_path(journal: JournalLike) -> Path | None:
    """``journal`` as a path (``None``: the default), if it is one. Raises ``InputError`` otherwise."""
    if journal is None:
        return None
    if not isinstance(journal, str | os.PathLike) or isinstance(journal, bytes):
        raise InputError(f"journal must be a Journal, a file path or None; got {type(journal).__name__}")
    text = os.fspath(journal)
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"journal must be a Journal, a file path or None; got {journal!r}")
    found = unsafe_characters(text)
    if found:
        raise InputError(f"The journal path holds {describe(found)}: give a path of plain characters")
    return Path(text)


_EARLIEST_DAY = date(1970, 1, 1)
_LATEST_DAY = date(2999, 12, 31)
_STAFF_MAX = 100


def check_today(today: date | datetime | None) -> date | None:
    """``today`` as a date (a ``datetime`` gives its own date). Raises ``InputError`` for anything else."""
    if isinstance(today, datetime):
        today = today.date()
    if today is None:
        return None
    if not isinstance(today, date):
        raise InputError(f"today must be a datetime.date, like date(2026, 11, 30); got {today!r}")
    if not _EARLIEST_DAY <= today <= _LATEST_DAY:
        raise InputError(
            f"today {today.isoformat()} is not a plausible registration day; give a date between "
            f"{_EARLIEST_DAY.isoformat()} and {_LATEST_DAY.isoformat()}, or leave it out for today"
        )
    return today


def check_staff(staff: str | None) -> str | None:
    """The staff member's name, stripped. Raises ``InputError`` for a blank, overlong or control-laden one."""
    if staff is None:
        return None
    if not isinstance(staff, str) or not staff.strip():
        raise InputError(f"staff must be the staff member's name or user name; got {staff!r}")
    name = staff.strip()
    if len(name) > _STAFF_MAX or any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise InputError(
            f"staff must be a name of at most {_STAFF_MAX} characters without control characters or line breaks; "
            f"got {staff!r}"
        )
    return name


def check_client(alma: object, *, asynchronous: bool, call: str) -> None:
    """Raises ``InputError`` unless ``alma`` is the client ``call`` runs on.

    ``asynchronous``: `AsyncAlmaClient` (the ``a…`` twin of each call), else `AlmaClient`. The
    message names the twin for a client of the other kind.
    """
    from alma_onelink._client import AlmaClient, AsyncAlmaClient  # noqa: PLC0415  (loaded with the client given)

    wanted: type[object] = AsyncAlmaClient if asynchronous else AlmaClient
    if isinstance(alma, wanted):
        return
    other: type[object] = AlmaClient if asynchronous else AsyncAlmaClient
    if isinstance(alma, other):
        twin = call.removeprefix("a") if asynchronous else f"a{call}"
        raise InputError(f"{call} runs on an {wanted.__name__}; for an {other.__name__} use {twin}")
    raise InputError(
        f"alma must be an {wanted.__name__}, like {wanted.__name__}.sandbox() or "
        f"{wanted.__name__}(api_key=...), for {call}; got {type(alma).__name__}"
    )
