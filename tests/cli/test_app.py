"""The command as a whole: help, version, the target banner, --json, errors and exit codes, the key never shown."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from alma_onelink import cli
from alma_onelink.cli import _app, _state
from alma_onelink.cli._app import command
from alma_onelink.errors import AlmaErrorDetail, BadRequestError
from tests.cli.conftest import TODAY, Cli, flat, patron_args

KEY = "l7xx0123456789abcdef0123456789abcdef"  # shaped like an Alma key; must never be shown


def test_help_lists_every_command_and_the_exit_codes(cli: Cli) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    text = flat(result.stdout)
    for name in ("register", "check", "batch", "user", "merge", "journal", "policies", "sandbox", "demo"):
        assert f" {name} " in text
    assert "Exit status: 0 done; 1 done but a person must act" in text
    assert "2 usage error" in text
    assert "3 Alma or network error" in text


def test_no_command_prints_the_help_and_exits_2() -> None:
    result = CliRunner().invoke(cli.app, [])
    assert result.exit_code == 2
    assert "register" in result.stdout + result.stderr


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("alma-onelink ")


def test_the_banner_says_the_sandbox_file_on_stderr(cli: Cli) -> None:
    result = cli("policies", "--json")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[0] == f"Sandbox at {cli.db} (no ALMA_API_KEY set)"
    json.loads(result.stdout)  # stdout holds only the document


def test_the_default_sandbox_lives_in_the_data_folder_and_is_seeded_on_first_use(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.app, ["user", "search", "--name", "Jane Doe", "--json"])
    assert result.exit_code == 0, result.stderr
    default = tmp_path / "xdg" / "alma-onelink" / "sandbox.sqlite3"
    assert f"Sandbox at {default} (no ALMA_API_KEY set)" in result.stderr
    assert default.is_file()
    assert [u["primary_id"] for u in json.loads(result.stdout)["users"]] == ["jd123"]


def test_with_a_key_the_banner_says_alma_and_never_the_key(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    result = cli("--api-key", KEY, "policies")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[0] == "Alma at https://api-na.hosted.exlibrisgroup.com (key from --api-key)"
    monkeypatch.setenv("ALMA_API_KEY", KEY)
    monkeypatch.setenv("ALMA_REGION", "eu")
    from_env = cli("policies")
    assert from_env.stderr.splitlines()[0] == "Alma at https://api-eu.hosted.exlibrisgroup.com (key from ALMA_API_KEY)"
    helped = cli("--help")
    for shown in (result, from_env, helped, cli("register", "--help")):
        assert KEY not in shown.stdout + shown.stderr


def test_the_key_is_never_in_an_error_or_a_debug_traceback(cli: Cli) -> None:
    # A base URL that is not one: the client refuses it before any request; the key stays out of the message.
    result = cli("--api-key", KEY, "--base-url", "ftp://alma.example.org", "--debug", "user", "show", "jd123")
    assert result.exit_code == 2
    assert "is not an http(s) URL" in flat(result.stderr)
    assert "Traceback" in result.stderr  # --debug shows it...
    assert KEY not in result.stdout + result.stderr  # ...and still not the key


def test_base_url_and_region_typed_together_are_a_usage_error(cli: Cli) -> None:
    result = cli("--api-key", KEY, "--base-url", "https://x.example.org", "--region", "eu", "policies")
    assert result.exit_code == 2
    assert "give --base-url or --region, not both" in flat(result.stderr)


def test_json_works_before_and_after_the_command(cli: Cli) -> None:
    before = cli("--json", "policies")
    after = cli("policies", "--json")
    assert before.exit_code == after.exit_code == 0
    assert json.loads(before.stdout) == json.loads(after.stdout)


def test_an_error_is_one_line_and_a_hint_and_with_json_also_a_document(cli: Cli) -> None:
    result = cli("--policy", "dukee", "register", *patron_args())
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[1].startswith("error: No policy named 'dukee'. Did you mean 'duke'?")
    assert lines[2] == f"hint: alma-onelink --db {cli.db} --journal {cli.journal} policies lists the installed policies"
    assert len(lines) == 3
    assert result.stdout == ""
    as_json = cli("--policy", "dukee", "register", *patron_args(), "--json")
    assert json.loads(as_json.stdout)["error"]["exit_code"] == 2


def test_the_policy_comes_from_the_environment(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALMA_ONELINK_POLICY", "default")
    result = cli.json("check", *patron_args(affiliation="reciprocal", home_institution="Yale"), "--today", TODAY)
    assert result["eligible"] is True


def test_a_db_or_journal_in_a_missing_folder_is_refused_like_log(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such"
    result = cli("user", "show", "jd123", target=["--db", str(missing / "sb.sqlite3")])
    assert result.exit_code == 2
    assert f"error: --db '{missing / 'sb.sqlite3'}': the folder '{missing}' does not exist" in result.stderr
    assert not missing.exists()  # nothing was created
    journal = cli("user", "edit", "jd123", "--set", "job_description=x", "--yes",
                  target=["--db", str(cli.db), "--journal", str(missing / "j.jsonl")])  # fmt: skip
    assert journal.exit_code == 2
    assert f"error: --journal '{missing / 'j.jsonl'}': the folder '{missing}' does not exist" in journal.stderr
    served = cli("sandbox", "serve", "--log", str(missing / "log.jsonl"))
    assert served.exit_code == 2
    assert f"error: --log '{missing / 'log.jsonl'}': the folder '{missing}' does not exist" in served.stderr


def test_a_db_that_is_not_a_database_is_a_usage_error(cli: Cli) -> None:
    cli.db.write_text("not sqlite", encoding="utf-8")
    result = cli("user", "show", "jd123")
    assert result.exit_code == 2
    assert "error: cannot open the sandbox database" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_db_path_longer_than_sqlite_takes_is_a_usage_error_naming_the_limit(cli: Cli, tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["d" * 200] * 3)  # past SQLite's limit whatever the temporary folder's length
    deep.mkdir(parents=True)
    db = deep / "sandbox.sqlite3"
    size = len(str(db).encode())
    (tmp_path / "codes.json").write_text('{"UserGroups": {"MY_GROUP": "My group"}}', encoding="utf-8")
    for args in (["--db", str(db), "user", "show", "jd123"], ["sandbox", "seed", "--db", str(db)],
                 ["sandbox", "codes", "load", "codes.json", "--db", str(db)]):  # fmt: skip
        result = cli(*args, target=[])
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.startswith(("error: ", "hint: "))]
        assert lines == [
            f"error: cannot open the sandbox database '{db}': its path is {size} bytes long, and SQLite cannot "
            "open a database whose path is longer than 504 bytes",
            "hint: give a shorter path with --db (for example --db ~/sandbox.sqlite3)",
        ]
        assert "Traceback" not in result.stderr
    assert list(deep.iterdir()) == []  # nothing was made


def test_an_unexpected_error_is_one_line_and_a_hint_to_use_debug(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: _state.State) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(_state.State, "policy", broken)
    result = cli("register", *patron_args())
    assert result.exit_code == 1
    assert "error: unexpected RuntimeError: boom" in result.stderr
    assert "hint: this is a bug; run again with --debug" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Traceback" in cli("register", *patron_args(), "--debug").stderr


def _alma_refuses(monkeypatch: pytest.MonkeyPatch, code: str, message: str) -> None:
    """The next command's first step gets Alma's error ``code`` (HTTP 400, with a tracking id)."""

    def refused(self: _state.State) -> None:
        detail = AlmaErrorDetail(code=code, message=message, tracking_id="E01-0203040506-ABCDE")
        raise BadRequestError(status_code=400, method="POST", path="/almaws/v1/users", errors=[detail])

    monkeypatch.setattr(_state.State, "policy", refused)


@pytest.mark.parametrize(
    ("code", "message", "hint"),
    [
        ("401664", "Mandatory field is missing: user_group.",
         "Alma needs the named field; add it to the user before sending."),
        ("999999", "Something Alma says.", "nothing was changed by this call"),
        ("401851", "User with identifier 2000001 of type OneLink already exists.",
         "another account already has this primary id or identifier: look it up first (PREFIX user show ID, "
         "or PREFIX user search --identifier VALUE)"),
    ],
)  # fmt: skip
def test_an_alma_error_says_its_hint_once(cli: Cli, monkeypatch: pytest.MonkeyPatch, code: str, message: str,
                                         hint: str) -> None:  # fmt: skip
    _alma_refuses(monkeypatch, code, message)
    hint = hint.replace("PREFIX", f"alma-onelink --db {cli.db} --journal {cli.journal}")  # the options typed
    result = cli("register", *patron_args())
    assert result.exit_code == 3
    lines = result.stderr.splitlines()[1:]
    assert lines == [
        f"error: Alma said: Alma answered HTTP 400 to POST /almaws/v1/users: {code}: {message} "
        "(tracking id E01-0203040506-ABCDE)",
        f"hint: {hint}",
    ]
    assert "users.get" not in result.stderr
    as_json = cli.json("register", *patron_args(), code=3)["error"]
    assert as_json["hint"] == hint
    assert "hint:" not in as_json["message"]


@pytest.fixture
def extra_command(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A command ``probe`` that raises what the test puts in the list; removed after the test."""
    raised: list[str] = []
    monkeypatch.setattr(cli.app, "registered_commands", list(cli.app.registered_commands))

    @command(cli.app, "probe")
    def probe(ctx: typer.Context) -> int:
        kind = raised[0]
        if kind == "interrupt":
            raise KeyboardInterrupt
        if kind == "pipe":
            sys.stdout.write("partial output\n")
            raise BrokenPipeError
        return 7

    return raised


def test_a_command_registers_with_one_decorator_and_its_return_is_the_exit_status(
    cli: Cli, extra_command: list[str]
) -> None:
    extra_command.append("code")
    assert cli("probe").exit_code == 7
    assert "may be typed after the command's name too" in flat(cli("probe", "--help").stdout)


def test_ctrl_c_is_one_line_and_exit_130(cli: Cli, extra_command: list[str]) -> None:
    extra_command.append("interrupt")
    result = cli("probe")
    assert result.exit_code == 130
    assert result.stderr.strip().splitlines()[-1] == "Stopped; nothing was sent."
    assert "Traceback" not in result.stderr


def test_a_closed_pipe_ends_quietly_with_141(extra_command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    extra_command.append("pipe")

    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    err = io.StringIO()
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    monkeypatch.setattr(sys, "stderr", err)
    assert cli.main(["probe"]) == 141
    assert "Traceback" not in err.getvalue()
    assert "error" not in err.getvalue()


def test_exit_codes_are_documented_in_one_place() -> None:
    assert [int(code) for code in _state.ExitCode] == [0, 1, 2, 3, 4, 130, 141]
    for code in (
        "0 done",
        "1 done but",
        "2 usage error",
        "3 Alma",
        "4 the journal",
        "130 interrupted",
        "141 the reader",
    ):
        assert code in _app.EXIT_CODES_HELP
