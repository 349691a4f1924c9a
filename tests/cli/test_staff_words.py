"""What staff read uses the command's words, never Python's: flags and commands, not keyword arguments and calls."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import Result

from alma_onelink.cli._words import staff_words
from alma_onelink.onelink import Journal
from alma_onelink.sandbox import DUKE_UNIQUE_IDS
from tests.cli.conftest import TODAY, Cli, patron_args

PYTHON = re.compile(
    r"force=|delete_source=|plan\.token|confirm=|donation\.given_on|str\(result\)|journal\.pending\(\)"
    r"|restore\(alma|plan_merge\(|apply_merge\(|undo_merge\(|=True\b|=False\b"
)
NETID_ERA = DUKE_UNIQUE_IDS["netid_era_alumna"]


@pytest.mark.parametrize(
    ("python", "command"),
    [
        (
            "restore them one by one (restore(alma, entry_id, force=True))",
            "restore them one by one (alma-onelink journal restore ENTRY --force)",
        ),
        ("in that order (restore(alma, entry_id))", "in that order (alma-onelink journal restore ENTRY)"),
        ("check journal.pending() and the account", "check alma-onelink journal pending and the account"),
        ("this plan's token, 3f2a… (plan.token), to show", "this plan's token, 3f2a…, to show"),
        (
            "Make a new plan (plan_merge(alma, 'jd123', '0456789')).",
            "Make a new plan (alma-onelink merge plan jd123 0456789).",
        ),
        ("Token (confirm=): 3f2a", "Token: 3f2a"),
        ("jd123 is kept (delete_source=False): Alma", "jd123 is kept (without --delete-source): Alma"),
        (
            "so apply_merge keeps From, even with delete_source=True.",
            "so merge apply keeps From, even with --delete-source.",
        ),
        ('like force="same person; married name"', 'like --force "same person; married name"'),
        ("Pass force=True to put it back anyway.", "Add --force to put it back anyway."),
        (
            "donation.given_on must not be in the future",
            "the date of the gift (--donation-date) must not be in the future",
        ),
    ],
)
def test_the_librarys_python_idioms_become_commands_and_flags(python: str, command: str) -> None:
    assert staff_words(python) == command
    assert not PYTHON.search(staff_words(python))


def test_the_prefix_is_the_one_typed() -> None:
    assert (
        staff_words("check journal.pending()", "alma-onelink --db x.db")
        == "check alma-onelink --db x.db journal pending"
    )


def said(result: Result) -> str:
    return result.stdout + result.stderr


def test_nothing_staff_read_holds_python(cli: Cli, tmp_path: Path) -> None:
    outputs: list[Result] = []
    jane = patron_args(onelink_id=NETID_ERA, first_name="Jane", last_name="Doe", email="jane.doe@alumni.duke.edu")
    outputs.append(cli("register", *jane, "--today", TODAY, "--verbose"))
    gift = patron_args(affiliation="friends", donation_amount="50", donation_date="2026-01-02")
    outputs.append(cli("register", *gift, "--today", TODAY))
    outputs.append(cli("check", *jane, "--today", TODAY))
    plan = cli("merge", "plan", "jd123", NETID_ERA, "--out", "plan.json", "--today", TODAY)
    outputs.append(plan)
    token = re.search(r"Token: ([0-9a-f]{64})", plan.stdout)
    assert token
    outputs.append(cli("merge", "apply", "plan.json", "--confirm", token.group(1)[:20]))
    outputs.append(cli("merge", "apply", "plan.json", "--confirm", "f" * 64))
    applied = cli("merge", "apply", "plan.json", "--confirm", token.group(1), "--today", TODAY)
    outputs.append(applied)
    first = cli.json("user", "edit", "jd123", "--set", "job_description=one", "--yes")["journal_entry"]
    outputs.append(cli("user", "edit", "jd123", "--set", "job_description=two", "--yes"))
    outputs.append(cli("journal", "restore", first, "--yes"))  # refused: the record changed since
    Journal(cli.journal).intend(action="update", target="jd123", before={"primary_id": "jd123"})
    outputs.append(cli("journal", "pending"))
    merge_id = re.search(r"merge undo (\S+)", applied.stdout)
    assert merge_id
    outputs.append(cli("merge", "undo", merge_id.group(1), "--yes"))
    outputs.append(cli("merge", "plan", "jd123", "0123456", "--today", TODAY))  # refused: another person
    for result in outputs:
        assert "Traceback" not in result.stderr
        found = PYTHON.search(said(result))
        assert found is None, f"{found.group(0)!r} in: {said(result)}"


def test_a_shortened_token_asks_for_the_whole_token_not_a_new_plan(cli: Cli) -> None:
    jane = patron_args(onelink_id=NETID_ERA, first_name="Jane", last_name="Doe", email="jane.doe@alumni.duke.edu")
    cli("register", *jane, "--today", TODAY)
    planned = cli.json("merge", "plan", "jd123", NETID_ERA, "--out", "plan.json", "--today", TODAY)
    for shortened in (planned["token"][:12], planned["token"][:12] + "…", planned["token"][:63]):
        result = cli("merge", "apply", "plan.json", "--confirm", shortened)
        assert result.exit_code == 2
        assert f"error: --confirm: the token is shortened ({len(shortened.rstrip('…'))} of its 64 characters)" in (
            result.stderr
        )
        assert "hint: paste the whole token" in result.stderr
        assert "plan again" not in said(result)
        assert "new plan" not in said(result)
    assert not [entry for entry in Journal(cli.journal).entries() if entry.operation == "merge"]  # nothing merged
