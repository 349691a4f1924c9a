"""Fewer calls, every answer still true: the record a write returns is verified, and a lost answer is read back.

A create or renewal is verified on the record Alma returned for it, not read again. A write whose
answer was lost is read back by the client before anything is decided, so the registration still
ends truly; a returned record that is not what was written makes the registration ``failed``, saying
what Alma saved, though the write happened (the journal says done).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from alma_onelink import AlmaClient, AsyncAlmaClient, Patron
from alma_onelink.engine import Trace
from alma_onelink.engine._ops import GetUser
from alma_onelink.errors import APITimeoutError
from alma_onelink.onelink import Journal, Outcome, RegistrationResult, aregister_patron, register_patron
from alma_onelink.onelink._run import Run
from alma_onelink.onelink._verify import verify
from alma_onelink.sandbox import DUKE_UNIQUE_IDS, Faults, Sandbox
from tests.onelink.conftest import (
    TODAY,
    accounts_with_primary_id,
    make_sandbox,
    new_registrant,
    no_async_sleep,
    no_sleep,
    record,
    trln_borrower_as_alumna,
)
from tests.onelink.test_calls import DRIVER, SWITCH, calls, duke, register

NEW = DUKE_UNIQUE_IDS["new_registrant"]
MAI = DUKE_UNIQUE_IDS["trln_borrower"]


@DRIVER
@SWITCH
async def test_a_create_whose_answer_was_lost_is_read_back_and_created(
    with_or: bool, driver: str, tmp_path: Path
) -> None:
    finds = 2 if with_or else 3  # the read by OneLink ID and the search(es), then the create
    journal = Journal(tmp_path / "journal.jsonl")
    with make_sandbox() as sandbox:
        sandbox.knobs.faults = Faults(script=[*[None] * finds, "commit_then_fail"])
        result = await register(driver, sandbox, duke(with_or), new_registrant(), journal.path)

        assert result.outcome == "created", result.reason
        # The create took effect; its answer was lost. The client read it back once, and sent nothing again.
        assert calls(sandbox)[finds:] == ["POST", f"GET {NEW}"]
        assert len(accounts_with_primary_id(sandbox, NEW)) == 1
    assert result.steps[-1].name == "verify"
    assert result.steps[-1].status == "done"
    assert result.user is not None
    assert result.user.primary_id == NEW
    [entry] = journal.entries()
    assert (entry.action, entry.result) == ("create", "done")


Change = Callable[[dict[str, Any]], None]


class Misanswer(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The sandbox, except that the answer to ``method`` (POST or PUT) is changed by ``change`` (Alma applied
    the write as sent; only the record it answers with differs)."""

    def __init__(self, sandbox: Sandbox, method: str, change: Change) -> None:
        self.inner, self.ainner = sandbox.transport(), sandbox.async_transport()
        self.method, self.change = method, change

    def _changed(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.method != self.method or response.status_code != 200:
            return response
        body = json.loads(response.content)
        self.change(body)
        return httpx.Response(200, json=body, headers={"content-type": "application/json"}, request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        return self._changed(request, response)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.ainner.handle_async_request(request)
        await response.aread()
        return self._changed(request, response)


async def register_through(
    driver: str, sandbox: Sandbox, transport: Misanswer, patron: Patron, journal: Path, *, with_or: bool
) -> RegistrationResult:
    options: dict[str, Any] = {"api_key": sandbox.api_key, "base_url": sandbox.base_url, "transport": transport}
    if driver == "sync":
        with AlmaClient(**options, sleep=no_sleep) as alma:
            return register_patron(alma, duke(with_or), patron, today=TODAY, journal=journal)
    async with AsyncAlmaClient(**options, sleep=no_async_sleep) as aalma:
        return await aregister_patron(aalma, duke(with_or), patron, today=TODAY, journal=journal)


def other_group(body: dict[str, Any]) -> None:
    body["user_group"] = {"value": "UNDERGRAD"}


def a_password(body: dict[str, Any]) -> None:
    body["password"] = "secret"


def another_expiry(body: dict[str, Any]) -> None:
    body["expiry_date"] = "2030-01-01Z"


def another_primary_id(body: dict[str, Any]) -> None:
    body["primary_id"] = "someone.else"


WRONG: dict[str, tuple[Change, str]] = {
    "group": (other_group, "group is UNDERGRAD"),
    "password": (a_password, "an Alma password is set"),
    "expiry": (another_expiry, "expires 2030-01-01"),
    "primary_id": (another_primary_id, "its primary id is someone.else"),
}


@DRIVER
@SWITCH
@pytest.mark.parametrize("wrong", WRONG, ids=WRONG.keys())
async def test_a_create_answered_with_a_wrong_record_fails_truly(
    wrong: str, with_or: bool, driver: str, tmp_path: Path
) -> None:
    change, said = WRONG[wrong]
    journal = Journal(tmp_path / "journal.jsonl")
    with make_sandbox() as sandbox:
        result = await register_through(
            driver, sandbox, Misanswer(sandbox, "POST", change), new_registrant(), journal.path, with_or=with_or
        )

        assert result.outcome == "failed"
        assert result.reason.startswith("created, but the account Alma saved shows: ")
        assert said in result.reason
        assert "Fix the account in Alma before the patron signs in" in result.reason
        assert result.steps[-1].name == "verify"
        assert result.steps[-1].status == "failed"
        assert len(accounts_with_primary_id(sandbox, NEW)) == 1, "the create happened: the result says so"
        assert calls(sandbox)[-1] == "POST", "the answer is what is verified: no read-back"
    [entry] = journal.entries()
    assert (entry.action, entry.result) == ("create", "done")


@DRIVER
async def test_a_renewal_answered_with_a_wrong_record_fails_truly(driver: str, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    with make_sandbox() as sandbox:
        result = await register_through(
            driver,
            sandbox,
            Misanswer(sandbox, "PUT", other_group),
            trln_borrower_as_alumna(),
            journal.path,
            with_or=False,
        )

        assert result.outcome == "failed"
        assert result.reason.startswith("renewed: ")
        assert "but the account Alma saved shows: group is UNDERGRAD, not DUKE_ALUMNI" in result.reason
        assert calls(sandbox) == [f"GET {MAI}", f"PUT {MAI}"]
        assert record(sandbox, MAI)["user_group"]["value"] == "DUKE_ALUMNI", "Alma applied the renewal"
    [entry] = journal.entries()
    assert (entry.action, entry.result) == ("update", "done")


def test_a_write_that_returned_no_record_is_read_back_and_a_failed_read_says_so() -> None:
    # The driver always has a record for a write that took effect; should one ever lack it, the account is
    # read back by the OneLink ID as before, and a read that fails keeps the outcome with a warning.
    policy, patron = duke(False), new_registrant()
    expected = policy.build_user(patron, today=TODAY)
    run = Run(policy, patron, TODAY, False, None, "registration", Trace())
    step = verify(run, None, expected, Outcome.CREATED, "created")
    assert next(step) == GetUser(NEW)
    with pytest.raises(StopIteration) as stopped:
        step.throw(APITimeoutError("timed out", method="GET", path=f"/users/{NEW}"))
    result: RegistrationResult = stopped.value.value
    assert result.outcome == "created"
    assert [issue.code for issue in result.warnings] == ["not_verified"]

    read_back = verify(Run(policy, patron, TODAY, False, None, "registration", Trace()), None, expected,
                       Outcome.CREATED, "created")  # fmt: skip
    assert next(read_back) == GetUser(NEW)
    with pytest.raises(StopIteration) as stopped:
        read_back.send(expected)
    assert stopped.value.value.outcome == "created"
    assert stopped.value.value.warnings == []
