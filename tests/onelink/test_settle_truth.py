"""Settling never says something untrue: an update is judged by the record it was to send, never claimed twice.

The journal holds, with an update's intent, the record it was to send (``sending``). Settling reads the
account: holding what was sent is done, as it was before is failed, and a colleague's edit in between
is told apart from the write (or the entry stays open, saying why and what to check). `restore`
refuses to overwrite a change made since, settled entry or not, and settles its own earlier attempts
first, so a write is never claimed twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alma_onelink import AlmaClient
from alma_onelink.engine import Journal, JournalEntry, Restored, RestoreError, comparable, restore, settle
from alma_onelink.models import User
from alma_onelink.policy import Policy
from alma_onelink.sandbox import DUKE_UNIQUE_IDS, Sandbox
from tests.onelink.conftest import TODAY, new_registrant, record

ANN = DUKE_UNIQUE_IDS["new_registrant"]
COLLEAGUE = "https://example.org/changed-by-a-colleague"


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.jsonl")


def crashed_update(journal: Journal, sandbox: Sandbox, *, sent: bool) -> tuple[JournalEntry, dict[str, Any]]:
    """An update of jd123's job description journaled ahead, then the run killed before (or after) its PUT."""
    before = record(sandbox, "jd123")
    sending = {**before, "job_description": "Renewed by the write"}
    entry = journal.intend(action="update", target="jd123", before=before, sending=sending, operation="register")
    if sent:
        sandbox.users.put(sending)
    return entry, sending


def colleague_edits(sandbox: Sandbox, **fields: Any) -> None:
    sandbox.users.put({**record(sandbox, "jd123"), **(fields or {"web_site_url": COLLEAGUE})})


def test_the_intent_of_an_update_holds_the_record_it_sends_and_old_lines_still_read(
    journal: Journal, sandbox: Sandbox
) -> None:
    entry, sending = crashed_update(journal, sandbox, sent=False)
    assert journal.get(entry.id).sending == sending
    create = journal.intend(action="create", target=ANN, before=None)
    assert '"sending"' not in journal.path.read_text(encoding="utf-8").splitlines()[-1]  # unset: the old shape
    assert journal.get(create.id).sending is None
    journal.reindex()
    assert journal.get(entry.id).sending == sending, "it survives a rebuilt index"
    exported = journal.path.with_name("audit.jsonl")
    journal.export(exported)
    assert '"sending":' in exported.read_text(encoding="utf-8")


def test_a_colleagues_edit_after_a_crash_before_the_put_is_not_taken_for_the_write(
    alma: AlmaClient, sandbox: Sandbox, journal: Journal
) -> None:
    entry, _ = crashed_update(journal, sandbox, sent=False)
    colleague_edits(sandbox)
    [settled] = settle(alma, entry.id, journal=journal)
    assert settled.result == "failed", settled.note
    assert "holds none of the changes the update was to make (job_description)" in (settled.note or "")
    assert "web_site_url changed since by another write" in (settled.note or "")
    with pytest.raises(RestoreError, match="did not happen, so there is nothing to undo"):
        restore(alma, entry.id, journal=journal)
    assert record(sandbox, "jd123")["web_site_url"] == COLLEAGUE, "the colleague's edit stands"


def test_a_colleagues_edit_after_the_put_settles_done_and_restore_refuses_to_undo_it(
    alma: AlmaClient, sandbox: Sandbox, journal: Journal
) -> None:
    entry, _ = crashed_update(journal, sandbox, sent=True)
    colleague_edits(sandbox)
    [settled] = settle(alma, entry.id, journal=journal)
    assert settled.result == "done", settled.note
    assert "holds every change the update was to make (job_description)" in (settled.note or "")
    assert comparable(settled.after) != comparable(record(sandbox, "jd123")), "after is as the write left it"
    with pytest.raises(RestoreError, match=r"changed since journal entry .*\(web_site_url\)"):
        restore(alma, entry.id, journal=journal)
    assert record(sandbox, "jd123")["web_site_url"] == COLLEAGUE
    forced = restore(alma, entry.id, journal=journal, force=True)
    assert forced.outcome is Restored.PUT_BACK
    assert comparable(record(sandbox, "jd123")) == comparable(entry.before)


def test_the_put_as_alma_keeps_it_settles_done_though_alma_filled_in_what_was_left_out(
    alma: AlmaClient, sandbox: Sandbox, journal: Journal
) -> None:
    before = record(sandbox, "jd123")
    sending = {**before, "user_statistic": [{"statistic_category": {"value": "PT_ALUMNI"}}]}
    entry = journal.intend(action="update", target="jd123", before=before, sending=sending)
    alma.users.update("jd123", User.from_alma(sending))  # through the API, as the write sends it
    assert record(sandbox, "jd123")["user_statistic"] != sending["user_statistic"], "Alma filled in segment_type"
    [settled] = settle(alma, entry.id, journal=journal)
    assert settled.result == "done", settled.note


@pytest.mark.parametrize("sent", [False, True])
def test_a_colleagues_edit_of_the_same_field_cannot_be_told_and_stays_open_saying_why(
    *, sent: bool, alma: AlmaClient, sandbox: Sandbox, journal: Journal
) -> None:
    entry, _ = crashed_update(journal, sandbox, sent=sent)
    colleague_edits(sandbox, job_description=COLLEAGUE)
    report = settle(alma, journal=journal)
    [left] = report
    assert left.is_pending
    [still] = report.open
    assert "neither as it was before nor as this update was to leave it (job_description differ)" in still.why
    assert "alma-onelink journal show --target jd123" in still.what_to_do
    assert f"alma-onelink journal restore {entry.id} --force" in still.what_to_do
    assert not report.all_settled
    assert [e.id for e in journal.pending()] == [entry.id]
    with pytest.raises(RestoreError, match="whether it took effect cannot be told") as refused:
        restore(alma, entry.id, journal=journal)
    assert "journal show --target jd123" in str(refused.value)
    assert record(sandbox, "jd123")["job_description"] == COLLEAGUE, "nothing was overwritten"


def test_an_update_journaled_without_the_record_it_sends_is_not_claimed_when_the_account_changed(
    alma: AlmaClient, sandbox: Sandbox, journal: Journal
) -> None:
    before = record(sandbox, "jd123")
    entry = journal.intend(action="update", target="jd123", before=before)  # as an older version wrote it
    colleague_edits(sandbox)
    [still] = settle(alma, entry.id, journal=journal).open
    assert "does not hold the record the update was to send (it was journaled by an older version)" in still.why
    unchanged = journal.intend(action="update", target="rm56", before=record(sandbox, "rm56"))
    [settled] = settle(alma, unchanged.id, journal=journal)
    assert settled.result == "failed", "as it was before: the update did not happen, old entry or not"


def test_a_later_create_alma_accepted_means_an_earlier_pending_create_did_not_stay(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    earlier = journal.intend(action="create", target=ANN, before=None, operation="register")
    later = journal.intend(action="create", target=ANN, before=None, operation="register")
    created = sandbox.users.create(policy.build_user(new_registrant(), today=TODAY))
    journal.complete(later, result="done", after=created)
    [settled] = settle(alma, earlier.id, journal=journal)
    assert settled.result == "failed", "one create, claimed once"
    assert f"Alma accepted that later create of {ANN}" in (settled.note or "")


def test_a_pending_delete_followed_by_a_delete_of_another_run_that_read_the_account_stays_open(
    alma: AlmaClient, sandbox: Sandbox, journal: Journal
) -> None:
    jd123 = record(sandbox, "jd123")
    first = journal.intend(action="delete", target="jd123", before=jd123)
    second = journal.intend(action="delete", target="jd123", before=jd123)
    sandbox.users.delete("jd123")
    journal.complete(second, result="done")
    report = settle(alma, first.id, journal=journal)
    assert report[0].result == "pending", "the second read may have been made while the first delete was under way"
    [left] = report.open
    assert "may have been made while this write was still under way" in left.why


def _restores(journal: Journal, entry: JournalEntry) -> list[JournalEntry]:
    return journal.entries(registration=entry.id, operation="restore")


def test_a_restore_killed_after_its_delete_reached_alma_is_settled_not_made_again(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    created = journal.intend(action="create", target=ANN, before=None, operation="register")
    user = sandbox.users.create(policy.build_user(new_registrant(), today=TODAY))
    journal.complete(created, result="done", after=user)
    killed = journal.intend(  # the restore's intent, written as restore writes it; its DELETE reached Alma
        action="delete", target=ANN, before=user, operation="restore", registration=created.id
    )
    sandbox.users.delete(ANN)
    again = restore(alma, created.id, journal=journal)
    assert again.outcome is Restored.NOTHING_TO_DO
    assert f"restored already by journal entry {killed.id}" in again.reason
    assert [e.id for e in again.earlier] == [killed.id]
    assert [(e.action, e.result) for e in _restores(journal, created)] == [("delete", "done")], "claimed once"
    assert journal.pending() == []


def test_a_restore_killed_before_its_delete_is_settled_failed_then_done_once(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    created = journal.intend(action="create", target=ANN, before=None, operation="register")
    user = sandbox.users.create(policy.build_user(new_registrant(), today=TODAY))
    journal.complete(created, result="done", after=user)
    journal.intend(action="delete", target=ANN, before=user, operation="restore", registration=created.id)
    again = restore(alma, created.id, journal=journal)
    assert again.outcome is Restored.DELETED
    assert sandbox.users.get(ANN) is None
    assert [(e.action, e.result) for e in _restores(journal, created)] == [("delete", "failed"), ("delete", "done")]
    assert settle(alma, journal=journal).entries == ()
    assert journal.pending() == []


def test_a_put_back_killed_after_its_put_is_settled_by_the_record_it_sent(
    alma: AlmaClient, sandbox: Sandbox, journal: Journal
) -> None:
    entry, _ = crashed_update(journal, sandbox, sent=True)
    journal.complete(entry, result="done", after=record(sandbox, "jd123"))
    killed = journal.intend(  # the put-back's intent; its PUT reached Alma
        action="update", target="jd123", before=record(sandbox, "jd123"), sending=entry.before,
        operation="restore", registration=entry.id,
    )  # fmt: skip
    sandbox.users.put(dict(entry.before or {}))
    again = restore(alma, entry.id, journal=journal)
    assert again.outcome is Restored.NOTHING_TO_DO, again.reason
    assert f"restored already by journal entry {killed.id}" in again.reason
    assert [e.result for e in _restores(journal, entry)] == ["done"]
