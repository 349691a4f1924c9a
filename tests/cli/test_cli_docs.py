"""The command's docs are tested: docs/cli.md is what ``make cli-docs`` generates now, and every command
of docs/service-desk.md and of the README runs, in order, on a fresh sandbox."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from alma_onelink.onelink import Journal
from tests.cli.conftest import ENV_VARS, Cli

ROOT = Path(__file__).resolve().parents[2]


def _recipe(target: str) -> list[str]:
    """The one command of a Makefile target, as arguments (``$(BIN)`` is the venv's bin folder)."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(target)}:[^\n]*\n\t([^\n]+)", text, re.M)
    assert match, f"no {target} target in the Makefile"
    return shlex.split(match.group(1).replace("$(BIN)", str(Path(sys.executable).parent)))


def test_docs_cli_md_is_up_to_date(tmp_path: Path) -> None:
    command = _recipe("cli-docs")
    output = command.index("--output") + 1
    assert command[output] == "docs/cli.md"
    command[output] = str(tmp_path / "cli.md")
    env = {name: value for name, value in os.environ.items() if name not in ENV_VARS}
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=60)
    fresh = (tmp_path / "cli.md").read_text(encoding="utf-8")
    assert fresh == (ROOT / "docs" / "cli.md").read_text(encoding="utf-8"), (
        "docs/cli.md is out of date: run `make cli-docs`"
    )


def _page_commands(page: Path) -> list[list[str]]:
    """Each ``alma-onelink …`` command of the page's bash blocks (continued lines joined), as arguments."""
    text = page.read_text(encoding="utf-8")
    commands: list[list[str]] = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, re.M | re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "alma-onelink":
                commands.append(words[1:])
    return commands


def _fill(word: str, cli: Cli, tmp_path: Path) -> str:
    """A placeholder of the page (TOKEN, MERGE_ID, ENTRY_ID) as what the commands before it printed."""
    if word == "TOKEN":
        plan = next(tmp_path.glob("merge-*.json")).read_text(encoding="utf-8")
        found = re.search(r'"token": "([0-9a-f]+)"', plan)
        assert found
        return found.group(1)
    if word == "MERGE_ID":
        merges = [e for e in Journal(cli.journal).entries() if e.operation == "merge"]
        return str(merges[-1].registration)
    if word == "ENTRY_ID":
        return Journal(cli.journal).entries(target="jd123")[-1].id
    return word


def test_the_service_desk_page_runs_from_top_to_bottom(cli: Cli, tmp_path: Path, interactive: None) -> None:
    page = ROOT / "docs" / "service-desk.md"
    csv_text = re.search(r"```text\n(OneLink ID.*?)```", page.read_text(encoding="utf-8"), re.S)
    assert csv_text, "the page shows a CSV file"
    (tmp_path / "patrons.csv").write_text(csv_text.group(1), encoding="utf-8")
    commands = _page_commands(page)
    assert [c[0] for c in commands][:5] == ["user", "user", "user", "user", "policies"]
    for args in commands:
        filled = [_fill(word, cli, tmp_path) for word in args]
        result = cli(*filled, input="y\n")
        where = f"alma-onelink {shlex.join(filled)}"
        assert result.exit_code in (0, 1), f"{where} exited {result.exit_code}: {result.stderr}"
        assert "Traceback" not in result.stderr, where
        if filled[0] == "merge" and filled[1] == "apply":
            assert "MERGED" in result.stdout, where


def test_the_readme_commands_run_as_written_on_a_fresh_sandbox(cli: Cli, tmp_path: Path) -> None:
    commands = _page_commands(ROOT / "README.md")
    assert [c[:2] for c in commands if c[0] == "merge"] == [["merge", "plan"], ["merge", "apply"]]
    for args in commands:
        filled = [_fill(word, cli, tmp_path) for word in args]
        result = cli(*filled)
        where = f"alma-onelink {shlex.join(filled)}"
        assert result.exit_code in (0, 1), f"{where} exited {result.exit_code}: {result.stderr}"
        if filled[:2] == ["merge", "apply"]:
            assert "MERGED" in result.stdout, where
        if filled[:2] == ["journal", "show"]:
            assert "create 0456789 done" in result.stdout, where


@pytest.mark.parametrize("page", ["service-desk.md", "cli.md"])
def test_the_pages_are_in_the_nav(page: str) -> None:
    assert re.search(rf":\s*{re.escape(page)}\s*$", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.M)
