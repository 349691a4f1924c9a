"""``user show | search | edit``: lookups, searches, and journaled edits that ask first."""

from __future__ import annotations

from alma_onelink.onelink import Journal
from tests.cli.conftest import Cli, flat


def test_show_prints_the_account(cli: Cli) -> None:
    result = cli("user", "show", "jd123")
    assert result.exit_code == 0
    text = flat(result.stdout)
    assert "primary id jd123" in text
    assert "name Jane Doe" in text
    assert "identifier DUKE_UNIQUE_ID" in text or "identifier NET_ID" in text
    assert cli.json("user", "show", "jd123")["primary_id"] == "jd123"


def test_show_of_an_unknown_id_says_no_account_and_exits_1(cli: Cli) -> None:
    result = cli("user", "show", "nobody")
    assert result.exit_code == 1  # a person acts on it (a mistyped id); Alma and the network are fine
    assert result.stderr.splitlines()[1].startswith("error: no account found:")
    assert result.stderr.splitlines()[2].startswith("hint: check the id")


def test_search_by_each_criterion(cli: Cli) -> None:
    by_name = cli.json("user", "search", "--name", "Jane Doe")
    assert [u["primary_id"] for u in by_name["users"]] == ["jd123"]
    by_email = cli.json("user", "search", "--email", "jane.doe@alumni.duke.edu")
    assert [u["primary_id"] for u in by_email["users"]] == ["jd123"]
    by_identifier = cli.json("user", "search", "--identifier", "0456789")
    assert [u["primary_id"] for u in by_identifier["users"]] == ["jd123"]
    by_group = cli.json("user", "search", "--group", "DUKE_TRLN")
    assert by_group["users"]
    assert all(u["user_group"]["value"] == "DUKE_TRLN" for u in by_group["users"])
    limited = cli.json("user", "search", "--limit", "3")
    assert len(limited["users"]) == 3
    assert limited["total_record_count"] > 3


def test_search_human_output_is_a_table_with_the_count(cli: Cli) -> None:
    result = cli("user", "search", "--limit", "2")
    assert result.exit_code == 0
    assert "primary id" in result.stdout
    assert "found, showing 2" in result.stdout


def test_edit_shows_the_diff_writes_with_yes_and_journals_it(cli: Cli) -> None:
    result = cli("user", "edit", "jd123", "--set", "expiry_date=12/31/2027", "--set", "job_description=Retired",
                 "--reason", "extended at the desk", "--yes")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    text = flat(result.stdout)
    assert "expiry_date" in text
    assert "2027-12-31" in text
    assert "Retired" in text
    [entry] = Journal(cli.journal).entries(target="jd123")
    assert (entry.operation, entry.reason, entry.staff) == ("edit", "extended at the desk", "tester")
    assert f"journal restore {entry.id}" in text
    shown = cli.json("user", "show", "jd123")
    assert (shown["expiry_date"][:10], shown["job_description"]) == ("2027-12-31", "Retired")


def test_edit_json_and_codes(cli: Cli) -> None:
    assert cli.json("user", "show", "0123456")["status"]["value"] == "ACTIVE"
    done = cli.json("user", "edit", "0123456", "--set", "user_group=ALUM", "--set", "status=inactive", "--yes")
    assert done["written"] is True
    assert done["journal_entry"]
    assert {c["field"]: c["after"] for c in done["changes"]} == {"user_group": "ALUM", "status": "INACTIVE"}
    shown = cli.json("user", "show", "0123456")
    assert (shown["user_group"]["value"], shown["status"]["value"]) == ("ALUM", "INACTIVE")
    same = cli.json("user", "edit", "0123456", "--set", "user_group=ALUM", "--yes")
    assert (same["changes"], same["written"]) == ([], False)


def test_edit_refuses_unknown_fields_with_the_list(cli: Cli) -> None:
    result = cli("user", "edit", "jd123", "--set", "primary_id=x", "--yes")
    assert result.exit_code == 2
    assert "error: --set 'primary_id': not a field this can change" in result.stderr
    assert "hint: fields: first_name, middle_name, last_name" in result.stderr
    assert "expiry_date, purge_date" in result.stderr
    bad = cli("user", "edit", "jd123", "--set", "status=gone", "--yes")
    assert bad.exit_code == 2
    assert "status is ACTIVE or INACTIVE" in bad.stderr
    shape = cli("user", "edit", "jd123", "--set", "expiry_date", "--yes")
    assert shape.exit_code == 2
    assert "write field=value" in shape.stderr


def test_edit_asks_first_and_no_means_nothing_written(cli: Cli, interactive: None) -> None:
    result = cli("user", "edit", "jd123", "--set", "job_description=Emeritus", input="n\n")
    assert result.exit_code == 1
    assert "Write these changes to jd123?" in result.stderr
    assert "Nothing written." in result.stdout
    assert not cli.journal.exists()
    yes = cli("user", "edit", "jd123", "--set", "job_description=Emeritus", input="y\n")
    assert yes.exit_code == 0
    assert cli.json("user", "show", "jd123")["job_description"] == "Emeritus"


def test_edit_without_a_terminal_needs_yes_and_dry_run_writes_nothing(cli: Cli) -> None:
    result = cli("user", "edit", "jd123", "--set", "job_description=Emeritus")
    assert result.exit_code == 2
    assert "hint: add --yes to write, or --dry-run" in result.stderr
    dry = cli("user", "edit", "jd123", "--set", "job_description=Emeritus", "--dry-run")
    assert dry.exit_code == 0
    assert "Emeritus" in dry.stdout
    assert "Nothing written. (dry run)" in dry.stdout
    assert cli.json("user", "show", "jd123").get("job_description") != "Emeritus"
