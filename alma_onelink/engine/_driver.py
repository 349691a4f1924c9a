"""The two drivers: run a procedure's operations with a sync or an async client. The only I/O here.

A procedure is a generator of `Op`s. The driver performs each one and sends its result back, or
throws the SDK error (an `AlmaError`) into the generator, where the procedure decides what it
means. A journal line that cannot be written or read is thrown in as `JournalError`: the procedure
knows whether it has written to Alma yet (see `alma_onelink.engine._write.write`). Anything that is
not an `AlmaError` is a bug and propagates unchanged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from alma_onelink.errors import AlmaError, APIStatusError
from alma_onelink.pagination import AsyncOffsetPage, SyncOffsetPage

from ._moves import entries_of, half_done, moved_off, next_write, unsettled_for
from ._ops import (
    AlmaOp,
    CompleteWrite,
    FindEntries,
    FindHalfDone,
    FindMoves,
    FindUnsettled,
    IntendWrite,
    JournalOp,
    NextWrite,
    Op,
    SettleWrite,
)
from ._trace import ApiCall, Trace
from .journal import Journal, JournalError

if TYPE_CHECKING:
    from alma_onelink import AlmaClient, AsyncAlmaClient

__all__ = ["Procedure", "drive", "drive_async"]

R = TypeVar("R")
Procedure = Generator[Op, Any, R]


def _outcome(exc: BaseException | None) -> str:
    if exc is None:
        return "ok"
    code = exc.code if isinstance(exc, APIStatusError) else None
    return f"{type(exc).__name__} {code}" if code else type(exc).__name__


_JOURNAL_READS = (FindMoves, FindUnsettled, NextWrite, FindEntries, FindHalfDone)
_JOURNAL_OPS = (IntendWrite, CompleteWrite, SettleWrite, *_JOURNAL_READS)


def _journal_op(op: JournalOp, journal: Journal | None) -> Any:
    """Perform a journal operation. An ``OSError`` (a full disk, no permission…) becomes `JournalError`."""
    try:
        return _journal_io(op, journal)
    except OSError as exc:
        path = journal.path if journal is not None else Path()
        what = "read" if isinstance(op, _JOURNAL_READS) else "written"
        cause = str(exc) or type(exc).__name__
        raise JournalError(f"The journal {path} could not be {what} ({cause})", path=path, cause=cause) from exc


def _journal_io(op: JournalOp, journal: Journal | None) -> Any:
    if isinstance(op, FindMoves):
        return moved_off(journal, op.onelink_id, op.settled)
    if isinstance(op, FindUnsettled):
        return unsettled_for(journal, op.onelink_id)
    if isinstance(op, NextWrite):
        return next_write(journal, op.entry)
    if isinstance(op, FindEntries):
        return entries_of(journal, op.registration, op.operation)
    if isinstance(op, FindHalfDone):
        return half_done(journal, op.registrations, open_ones=op.open_ones)
    if journal is None:  # pragma: no cover - a procedure that writes is always given a journal
        raise AssertionError("a procedure journaled a write without a journal")
    if isinstance(op, SettleWrite):
        return journal.settle(op.entry, result=op.result, note=op.note, after=op.after, error=op.error)
    if isinstance(op, IntendWrite):
        return journal.intend(
            action=op.action,
            target=op.target,
            before=op.before,
            sending=op.sending,
            staff=op.staff,
            registration=op.registration,
            operation=op.operation,
            reason=op.reason,
        )
    return journal.complete(op.entry, result=op.result, after=op.after, error=op.error)


def _page_items(value: Any) -> Any:
    return value.items if isinstance(value, SyncOffsetPage | AsyncOffsetPage) else value


def drive(procedure: Procedure[R], alma: AlmaClient, *, journal: Journal | None, trace: Trace) -> R:
    """Run ``procedure`` with the sync client; returns what the procedure returns."""
    value: Any = None
    error: AlmaError | None = None
    while True:
        try:
            op = procedure.send(value) if error is None else procedure.throw(error)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value, error = None, None
        if isinstance(op, _JOURNAL_OPS):
            try:
                value = _journal_op(op, journal)
            except JournalError as exc:
                error = exc  # the procedure decides: raise before any write to Alma, report after one
            continue
        value, error = _call(op, alma, trace)


def _call(op: AlmaOp, alma: AlmaClient, trace: Trace) -> tuple[Any, AlmaError | None]:
    started = time.perf_counter()
    try:
        value = _page_items(op.invoke(alma.users))
    except AlmaError as exc:
        trace.call(ApiCall(op.method, op.path, _outcome(exc), time.perf_counter() - started))
        return None, exc
    trace.call(ApiCall(op.method, op.path, "ok", time.perf_counter() - started))
    return value, None


async def drive_async(procedure: Procedure[R], alma: AsyncAlmaClient, *, journal: Journal | None, trace: Trace) -> R:
    """Run ``procedure`` with the async client; journal lines are written in a worker thread."""
    value: Any = None
    error: AlmaError | None = None
    while True:
        try:
            op = procedure.send(value) if error is None else procedure.throw(error)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value, error = None, None
        if isinstance(op, _JOURNAL_OPS):
            # The journal's file lock may wait on another process: never block the event loop on it.
            try:
                value = await asyncio.to_thread(_journal_op, op, journal)
            except JournalError as exc:
                error = exc  # the procedure decides: raise before any write to Alma, report after one
            continue
        started = time.perf_counter()
        try:
            value = _page_items(await op.invoke(alma.users))
        except AlmaError as exc:
            error = exc
        trace.call(ApiCall(op.method, op.path, _outcome(error), time.perf_counter() - started))
