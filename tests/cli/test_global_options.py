"""The options of the whole command work after the command's name too, for every command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from alma_onelink.cli import app
from tests.cli.conftest import TODAY, Cli, patron_args

GLOBALS = [
    "--json", "--verbose", "--debug", "--policy", "default", "--journal", "j.jsonl", "--staff", "someone",
    "--db", "x.sqlite3", "--region", "eu",
]  # fmt: skip
"""Every global option but --api-key, --base-url (contradicting --region) and --version (it exits)."""


def leaves(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command that runs (not a group), with the words that name it."""
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        yield path, command
        return
    for name, sub in subcommands.items():
        yield from leaves(sub, (*path, name))


ROOT = typer.main.get_command(app)
COMMANDS = dict(leaves(ROOT))
LEAVES = sorted(COMMANDS)


def globals_for(path: tuple[str, ...]) -> list[str]:
    """`GLOBALS` less those the command declares itself (``sandbox seed --db`` is its own)."""
    own = {name for param in COMMANDS[path].params for name in getattr(param, "opts", ())}
    kept: list[str] = []
    dropped = False
    for word in GLOBALS:
        if word.startswith("--"):
            dropped = word in own
        elif dropped:  # the value of a dropped option
            continue
        if not dropped:
            kept.append(word)
    return kept


def parsed(args: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The global options ``args`` give, and the words left for the command."""
    ctx = ROOT.make_context("alma-onelink", list(args))
    rest = [*getattr(ctx, "_protected_args", ()), *ctx.args]  # click keeps the command's name apart
    return dict(ctx.params), rest


def test_every_command_is_covered() -> None:
    assert ("register",) in LEAVES
    assert ("merge", "apply") in LEAVES
    assert ("journal", "pending") in LEAVES
    assert len(LEAVES) >= 14


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_global_options_after_the_command_are_the_same_as_before_it(path: tuple[str, ...]) -> None:
    given = globals_for(path)
    before, rest_before = parsed([*given, *path])
    after, rest_after = parsed([*path, *given])
    assert after == before
    assert rest_after == rest_before == list(path)
    assert (after["json_output"], after["verbose"], after["policy"], after["staff"]) == (
        True,
        True,
        "default",
        "someone",
    )
    mixed, rest = parsed([path[0], "--json", *path[1:], "--policy", "default", "--arg"])
    assert (mixed["json_output"], mixed["policy"]) == (True, "default")
    assert rest == [*path, "--arg"]  # what is not a global option stays with the command, in order


def test_a_command_option_of_the_same_name_stays_the_commands() -> None:
    options, rest = parsed(["sandbox", "seed", "--db", "mine.sqlite3", "--json"])
    assert options["db"] is None
    assert options["json_output"] is True
    assert rest == ["sandbox", "seed", "--db", "mine.sqlite3"]


def test_a_value_is_never_taken_for_an_option() -> None:
    options, rest = parsed(["register", "--notes", "--json", "--first-name", "--policy"])
    assert options["json_output"] is False
    assert options["policy"] is None
    assert rest == ["register", "--notes", "--json", "--first-name", "--policy"]
    options, rest = parsed(["register", "--", "--json"])
    assert options["json_output"] is False
    assert rest == ["register", "--", "--json"]
    options, _ = parsed(["register", "--policy=default", "--staff=ann"])
    assert (options["policy"], options["staff"]) == ("default", "ann")


def test_a_global_option_without_its_value_is_a_usage_error(cli: Cli) -> None:
    result = cli("policies", "--policy")
    assert result.exit_code == 2
    assert "error: Invalid value for '--policy': needs a value after it" in result.stderr.splitlines()


def test_register_json_after_is_register_json_before(cli: Cli) -> None:
    after = cli("register", *patron_args(), "--today", TODAY, "--dry-run", "--json")
    before = cli("--json", "register", *patron_args(), "--today", TODAY, "--dry-run")
    assert after.exit_code == before.exit_code == 0
    first, second = json.loads(after.stdout), json.loads(before.stdout)
    for document in (first, second):
        document.pop("registration_id")
        document.pop("steps")
        document.pop("calls")
    assert first == second
    assert first["outcome"] == "created"


def test_policy_journal_staff_and_db_after_the_command(cli: Cli, tmp_path: Path) -> None:
    chosen = cli.json("check", *patron_args(affiliation="reciprocal", home_institution="Yale"), "--today", TODAY,
                      "--policy", "default")  # fmt: skip
    assert chosen["eligible"] is True  # "reciprocal" is the default policy's, not Duke's
    other = tmp_path / "other.jsonl"
    done = cli("user", "edit", "jd123", "--set", "job_description=x", "--yes", "--journal", str(other),
               "--staff", "ann", target=["--db", str(cli.db)])  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert json.loads(other.read_text(encoding="utf-8").splitlines()[0])["staff"] == "ann"
    shown = cli("user", "show", "jd123", "--json", "--db", str(cli.db), target=[])
    assert json.loads(shown.stdout)["job_description"] == "x"


def test_verbose_after_the_command_shows_the_calls(cli: Cli) -> None:
    quiet = cli("register", *patron_args(), "--today", TODAY, "--dry-run")
    loud = cli("register", *patron_args(), "--today", TODAY, "--dry-run", "--verbose")
    assert "GET /users/2000001" not in quiet.stdout
    assert " ms]" not in quiet.stdout
    assert "GET /users/2000001" in loud.stdout
    assert " ms]" in loud.stdout
