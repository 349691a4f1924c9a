"""Nothing the command prints is run by the terminal, and nothing typed that a terminal would run reaches Alma.

Text from an Alma record or a CSV cell may hold ESC and the sequences it starts (colours, cursor
moves, a window title, a link), C1 controls, or direction controls that reorder a line. The command's
one output layer writes each as a visible escape (``\\x1b``, ``\\u202e``); ``--json`` writes them as
JSON escapes. Typed input holding them (``user edit --set``, ``register`` flags, ``batch`` cells) is
refused before any write, naming the flag or the line and column.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rich.table import Table
from rich.text import Text

from alma_onelink import AlmaClient
from alma_onelink._text import UNSAFE
from alma_onelink.cli._output import Output, to_json
from alma_onelink.models import Code, UserNote
from alma_onelink.onelink import Journal
from alma_onelink.sandbox import Sandbox
from tests.cli.conftest import TODAY, Cli, flat, patron_args

ATTACKS = {
    "sgr": "\x1b[31mRED",
    "clear-screen": "\x1b[2J",
    "window-title": "\x1b]0;pwned\x07",
    "hyperlink": "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "c1-csi": "\x9b31m",
    "bidi-override": "abc\u202egnp.exe",
    "bidi-isolate": "x\u2066y\u2069",
    "carriage-return": "ok\rFAKE",
    "backspace": "abc\x08\x08\x08XYZ",
    "line-separator": "a\u2028b",
}


def runnable(text: str) -> list[str]:
    """The characters of ``text`` a terminal would run or that would reorder it (line feeds aside)."""
    return [char for char in UNSAFE.findall(text) if char != "\n"]


def put(cli: Cli, user_id: str, **fields: str) -> None:
    """Write ``fields`` (and a note) into the account ``user_id`` on the test's sandbox, as Alma could hold them."""
    with Sandbox(db_path=cli.db) as sandbox, AlmaClient.sandbox(sandbox) as alma, alma.users.edit(user_id) as user:
        for name, value in fields.items():
            if name == "note":
                user.user_note = [*user.user_note, UserNote(note_type=Code(value="OTHER"), note_text=value)]
            else:
                setattr(user, name, value)


# --- from Alma to the terminal ---------------------------------------------------------------------------


@pytest.mark.parametrize("attack", list(ATTACKS.values()), ids=list(ATTACKS))
def test_user_show_prints_what_alma_holds_with_every_control_visible(cli: Cli, attack: str) -> None:
    put(cli, "jd123", first_name=f"Jane{attack}", job_description=attack, note=attack)
    result = cli("user", "show", "jd123")
    assert result.exit_code == 0, result.stderr
    assert runnable(result.stdout) == []
    assert "\\x1b" in result.stdout or "\\u" in result.stdout or "\\x" in result.stdout or "\\r" in result.stdout
    document = cli.json("user", "show", "jd123")
    assert document["first_name"] == f"Jane{attack}"  # --json keeps the value, escaped in the JSON text
    raw = cli("user", "show", "jd123", "--json").stdout
    assert runnable(raw) == []


def test_user_search_rows_and_edit_diff_escape_what_alma_holds(cli: Cli) -> None:
    put(cli, "jd123", first_name="Jane\x1b[2J\nFAKE ROW", middle_name="\u202e")
    found = cli("user", "search", "--email", "jane.doe@alumni.duke.edu")
    assert found.exit_code == 0, found.stderr
    assert runnable(found.stdout) == []
    assert "Jane\\x1b[2J\\nFAKE ROW" in found.stdout  # a cell is one line: its line break shown, not made
    edited = cli("user", "edit", "jd123", "--set", "middle_name=Q", "--dry-run")
    assert edited.exit_code == 0, edited.stderr
    assert runnable(edited.stdout + edited.stderr) == []
    assert "\\u202e" in edited.stdout


def test_an_error_naming_alma_text_is_escaped_too(cli: Cli) -> None:
    result = cli("user", "show", "no\x1b[31msuch")
    assert result.exit_code in (1, 2)
    assert runnable(result.stdout + result.stderr) == []


def test_register_shows_an_existing_account_s_text_escaped(cli: Cli) -> None:
    put(cli, "jd123", first_name="Jane\x1b]0;x\x07")
    result = cli("register", *patron_args(first_name="Jane", last_name="Doe"), "--today", TODAY, "--dry-run")
    assert runnable(result.stdout + result.stderr) == []


# --- typed input never reaches Alma -----------------------------------------------------------------------


@pytest.mark.parametrize("attack", list(ATTACKS.values()), ids=list(ATTACKS))
def test_user_edit_refuses_a_value_holding_a_control_character_before_any_write(cli: Cli, attack: str) -> None:
    result = cli("user", "edit", "jd123", "--set", f"job_description=Retired{attack}", "--yes")
    assert result.exit_code == 2
    message = flat(result.stderr)
    assert "error: --set job_description: the value holds" in message
    assert "type plain text only" in message
    assert runnable(result.stderr) == []
    assert not cli.journal.exists() or Journal(cli.journal).entries() == []


def test_user_edit_refuses_a_control_character_in_the_reason_and_clearing_the_user_group(cli: Cli) -> None:
    reason = cli("user", "edit", "jd123", "--set", "job_description=x", "--reason", "why\x1b[2J", "--yes")
    assert reason.exit_code == 2
    assert "--reason holds \\x1b" in flat(reason.stderr)
    group = cli("user", "edit", "jd123", "--set", "user_group=", "--yes")
    assert group.exit_code == 2
    assert "an account always has a user group" in flat(group.stderr)
    assert not cli.journal.exists() or Journal(cli.journal).entries() == []


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--city", "Dur\u202eham"), ("--address-line1", "1 Main\x1b[2J"), ("--email", "a\x1b[5m@b.org")],
)
def test_register_refuses_a_flag_holding_a_control_character(cli: Cli, flag: str, value: str) -> None:
    args = patron_args(onelink_id="4000201", affiliation="community", graduated_on=None)
    args += ["--address-line1", "1 Main", "--city", "Durham"] if flag != "--address-line1" else ["--city", "Durham"]
    args = [arg for i, arg in enumerate(args) if not (arg == flag or (i and args[i - 1] == flag))]
    result = cli("register", *args, flag, value, "--today", TODAY, "--yes")
    assert result.exit_code == 2, result.stdout
    assert f"error: {flag}: holds" in flat(result.stderr)
    assert runnable(result.stderr) == []
    assert not cli.journal.exists() or Journal(cli.journal).entries() == []


def test_batch_reports_a_cell_holding_a_control_character_by_line_and_column(cli: Cli, tmp_path: Path) -> None:
    rows = [
        ["OneLink ID", "First name", "Last name", "Affiliation", "Address", "City", "Notes"],
        ["4000211", "Ann", "Lee", "community", "1 Main\x1b[2J", "Durham", "fine"],
        ["4000212", "Bob", "Lee", "community", "1 Main", "Durham", "two\nlines"],
        ["4000213", "Cy", "Lee", "community", "1 Main", "Dur\u202eham", "x"],
    ]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    (tmp_path / "in.csv").write_text(buffer.getvalue(), encoding="utf-8")
    result = cli("batch", "in.csv", "--today", TODAY, "--json")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    by_id = {line["onelink_id"]: line for line in lines if "onelink_id" in line}
    assert by_id["4000211"]["outcome"] == "bad_row"
    assert by_id["4000211"]["column"] == "Address"
    assert by_id["4000213"]["outcome"] == "bad_row"
    assert by_id["4000213"]["column"] == "City"
    assert by_id["4000212"]["outcome"] == "created"  # a note may hold a line break
    assert runnable(result.stderr) == []
    with Sandbox(db_path=cli.db) as sandbox, AlmaClient.sandbox(sandbox) as alma:
        for bad in ("4000211", "4000213"):
            assert alma.users.list(q=f"primary_id~{bad}").total_record_count == 0


# --- the output layer ------------------------------------------------------------------------------------


def test_every_way_of_printing_escapes_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    out = Output(json_mode=False)
    attack = "".join(ATTACKS.values())
    out.say(attack, ("styled" + attack, "bold"), Text("text" + attack, style="red"))
    out.line(attack)
    out.rows([[attack, ("x" + attack, "bold")]], header=["a", "b"])
    out.note(attack)
    out.error(attack, hint=attack)
    table = Table("cell")
    table.add_row(attack)
    out.show(attack, Text(attack), table)
    out.err.print(attack)  # a traceback with --debug is printed this way
    printed = capsys.readouterr()
    assert runnable(printed.out + printed.err) == []
    assert printed.out.count("\\x1b[31m") >= 6


def test_json_escapes_what_a_terminal_could_run_and_reads_back_the_same() -> None:
    value = {"name": "".join(ATTACKS.values()), "lone": "\udcff"}
    text = to_json(value)
    assert runnable(text) == []
    assert json.loads(text) == value
