"""Every answer true: writes against the sandbox at 10 %, 30 % and 50 % faults of every kind.

Each write (create, update, edit, delete) ends one of three ways for its caller: "done" (it returned),
"failed" (an `AlmaError` other than `OutcomeUnknownError`), or "unknown" (`OutcomeUnknownError`).
The sandbox's own store is the ground truth, read directly (no faults, no request log), and says:

* nobody is told "failed" for a write that is in the store;
* nobody is told "done" for a write that is not;
* nobody gets another person's record back;
* "unknown" comes only when the check itself failed: every read-back of that write was lost too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest

from alma_onelink import AlmaClient, AlmaError, AlreadyExistsError, OutcomeUnknownError
from alma_onelink.models import Code, ContactInfo, Email, User, UserIdentifier, UserNote
from alma_onelink.sandbox import FAULT_KINDS, Faults, Sandbox

RATES = [0.1, 0.3, 0.5]
OPERATIONS = 60  # people per rate; each is created, updated, edited and deleted: 240 writes per rate


def new_user(n: int) -> User:
    return User(
        primary_id=f"truth{n:04d}",
        first_name="Ada",
        last_name=f"Lovelace-{n}",
        record_type=Code(value="PUBLIC"),
        account_type=Code(value="INTERNAL"),
        user_group=Code(value="PUBLIC"),
        status=Code(value="ACTIVE"),
        contact_info=ContactInfo(
            email=[Email(email_address=f"ada{n}@example.org", preferred=True, email_type=[Code(value="personal")])]
        ),
        user_identifier=[UserIdentifier(id_type=Code(value="BARCODE"), value=f"TB{n:06d}")],
    )


def stored(sandbox: Sandbox, primary_id: str) -> dict[str, Any] | None:
    """The record the sandbox holds under exactly this primary id (the store ignores case; we do not)."""
    record = sandbox.users.get(primary_id)
    return record if record is not None and record.get("primary_id") == primary_id else None


@dataclass
class Tally:
    outcomes: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    lies: list[str] = field(default_factory=list)

    def lie(self, text: str) -> None:
        self.lies.append(text)


def attempt(action: Callable[[], Any]) -> tuple[str, Any]:
    """``("done", value)``, ``("unknown", error)`` or ``("failed", error)``; anything else fails the test."""
    try:
        return "done", action()
    except OutcomeUnknownError as err:
        return "unknown", err
    except AlmaError as err:
        return "failed", err


def check_unknown_was_honest(sandbox: Sandbox, since: int, err: OutcomeUnknownError, tally: Tally) -> None:
    """The last request of the write's story was a read-back GET that a fault lost (the check failed)."""
    story = sandbox.request_log[since:]
    last = story[-1] if story else None
    if last is None or last.method != "GET" or (last.fault is None and (last.status or 0) < 500):
        tally.lie(f"OutcomeUnknownError although its check did not fail: {err}")


def run_at(rate: float, seed: int) -> Tally:
    sandbox = Sandbox(seed=seed, faults=Faults(rate=rate, kinds=FAULT_KINDS), per_second_limit=None)
    tally = Tally()
    with AlmaClient.sandbox(sandbox, sleep=lambda seconds: None, rate_limit=None) as alma:
        for n in range(OPERATIONS):
            user = new_user(n)
            pid = str(user.primary_id)

            # --- create ---------------------------------------------------------------------------
            since = len(sandbox.request_log)
            outcome, value = attempt(partial(alma.users.create, user))
            tally.outcomes[f"create {outcome}"] += 1
            there = stored(sandbox, pid)
            if outcome == "done":
                if there is None:
                    tally.lie(f"create {pid}: told done, not in the store")
                elif value.primary_id != pid or value.last_name != user.last_name:
                    tally.lie(f"create {pid}: returned {value!r}, another record")
            elif outcome == "failed" and there is not None:
                tally.lie(f"create {pid}: told failed ({value!r}), yet it is in the store")
            elif outcome == "unknown":
                check_unknown_was_honest(sandbox, since, value, tally)
            if there is None:
                continue

            # --- update (a PUT of the whole record) ------------------------------------------------
            current = User.from_alma(there)
            changed = current.model_copy(deep=True)
            changed.job_description = f"update {n}"
            changed.user_note = [UserNote(note_type=Code(value="OTHER"), note_text=f"note {n}")]
            since = len(sandbox.request_log)
            outcome, value = attempt(partial(alma.users.update, pid, changed))
            tally.outcomes[f"update {outcome}"] += 1
            after = stored(sandbox, pid) or {}
            applied = after.get("job_description") == f"update {n}"
            if outcome == "done" and not applied:
                tally.lie(f"update {pid}: told done, not applied")
            elif outcome == "failed" and applied:
                tally.lie(f"update {pid}: told failed ({value!r}), yet applied")
            elif outcome == "unknown":
                check_unknown_was_honest(sandbox, since, value, tally)
            if outcome == "done" and value.primary_id != pid:
                tally.lie(f"update {pid}: returned another record {value!r}")

            # --- edit (GET, change, PUT) ---------------------------------------------------------
            since = len(sandbox.request_log)

            def edit(pid: str = pid, n: int = n) -> list[str]:
                editing = alma.users.edit(pid)
                with editing as record:
                    record.last_name = f"Byron-{n}"
                return editing.not_taken

            outcome, value = attempt(edit)
            tally.outcomes[f"edit {outcome}"] += 1
            applied = (stored(sandbox, pid) or {}).get("last_name") == f"Byron-{n}"
            if outcome == "done" and (not applied or value):
                tally.lie(f"edit {pid}: told done (not taken: {value}), applied={applied}")
            elif outcome == "failed" and applied:
                tally.lie(f"edit {pid}: told failed ({value!r}), yet applied")
            elif outcome == "unknown":
                check_unknown_was_honest(sandbox, since, value, tally)

            # --- delete ----------------------------------------------------------------------------
            since = len(sandbox.request_log)
            outcome, value = attempt(partial(alma.users.delete, pid))
            tally.outcomes[f"delete {outcome}"] += 1
            gone = stored(sandbox, pid) is None
            if outcome == "done" and not gone:
                tally.lie(f"delete {pid}: told done, still there")
            elif outcome == "failed" and gone:
                tally.lie(f"delete {pid}: told failed ({value!r}), yet gone")
            elif outcome == "unknown":
                check_unknown_was_honest(sandbox, since, value, tally)
    tally.faults.update(f"{entry.method} {entry.fault}" for entry in sandbox.request_log if entry.fault)
    return tally


@pytest.mark.parametrize("rate", RATES, ids=[f"{int(r * 100)}%" for r in RATES])
def test_every_write_tells_the_truth_under_faults(rate: float) -> None:
    tally = run_at(rate, seed=int(rate * 100))
    assert tally.lies == [], "\n".join(tally.lies[:20])
    # The run did exercise what it claims to: writes done, and answers lost both after a write was
    # applied (commit_then_fail) and before (read_timeout, 5xx), on writes and on their read-backs.
    assert tally.outcomes["create done"] >= OPERATIONS // 2, tally.outcomes
    assert sum(tally.outcomes.values()) >= OPERATIONS * 3, tally.outcomes
    for kind in ("POST commit_then_fail", "PUT commit_then_fail", "DELETE commit_then_fail", "GET read_timeout"):
        assert tally.faults[kind] > 0, (kind, tally.faults)
    assert tally.faults["POST 503"] + tally.faults["PUT 500"] + tally.faults["DELETE 503"] > 0, tally.faults


# --- another person under the same primary id ------------------------------------------------------


def someone_else(n: int) -> dict[str, Any]:
    other = new_user(n).to_alma()
    other.update(first_name="Grace", last_name="Hopper", contact_info={}, user_identifier=[])
    return other


@pytest.mark.parametrize("rate", RATES, ids=[f"{int(r * 100)}%" for r in RATES])
def test_create_never_returns_another_persons_record(rate: float) -> None:
    sandbox = Sandbox(seed=7, faults=Faults(rate=rate, kinds=FAULT_KINDS), per_second_limit=None)
    outcomes: Counter[str] = Counter()
    with AlmaClient.sandbox(sandbox, sleep=lambda seconds: None, rate_limit=None) as alma:
        for n in range(30):
            sandbox.users.create(someone_else(n))
            outcome, value = attempt(partial(alma.users.create, new_user(n)))
            outcomes[type(value).__name__] += 1
            assert outcome != "done", f"create returned {value!r}, Grace Hopper's record"
            if outcome == "failed":
                assert isinstance(value, AlreadyExistsError), repr(value)
            assert (stored(sandbox, f"truth{n:04d}") or {}).get("last_name") == "Hopper"
    assert outcomes["AlreadyExistsError"] >= 20, outcomes


def test_a_create_whose_first_answer_is_lost_finds_grace_and_says_so() -> None:
    # A 503 that Alma did not apply, then the read-back finds Grace under the id: never returned as Ada.
    sandbox = Sandbox(seed=1, faults=["503"], per_second_limit=None)
    sandbox.users.create(someone_else(1))
    with (
        AlmaClient.sandbox(sandbox, sleep=lambda seconds: None, rate_limit=None) as alma,
        pytest.raises(AlreadyExistsError) as caught,
    ):
        alma.users.create(new_user(1))
    assert "truth0001" in str(caught.value)
    assert "Hopper" not in str(caught.value)  # nothing of the other person's record is echoed
