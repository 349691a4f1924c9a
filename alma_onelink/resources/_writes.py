"""Writes whose answer was lost: one rule for create, update and delete, written once for both clients.

A write is sent; if its answer is lost (a timeout, a broken connection after sending, a 5xx or 408,
or a 2xx whose body cannot be read), it is never sent again blindly. The record is read back and
compared with what was sent (see `_compare`):

* it took effect: the caller gets Alma's record (a delete: nothing), as if the answer had arrived;
* it clearly did not: the write is sent again after a backoff, or, with no tries left, the real
  error is raised (the write is not there);
* the check itself failed: `OutcomeUnknownError` says which write, on which id, and how to check.

A create that finds someone else's record under its primary id raises `AlreadyExistsError`, never
returns that record. A retried write answered "not found" (update, delete) or "already exists"
(create) after a lost answer is checked the same way: a retried DELETE that finds nothing succeeded.

`run_write` is a generator of steps (a request to send, or a pause); `Users` and `AsyncUsers` drive it.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Collection, Generator
from dataclasses import dataclass
from typing import Any, Literal, cast

import httpx

from .._base import RequestSpec, parse_nothing
from .._response import RawResponse
from .._retry import backoff_seconds
from ..errors import (
    AlmaError,
    AlmaErrorDetail,
    AlreadyExistsError,
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    NotFoundError,
    OutcomeUnknownError,
)
from ..models import User
from ._compare import PROTECTED_KEYS, differences

__all__ = [
    "DELETED",
    "Pause",
    "Step",
    "Verdict",
    "WriteCheck",
    "as_parsed",
    "check_create",
    "check_delete",
    "check_update",
    "deleted_response",
    "lost_answer",
    "not_ours",
    "outcome_unknown",
    "outcome_unknown_error",
    "run_write",
]

log = logging.getLogger("alma_onelink")

Write = Literal["create", "update", "delete"]


@dataclass(frozen=True, slots=True)
class Pause:
    """A step of a write: wait this many seconds (the client's ``sleep``)."""

    seconds: float


Step = RequestSpec[Any] | Pause


class Verdict(enum.Enum):
    """What reading a write back showed."""

    DONE = "done"
    NOT_DONE = "not done"
    SOMEONE_ELSE = "someone else's record"


class _Deleted:
    """What `run_write` returns for a delete that a read-back showed done (there is no response)."""

    def __repr__(self) -> str:
        return "DELETED"


DELETED = _Deleted()


def deleted_response(api_root: str, spec: RequestSpec[Any]) -> RawResponse[None]:
    """What ``with_raw_response.delete`` returns for a delete known done from its read-back: a 204 as Alma
    would have answered (the real answer was lost)."""
    request = httpx.Request(spec.method, api_root + spec.path, params=dict(spec.params))
    return RawResponse(httpx.Response(204, request=request), retries_taken=0, parser=parse_nothing)


@dataclass(frozen=True, slots=True)
class WriteCheck:
    """How to tell whether one write took effect: which record to read back, and how to judge it."""

    write: Write
    target: str
    read_back: RequestSpec[User]
    judge: Callable[[User | None], tuple[Verdict, list[str]]]


def outcome_unknown(exc: Exception) -> bool:
    """Whether a failed write may nevertheless have been applied by Alma (so it must be read back).

    True for a connection that broke after sending (`OutcomeUnknownError` included), a 5xx or 408,
    and a 2xx answer whose body could not be read.
    """
    if isinstance(exc, APIConnectionError):
        return exc.request_sent
    if isinstance(exc, APIResponseValidationError):
        return 200 <= exc.status_code < 300
    return isinstance(exc, APIStatusError) and (exc.status_code >= 500 or exc.status_code == 408)


lost_answer = outcome_unknown


def _conflict(write: Write, exc: AlmaError) -> bool:
    """An answer that, after an earlier lost answer, may only mean the earlier try took effect."""
    return isinstance(exc, AlreadyExistsError) if write == "create" else isinstance(exc, NotFoundError)


def as_parsed(result: Any) -> User:
    """The user of a result: the object itself, or a raw response's parsed body."""
    return cast(User, result.parse() if isinstance(result, RawResponse) else result)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


_HOW_TO_CHECK = {
    "create": "before creating it again",
    "update": "and compare it with what you sent before sending it again",
    "delete": "(NotFoundError means it was deleted) before deleting it again",
}


def outcome_unknown_error(write: Write, target: str, cause: AlmaError, check: AlmaError) -> OutcomeUnknownError:
    """The error for a write whose answer was lost and whose check (reading ``target`` back) failed too."""
    return OutcomeUnknownError(
        f"The {write} of {target} may or may not have taken effect: its answer was lost ({_one_line(cause)}) "
        f"and reading {target} back failed ({type(check).__name__}: {_one_line(check)}). Check with "
        f"alma.users.get({target!r}) {_HOW_TO_CHECK[write]}",
        method=getattr(cause, "method", "?"),
        path=getattr(cause, "path", "?"),
        write=write,
        target=target,
    )


def not_ours(primary_id: str, cause: Exception, fields: Collection[str] = ()) -> AlreadyExistsError:
    """The error for a create whose check found another record under its primary id."""
    differing = f" (it differs in {', '.join(sorted(fields))})" if fields else ""
    detail = AlmaErrorDetail(
        code="401851",
        message=f"User with identifier {primary_id} already exists{differing}: found while checking whether "
        "a create whose answer was lost took effect, and it is not the record that was sent.",
    )
    method = getattr(cause, "method", "POST")
    path = getattr(cause, "path", "/almaws/v1/users")
    return AlreadyExistsError(status_code=400, method=method, path=path, errors=[detail])


# --- judging what was read back -----------------------------------------------------------------


def check_create(sent: User, read_back: RequestSpec[User]) -> WriteCheck:
    """A create took effect if its primary id now holds the record sent (as Alma normalises it)."""

    def judge(found: User | None) -> tuple[Verdict, list[str]]:
        if found is None:
            return Verdict.NOT_DONE, []
        fields = differences(sent, found, mode="create")
        return (Verdict.SOMEONE_ELSE, fields) if fields else (Verdict.DONE, [])

    return WriteCheck("create", str(sent.primary_id), read_back, judge)


def check_update(sent: User, override: Collection[str], read_back: RequestSpec[User]) -> WriteCheck:
    """An update took effect if the record now is what was sent (fields Alma protects aside, unless overridden)."""

    def judge(found: User | None) -> tuple[Verdict, list[str]]:
        if found is None:
            return Verdict.NOT_DONE, []
        external = found.account_type is not None and found.account_type.matches("EXTERNAL")
        skip = [key for name, key in PROTECTED_KEYS.items() if name not in override] if external else []
        fields = differences(sent, found, mode="update", skip=skip)
        return (Verdict.NOT_DONE, fields) if fields else (Verdict.DONE, [])

    return WriteCheck("update", str(sent.primary_id), read_back, judge)


def check_delete(target: str, read_back: RequestSpec[User]) -> WriteCheck:
    """A delete took effect if the user is gone."""

    def judge(found: User | None) -> tuple[Verdict, list[str]]:
        return (Verdict.DONE, []) if found is None else (Verdict.NOT_DONE, [])

    return WriteCheck("delete", target, read_back, judge)


# --- the procedure --------------------------------------------------------------------------------


def _read_back(check: WriteCheck, cause: AlmaError) -> Generator[Step, Any, Any]:
    try:
        return (yield check.read_back)
    except NotFoundError:
        return None
    except AlmaError as check_exc:
        raise outcome_unknown_error(check.write, check.target, cause, check_exc) from cause


def run_write(spec: RequestSpec[Any], check: WriteCheck, *, retries: int) -> Generator[Step, Any, Any]:
    """Send a write; when its answer is lost, read back and decide (see the module docstring).

    Returns what the write returns (the record Alma answered or read back, or `DELETED` for a delete
    known only from its read-back). Raises the write's own error when Alma refused it or it is
    known not to have happened, `AlreadyExistsError` for someone else's record, and
    `OutcomeUnknownError` when its outcome cannot be known.
    """
    lost: AlmaError | None = None
    for attempt in range(retries + 1):
        if attempt:
            yield Pause(backoff_seconds(attempt))
        try:
            return (yield spec)
        except AlmaError as exc:
            answered = not outcome_unknown(exc)
            if answered and not (lost is not None and _conflict(check.write, exc)):
                raise
            failure = exc
        lost = failure
        found = yield from _read_back(check, failure)
        verdict, fields = check.judge(as_parsed(found) if found is not None else None)
        if verdict is Verdict.DONE:
            log.info("The %s of %s took effect although its answer was lost (%s)", check.write, check.target, failure)
            return DELETED if check.write == "delete" else found
        if verdict is Verdict.SOMEONE_ELSE:
            raise not_ours(check.target, failure, fields) from failure
        if answered:  # "not found" / "already exists" after a lost try, and the read-back agrees
            raise failure
        log.warning(
            "The %s of %s did not take effect (%s)%s",
            check.write,
            check.target,
            failure,
            "; sending it again" if attempt < retries else "",
        )
    assert lost is not None
    raise lost
