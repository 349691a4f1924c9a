"""What staff read uses the command's words, never Python's: flags and commands, not keyword arguments and calls."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import Result

from alma_onelink.cli import app
from alma_onelink.cli._words import COMMANDS, staff_words
from alma_onelink.onelink import Journal
from alma_onelink.sandbox import DUKE_UNIQUE_IDS
from tests.cli.conftest import TODAY, Cli, patron_args

PYTHON = re.compile(
    r"force=|delete_source=|plan\.token|confirm=|donation\.given_on|str\(result\)|journal\.pending\(\)"
    r"|restore\(alma|plan_merge|apply_merge|undo_merge|=True\b|=False\b|\(Python:|MergePlan|merge_id|pydantic"
    r"|eligibility\(\)"
)
NETID_ERA = DUKE_UNIQUE_IDS["netid_era_alumna"]


def test_the_commands_staff_words_knows_are_the_apps() -> None:
    names = {command.name for command in app.registered_commands} | {group.name for group in app.registered_groups}
    assert set(COMMANDS) == names


def test_a_python_aside_is_dropped_whatever_it_says_and_commands_get_the_options_typed() -> None:
    prefix = "alma-onelink --db x.db"
    text = "put back (Python: restore(alma, entry_id, force=True)); run `alma-onelink journal pending` (Python: x)."
    assert staff_words(text, prefix) == "put back; run `alma-onelink --db x.db journal pending`."
    assert staff_words("Merged by alma-onelink; `alma-onelink --db y.db user show jd123`", prefix) == (
        "Merged by alma-onelink; `alma-onelink --db y.db user show jd123`"  # a note, and a command with its options
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
    other = cli("merge", "plan", "jd123", "0123456", "--today", TODAY)  # refused: another person
    outputs.append(other)
    (tmp_path / "junk.json").write_text("{}", encoding="utf-8")
    outputs.append(cli("merge", "apply", "junk.json", "--confirm", "x"))
    (tmp_path / "cut.json").write_text('{"from_id": "jd1', encoding="utf-8")
    outputs.append(cli("merge", "apply", "cut.json", "--confirm", "x"))
    changed = (tmp_path / "plan.json").read_text(encoding="utf-8").replace('"segments": [', '"segments": [ "x", ', 1)
    (tmp_path / "changed.json").write_text(changed, encoding="utf-8")
    outputs.append(cli("merge", "apply", "changed.json", "--confirm", token.group(1)))
    for result in outputs:
        assert "Traceback" not in result.stderr
        found = PYTHON.search(said(result))
        assert found is None, f"{found.group(0)!r} in: {said(result)}"
    # The commands the library names come with the options typed, to run on the same sandbox and journal.
    prefix = f"alma-onelink --db {cli.db} --journal {cli.journal}"
    assert f"{prefix} merge plan jd123 0123456 --force" in other.stderr
    assert "--delete-source" in applied.stdout
    assert f"make one with: {prefix} merge plan FROM TO" in outputs[-2].stderr


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
