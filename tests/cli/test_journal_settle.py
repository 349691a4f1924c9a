"""``journal settle``: each write whose outcome the journal does not know is settled by reading Alma, what Alma
holds is shown, and the exit status says whether anything is left open; ``journal pending`` names it first."""

from __future__ import annotations

import errno
from typing import Any

import pytest

from alma_onelink import AlmaClient
from alma_onelink.engine import Journal, JournalEntry
from alma_onelink.sandbox import Sandbox
from tests.cli.conftest import TODAY, Cli, patron_args


def _record(cli: Cli, primary_id: str) -> dict[str, Any]:
    """The account as Alma holds it now (Alma JSON), read from the test's sandbox file."""
    with Sandbox(db_path=cli.db) as sandbox, AlmaClient.sandbox(sandbox) as alma:
        return alma.users.get(primary_id).to_alma()


def _crashed_registration(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> JournalEntry:
    """Register Ann Lee (2000001) with the completion line lost, as a run killed just after its create leaves it."""

    def lost(self: Journal, *args: Any, **kwargs: Any) -> JournalEntry:
        raise OSError(errno.EIO, "Input/output error")

    with monkeypatch.context() as patched:
        patched.setattr(Journal, "complete", lost)
        assert cli("register", *patron_args(), "--today", TODAY).exit_code == 4
    [entry] = Journal(cli.journal).pending()
    assert (entry.action, entry.target) == ("create", "2000001")
    return entry


def test_settle_reads_alma_for_each_open_write_and_leaves_nothing_pending(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    happened = _crashed_registration(cli, monkeypatch)
    journal = Journal(cli.journal)
    missing = journal.intend(action="create", target="2000002", before=None, operation="register")
    unchanged = journal.intend(action="update", target="jd123", before=_record(cli, "jd123"), operation="user edit")

    listed = cli("journal", "pending")
    assert listed.exit_code == 1
    lines = listed.stdout.splitlines()
    settle_line = f"  alma-onelink --db {cli.db} --journal {cli.journal} journal settle"
    restore_line = f"  alma-onelink --db {cli.db} --journal {cli.journal} journal restore {happened.id}"
    assert lines.index(settle_line) < lines.index(restore_line)  # settle is the first thing to try

    result = cli("journal", "settle")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = result.stdout.splitlines()
    at = out.index(f"{happened.id[:12]}  create 2000001: pending → done")
    assert out[at + 1].startswith("  settled by reading Alma: 2000001 exists, so the create took effect")
    assert out[at + 2].startswith("  Alma holds: Ann Lee <2000001>, group ")
    at = out.index(f"{missing.id[:12]}  create 2000002: pending → failed")
    assert out[at + 1].startswith("  settled by reading Alma: there is no account 2000002, so the create did not")
    at = out.index(f"{unchanged.id[:12]}  update jd123: pending → failed")
    assert "jd123 is as it was before, so the update did not happen" in out[at + 1]
    assert out[-1] == f"Nothing is left open in {cli.journal}."

    settled = {e.id: e for e in Journal(cli.journal).entries()}
    assert [settled[e.id].result for e in (happened, missing, unchanged)] == ["done", "failed", "failed"]
    assert cli("journal", "pending").exit_code == 0
    again = cli.json("journal", "settle")
    assert (again["entries"], again["open"]) == ([], [])
    assert cli.json("register", *patron_args(), "--today", TODAY)["outcome"] == "already_registered"


def test_settle_one_entry_by_its_id_and_in_json(cli: Cli) -> None:
    journal = Journal(cli.journal)
    unknown = journal.intend(
        action="update",
        target="jd123",
        before={"primary_id": "jd123"},
        sending=_record(cli, "jd123"),
        operation="user edit",
    )
    journal.complete(unknown, result="unknown", error="the answer was lost; reading jd123 back failed too")
    other = journal.intend(action="create", target="2000002", before=None)
    data = cli.json("journal", "settle", unknown.id[:8])
    [entry] = data["entries"]
    assert (entry["id"], entry["was"], entry["result"]) == (unknown.id, "unknown", "done")  # holds what was sent
    assert entry["after"]["primary_id"] == "jd123"
    assert data["open"] == []
    assert Journal(cli.journal).get(other.id).result == "pending"  # only the entry named
    done_already = cli("journal", "settle", unknown.id)
    assert done_already.exit_code == 0
    assert f"{unknown.id[:12]}  update jd123: done already, nothing to settle" in done_already.stdout
    assert cli("journal", "settle", "nosuchentry").exit_code == 2


def test_an_entry_alma_cannot_tell_about_exits_1_saying_why_and_what_to_do(cli: Cli) -> None:
    gone = Journal(cli.journal).intend(action="update", target="gone42", before={"primary_id": "gone42"})
    result = cli("journal", "settle")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    out = result.stdout.splitlines()
    at = out.index(f"{gone.id[:12]}  update gone42: pending → cannot tell")
    assert "gone42 is not in Alma any more" in out[at + 1]
    assert "whether this update took effect cannot be told" in out[at + 1]
    assert out[at + 2].startswith("  What to do: find out in Alma who deleted gone42")
    assert f"alma-onelink --db {cli.db} --journal {cli.journal} journal show --target gone42" in out[at + 2]
    assert out[-1] == "1 entry could not be settled (see above)."
    assert cli.json("journal", "settle", code=1)["open"] == [gone.id]
    assert Journal(cli.journal).get(gone.id).result == "pending"


def test_settle_with_a_journal_that_cannot_be_written_exits_4(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = Journal(cli.journal).intend(action="create", target="2000002", before=None)

    def no_space(self: Journal, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Journal, "_append", no_space)
    result = cli("journal", "settle")
    assert result.exit_code == 4, (result.stdout, result.stderr)
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert error.startswith(f"error: The journal {cli.journal} could not be written (")
    assert "No space left on device" in error
    assert f"the settlement of journal entry {entry.id} (create 2000002) was not written" in error
    assert f"then run `alma-onelink --db {cli.db} --journal {cli.journal} journal settle` again" in error
    assert "Traceback" not in result.stderr
