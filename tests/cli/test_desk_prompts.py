"""Interactive ``register``: each answer is checked as it is given, by the rules the flags are checked by.

A typo in the first answer is said at once, with the reason, and asked again, never after the whole
form; a flag typed wrong is said before anything is asked; without a terminal nothing changes.
"""

from __future__ import annotations

import pytest

from alma_onelink.cli import _state as cli_state
from tests.cli.conftest import TODAY, Cli, flat, patron_args

DUKE_ID_RULE = "the OneLink ID must be 7 digits"


def _asked(stderr: str, question: str) -> list[int]:
    """Where ``question`` was asked in ``stderr`` (character offsets; a reason, indented, names it too)."""
    found, at = [], stderr.find(question)
    while at >= 0:
        if stderr[max(at - 2, 0) : at] != "  ":
            found.append(at)
        at = stderr.find(question, at + 1)
    return found


def test_a_typo_in_the_first_answer_is_said_at_once_and_asked_again(cli: Cli, interactive: None) -> None:
    answers = "12\n2000001\nAnn\nLee\nalumni\n2015-05-10\n\ny\n"
    result = cli("register", "--today", TODAY, input=answers)
    assert result.exit_code == 0, result.stderr
    said = result.stderr.find(DUKE_ID_RULE)
    assert said >= 0
    assert len(_asked(result.stderr, "OneLink ID:")) == 2  # asked again
    assert said < result.stderr.find("First name:"), "the reason comes before the next question, not after the form"
    assert "got '12'" in result.stderr
    assert cli.json("user", "show", "2000001")["primary_id"] == "2000001"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("2015-13-10", "'2015-13-10' is not a day of the calendar"),
        ("13/5/2015", "reads as day/month/year"),
        ("2099-05-10", "is in the future"),
        ("last May", "is not a date"),
    ],
    ids=["no-such-day", "day-first", "future", "words"],
)
def test_a_date_answer_is_checked_as_it_is_given(cli: Cli, interactive: None, bad: str, reason: str) -> None:
    answers = f"2000001\nAnn\nLee\nalumni\n{bad}\n5/10/2015\n\ny\n"
    result = cli("register", "--today", TODAY, input=answers)
    assert result.exit_code == 0, result.stderr
    assert reason in result.stderr
    assert len(_asked(result.stderr, "Graduation date (YYYY-MM-DD or M/D/YYYY):")) == 2
    assert result.stderr.find(reason) < result.stderr.find("Email (optional")
    assert cli.json("user", "show", "2000001")["expiry_date"]  # registered with the date typed the second time


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        (("onelink_id", "12"), DUKE_ID_RULE),
        (("onelink_id", "20 00001"), "must not contain spaces"),
        (("graduated_on", "2015-13-10"), "'2015-13-10' is not a day of the calendar"),
        (("email", "ann.lee"), "does not look like an address"),
    ],
    ids=["id-digits", "id-space", "date", "email"],
)
def test_the_prompt_and_the_flag_give_the_same_reason(
    cli: Cli, interactive: None, monkeypatch: pytest.MonkeyPatch, typed: tuple[str, str], reason: str
) -> None:
    """One validator: the same value is refused for the same reason at the prompt, as a flag, and without a terminal."""
    field, value = typed
    answers = {"onelink_id": "2000001", "first_name": "Ann", "last_name": "Lee", "affiliation": "alumni"}
    answers |= {"graduated_on": "2015-05-10", "email": "ann.lee@example.org"}
    order = ["onelink_id", "first_name", "last_name", "affiliation", "graduated_on", "email"]
    typing = "".join(f"{value}\n{answers[name]}\n" if name == field else f"{answers[name]}\n" for name in order)
    asked = cli("register", "--today", TODAY, input=typing + "n\n")
    assert reason in flat(asked.stderr)
    flagged = cli("register", *patron_args(**{field: value}), "--today", TODAY)
    assert flagged.exit_code == 2
    assert reason in flat(flagged.stderr)
    assert not cli.journal.exists()
    monkeypatch.setattr(cli_state, "_stdin_is_terminal", lambda: False)  # no terminal: the same error, as before
    piped = cli("register", *patron_args(**{field: value}), "--today", TODAY)
    assert piped.exit_code == 2
    assert reason in flat(piped.stderr)


def test_a_flag_typed_wrong_in_a_terminal_is_said_before_anything_is_asked(cli: Cli, interactive: None) -> None:
    result = cli("register", "--onelink-id", "12", "--graduated-on", "2015-13-10", "--today", TODAY, input="Ann\n")
    assert result.exit_code == 2
    assert "First name:" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "--onelink-id:" in errors[0]
    assert DUKE_ID_RULE in errors[0]
    assert "--graduated-on:" in errors[0]


def test_a_gift_amount_and_an_email_are_asked_again_until_they_read(cli: Cli, interactive: None) -> None:
    answers = "2000002\nAda\nByron\nfriends\nlots\n250\n2026-02-01\nada(at)example.org\nada@example.org\ny\n"
    result = cli("register", "--today", TODAY, input=answers)
    assert result.exit_code == 0, result.stderr
    assert "must be a number of dollars written in digits" in result.stderr
    assert len(_asked(result.stderr, "Gift amount (dollars)")) == 2
    assert "does not look like an address" in result.stderr
    assert len(_asked(result.stderr, "Email (optional")) == 2
    shown = cli.json("user", "show", "2000002")
    assert shown["contact_info"]["email"][0]["email_address"] == "ada@example.org"


def test_with_yes_the_missing_facts_are_still_asked_and_checked(cli: Cli, interactive: None) -> None:
    args = patron_args(onelink_id=None)
    result = cli("register", *args, "--today", TODAY, "--yes", input="20000x1\n2000001\n")
    assert result.exit_code == 0, result.stderr
    assert DUKE_ID_RULE in result.stderr
    assert "Email (optional" not in result.stderr  # --yes asks nothing else
    assert "About to register" not in result.stdout


def test_without_a_terminal_nothing_is_asked_and_a_missing_flag_is_an_error(cli: Cli) -> None:
    result = cli("register", *patron_args(onelink_id=None), "--today", TODAY, input="2000001\n")
    assert result.exit_code == 2
    assert "error: missing --onelink-id" in result.stderr
    assert "OneLink ID:" not in result.stderr


def test_an_answer_of_spaces_is_asked_again_not_taken_for_a_missing_flag(cli: Cli, interactive: None) -> None:
    answers = "2000001\nAda\nByron\ntrln\n   \nUNC-Chapel Hill\n\ny\n"
    result = cli("register", "--today", TODAY, input=answers)
    assert result.exit_code == 0, result.stderr
    assert "Home institution is needed; type it" in result.stderr
    assert cli.json("user", "show", "2000001")["user_group"]["value"] == "DUKE_TRLN"
