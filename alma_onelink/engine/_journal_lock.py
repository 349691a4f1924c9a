"""The journal's locks: one ``threading.Lock`` per file in a process, and ``<journal>.lock`` between processes.

Both are waited on for at most ``timeout`` seconds; past that, `JournalError` names the lock file and
what to do. After `NOTICE_AFTER` seconds of waiting a warning is logged once ("waiting for the
journal…"), which a command prints on stderr. Where the lock file cannot be created (a read-only
file system, a folder without write permission), nobody can write the journal through it: reads go
on without it, and a write raises `JournalError` saying why.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import filelock

from ._journal_data import JournalError

__all__ = ["DEFAULT_LOCK_TIMEOUT", "NOTICE_AFTER", "JournalLock", "check_lock_timeout"]

log = logging.getLogger("alma_onelink")

DEFAULT_LOCK_TIMEOUT: Final = 60.0
"""Seconds a journal call waits for another process (or thread) to release the journal, by default."""
NOTICE_AFTER: Final = 1.0
"""Seconds of waiting after which the wait is logged (once per wait)."""
_UNWRITABLE: Final = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


def check_lock_timeout(value: object) -> float:
    """``value`` as seconds to wait for the journal's lock; `InputError` for anything but a number from 0 to a day."""
    from alma_onelink.errors import InputError  # noqa: PLC0415  (the errors module is loaded with the journal anyway)

    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 86400:
        raise InputError(
            f"lock_timeout is how many seconds to wait for another process using the journal: a number from 0 to "
            f"86400; got {value!r}"
        )
    return float(value)


class JournalLock:
    """The locks of one journal file: held around every read and append, each wait bounded by ``timeout``."""

    def __init__(self, journal: Path, thread_lock: threading.Lock, timeout: float) -> None:
        self.journal = journal
        self.path = Path(f"{journal}.lock")
        self.timeout = timeout
        self._thread_lock = thread_lock
        self._file_lock = filelock.FileLock(str(self.path), thread_local=False, poll_interval=0.005)
        self._unlockable: str | None = None  # why the lock file cannot be created, once found out

    @contextmanager
    def held(self, *, write: bool) -> Iterator[None]:
        """Hold both locks (a read goes on without the file lock where it cannot be created).

        Raises `JournalError` after ``timeout`` seconds of waiting, or for a write when the lock
        file cannot be created.
        """
        started = time.monotonic()
        if not self._wait_thread(started):
            raise self._busy("another thread of this process")
        try:
            locked = self._wait_file(started, write=write)
            try:
                yield
            finally:
                if locked:
                    self._file_lock.release()
        finally:
            self._thread_lock.release()

    def _wait_thread(self, started: float) -> bool:
        if self._thread_lock.acquire(timeout=min(NOTICE_AFTER, self.timeout)):
            return True
        self._notice("another thread of this process")
        return self._thread_lock.acquire(timeout=max(0.0, self.timeout - (time.monotonic() - started)))

    def _wait_file(self, started: float, *, write: bool) -> bool:
        """Take the file lock; False when it cannot be created and this is a read (which goes on without it)."""
        if self._unlockable is not None and not write:
            return False
        noticed = False
        while True:
            left = self.timeout - (time.monotonic() - started)
            wait = max(0.0, left if noticed else min(left, NOTICE_AFTER - (time.monotonic() - started)))
            try:
                self._file_lock.acquire(timeout=wait)
            except filelock.Timeout:  # an OSError too: handled first
                if left <= wait:
                    raise self._busy("another process") from None
                self._notice("another process")
                noticed = True
                continue
            except OSError as exc:
                if exc.errno not in _UNWRITABLE:
                    raise
                self._unlockable = str(exc.strerror or exc)
                if write:
                    raise self._unwritable() from exc
                return False
            self._unlockable = None
            return True

    def _notice(self, holder: str) -> None:
        log.warning(
            "Waiting for the journal %s: in use by %s (lock %s); waiting up to %g s.",
            self.journal,
            holder,
            self.path,
            self.timeout,
        )

    def _busy(self, holder: str) -> JournalError:
        if holder == "another process" and not self.path.exists():  # never created: nobody holds it
            return JournalError(
                f"The journal {self.journal} could not be used: its lock {self.path} could not be created within "
                f"{self.timeout:g} s, so nothing was read or written. Give a journal in an ordinary, writable folder "
                "(--journal PATH)",
                path=self.journal,
                cause=f"lock {self.path} cannot be created",
                nothing_sent=True,
            )
        return JournalError(
            f"The journal {self.journal} is in use by {holder}: its lock {self.path} was not released within "
            f"{self.timeout:g} s, so nothing was read or written. Let the other alma-onelink command (or notebook) "
            f"using this journal finish, then run this one again (Python: a longer wait with "
            f"Journal(..., lock_timeout=SECONDS))",
            path=self.journal,
            cause=f"lock {self.path} held by {holder}",
            nothing_sent=True,
        )

    def _unwritable(self) -> JournalError:
        return JournalError(
            f"The journal {self.journal} could not be written: its lock {self.path} cannot be created "
            f"({self._unlockable}), so nothing was written. The folder {self.journal.parent} is read-only or not "
            "writable for you: give a journal in a writable folder (--journal PATH), or fix the folder's permissions",
            path=self.journal,
            cause=self._unlockable or "",
            nothing_sent=True,
        )
