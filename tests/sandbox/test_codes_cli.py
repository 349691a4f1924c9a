"""``alma-onelink sandbox codes load | show``: an institution's codes kept in the sandbox's file, used by every command.

A plugin author's own user group is refused by the command's sandbox until ``codes load`` adds it;
the refusal says which table lacks which code and the command that adds it. Bad files store nothing.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from alma_onelink import policy as policy_module
from alma_onelink.cli import app
from alma_onelink.models import Code
from alma_onelink.policy import Policy, hookimpl
from alma_onelink.sandbox import Sandbox, SqliteStore

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LOAD_HINT = re.compile(r"add it with: alma-onelink( --\S+ \S+)* sandbox codes load FILE")
"""The command names itself with the options typed (--db, --journal), so the hint is copyable as it stands."""


def flat(text: str) -> str:
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A sandbox file with the Duke scenarios only, dated `NOW`, as bytes to copy into each test."""
    path = tmp_path_factory.mktemp("codes") / "seed.sqlite3"
    with Sandbox.demo(patrons=0, db_path=path, now=lambda: NOW):
        pass
    return path.read_bytes()


class Run:
    """``alma-onelink --db … --journal … ARGS`` on this test's sandbox file."""

    def __init__(self, folder: Path, seed: bytes) -> None:
        self.db = folder / "sandbox.sqlite3"
        self.db.write_bytes(seed)
        self.journal = folder / "journal.jsonl"
        self.folder = folder
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(app, ["--db", str(self.db), "--journal", str(self.journal), *args])

    def json(self, *args: str, code: int = 0) -> Any:
        result = self(*args, "--json")
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
        return json.loads(result.stdout)

    def file(self, name: str, text: str) -> str:
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    def loaded(self) -> dict[str, dict[str, str]]:
        store = SqliteStore(self.db)
        try:
            return store.codes()
        finally:
            store.close()


@pytest.fixture
def run(tmp_path: Path, seeded: bytes, monkeypatch: pytest.MonkeyPatch) -> Run:
    for name in ("ALMA_API_KEY", "ALMA_BASE_URL", "ALMA_REGION", "ALMA_ONELINK_POLICY", "ALMA_ONELINK_JOURNAL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("ALMA_ONELINK_STAFF", "tester")
    monkeypatch.chdir(tmp_path)
    return Run(tmp_path, seeded)


class ExampleGroups:
    """A plugin author's policy: alumni go to the institution's own group EX_ALUMNI."""

    @hookimpl
    def alma_onelink_patron_group(self) -> Code:
        return Code(value="EX_ALUMNI")


@pytest.fixture
def own_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every --policy is the defaults plus `ExampleGroups` (as an installed plugin would be)."""
    real = policy_module.load_policy

    def load(name: str, **options: Any) -> Policy:
        return real("default", plugins=[ExampleGroups()])

    monkeypatch.setattr(policy_module, "load_policy", load)


REGISTER = [
    "register", "--today", NOW.date().isoformat(), "--onelink-id", "2000001", "--first-name", "Ann",
    "--last-name", "Lee", "--email", "ann.lee@example.org", "--affiliation", "alumni", "--graduated-on", "2015-05-10",
]  # fmt: skip


@pytest.mark.usefixtures("own_groups")
def test_a_plugins_own_group_is_refused_naming_table_and_code_until_codes_load_adds_it(run: Run) -> None:
    refused = run(*REGISTER)
    assert refused.exit_code == 3, refused.output
    said = flat(refused.stdout + refused.stderr)
    assert "Given user group is not legal." in said  # Alma's words, first
    assert "the UserGroups table has no code EX_ALUMNI; " in said
    assert LOAD_HINT.search(said)
    assert run.loaded() == {}

    codes = run.file("codes.toml", '[UserGroups]\nEX_ALUMNI = "Example alumni"\n')
    loaded = run.json("sandbox", "codes", "load", codes)
    assert loaded["tables"] == {"UserGroups": {"added": 1, "relabelled": 0, "unchanged": 0}}

    created = run.json(*REGISTER)  # a later command opens the sandbox afresh: the file holds the code
    assert created["outcome"] == "created"
    assert created["user"]["user_group"] == {"value": "EX_ALUMNI", "desc": "Example alumni"}


def test_an_edit_to_an_unknown_group_works_once_loaded_from_json(run: Run) -> None:
    edit = ["user", "edit", "jd123", "--set", "user_group=VISITOR", "--yes"]
    refused = run(*edit)
    assert refused.exit_code == 3
    assert "the UserGroups table has no code VISITOR; " in flat(refused.stderr)
    assert LOAD_HINT.search(flat(refused.stderr))
    run.json("sandbox", "codes", "load", run.file("codes.json", '{"UserGroups": {"VISITOR": "Visiting scholar"}}'))
    assert run(*edit).exit_code == 0
    shown = run.json("user", "show", "jd123")
    assert shown["user_group"] == {"value": "VISITOR", "desc": "Visiting scholar"}


def test_show_lists_built_in_and_loaded_codes_and_one_table(run: Run) -> None:
    run.json("sandbox", "codes", "load", run.file("c.toml", '[UserGroups]\nALUM = "Alumni (ours)"\nEX_X = "X"\n'))
    every = run.json("sandbox", "codes", "show")["tables"]
    assert {"UserGroups", "UserIdentifierTypes", "ExternalSystems", "UserStatCategories"} <= set(every)
    groups = {row["code"]: row for row in every["UserGroups"]}
    assert groups["ALUM"] == {"code": "ALUM", "description": "Alumni (ours)", "loaded": True}
    assert groups["FACULTY"]["loaded"] is False
    assert run.json("sandbox", "codes", "show", "--loaded")["tables"] == {
        "UserGroups": [
            {"code": "ALUM", "description": "Alumni (ours)", "loaded": True},
            {"code": "EX_X", "description": "X", "loaded": True},
        ]
    }
    one = run("sandbox", "codes", "show", "usergroups")  # the table's name in any case
    assert one.exit_code == 0
    lines = one.stdout.splitlines()
    assert lines[0] == "UserGroups (13 code(s), 2 loaded)"
    assert any(line.split() == ["EX_X", "X", "[loaded]"] for line in lines)


def test_show_of_an_unknown_table_is_a_usage_error(run: Run) -> None:
    result = run("sandbox", "codes", "show", "Groups")
    assert result.exit_code == 2
    assert "unknown code table 'Groups'" in result.stderr
    assert "UserGroups" in result.stderr


def test_show_never_creates_the_file(run: Run) -> None:
    missing = run.folder / "none.sqlite3"
    result = run.runner.invoke(app, ["sandbox", "codes", "show", "UserGroups", "--db", str(missing)])
    assert result.exit_code == 0
    assert "DUKE_ALUMNI" in result.stdout
    assert not missing.exists()


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("a.json", '{"UserGroup": {"A": "B"}}', "unknown code table UserGroup (did you mean UserGroups?)"),
        ("b.json", '{"RecordTypes": {"ROBOT": "Robot"}}', "RecordTypes holds codes Alma fixes itself"),
        ("c.json", '{"UserGroups": ["A", "B"]}', "UserGroups must map each code to its description"),
        ("d.json", '{"UserGroups": {"A B": "Spaced"}}', "code 'A B' of UserGroups holds a space"),
        ("e.toml", "[UserGroups]\nA = 3\n", "the description of UserGroups A must be text, got int 3"),
        ("f.json", '{"UserGroups": {"A": "  "}}', "the description of UserGroups A is blank"),
        ("g.json", '{"UserGroups": {"vis": "V", "VIS": "V"}}', "UserGroups has both vis and VIS"),
        ("h.json", '{"UserGroups": {"A": "B"', "not valid JSON (line 1"),
        ("i.toml", "[UserGroups\nA = 'B'\n", "not valid TOML"),
        ("j.json", "{}", "names no code table"),
        ("k.json", '["UserGroups"]', "must map table names to their codes"),
        ("l.json", '{"UserGroups": {"A": "line\\nbreak"}}', "holds a control character"),
    ],
)
def test_a_bad_file_is_a_usage_error_and_stores_nothing(run: Run, name: str, text: str, says: str) -> None:
    result = run("sandbox", "codes", "load", run.file(name, text))
    assert result.exit_code == 2, result.output
    assert says in flat(result.stderr)
    assert "hint: give a JSON or TOML file like" in result.stderr
    assert run.loaded() == {}


def test_a_file_is_checked_whole_so_a_good_table_before_a_bad_one_is_not_stored(run: Run) -> None:
    text = '{"NoteTypes": {"GOOD": "Good"}, "UserGroups": {"OK": "Fine", "A B": "Spaced"}}'
    result = run("sandbox", "codes", "load", run.file("mixed.json", text))
    assert result.exit_code == 2
    assert run.loaded() == {}


def test_a_missing_file_is_a_usage_error(run: Run) -> None:
    result = run("sandbox", "codes", "load", str(run.folder / "nope.toml"))
    assert result.exit_code == 2
    assert "is not a file" in result.stderr


def test_loading_again_relabels_in_any_case_without_a_second_code(run: Run) -> None:
    run.json("sandbox", "codes", "load", run.file("1.json", '{"UserGroups": {"EX_VIS": "Visitor"}}'))
    again = run.json("sandbox", "codes", "load", run.file("2.json", '{"UserGroups": {"ex_vis": "Visiting scholar"}}'))
    assert again["tables"]["UserGroups"] == {"added": 0, "relabelled": 1, "unchanged": 0}
    assert run.loaded() == {"UserGroups": {"ex_vis": "Visiting scholar"}}
    rows = run.json("sandbox", "codes", "show", "UserGroups")["tables"]["UserGroups"]
    assert [row for row in rows if row["code"].casefold() == "ex_vis"] == [
        {"code": "ex_vis", "description": "Visiting scholar", "loaded": True}
    ]


def test_codes_stay_when_the_sandbox_is_reset(run: Run) -> None:
    run.json("sandbox", "codes", "load", run.file("c.json", '{"ExternalSystems": {"EX_SIS": "Our SIS"}}'))
    assert run("sandbox", "reset", "--yes").exit_code == 0
    assert run.loaded() == {"ExternalSystems": {"EX_SIS": "Our SIS"}}
