"""``merge apply`` run twice says the merge was applied already (when, by whom, its id) and sends nothing; the note it
leaves on the old account names the staff member given with ``--staff``, wherever it is typed."""

from __future__ import annotations

from typing import Any

import pytest

from alma_onelink.cli import _app
from alma_onelink.onelink import Journal
from alma_onelink.resources.users import Users
from alma_onelink.sandbox import DUKE_UNIQUE_IDS
from tests.cli.conftest import TODAY, Cli, patron_args

NETID_ERA = DUKE_UNIQUE_IDS["netid_era_alumna"]


def _planned(cli: Cli) -> str:
    """Jane Doe registered (jd123 left to merge) and the merge planned into plan.json; returns the token."""
    args = patron_args(onelink_id=NETID_ERA, first_name="Jane", last_name="Doe", email="jane.doe@alumni.duke.edu")
    assert cli("register", *args, "--today", TODAY).exit_code == 1
    token: str = cli.json("merge", "plan", "jd123", NETID_ERA, "--out", "plan.json", "--today", TODAY)["token"]
    return token


def _notes(cli: Cli, user_id: str) -> list[str]:
    return [note["note_text"] for note in cli.json("user", "show", user_id).get("user_note", [])]


def test_applying_a_plan_twice_says_it_was_applied_and_sends_nothing(cli: Cli) -> None:
    token = _planned(cli)
    first = cli.json("merge", "apply", "plan.json", "--confirm", token, "--today", TODAY)
    assert first["outcome"] == "merged"
    entries = Journal(cli.journal).entries()
    records = {user_id: cli.json("user", "show", user_id) for user_id in ("jd123", NETID_ERA)}
    again = cli("merge", "apply", "plan.json", "--confirm", token, "--today", TODAY)
    assert again.exit_code == 0, again.stderr
    head = again.stdout.splitlines()[0]
    assert head.startswith(f"ALREADY APPLIED — merge jd123 into {NETID_ERA}: this plan was applied on ")
    assert "by tester" in head
    assert "nothing was sent this time" in head
    assert f"Merge {first['merge_id']}, journal entries " in again.stdout
    assert f"merge undo {first['merge_id']}" in again.stdout
    assert "changed since the plan" not in again.output
    assert "make a new plan" not in again.output
    assert Journal(cli.journal).entries() == entries  # nothing journaled, so nothing written
    assert {user_id: cli.json("user", "show", user_id) for user_id in records} == records
    as_json = cli.json("merge", "apply", "plan.json", "--confirm", token, "--today", TODAY)
    assert as_json["outcome"] == "already_applied"
    assert (as_json["merge_id"], as_json["staff"], as_json["sent"]) == (first["merge_id"], "tester", False)


def test_a_plan_applied_then_undone_can_be_applied_again(cli: Cli) -> None:
    token = _planned(cli)
    first = cli.json("merge", "apply", "plan.json", "--confirm", token, "--today", TODAY)
    assert cli.json("merge", "undo", first["merge_id"], "--yes")["undone"] is True
    second = cli.json("merge", "apply", "plan.json", "--confirm", token, "--today", TODAY)
    assert second["outcome"] == "merged"
    assert second["merge_id"] != first["merge_id"]


def test_an_apply_that_did_not_finish_is_named_with_the_command_that_settles_it(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _planned(cli)
    real = Users.update
    calls: list[str] = []

    def stopped_at_the_last_write(self: Users, user_id: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(user_id)
        if len(calls) == 3:  # the identifiers taken off jd123, the items carried to To, then marking jd123 merged
            raise KeyboardInterrupt
        return real(self, user_id, *args, **kwargs)

    monkeypatch.setattr(Users, "update", stopped_at_the_last_write)
    stopped = cli("merge", "apply", "plan.json", "--confirm", token, "--today", TODAY)
    assert stopped.exit_code == 130
    assert "Stopped while writing: Alma may or may not hold update jd123" in stopped.stderr
    monkeypatch.setattr(Users, "update", real)
    [merge_id] = {e.registration for e in Journal(cli.journal).entries() if e.operation == "merge"}
    again = cli("merge", "apply", "plan.json", "--confirm", token, "--today", TODAY)
    assert again.exit_code == 1, again.output
    assert f"as merge {merge_id}, which did not finish" in again.stderr
    assert f"merge undo {merge_id}` settles and puts back what it did" in again.stderr
    assert "ALREADY APPLIED" not in again.stdout


def test_the_note_names_the_staff_member_given_after_the_command(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    token = _planned(cli)
    applied = cli("merge", "apply", "plan.json", "--confirm", token, "--today", TODAY, "--staff", "Jo Smith")
    assert applied.exit_code == 0, applied.stderr
    assert any(note.endswith("by Jo Smith") for note in _notes(cli, "jd123"))
    assert not any("alma-onelink" in note for note in _notes(cli, "jd123"))
    assert {e.staff for e in Journal(cli.journal).entries() if e.operation == "merge"} == {"Jo Smith"}


def test_with_no_staff_name_known_apply_says_how_to_give_one(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    token = _planned(cli)
    monkeypatch.delenv("ALMA_ONELINK_STAFF")
    monkeypatch.setattr(_app, "default_staff", lambda: None)  # no login name to be found (a bare container)
    applied = cli("merge", "apply", "plan.json", "--confirm", token, "--today", TODAY)
    assert applied.exit_code == 0, applied.stderr
    assert "No staff name is known" in applied.stderr
    assert "Give --staff NAME to be named." in applied.stderr
