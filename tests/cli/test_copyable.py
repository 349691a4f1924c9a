"""Nothing the command tells a person to copy is ever broken: commands, ids, paths, tokens and URLs each
stay whole on one line, at any terminal width (20 to 300 columns), piped or on a terminal, from a
temporary folder nested hundreds of characters deep."""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from alma_onelink.cli import app
from alma_onelink.onelink import Journal
from alma_onelink.sandbox import DUKE_UNIQUE_IDS
from tests.cli.conftest import ENV_VARS, TODAY, patron_args

WIDTHS = (20, 40, 80, 300)
NETID_ERA = DUKE_UNIQUE_IDS["netid_era_alumna"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def whole(text: str, copyable: str) -> bool:
    """Whether ``copyable`` appears whole on one line of ``text`` (terminal colours aside)."""
    return any(copyable in ANSI.sub("", line) for line in text.splitlines())


@pytest.fixture
def deep(tmp_path: Path, seeded_db: Path) -> Path:
    """A folder more than 220 characters deep, holding a copy of the seeded sandbox.

    Made no deeper than that: SQLite opens no file whose path passes 512 bytes, and the test's own
    temporary folder may already be long.
    """
    folder = tmp_path / "folder-00-of-a-long-path"
    while len(str(folder)) <= 220:
        folder /= f"folder-{len(folder.parts):02d}-of-a-long-path"
    folder.mkdir(parents=True)
    shutil.copyfile(seeded_db, folder / "sandbox.sqlite3")
    return folder


Run = Callable[..., Result]


@pytest.fixture
def run(deep: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[int], Run]:
    """``run(width)(*args)``: the command on the deep folder's sandbox and journal, at ``width`` columns."""

    def at(width: int) -> Run:
        def invoke(*args: str, input: str | None = None) -> Result:
            monkeypatch.setenv("COLUMNS", str(width))
            where = ["--db", str(deep / "sandbox.sqlite3"), "--journal", str(deep / "journal.jsonl")]
            return CliRunner().invoke(app, [*where, *args], input=input)

        return invoke

    return at


def prefix(deep: Path) -> str:
    return f"alma-onelink --db {deep / 'sandbox.sqlite3'} --journal {deep / 'journal.jsonl'}"


@pytest.mark.parametrize("width", WIDTHS)
def test_journal_pending_keeps_each_command_whole(run: Callable[[int], Run], deep: Path, width: int) -> None:
    intent = Journal(deep / "journal.jsonl").intend(action="update", target="jd123", before={"primary_id": "jd123"})
    result = run(width)("journal", "pending")
    assert result.exit_code == 1
    assert whole(result.stdout, f"{prefix(deep)} journal restore {intent.id}")
    assert whole(result.stdout, f"{prefix(deep)} user show jd123")
    assert whole(result.stderr, f"Sandbox at {deep / 'sandbox.sqlite3'}")


@pytest.mark.parametrize("width", WIDTHS)
def test_register_keeps_the_next_command_and_the_links_whole(run: Callable[[int], Run], deep: Path, width: int) -> None:
    args = patron_args(onelink_id=NETID_ERA, first_name="Jane", last_name="Doe", email="jane.doe@alumni.duke.edu")
    result = run(width)("register", *args, "--today", TODAY, "--verbose")
    assert result.exit_code == 1, result.stderr
    assert whole(result.stdout, f"Next: {prefix(deep)} merge plan jd123 {NETID_ERA}")
    for url in ("https://accounts.oit.duke.edu/onelink/sign_in", "https://idms-web-selfservice.oit.duke.edu/"):
        assert whole(result.stdout, url)
    assert whole(result.stdout, f"Journal: 2 entries in {deep / 'journal.jsonl'}")
    assert whole(result.stdout, "GET /users?q=email~jane.doe@alumni.duke.edu")


@pytest.mark.parametrize("width", WIDTHS)
def test_merge_keeps_the_token_the_plan_file_and_the_commands_whole(
    run: Callable[[int], Run], deep: Path, width: int
) -> None:
    args = patron_args(onelink_id=NETID_ERA, first_name="Jane", last_name="Doe", email="jane.doe@alumni.duke.edu")
    at = run(width)
    at("register", *args, "--today", TODAY)
    plan_file = deep / "plan.json"
    planned = at("merge", "plan", "jd123", NETID_ERA, "--out", str(plan_file), "--today", TODAY)
    assert planned.exit_code == 0, planned.stderr
    token = re.search(r'"token": "([0-9a-f]{64})"', plan_file.read_text(encoding="utf-8"))
    assert token
    assert whole(planned.stdout, f"Token: {token.group(1)}")
    assert whole(planned.stdout, f"Plan written to {plan_file}")
    assert whole(planned.stdout, f"{prefix(deep)} merge apply {plan_file} --confirm {token.group(1)}")
    applied = at("merge", "apply", str(plan_file), "--confirm", token.group(1), "--today", TODAY)
    assert applied.exit_code == 0, applied.stderr
    merge_id = re.search(r"merge undo (\S+)", applied.stdout)
    assert merge_id
    assert whole(applied.stdout, f"Undo: {prefix(deep)} merge undo {merge_id.group(1)}")


@pytest.mark.parametrize("width", WIDTHS)
def test_user_edit_search_and_errors_keep_ids_and_paths_whole(
    run: Callable[[int], Run], deep: Path, width: int
) -> None:
    at = run(width)
    edited = at("user", "edit", "jd123", "--set", "job_description=Retired", "--yes")
    assert edited.exit_code == 0, edited.stderr
    [entry] = Journal(deep / "journal.jsonl").entries()
    assert whole(edited.stdout, f"Undo: {prefix(deep)} journal restore {entry.id}")
    found = at("user", "search", "--email", "jane.doe@alumni.duke.edu")
    assert whole(found.stdout, "jd123")
    assert whole(found.stdout, "jane.doe@alumni.duke.edu")
    missing = deep / "no-such-folder" / "journal.jsonl"
    refused = at("--journal", str(missing), "user", "edit", "jd123", "--set", "job_description=x", "--yes")
    assert refused.exit_code == 2
    assert whole(refused.stderr, f"error: --journal '{missing}': the folder '{missing.parent}' does not exist")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_usage_error_is_one_unbroken_error_line_and_hint(run: Callable[[int], Run], width: int) -> None:
    result = run(width)("merge", "plan", "jd123", "--segmnets", "notes")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert "error: No such option: --segmnets (Possible options: --segments)" in lines
    assert "hint: alma-onelink merge plan --help lists what it takes" in lines


@pytest.mark.parametrize("width", WIDTHS)
def test_batch_keeps_the_merge_command_and_the_results_path_whole(
    run: Callable[[int], Run], deep: Path, width: int
) -> None:
    (deep / "in.csv").write_text(
        f"OneLink ID,First name,Last name,E-mail,Affiliation,Graduated on\n"
        f"{NETID_ERA},Jane,Doe,jane.doe@alumni.duke.edu,alumni,2012-05-13\n",
        encoding="utf-8",
    )
    result = run(width)("batch", str(deep / "in.csv"), "--today", TODAY, "--out", str(deep / "results.csv"))
    assert result.exit_code == 1, result.stderr
    assert whole(result.stdout, f"{prefix(deep)} merge plan jd123 {NETID_ERA}")
    assert whole(result.stdout, f"Results written to {deep / 'results.csv'}")


def _subprocess_env(tmp_path: Path, width: int) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in ENV_VARS}
    return {**env, "XDG_DATA_HOME": str(tmp_path / "xdg"), "COLUMNS": str(width), "PYTHONUNBUFFERED": "1"}


def test_piped_to_another_program_at_20_columns(deep: Path, tmp_path: Path) -> None:
    intent = Journal(deep / "journal.jsonl").intend(action="update", target="jd123", before={"primary_id": "jd123"})
    where = ["--db", str(deep / "sandbox.sqlite3"), "--journal", str(deep / "journal.jsonl")]
    done = subprocess.run(
        [sys.executable, "-m", "alma_onelink.cli", *where, "journal", "pending"],
        capture_output=True, text=True, env=_subprocess_env(tmp_path, 20), timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert whole(done.stdout, f"{prefix(deep)} journal restore {intent.id}")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_on_a_terminal_20_columns_wide(deep: Path, tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    intent = Journal(deep / "journal.jsonl").intend(action="update", target="jd123", before={"primary_id": "jd123"})
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 20, 0, 0))  # 24 rows, 20 columns
    env = _subprocess_env(tmp_path, 20)
    env.pop("COLUMNS")  # the terminal's own width
    where = ["--db", str(deep / "sandbox.sqlite3"), "--journal", str(deep / "journal.jsonl")]
    process = subprocess.Popen(
        [sys.executable, "-m", "alma_onelink.cli", *where, "journal", "pending"],
        stdin=follower, stdout=follower, stderr=follower, env=env,
    )  # fmt: skip
    os.close(follower)
    shown = b""
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], 60)
            assert ready, "the command printed nothing for a minute"
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the command ended
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
        process.wait(timeout=60)
    assert process.returncode == 1
    text = shown.decode("utf-8", errors="replace").replace("\r\n", "\n")
    assert whole(text, f"{prefix(deep)} journal restore {intent.id}")
