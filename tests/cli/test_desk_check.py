"""A blocked ``check`` (and a blocked ``register``) says each reason and each hint once."""

from __future__ import annotations

import pytest

from tests.cli.conftest import TODAY, Cli, patron_args

RECENT_ALUM = patron_args(first_name="Bob", last_name="Smith", email=None, graduated_on="2026-01-15")
LAPSED_SMALL_GIFT = [
    *patron_args(first_name="Bob", last_name="Smith", email=None, affiliation="friends", graduated_on=None),
    *["--donation-amount", "50", "--donation-date", "2020-01-01"],
]


@pytest.mark.parametrize("command", ["check", "register"])
@pytest.mark.parametrize("args", [RECENT_ALUM, LAPSED_SMALL_GIFT], ids=["recent-alum", "two-issues"])
def test_each_reason_and_hint_is_said_once(cli: Cli, command: str, args: list[str]) -> None:
    found = cli.json("check", *args, "--today", TODAY, code=1)
    issues = [issue for issue in found["issues"] if issue["severity"] == "block"]
    assert issues
    result = cli(command, *args, "--today", TODAY)
    assert result.exit_code == 1
    out = result.stdout
    for issue in issues:
        message = issue["message"].strip().rstrip(".")
        assert out.count(message) == 1, f"{message!r} said {out.count(message)} times:\n{out}"
        assert out.count(issue["hint"]) == 1, f"{issue['hint']!r} said {out.count(issue['hint'])} times:\n{out}"
    head = out.splitlines()[0]
    assert head.endswith(("BLOCKED", "(OneLink ID 2000001)")), head


def test_an_eligible_check_says_what_registering_would_do(cli: Cli) -> None:
    result = cli("check", *patron_args(), "--today", TODAY)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "ELIGIBLE — Ann Lee (OneLink ID 2000001): WOULD CREATE"
    assert "Tell the patron:" in result.stdout
