"""``batch --sis-file`` and ``batch --reconcile``: new accounts for Alma's SIS load, journaled, then checked in Alma."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree  # type: ignore[import-untyped]

from alma_onelink import AlmaClient
from alma_onelink.cli import _state
from alma_onelink.engine import Journal
from alma_onelink.sandbox import DUKE_UNIQUE_IDS, Sandbox
from alma_onelink.sis import read_sis_file
from tests.cli.conftest import NOW, TODAY, Cli, flat
from tests.sis.conftest import XSD

NEW = ["2100000", "2100001", "2100002"]
HEADER = "OneLink ID,First name,Last name,E-mail,Affiliation,Graduated on"
ROWS = [
    *(f"{oid},Uma{i},Sisload,uma{i}@example.org,alumni,2013-05-12" for i, oid in enumerate(NEW)),
    f"{DUKE_UNIQUE_IDS['onelink_alumnus']},María José,Ibáñez,mj.ibanez@example.org,alumni,2009-05-10",
    f"{DUKE_UNIQUE_IDS['netid_era_alumna']},Jane,Doe,jane.doe@alumni.duke.edu,alumni,2019-05-12",
]


@pytest.fixture
def alma(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Sandbox, AlmaClient]]:
    """The command's client, on one sandbox for the whole test (its quota can be set)."""
    with Sandbox.demo(now=lambda: NOW, per_second_limit=None) as sandbox:
        client = AlmaClient.sandbox(sandbox, sleep=lambda seconds: None)
        monkeypatch.setattr(_state.State, "alma", lambda self: client)
        yield sandbox, client
        client.close()


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    path = tmp_path / "cohort.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return path


def valid_members(path: Path) -> dict[str, int]:
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    counts = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            document = etree.fromstring(archive.read(info))
            assert schema.validate(document), schema.error_log.last_error
            counts[info.filename] = len(document)
    return counts


def test_new_accounts_go_in_a_valid_sis_file_and_nothing_is_written_to_alma(
    cli: Cli, cohort: Path, tmp_path: Path, alma: tuple[Sandbox, AlmaClient]
) -> None:
    sandbox, _ = alma
    records = cli.lines("batch", str(cohort), "--today", TODAY, "--sis-file", "new.zip", code=1)
    rows, summary = records[:-1], records[-1]
    assert [row["outcome"] for row in rows] == ["handed_off"] * 3 + ["already_registered", "deferred"]
    assert "needs Alma's API" in rows[4]["reason"]
    assert "a SIS file only creates new accounts" in rows[4]["reason"]
    assert [row["account"] for row in rows[:3]] == NEW
    assert rows[0]["reason"] == "in new.zip for Alma's SIS load"
    assert [e.method for e in sandbox.request_log if e.method != "GET"] == [], "no account made through the API"
    zipped = tmp_path / "new.zip"
    assert valid_members(zipped) == {"users-0001.xml": 3}
    assert [user.primary_id for user in read_sis_file(zipped)] == NEW
    assert summary["sis_file"]["path"] == str(zipped)
    assert summary["sis_file"]["users"] == 3
    pending = Journal(cli.journal).pending()
    assert [(e.target, e.action, e.operation) for e in pending] == [(oid, "create", "sis_file") for oid in NEW]
    assert {e.registration for e in pending} == {summary["sis_file"]["sha256"]}


def test_the_run_says_what_to_do_with_the_file(
    cli: Cli, cohort: Path, tmp_path: Path, alma: tuple[Sandbox, AlmaClient]
) -> None:
    result = cli("batch", str(cohort), "--today", TODAY, "--sis-file", "new.zip")
    assert result.exit_code == 1
    out, err = flat(result.stdout), flat(result.stderr)
    assert "Uma0 Sisload HANDED OFF — in new.zip for Alma's SIS load" in out
    assert f"Wrote {tmp_path / 'new.zip'}: 3 new account(s) in 1 XML file(s)" in err
    assert f"batch {cohort} --reconcile" in err
    assert "searching Alma for 5 patron(s) before writing the SIS file" in err


def test_past_the_budget_the_accounts_go_unsearched_with_a_warning(
    cli: Cli, cohort: Path, tmp_path: Path, alma: tuple[Sandbox, AlmaClient]
) -> None:
    sandbox, _ = alma
    sandbox.knobs.daily_quota = 2_000 + 1 + 6  # room to search one new patron, not two
    records = cli.lines("batch", str(cohort), "--today", TODAY, "--sis-file", "new.zip", code=1)
    rows = records[:-1]
    assert [row["outcome"] for row in rows[:3]] == ["handed_off"] * 3
    assert "not_searched" not in rows[0]["issues"]
    assert ["not_searched" in row["issues"] for row in rows[1:]] == [True] * 4
    assert "Alma was not searched first" in rows[1]["reason"]
    assert sandbox.remaining_daily_calls >= 2_000
    assert len(read_sis_file(tmp_path / "new.zip")) == 5, "unsearched, the two with accounts go in the file too"


def test_reconcile_settles_what_alma_loaded(
    cli: Cli, cohort: Path, tmp_path: Path, alma: tuple[Sandbox, AlmaClient]
) -> None:
    _, client = alma
    cli("batch", str(cohort), "--today", TODAY, "--sis-file", "new.zip")
    waiting = cli.lines("batch", str(cohort), "--reconcile", code=1)
    assert [row["outcome"] for row in waiting[:-1]] == ["waiting"] * 3 + ["not_handed_off"] * 2
    for user in read_sis_file(tmp_path / "new.zip")[:2]:  # Alma's job loads part of the file
        client.users.create(user)
    partly = cli.lines("batch", str(cohort), "--reconcile", code=1)
    assert [row["outcome"] for row in partly[:3]] == ["loaded", "loaded", "waiting"]
    assert [e.target for e in Journal(cli.journal).pending()] == [NEW[2]]
    client.users.create(read_sis_file(tmp_path / "new.zip")[2])
    done = cli("batch", str(cohort), "--reconcile")
    assert done.exit_code == 0
    assert "Every account handed off is in Alma; their journal entries are settled." in flat(done.stderr)
    assert Journal(cli.journal).pending() == []


def test_reconcile_keeps_the_daily_reserve(
    cli: Cli, cohort: Path, tmp_path: Path, alma: tuple[Sandbox, AlmaClient]
) -> None:
    sandbox, _ = alma
    cli("batch", str(cohort), "--today", TODAY, "--sis-file", "new.zip")
    sandbox.knobs.daily_quota = 100_000 - sandbox.remaining_daily_calls + 2_000 + 1  # 1 read above the reserve
    records = cli.lines("batch", str(cohort), "--reconcile", "--concurrency", "1", code=1)
    assert [row["outcome"] for row in records[:3]] == ["waiting", "deferred", "deferred"]
    assert sandbox.remaining_daily_calls >= 2_000


def test_a_second_sis_file_does_not_hand_off_an_account_twice(
    cli: Cli, cohort: Path, tmp_path: Path, alma: tuple[Sandbox, AlmaClient]
) -> None:
    cli("batch", str(cohort), "--today", TODAY, "--sis-file", "new.zip")
    result = cli("batch", str(cohort), "--today", TODAY, "--sis-file", "again.zip")
    assert result.exit_code == 1
    assert "already handed off in a SIS file on" in flat(result.stdout)
    assert "No new account to hand off: no SIS file was written" in flat(result.stderr)
    assert not (tmp_path / "again.zip").exists()


def test_reconcile_with_no_hand_off_in_the_journal_exits_1(cli: Cli, cohort: Path) -> None:
    result = cli("batch", str(cohort), "--reconcile")
    assert result.exit_code == 1
    assert "was handed off in a SIS file in the journal" in flat(result.stderr)
    assert "check --journal" in flat(result.stderr)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--sis-file", "a.zip", "--reconcile"], "use one"),
        (["--sis-file", "a.zip", "--dry-run"], "--dry-run cannot go with --sis-file"),
        (["--reconcile", "--dry-run"], "--dry-run cannot go with --reconcile"),
        (["--sis-file", "a.txt"], "Alma's SIS load reads zip files"),
        (["--sis-file", "taken.zip"], "already exists"),
        (["--sis-file", "nowhere/a.zip"], "does not exist"),
    ],
)
def test_a_wrong_sis_option_is_refused_before_anything_runs(
    cli: Cli, cohort: Path, tmp_path: Path, args: list[str], said: str
) -> None:
    (tmp_path / "taken.zip").write_bytes(b"")
    result = cli("batch", str(cohort), "--today", TODAY, *args)
    assert result.exit_code == 2
    assert said in flat(result.stderr)
    assert not cli.journal.exists()
