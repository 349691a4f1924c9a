"""``merge plan | apply | undo``, ``journal show | pending | restore`` and ``policies``."""

from __future__ import annotations

import json
from pathlib import Path

from alma_onelink.merge import MergePlan
from alma_onelink.onelink import Journal
from alma_onelink.sandbox import DUKE_UNIQUE_IDS
from tests.cli.conftest import TODAY, Cli, flat, patron_args

NETID_ERA = DUKE_UNIQUE_IDS["netid_era_alumna"]


def needs_merge(cli: Cli) -> None:
    """Register Jane Doe's OneLink account: jd123 is left to merge into it."""
    args = patron_args(onelink_id=NETID_ERA, first_name="Jane", last_name="Doe", email="jane.doe@alumni.duke.edu")
    assert cli("register", *args, "--today", TODAY).exit_code == 1


def test_plan_writes_the_file_and_prints_the_token_and_the_apply_command(cli: Cli, tmp_path: Path) -> None:
    needs_merge(cli)
    result = cli("merge", "plan", "jd123", NETID_ERA, "--today", TODAY)
    assert result.exit_code == 0, result.stderr
    path = tmp_path / f"merge-jd123-{NETID_ERA}.json"
    plan = MergePlan.from_json(path.read_text(encoding="utf-8"))
    assert (plan.from_id, plan.to_id) == ("jd123", NETID_ERA)
    assert path.stat().st_mode & 0o777 == 0o600  # two patrons' records: readable by its owner only
    assert f"Token: {plan.token}" in result.stdout
    apply = f"alma-onelink --db {cli.db} --journal {cli.journal} merge apply {path.absolute()} --confirm {plan.token}"
    assert apply in result.stdout.splitlines()[-1]
    assert f"Merge jd123 (Jane Doe) into {NETID_ERA} (Jane Doe)" in flat(result.stdout)


def test_apply_with_the_token_then_undo(cli: Cli, tmp_path: Path) -> None:
    needs_merge(cli)
    planned = cli.json("merge", "plan", "jd123", NETID_ERA, "--out", "plan.json", "--today", TODAY)
    assert planned["plan_file"] == str(Path("plan.json").absolute())  # copyable from any folder
    assert planned["apply_command"].endswith(planned["token"])
    wrong = cli("merge", "apply", "plan.json", "--confirm", "0" * 64)
    assert wrong.exit_code == 1
    assert "error: merge refused: --confirm is not this plan's token" in wrong.stderr
    assert "Paste the whole token" in wrong.stderr
    applied = cli.json("merge", "apply", "plan.json", "--confirm", planned["token"], "--today", TODAY)
    assert applied["outcome"] == "merged"
    assert cli.json("user", "show", "jd123")["status"]["value"] == "INACTIVE"
    unasked = cli("merge", "undo", applied["merge_id"])
    assert unasked.exit_code == 2  # it asks before writing, and nobody can answer here
    assert "add --yes" in unasked.stderr
    undone = cli.json("merge", "undo", applied["merge_id"][:8], "--yes")  # the id's first characters will do
    assert undone["undone"] is True
    assert {r["outcome"] for r in undone["restores"]} == {"put_back"}
    human = cli("merge", "undo", applied["merge_id"], "--yes")
    assert human.exit_code == 0, human.output  # undone already: said, nothing sent
    assert human.stdout.startswith(f"UNDONE ALREADY — merge {applied['merge_id']}: it was undone on ")
    assert "nothing was sent this time" in human.stdout


def test_a_refused_plan_exits_1_and_a_bad_plan_file_2(cli: Cli, tmp_path: Path) -> None:
    refused = cli("merge", "plan", "jd123", "jd123", "--today", TODAY)
    assert refused.exit_code == 1
    assert refused.stderr.splitlines()[1].startswith("error: merge refused:")
    assert not (tmp_path / "merge-jd123-jd123.json").exists()
    assert cli("merge", "apply", "missing.json", "--confirm", "x").exit_code == 2
    (tmp_path / "junk.json").write_text("{}", encoding="utf-8")
    junk = cli("merge", "apply", "junk.json", "--confirm", "x")
    assert junk.exit_code == 2
    assert "error: 'junk.json' is not a merge plan file as merge plan writes it: 14 fields missing" in junk.stderr
    assert f"hint: make one with: alma-onelink --db {cli.db} --journal {cli.journal} merge plan FROM TO" in junk.stderr


def test_a_plan_changed_after_it_was_made_is_refused(cli: Cli, tmp_path: Path) -> None:
    needs_merge(cli)
    planned = cli.json("merge", "plan", "jd123", NETID_ERA, "--out", "plan.json", "--today", TODAY)
    data = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    data["segments"] = []
    (tmp_path / "plan.json").write_text(json.dumps(data), encoding="utf-8")
    result = cli("merge", "apply", "plan.json", "--confirm", planned["token"])
    assert result.exit_code == 1
    assert "do not match its token" in result.stderr


def test_journal_show_lists_entries_and_filters_by_target(cli: Cli) -> None:
    assert "No entries in" in cli("journal", "show").stdout
    cli("register", *patron_args(), "--today", TODAY)
    cli("user", "edit", "jd123", "--set", "job_description=x", "--yes")
    everything = cli.json("journal", "show")
    assert [e["target"] for e in everything["entries"]] == ["2000001", "jd123"]
    only = cli.json("journal", "show", "--target", "JD123")
    assert [e["target"] for e in only["entries"]] == ["jd123"]
    last = cli.json("journal", "show", "--limit", "1")
    assert (last["total"], len(last["entries"])) == (2, 1)
    human = cli("journal", "show")
    assert human.exit_code == 0
    assert everything["entries"][0]["id"][:12] in human.stdout


def test_journal_pending_exits_1_when_something_is_unsettled(cli: Cli) -> None:
    assert cli("journal", "pending").exit_code == 0
    intent = Journal(cli.journal).intend(action="update", target="jd123", before={"primary_id": "jd123"})
    result = cli("journal", "pending")
    assert result.exit_code == 1
    assert intent.id[:12] in result.stdout
    assert f"journal restore {intent.id}" in result.stdout
    assert [e["id"] for e in cli.json("journal", "pending", code=1)["pending"]] == [intent.id]


def test_journal_restore_puts_an_edit_back_and_refuses_to_lose_a_later_change(cli: Cli) -> None:
    first = cli.json("user", "edit", "jd123", "--set", "job_description=one", "--yes")["journal_entry"]
    cli("user", "edit", "jd123", "--set", "job_description=two", "--yes")
    asks = cli("journal", "restore", first)
    assert asks.exit_code == 2
    assert "hint: add --yes" in asks.stderr
    refused = cli("journal", "restore", first[:8], "--yes")
    assert refused.exit_code == 1
    assert "error: restore refused: jd123 changed since journal entry" in flat(refused.stderr)
    forced = cli.json("journal", "restore", first[:8], "--yes", "--force")
    assert forced["outcome"] == "put_back"
    assert cli.json("user", "show", "jd123").get("job_description") in (None, "")
    assert cli("journal", "restore", "nosuchentry", "--yes").exit_code == 2


def test_journal_restore_asks_in_a_terminal(cli: Cli, interactive: None) -> None:
    entry = cli.json("user", "edit", "jd123", "--set", "job_description=one", "--yes")["journal_entry"]
    no = cli("journal", "restore", entry, input="n\n")
    assert no.exit_code == 1
    assert "Nothing written." in no.stdout
    yes = cli("journal", "restore", entry, input="y\n")
    assert yes.exit_code == 0
    assert "put back — " in yes.stdout


def test_policies_lists_affiliations_codes_expiry_and_links(cli: Cli) -> None:
    data = cli.json("policies", "--today", TODAY)
    assert data["selected"] == "duke"
    duke = next(p for p in data["policies"] if p["name"] == "duke")
    alumni = next(a for a in duke["affiliations"] if a["code"] == "alumni")
    assert (alumni["user_group"], alumni["patron_type"], alumni["expiry_date"]) == ("DUKE_ALUMNI", "PT_ALUMNI",
                                                                                    "2027-03-02")  # fmt: skip
    former = next(a for a in duke["affiliations"] if a["code"] == "former_affiliate")
    assert former["patron_type"]["staff"] == "PT_FORMER_STAFF"
    assert duke["links"]["onelink_sign_in"] == "https://accounts.oit.duke.edu/onelink/sign_in"
    human = flat(cli("policies", "--today", TODAY).stdout)
    assert "duke (selected)" in human
    assert "alumni — Duke alumni" in human
    assert "user group DUKE_ALUMNI, Patron type PT_ALUMNI" in human
    assert "registered 2026-03-02: expires 2027-03-02 (12 months), purge 2028-03-02" in human


def test_policies_show_each_affiliations_needs_and_limits_and_the_links_left_unset(cli: Cli) -> None:
    data = cli.json("policies", "--today", TODAY)
    duke = next(p for p in data["policies"] if p["name"] == "duke")
    friends = next(a for a in duke["affiliations"] if a["code"] == "friends")
    assert friends["requires"] == ["donation"]
    assert friends["flags"] == ["--donation-amount", "--donation-date"]
    assert friends["limits"]["minimum gift"] == "$100.00"
    assert "my_account" in duke["unset_links"]
    assert "my_account" not in duke["links"]
    lines = [flat(line) for line in cli("policies", "--today", TODAY).stdout.splitlines()]
    at = lines.index("friends — Friends of the Library: Members whose gift brings a borrowing card.")
    assert lines[at + 1] == "needs: donation (--donation-amount, --donation-date)"
    assert "minimum gift: $100.00" in lines[at + 2 : at + 5]
    unset = lines.index("links not set:", lines.index("duke (selected)"))
    assert lines[unset + 1].startswith("my_account: The library's My Account page")
    assert "ALMA_ONELINK_DUKE_CONFIG" in lines[unset + 1]


def test_journal_show_of_one_registration_lists_every_account_it_wrote_to(cli: Cli) -> None:
    jane = ["--onelink-id", "0456789", "--first-name", "Jane", "--last-name", "Doe", "--affiliation", "alumni"]
    # needs_merge: a person must act, so exit 1
    registered = cli.json("register", *jane, "--graduated-on", "2012-05-13", "--today", TODAY, code=1)
    assert registered["outcome"] == "needs_merge"
    shown = cli.json("journal", "show", "--registration", registered["registration_id"])
    assert [(e["action"], e["target"]) for e in shown["entries"]] == [("update", "jd123"), ("create", "0456789")]
    assert cli.json("journal", "show", "--registration", "no-such-registration", code=1)["entries"] == []
