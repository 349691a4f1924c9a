"""Trust at the desk around SIS hand-offs and the journal: every row and line says what is true.

``batch --sis-file`` classifies each patron by what registering would write (a new account → the file; a
renewal or a OneLink ID to move → Alma's API; nothing to write → the outcome as registering says it);
``journal show`` says a hand-off in its own words, each sentence once; ``journal archive`` keeps hand-offs
waiting for Alma's load and exits 0; ``journal show --registration`` takes the short id its lines print.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alma_onelink.engine import Journal, JournalEntry
from alma_onelink.sandbox import DUKE_UNIQUE_IDS
from tests.cli.conftest import TODAY, Cli, flat

JANE = DUKE_UNIQUE_IDS["netid_era_alumna"]
HEADER = "OneLink ID,First name,Last name,E-mail,Affiliation,Graduated on"
JANE_ROW = f"{JANE},Jane,Doe,,alumni,2012-05-13"
NEW_ROW = "2100000,Uma,Sisload,uma@example.org,alumni,2013-05-12"
JANUARY = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)


def _cohort(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "cohort.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _register_jane(cli: Cli) -> dict[str, object]:
    jane = ["--onelink-id", JANE, "--first-name", "Jane", "--last-name", "Doe", "--affiliation", "alumni"]
    registered: dict[str, object] = cli.json(
        "register", *jane, "--graduated-on", "2012-05-13", "--today", TODAY, code=1
    )
    assert registered["outcome"] == "needs_merge"
    return registered


def test_sis_file_says_needs_merge_for_a_registered_patron_with_an_old_account_still_to_merge(
    cli: Cli, tmp_path: Path
) -> None:
    _register_jane(cli)  # the OneLink ID is already moved off jd123; only the merge is left
    result = cli("batch", str(_cohort(tmp_path, JANE_ROW)), "--sis-file", str(tmp_path / "new.zip"), "--today", TODAY)
    text = flat(result.stdout)
    assert "NEEDS MERGE" in text
    assert "jd123 is still to be merged" in text
    assert "merge plan jd123" in text  # its next step
    assert "DEFERRED" not in text
    assert "needs Alma's API" not in text
    assert "moving the OneLink ID" not in text
    assert not (tmp_path / "new.zip").exists()


def test_sis_file_defers_a_patron_whose_registration_moves_the_onelink_id(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "new.zip"
    result = cli("batch", str(_cohort(tmp_path, JANE_ROW, NEW_ROW)), "--sis-file", str(out), "--today", TODAY)
    text = flat(result.stdout)
    assert "DEFERRED — not done: moving the OneLink ID off jd123 needs Alma's API" in text
    assert "HANDED OFF" in text
    assert out.exists()


def _handoff(note: str | None, result: str = "failed") -> JournalEntry:
    return JournalEntry.model_validate(
        {
            "id": "fea755afef75" + "0" * 20,
            "time": JANUARY,
            "staff": "root",
            "action": "create",
            "target": "3000001",
            "result": result,
            "operation": "sis_file",
            "registration": "46dd434e9df7" + "a" * 52,
            "reason": "handed off in the SIS file /srv/new.zip (sha256 46dd434e9df7…) for Alma's SIS load, from the "
            "batch file /srv/cohort.csv; pending until Alma has loaded it: `alma-onelink batch /srv/cohort.csv "
            "--reconcile` settles it by reading Alma",
            "error": note,
            "note": note,
            "settled": JANUARY if note else None,
        }
    )


def test_a_superseded_hand_off_reads_in_its_own_words_once() -> None:
    note = (
        "settled by reading the journal: 3000001 was created through Alma's API by journal entry "
        "9545b575f0b5450b884716a718e0b4be after this hand-off, so the account handed off in the SIS file was not "
        "loaded from it (superseded); remove 3000001 from /srv/new.zip before loading it"
    )
    line = str(_handoff(note))
    assert "failed" not in line
    assert "create 3000001" not in line
    assert "hand-off 3000001 superseded" in line
    assert line.endswith(
        "handed off in the SIS file /srv/new.zip; superseded: created through Alma's API by journal entry 9545b575f0b5"
    )
    assert str(_handoff(None, "pending")).endswith("handed off in the SIS file /srv/new.zip; waiting for Alma's load")
    assert str(_handoff("settled by reading Alma: it holds 3000001", "done")).endswith("; loaded")


def test_an_error_and_a_note_that_say_the_same_are_shown_once() -> None:
    said = "settled by reading Alma: no account 2000001"
    entry = JournalEntry.model_validate(
        {
            "id": "a" * 32,
            "time": JANUARY,
            "action": "create",
            "target": "2000001",
            "result": "failed",
            "error": said,
            "note": said,
            "settled": JANUARY,
        }
    )
    assert str(entry).count(said) == 1


def test_archive_keeps_hand_offs_waiting_for_alma_and_exits_0(cli: Cli, tmp_path: Path) -> None:
    cohort = _cohort(tmp_path, NEW_ROW)
    cli("batch", str(cohort), "--sis-file", str(tmp_path / "new.zip"), "--today", TODAY)
    old = Journal(cli.journal, now=lambda: JANUARY)
    done = old.intend(action="create", target="2000101", before=None, operation="register")
    old.complete(done, result="done", after={"primary_id": "2000101"})
    result = cli("journal", "archive", "--before", "2100-01-01")
    text = flat(result.stdout)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "Archived 1 entry" in text
    assert "1 hand-off waiting for Alma's load stays in the journal" in text
    assert f"batch {cohort} --reconcile" in text
    assert "journal settle" not in text
    live = cli.journal.read_text(encoding="utf-8")
    assert '"operation": "sis_file"' in live or '"operation":"sis_file"' in live  # kept in the live file
    assert "2000101" not in live  # the settled entry moved to the archive


def test_journal_show_takes_the_short_registration_id_it_prints(cli: Cli) -> None:
    registered = _register_jane(cli)
    short = str(registered["registration_id"])[:4]
    shown = cli("journal", "show")
    assert f"(register {short}…)" in shown.stdout
    entries = cli.json("journal", "show", "--registration", short)["entries"]
    assert [(e["action"], e["target"]) for e in entries] == [("update", "jd123"), ("create", JANE)]
    assert cli.json("journal", "show", "--registration", short + "…")["total"] == 2  # as printed, ellipsis too


def test_journal_show_says_when_no_registration_or_several_start_so(cli: Cli) -> None:
    journal = Journal(cli.journal, now=lambda: JANUARY)
    for registration in ("beef0001", "beef0002"):
        journal.intend(action="create", target="2000101", before=None, registration=registration)
    missing = cli("journal", "show", "--registration", "abcd")
    assert missing.exit_code == 1
    assert "No registration starts with abcd" in flat(missing.stderr)
    several = cli("journal", "show", "--registration", "beef")
    assert several.exit_code == 1
    assert "Several registrations start with beef" in flat(several.stderr)
    assert "journal show --registration beef0001" in several.stdout
    assert "journal show --registration beef0002" in several.stdout
    assert cli.json("journal", "show", "--registration", "beef0002")["total"] == 1
    assert cli("journal", "show", "--registration", "be").exit_code == 2
