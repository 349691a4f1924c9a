"""What staff read names each case in words, not by its code: `identifier_in_use` and the like stay in `--json`."""

from __future__ import annotations

import re

import pytest

from alma_onelink.policy import load_policy
from alma_onelink.sandbox import DUKE_UNIQUE_IDS
from tests.cli.conftest import TODAY, Cli, flat, patron_args

CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
"""A snake_case token: a reason code, an outcome's code, a Python name."""
COPYABLE = re.compile(r"`[^`]*`|alma-onelink [^\n]*|https?://\S+|\b\w+ = \"[^\"]*\"")
"""What staff copy (a command, an address, a settings line): its values and ids may hold anything."""
TYPED = {affiliation.code for affiliation in load_policy("duke").affiliations()}
"""The codes staff type themselves (``--affiliation former_affiliate``): the command's own words."""

SCENARIOS: dict[str, dict[str, str | None]] = {
    "new_registrant": {"graduated_on": "2016-05-08"},
    "onelink_alumnus": {"first_name": "María José", "last_name": "Ibáñez", "graduated_on": "2009-05-10"},
    "netid_era_alumna": {"first_name": "Jane", "last_name": "Doe", "email": "jane.doe@alumni.duke.edu"},
    "recent_graduate": {"first_name": "Léa", "last_name": "Kowalczyk", "graduated_on": "2025-11-02"},
    "former_staff_with_loans": {
        "first_name": "Rafael",
        "last_name": "Martínez",
        "affiliation": "former_affiliate",
        "prior_role": "staff",
        "left_on": "2026-01-01",
        "graduated_on": None,
    },
    "trln_borrower": {
        "first_name": "Mai",
        "last_name": "Nguyễn",
        "affiliation": "trln",
        "home_institution": "UNC",
        "graduated_on": None,
    },
    "lapsed_friend": {
        "first_name": "Eudora",
        "last_name": "Welty",
        "affiliation": "friends",
        "donation_amount": "200",
        "donation_date": "2026-03-01",
        "graduated_on": None,
    },
    "durham_namesake": {
        "first_name": "Tobias",
        "last_name": "Whitfield",
        "affiliation": "community",
        "address_line1": "305 W Main St",
        "city": "Durham",
        "state_province": "NC",
        "postal_code": "27701",
        "graduated_on": None,
    },
    "gift_below_the_minimum": {
        "affiliation": "friends",
        "donation_amount": "5",
        "donation_date": "2026-03-01",
        "graduated_on": None,
    },
}


def codes_staff_read(text: str) -> list[str]:
    """The snake_case tokens of ``text``, outside the commands it gives to copy."""
    return [
        f"{token!r} in {line!r}"
        for line in text.splitlines()
        for token in CODE.findall(COPYABLE.sub("", line))
        if token not in TYPED
    ]


def test_the_check_finds_a_code_and_spares_a_command_to_copy() -> None:
    assert codes_staff_read("✗ eligibility: blocked: recent_alum") == [
        "'recent_alum' in '✗ eligibility: blocked: recent_alum'"
    ]
    assert codes_staff_read("Run `alma-onelink merge plan jd123 --out needs_merge.json` now.") == []
    assert codes_staff_read('set my_account = "https://a.example/b_c" under [links]; former_affiliate') == []


@pytest.mark.parametrize("command", ["register", "check"])
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_staff_read_each_duke_case_in_words(cli: Cli, scenario: str, command: str) -> None:
    onelink_id = DUKE_UNIQUE_IDS.get(scenario, "2000001")
    args = patron_args(onelink_id=onelink_id, **SCENARIOS[scenario])
    result = cli(command, *args, "--today", TODAY)
    assert result.exit_code in (0, 1), (result.exit_code, result.stdout, result.stderr)
    said = result.stdout + result.stderr
    assert codes_staff_read(said) == [], said
    assert codes_staff_read(flat(said)) == [], said  # nor a code rich broke over two lines


def test_the_codes_stay_for_verbose_and_json(cli: Cli) -> None:
    lea = patron_args(onelink_id=DUKE_UNIQUE_IDS["recent_graduate"], **SCENARIOS["recent_graduate"])
    quiet = cli("register", *lea, "--today", TODAY)
    assert quiet.exit_code == 1
    assert '✗ eligibility: blocked, for the reasons under "Blocked by:" above' in quiet.stdout
    verbose = cli("register", *lea, "--today", TODAY, "--verbose")
    assert "✗ eligibility: blocked: recent_alum" in verbose.stdout
    assert "recent_alum" in [issue["code"] for issue in cli.json("register", *lea, "--today", TODAY, code=1)["issues"]]
