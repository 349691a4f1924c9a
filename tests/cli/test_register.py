"""``register`` and ``check``: every outcome and its exit status, the flags, prompting, and the JSON document."""

from __future__ import annotations

import json

import pytest

from alma_onelink import AlmaClient
from alma_onelink.cli import _state
from alma_onelink.onelink import Journal
from alma_onelink.sandbox import DUKE_UNIQUE_IDS, Faults, Sandbox
from tests.cli.conftest import NOW, TODAY, Cli, flat, patron_args


def test_register_creates_the_account_and_journals_it(cli: Cli) -> None:
    result = cli("register", *patron_args(), "--today", TODAY)
    assert result.exit_code == 0, result.stderr
    text = flat(result.stdout)
    assert result.stdout.splitlines()[0] == "CREATED — Ann Lee (OneLink ID 2000001)"  # said once, no "— created"
    assert "Account 2000001: group DUKE_ALUMNI, expires 2027-03-02" in text
    assert "Tell the patron:" in result.stdout.splitlines()
    assert "Sign in to the library's My Account with your OneLink account (unique ID" in text
    assert "test it at https://accounts.oit.duke.edu/onelink/sign_in" in text
    [entry] = Journal(cli.journal).entries()
    assert (entry.action, entry.target, entry.staff) == ("create", "2000001", "tester")


def test_register_json_is_the_result_and_a_rerun_is_already_registered(cli: Cli) -> None:
    first = cli.json("register", *patron_args(), "--today", TODAY)
    assert (first["outcome"], first["onelink_id"], first["user"]["user_group"]["value"]) == (
        "created",
        "2000001",
        "DUKE_ALUMNI",
    )
    again = cli.json("register", *patron_args(), "--today", TODAY)
    assert again["outcome"] == "already_registered"


def test_a_dry_run_writes_nothing(cli: Cli) -> None:
    result = cli.json("register", *patron_args(), "--today", TODAY, "--dry-run")
    assert (result["outcome"], result["dry_run"]) == ("created", True)
    assert cli("user", "show", "2000001").exit_code == 1  # not there: no account with that id
    assert not cli.journal.exists()


def test_an_old_account_means_needs_merge_exit_1_and_the_next_command(cli: Cli) -> None:
    netid_era = DUKE_UNIQUE_IDS["netid_era_alumna"]
    args = patron_args(onelink_id=netid_era, first_name="Jane", last_name="Doe", email="jane.doe@alumni.duke.edu")
    result = cli("register", *args, "--today", TODAY)
    assert result.exit_code == 1
    assert "NEEDS MERGE" in result.stdout
    assert f"Next: alma-onelink --db {cli.db} --journal {cli.journal} merge plan jd123 {netid_era}" in result.stdout


def test_a_recent_graduate_with_an_account_is_blocked_exit_1(cli: Cli) -> None:
    grad = DUKE_UNIQUE_IDS["recent_graduate"]
    args = patron_args(onelink_id=grad, first_name="Léa", last_name="Kowalczyk", graduated_on="2026-01-15")
    result = cli.json("register", *args, "--today", TODAY, code=1)
    assert result["outcome"] == "blocked"
    assert result["issues"][0]["code"] == "recent_alum"


def test_alma_failing_is_outcome_failed_exit_3(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox = Sandbox.demo(now=lambda: NOW, faults=Faults(rate=1.0, kinds=["503"]))
    client = AlmaClient.sandbox(sandbox, max_retries=0, sleep=lambda seconds: None)
    monkeypatch.setattr(_state.State, "alma", lambda self: client)
    result = cli.json("register", *patron_args(), "--today", TODAY, code=3)
    assert result["outcome"] == "failed"


def test_missing_flags_are_named_when_nobody_can_be_asked(cli: Cli) -> None:
    result = cli("register", "--first-name", "Ann", "--affiliation", "alumni")
    assert result.exit_code == 2
    assert "error: missing --onelink-id, --last-name, --graduated-on" in result.stderr
    assert "hint: give each on the command line (stdin is not a terminal, so nothing was asked)" in result.stderr


def test_the_affiliation_is_checked_against_the_policy(cli: Cli) -> None:
    result = cli("register", *patron_args(affiliation="wizard"))
    assert result.exit_code == 2
    assert (
        "error: --affiliation: 'wizard' is not one the duke policy registers: use one of alumni, trln, "
        "borrowdirect, friends, former_affiliate, community" in result.stderr
    )
    spelled = cli.json("register", *patron_args(affiliation="Former Affiliate", prior_role="staff",
                                                graduated_on=None, left_on="2020-01-31"), "--today", TODAY)  # fmt: skip
    assert spelled["patron"]["affiliation"] == "former_affiliate"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"graduated_on": "13/5/2015"}, "--graduated-on: '13/5/2015' reads as day/month/year"),
        ({"graduated_on": "May 2015"}, "--graduated-on: 'May 2015' is not a date: write YYYY-MM-DD"),
        ({"email": "ann@"}, "--email: 'ann@' does not look like an address"),
        ({"donation_amount": "100"}, "--donation-date: a gift needs its date too"),
        ({"affiliation": "friends", "donation_amount": "100"}, "missing --donation-date"),
        ({"affiliation": "community", "address_line1": "1 Main St"}, "missing --city"),
        ({"prior_role": "janitor"}, "--prior-role: must be one of faculty, staff, sponsored, student"),
        (
            {"affiliation": "friends", "donation_amount": "100", "donation_date": "2030-01-01"},
            "--donation-date: 2030-01-01 is in the future",  # the flag, not the model's donation.given_on
        ),
    ],
)
def test_a_bad_value_names_its_flag(cli: Cli, changes: dict[str, str], message: str) -> None:
    result = cli("register", *patron_args(**changes), "--today", TODAY)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "given_on" not in result.stderr


def test_month_first_dates_are_read(cli: Cli) -> None:
    result = cli.json("register", *patron_args(graduated_on="5/10/2015"), "--today", "3/2/2026")
    assert result["patron"]["graduated_on"] == "2015-05-10"
    assert result["user"]["expiry_date"] == "2027-03-02Z" or result["user"]["expiry_date"].startswith("2027-03-02")


def test_a_bad_today_is_a_usage_error(cli: Cli) -> None:
    result = cli("register", *patron_args(), "--today", "tomorrow")
    assert result.exit_code == 2
    assert "error: --today: 'tomorrow' is not a date" in result.stderr


def test_in_a_terminal_the_missing_facts_are_asked(cli: Cli, interactive: None) -> None:
    answers = "2000009\nBo\nwizard\ntrln\nUNC\n\ny\n"  # ... the email skipped with Enter, then yes
    result = cli("register", "--first-name", "Cy", "--today", TODAY, input=answers)
    assert result.exit_code == 0, result.stderr
    assert "OneLink ID" in result.stderr
    assert "Affiliation (alumni, trln," in result.stderr
    assert "'wizard' is not one the duke policy registers" in result.stderr  # asked again
    assert "Email (optional, Enter to skip)" in result.stderr
    shown = cli.json("user", "show", "2000009")
    assert (shown["first_name"], shown["last_name"], shown["user_group"]["value"]) == ("Cy", "Bo", "DUKE_TRLN")


def test_check_says_eligible_and_what_registering_would_do(cli: Cli) -> None:
    result = cli("check", *patron_args(), "--today", TODAY)
    assert result.exit_code == 0
    assert "ELIGIBLE — Ann Lee (OneLink ID 2000001): WOULD CREATE" in flat(result.stdout)
    assert "No Alma account found for this person." in result.stdout
    assert not cli.journal.exists()


def test_check_lists_accounts_found_and_blocking_issues_with_hints(cli: Cli) -> None:
    grad = DUKE_UNIQUE_IDS["recent_graduate"]
    args = patron_args(onelink_id=grad, first_name="Léa", last_name="Kowalczyk", graduated_on="2026-01-15")
    found = cli.json("check", *args, "--today", TODAY, code=1)
    assert found["eligible"] is False
    assert found["would"] == "blocked"
    [recent] = [issue for issue in found["issues"] if issue["code"] == "recent_alum"]
    assert recent["severity"] == "block"
    assert recent["hint"]
    assert [c["primary_id"] for c in found["candidates"]] == ["kl234"]
    human = cli("check", *args, "--today", TODAY)
    assert human.exit_code == 1
    assert "NOT ELIGIBLE" in human.stdout
    assert "Accounts found:" in human.stdout
    assert "kl234" in human.stdout


def test_json_output_is_one_document(cli: Cli) -> None:
    result = cli("check", *patron_args(), "--today", TODAY, "--json")
    assert json.loads(result.stdout)["eligible"] is True
    assert result.stdout.count("\n{") == 0  # a single document


def test_in_a_terminal_register_shows_what_it_would_write_and_asks_first(cli: Cli, interactive: None) -> None:
    declined = cli("register", *patron_args(), "--today", TODAY, input="n\n")
    assert declined.exit_code == 1
    summary = declined.stdout.splitlines()
    assert summary[0] == "About to register:"
    assert any(flat(line) == "OneLink ID 2000001" for line in summary)
    assert any(flat(line) == "Email ann.lee@example.org" for line in summary)
    assert "WOULD CREATE — Ann Lee (OneLink ID 2000001)" in declined.stdout
    assert "Register Ann Lee now? [y/N]" in declined.stderr
    assert summary[-1] == "Nothing written."
    assert not cli.journal.exists()
    assert cli("user", "show", "2000001").exit_code == 1  # no account
    accepted = cli("register", *patron_args(), "--today", TODAY, input="y\n")
    assert accepted.exit_code == 0, accepted.stderr
    assert "CREATED — Ann Lee (OneLink ID 2000001)" in accepted.stdout.splitlines()
    again = cli("register", *patron_args(), "--today", TODAY, input="")  # nothing to write: nothing asked
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines()[0].startswith("ALREADY REGISTERED — Ann Lee")
    assert "now?" not in again.stderr


def test_in_a_terminal_yes_writes_without_asking(cli: Cli, interactive: None) -> None:
    result = cli("register", *patron_args(email=None), "--today", TODAY, "--yes", input="")
    assert result.exit_code == 0, result.stderr
    assert "Email" not in result.stderr
    assert cli.json("user", "show", "2000001")["primary_id"] == "2000001"


def test_in_a_terminal_the_email_is_asked_for_and_may_be_skipped(cli: Cli, interactive: None) -> None:
    given = cli("register", *patron_args(email=None), "--today", TODAY, input="ann@\nann@example.org\ny\n")
    assert given.exit_code == 0, given.stderr
    assert given.stderr.count("Email (optional, Enter to skip)") == 2  # "ann@" is no address: asked again
    assert "does not look like an address" in given.stderr
    emails = cli.json("user", "show", "2000001")["contact_info"]["email"]
    assert [e["email_address"] for e in emails] == ["ann@example.org"]
    skipped = cli("register", *patron_args(onelink_id="2000002", first_name="Bo", email=None), "--today", TODAY,
                  input="\ny\n")  # fmt: skip
    assert skipped.exit_code == 0, skipped.stderr
    assert not cli.json("user", "show", "2000002").get("contact_info", {}).get("email")
