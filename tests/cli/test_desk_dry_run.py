"""A dry run is never taken for a real one: ``batch --dry-run`` and ``register --dry-run`` say "would", on the screen
and in the results file, and name no next step that only a real run makes possible."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from alma_onelink.sandbox import DUKE_UNIQUE_IDS
from tests.cli.conftest import TODAY, Cli, flat, patron_args

NETID_ERA = DUKE_UNIQUE_IDS["netid_era_alumna"]
PATRONS = (
    "OneLink ID,First name,Last name,Affiliation,Home institution,Graduated on,Email\n"
    "2000001,Ann,Lee,alumni,,2015-05-10,ann.lee@example.org\n"
    f"{NETID_ERA},Jane,Doe,alumni,,2012-05-13,jane.doe@alumni.duke.edu\n"
    "2000003,Bob,Smith,alumni,,2026-01-15,\n"
)


def _results(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


def test_a_dry_run_batch_says_would_on_every_line_and_in_the_results_file(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "patrons.csv").write_text(PATRONS, encoding="utf-8")
    dry = cli("batch", "patrons.csv", "--dry-run", "--out", "dry.csv", "--today", TODAY)
    assert dry.exit_code == 1, dry.stderr  # Jane needs a merge, Bob is blocked: as the real run will say
    lines = dry.stdout.splitlines()
    assert lines[0] == "DRY RUN, nothing written: each row says what registering would do."
    rows = [line for line in lines if line.startswith("line ")]
    assert ["WOULD CREATE" in rows[0], "WOULD NEED MERGE" in rows[1]] == [True, True]
    assert "BLOCKED" in rows[2]
    assert not any(word in dry.stdout for word in ("CREATED", "NEEDS MERGE", "merge plan"))
    assert "dry run" in flat(dry.stdout.split("\n\n")[-1])  # the counts say it too
    assert "Results of the dry run written to dry.csv" in dry.stdout
    written = _results(tmp_path / "dry.csv")
    assert [(row["outcome"], row["dry_run"]) for row in written] == [
        ("would_create", "True"),
        ("would_need_merge", "True"),
        ("blocked", "True"),
    ]
    assert all(not row["outcome"].startswith(("=", "+", "-", "@")) for row in written)  # still safe in Excel
    assert not cli.journal.exists()
    real = cli("batch", "patrons.csv", "--out", "real.csv", "--today", TODAY)
    assert [row["outcome"] for row in _results(tmp_path / "real.csv")] == ["created", "needs_merge", "blocked"]
    assert "WOULD" not in real.stdout
    assert "DRY RUN" not in real.stdout


def test_a_dry_run_batch_in_json_keeps_the_outcome_and_says_dry_run(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "patrons.csv").write_text(PATRONS, encoding="utf-8")
    records = cli.lines("batch", "patrons.csv", "--dry-run", "--today", TODAY, code=1)
    rows = [r for r in records if r["type"] == "row"]
    assert [(r["outcome"], r["dry_run"]) for r in rows] == [
        ("created", True),
        ("needs_merge", True),
        ("blocked", True),
    ]
    assert records[-1]["dry_run"] is True
    (tmp_path / "patrons.csv").write_text(PATRONS, encoding="utf-8")
    cli("batch", "patrons.csv", "--dry-run", "--out", "dry.jsonl", "--today", TODAY)
    kept = [json.loads(line) for line in (tmp_path / "dry.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["outcome"], r["dry_run"]) for r in kept] == [
        ("created", True),
        ("needs_merge", True),
        ("blocked", True),
    ]


def test_register_dry_run_says_would_and_names_no_merge_to_plan(cli: Cli) -> None:
    args = patron_args(onelink_id=NETID_ERA, first_name="Jane", last_name="Doe", email="jane.doe@alumni.duke.edu")
    dry = cli("register", *args, "--today", TODAY, "--dry-run")
    assert dry.exit_code == 1
    head = dry.stdout.splitlines()[0]
    assert head.startswith(f"DRY RUN, nothing written — WOULD NEED MERGE — Jane Doe (OneLink ID {NETID_ERA})")
    assert "merge plan" not in dry.stdout  # no account was made to merge into
    assert "nothing was written" in dry.stdout  # the steps say it too
    created = cli("register", *patron_args(), "--today", TODAY, "--dry-run")
    assert created.stdout.splitlines()[0] == "DRY RUN, nothing written — WOULD CREATE — Ann Lee (OneLink ID 2000001)"
    real = cli("register", *args, "--today", TODAY)
    assert real.stdout.splitlines()[0].startswith("NEEDS MERGE — Jane Doe")
    assert f"merge plan jd123 {NETID_ERA}" in real.stdout
