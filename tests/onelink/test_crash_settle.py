"""Settling: a write the journal lost the end of is settled later by reading Alma, as a line of its own.

`Journal.settle` appends a settlement line (the file is never rewritten); `settle` / `asettle` read
Alma for each pending or unknown entry and settle it; `restore` settles the entry it restores.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alma_onelink import AlmaClient, AsyncAlmaClient
from alma_onelink.engine import Journal, Restored, asettle, restore, settle
from alma_onelink.errors import InputError
from alma_onelink.policy import Policy
from alma_onelink.sandbox import DUKE_UNIQUE_IDS, Sandbox
from tests.onelink.conftest import TODAY, new_registrant, record

ANN = DUKE_UNIQUE_IDS["new_registrant"]
T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def clock() -> Any:
    ticks = iter(T0 + timedelta(seconds=n) for n in range(1000))
    return lambda: next(ticks)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.jsonl"


def test_a_settlement_is_a_line_of_its_own_and_takes_the_entry_out_of_pending(path: Path) -> None:
    journal = Journal(path, now=clock())
    crashed = journal.intend(action="update", target="jd123", before={"primary_id": "jd123"}, operation="register")
    before = path.read_bytes()
    settled = journal.settle(
        crashed, result="done", after={"primary_id": "jd123", "x": 1}, note="settled by reading Alma: changed"
    )
    assert path.read_bytes().startswith(before), "nothing is rewritten"
    line = json.loads(path.read_text(encoding="utf-8").splitlines()[-1])
    assert (line["type"], line["id"], line["result"]) == ("settlement", crashed.id, "done")
    assert (settled.result, settled.after, settled.note) == ("done", {"primary_id": "jd123", "x": 1}, line["note"])
    assert settled.completed is None
    assert settled.settled == T0 + timedelta(seconds=1)
    reread = Journal(path)
    assert reread.pending() == []
    assert reread.get(crashed.id) == settled
    assert "settled by reading Alma" in str(settled)


def test_an_unknown_entry_is_settled_too(path: Path) -> None:
    journal = Journal(path)
    entry = journal.intend(action="create", target=ANN, before=None)
    journal.complete(entry, result="unknown", error="answer lost")
    settled = journal.settle(entry.id[:8], result="failed", note="settled by reading Alma: no account")
    assert (settled.result, settled.error) == ("failed", None)
    assert Journal(path).get(entry.id).result == "failed"


def test_the_writes_own_completion_counts_over_a_settlement_made_while_it_was_under_way(path: Path) -> None:
    journal = Journal(path)
    entry = journal.intend(action="create", target=ANN, before=None)
    journal.settle(entry, result="failed", note="settled by reading Alma: no account yet")
    done = journal.complete(entry, result="done", after={"primary_id": ANN})
    assert (done.result, done.note, done.settled) == ("done", None, None)
    assert Journal(path).get(entry.id) == done
    with pytest.raises(InputError, match="already completed"):
        journal.complete(entry, result="failed")


def test_settling_an_entry_that_ended_meanwhile_writes_nothing(path: Path) -> None:
    journal = Journal(path)
    entry = journal.intend(action="create", target=ANN, before=None)
    journal.complete(entry, result="done", after={"primary_id": ANN})
    size = path.stat().st_size
    again = journal.settle(entry, result="failed", note="settled by reading Alma")
    assert again.result == "done"
    assert path.stat().st_size == size


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"result": "unknown", "note": "n"}, "Unknown settlement result"),
        ({"result": "done", "note": "  "}, "needs a note"),
        ({"result": "done", "note": "n", "after": ["not", "a", "record"]}, "JSON object"),
        ({"result": "done", "note": "n", "error": 3}, "must be text"),
    ],
)
def test_bad_settlements_are_refused_with_nothing_written(path: Path, kwargs: dict[str, Any], message: str) -> None:
    journal = Journal(path)
    entry = journal.intend(action="create", target=ANN, before=None)
    size = path.stat().st_size
    with pytest.raises(InputError, match=message):
        journal.settle(entry, **kwargs)
    assert path.stat().st_size == size
    assert journal.get(entry.id).is_pending


def test_the_intent_line_keeps_its_shape(path: Path) -> None:
    Journal(path).intend(action="create", target=ANN, before=None)
    line = json.loads(path.read_text(encoding="utf-8"))
    assert "note" not in line
    assert "settled" not in line
    assert list(line)[-1] == "completed"


def test_a_settlement_of_no_entry_or_of_a_settled_one_is_a_damaged_line(path: Path) -> None:
    journal = Journal(path)
    entry = journal.intend(action="create", target=ANN, before=None)
    journal.settle(entry, result="done", note="settled by reading Alma")
    stray = {"type": "settlement", "result": "failed", "note": "n", "settled": T0.isoformat()}
    with path.open("a", encoding="utf-8") as file:
        file.write(json.dumps({**stray, "id": "f" * 32}) + "\n")
        file.write(json.dumps({**stray, "id": entry.id}) + "\n")
    reread = Journal(path)
    assert reread.get(entry.id).result == "done"
    assert reread.skipped_lines == 2


# --- settle(): reading Alma ------------------------------------------------------------------------------


def test_settle_reads_alma_for_every_unsettled_entry(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, path: Path
) -> None:
    journal = Journal(path)
    created = journal.intend(action="create", target=ANN, before=None, operation="register")
    sandbox.users.create(policy.build_user(new_registrant(), today=TODAY))  # the POST reached Alma, then a crash
    never = journal.intend(action="create", target="nobody1", before=None)  # the crash came before this POST
    jd123 = record(sandbox, "jd123")
    untouched = journal.intend(action="update", target="jd123", before=jd123)
    sandbox.clear_log()

    settled = {e.id: e for e in settle(alma, journal=journal)}
    assert {e.id: e.result for e in settled.values()} == {
        created.id: "done",
        never.id: "failed",
        untouched.id: "failed",
    }
    assert (settled[created.id].after or {}).get("primary_id") == ANN
    assert all(e.note and e.note.startswith("settled by reading Alma") for e in settled.values())
    assert {e.method for e in sandbox.request_log} == {"GET"}, "settling reads only"
    assert journal.pending() == []


def test_an_update_of_an_account_that_is_gone_cannot_be_told_and_stays_pending(
    alma: AlmaClient, sandbox: Sandbox, path: Path
) -> None:
    journal = Journal(path)
    entry = journal.intend(action="update", target="gone123", before={"primary_id": "gone123"})
    settled = settle(alma, entry.id, journal=journal)
    [left] = settled
    assert left.is_pending
    assert [e.id for e in journal.pending()] == [left.id]
    [still] = settled.open
    assert "gone123 is not in Alma any more" in still.why
    assert "alma-onelink journal show --target gone123" in still.what_to_do
    assert "gone123 is not in Alma any more" in (left.note or "")  # in memory only
    assert journal.get(entry.id).note is None


async def test_asettle_settles_as_settle_does(aalma: AsyncAlmaClient, sandbox: Sandbox, path: Path) -> None:
    journal = Journal(path)
    jd123 = record(sandbox, "jd123")
    sending = {**jd123, "job_description": "changed by the write"}
    entry = journal.intend(action="update", target="jd123", before=jd123, sending=sending)
    sandbox.users.put(sending)
    [settled] = await asettle(aalma, entry, journal=journal)
    assert settled.result == "done"
    assert (settled.after or {}).get("job_description") == "changed by the write"


# --- restore settles the entry it restores ------------------------------------------------------------------


def test_restore_settles_a_pending_create_that_reached_alma_then_undoes_it(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, path: Path
) -> None:
    journal = Journal(path)
    entry = journal.intend(action="create", target=ANN, before=None, operation="register")
    sandbox.users.create(policy.build_user(new_registrant(), today=TODAY))
    done = restore(alma, entry.id, journal=journal)
    assert done.outcome is Restored.DELETED, done.reason
    assert done.settled
    assert done.entry.result == "done"
    assert sandbox.users.get(ANN) is None
    assert journal.pending() == []
    assert journal.get(entry.id).note is not None


def test_restore_of_a_pending_write_that_never_reached_alma_settles_it_and_does_nothing(
    alma: AlmaClient, sandbox: Sandbox, path: Path
) -> None:
    journal = Journal(path)
    jd123 = record(sandbox, "jd123")
    entry = journal.intend(action="update", target="jd123", before=jd123)
    sandbox.clear_log()
    done = restore(alma, entry, journal=journal)
    assert done.outcome is Restored.NOTHING_TO_DO
    assert "did not happen" in done.reason
    assert [e.method for e in sandbox.request_log] == ["GET"]
    assert journal.pending() == []
    assert journal.get(entry.id).result == "failed"


def test_restore_messages_name_the_command(alma: AlmaClient, sandbox: Sandbox, path: Path) -> None:
    from alma_onelink.engine import RestoreError

    journal = Journal(path)
    jd123 = record(sandbox, "jd123")
    entry = journal.intend(action="update", target="jd123", before=jd123)
    journal.complete(entry, result="done", after={**jd123, "job_description": "what the write left"})
    sandbox.users.put({**jd123, "job_description": "someone else's change"})
    with pytest.raises(RestoreError) as caught:
        restore(alma, entry, journal=journal)
    assert f"alma-onelink journal restore {entry.id} --force" in str(caught.value)
    assert "force=" not in str(caught.value)
