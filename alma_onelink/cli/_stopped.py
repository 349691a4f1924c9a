"""Ctrl-C, wherever it comes: one line on stderr that says what became of the writes, and exit 130.

Before a command's body runs (while the command loads, while its flags are read) nothing was sent:
"Stopped; nothing was sent." Within it (at a question too) the journal says what is true, every
write being journaled before it is sent: no entry since the command began, nothing was sent; an
entry whose outcome is still unknown, a write was under way (`alma-onelink journal settle` finds
out how it ended); only settled entries, what was written is in the journal.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager

TYPE_CHECKING = False  # not `typing`'s: this module is loaded first and must load fast (see cli/__init__)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Final

    from ._state import State

__all__ = [
    "NOTHING_SENT",
    "CtrlCHeld",
    "batch_stopped_line",
    "held_ctrl_c",
    "say_stopped",
    "started_as_the_command",
    "stopped_at_start_up",
    "stopped_line",
]

NOTHING_SENT: Final = "Stopped; nothing was sent."
"""The line for Ctrl-C before anything was sent (at start-up, at a question, or before the first write)."""


def say_stopped(line: str, *, after_a_question: bool = False) -> None:
    """``line`` on stderr, on a line of its own (after the ``^C`` a terminal shows, or the question left
    unanswered), without rich."""
    try:
        lead = "\n" if after_a_question or sys.stderr.isatty() else ""
    except (AttributeError, ValueError, OSError):
        lead = ""
    try:
        sys.stderr.write(f"{lead}{line}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr is gone: the exit status still says it
        pass


def stopped_at_start_up() -> None:
    """Ctrl-C while ``alma-onelink`` was loading: one line and exit 130, not a traceback (nothing ran yet)."""
    say_stopped(NOTHING_SENT)
    raise SystemExit(130)


def started_as_the_command() -> bool:
    """Whether this process is the ``alma-onelink`` command (its script, or ``python -m alma_onelink.cli``)."""
    first = sys.argv[0] if sys.argv else ""
    return first == "-m" or os.path.basename(first).removesuffix(".exe") == "alma-onelink"


def stopped_line(state: State, since: float) -> str:
    """What to say for Ctrl-C in a command begun at ``since`` (``time.time()``): what was sent, by the journal."""
    if "alma_onelink.engine.journal" not in sys.modules:
        return NOTHING_SENT  # no journal was opened, so no write was journaled, so none was sent
    from alma_onelink.engine.journal import default_journal_path  # noqa: PLC0415  (loaded: see above)

    prefix = state.command_prefix()
    try:
        path = state.journal_path() or default_journal_path()
        if not path.exists() or path.stat().st_mtime < since:
            return NOTHING_SENT  # nothing was journaled since the command began, so nothing was sent
        entries = state.journal().entries(last=_RECENT)
    except BaseException:  # a second Ctrl-C, or a journal that cannot be read: say what to check
        return (
            f"Stopped; if a write was under way, `{prefix} journal pending` lists it and `{prefix} journal settle` "
            "finds out how it ended."
        )
    from datetime import UTC, datetime  # noqa: PLC0415  (this module loads before anything else)

    began = datetime.fromtimestamp(since, UTC)
    ours = [entry for entry in entries if entry.time >= began]
    if not ours:
        return NOTHING_SENT
    open_ = [entry for entry in ours if entry.is_unsettled]
    if open_:
        what = ", ".join(f"{entry.action} {entry.target}" for entry in open_[:3]) + (" …" if len(open_) > 3 else "")
        return (
            f"Stopped while writing: Alma may or may not hold {what}; `{prefix} journal settle` reads Alma to find "
            f"out and journals it (`{prefix} journal pending` lists what is open)."
        )
    return f"Stopped; what was written before it is in the journal, with each outcome: `{prefix} journal show`."


_RECENT: Final = 500
"""How many of the newest journal entries are read to find this run's (a run writes a few; a batch, many)."""


def batch_stopped_line(counts: dict[str, int], prefix: str, out: str | None) -> str:
    """What ``batch`` says on stderr when Ctrl-C stopped it (exit 130): how many rows were finished, how many
    were under way and may or may not be in Alma, how many were never started, and what to run next."""
    unknown, never = counts.get("stopped", 0), counts.get("not_started", 0)
    done = sum(counts.values()) - unknown - never
    line = f"Stopped (Ctrl-C): {done} row(s) finished, shown above"
    line += f" and written to {out}" if out else ""
    if unknown:
        line += (
            f"; {unknown} under way, which Alma may or may not hold: `{prefix} journal settle` reads Alma to find out"
        )
    line += f"; {never} not started, nothing sent for them." if never else "."
    return line + " Run the same command again to finish the batch (rows registered come back already registered)."


class CtrlCHeld:
    """A SIGINT handler for ``batch``: Ctrl-C raises `KeyboardInterrupt` as usual, except while `held` (a row
    being shown and written), when it is kept in `pending` for the batch to act on once the row is whole."""

    def __init__(self) -> None:
        self.held = False
        self.pending = False

    def __call__(self, signum: int, frame: object) -> None:
        if self.held:
            self.pending = True
            return
        raise KeyboardInterrupt


@contextmanager
def held_ctrl_c() -> Iterator[CtrlCHeld]:
    """Ctrl-C as `CtrlCHeld` handles it, for the rows' loop (the main thread only: else as it was)."""
    held = CtrlCHeld()
    try:
        before = signal.signal(signal.SIGINT, held)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield held
        return
    try:
        yield held
    finally:
        signal.signal(signal.SIGINT, before)
