"""Start-up: ``import alma_onelink`` and ``alma-onelink --help`` load only what they use.

Each check runs in a fresh interpreter and reads its ``sys.modules``: these are facts about what is
imported, not timings (bench/startup.py measures the time).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "alma_onelink"
LAZY_PACKAGES = ("alma_onelink", "alma_onelink.engine", "alma_onelink.merge", "alma_onelink.models",
                 "alma_onelink.onelink", "alma_onelink.policy", "alma_onelink.sis")  # fmt: skip

HEAVY = ("httpx", "httpcore", "anyio", "pluggy", "pandas", "filelock", "platformdirs", "uvicorn", "sqlite3", "asyncio")
"""Libraries neither an SDK user's ``import alma_onelink`` nor the command's help needs."""
PYDANTIC = ("pydantic", "pydantic_core")
"""Needed by the models, and by typer itself to convert an option's value (not to print the app's help)."""

SDK_OUTSIDE_THE_COMMAND = (
    "alma_onelink._client", "alma_onelink.sandbox", "alma_onelink.engine", "alma_onelink.onelink", "alma_onelink.merge",
    "alma_onelink.policy", "alma_onelink.models", "alma_onelink.demo", "alma_onelink.resources", "alma_onelink_duke",
)  # fmt: skip
"""What a command imports when it runs, never to build the app or print help."""


def _modules_after(code: str, tmp_path: Path) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; returns ``{"modules": [...], **what code put in `found`}``."""
    out = tmp_path / "modules.json"
    script = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json as _json, sys as _sys
        found["modules"] = sorted(_sys.modules)
        with open({str(out)!r}, "w", encoding="utf-8") as _file:
            _json.dump(found, _file)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", "found = {}\n" + script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("ALMA_")}, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def _loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return sorted({m for m in modules for name in names if m == name or m.startswith(name + ".")})


def test_import_alma_onelink_loads_none_of_its_libraries_nor_its_own_modules(tmp_path: Path) -> None:
    modules = _modules_after("import alma_onelink", tmp_path)["modules"]
    assert _loaded(modules, (*HEAVY, *PYDANTIC, "rich", "typer", "click")) == []
    assert _loaded(modules, ("alma_onelink",)) == ["alma_onelink", "alma_onelink._lazy", "alma_onelink._version"]


def test_a_name_loads_only_what_it_needs(tmp_path: Path) -> None:
    found = _modules_after("from alma_onelink import InputError, __version__", tmp_path)
    assert _loaded(found["modules"], (*HEAVY, *PYDANTIC)) == []
    assert _loaded(found["modules"], SDK_OUTSIDE_THE_COMMAND) == []


def test_the_sis_package_loads_its_writer_only_when_a_name_is_used(tmp_path: Path) -> None:
    found = _modules_after("import alma_onelink.sis", tmp_path)
    assert _loaded(found["modules"], (*HEAVY, *PYDANTIC)) == []
    assert _loaded(found["modules"], ("alma_onelink.sis",)) == ["alma_onelink.sis"]
    used = _modules_after("from alma_onelink.sis import write_sis_file", tmp_path)
    assert "alma_onelink.sis._write" in used["modules"]
    beyond_the_models = tuple(name for name in SDK_OUTSIDE_THE_COMMAND if name != "alma_onelink.models")
    assert _loaded(used["modules"], beyond_the_models) == []  # no client, policy, engine nor sandbox


@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_the_commands_help_loads_nothing_of_the_sdk_nor_pydantic(argv: list[str], tmp_path: Path) -> None:
    found = _modules_after(
        f"""
        from alma_onelink.cli import main
        found["status"] = main({argv!r})
        """,
        tmp_path,
    )
    assert found["status"] == 0
    assert _loaded(found["modules"], (*HEAVY, *PYDANTIC)) == []
    assert _loaded(found["modules"], SDK_OUTSIDE_THE_COMMAND) == []


@pytest.mark.parametrize(
    ("argv", "status"),
    [
        (["register", "--help"], 0),
        (["batch", "--help"], 0),
        (["sandbox", "serve", "--help"], 0),
        (["journal"], 2),  # no subcommand: the group's help
        (["register", "--no-such-flag"], 2),
        (["--region", "eu", "user", "show"], 2),  # a missing argument
    ],
)
def test_a_commands_help_and_usage_errors_load_nothing_of_the_sdk(argv: list[str], status: int, tmp_path: Path) -> None:
    """Past the app's own help, typer converts the global options' values with pydantic: nothing more is loaded."""
    found = _modules_after(
        f"""
        from alma_onelink.cli import main
        found["status"] = main({argv!r})
        """,
        tmp_path,
    )
    assert found["status"] == status
    assert _loaded(found["modules"], HEAVY) == []
    assert _loaded(found["modules"], SDK_OUTSIDE_THE_COMMAND) == []


def test_building_every_command_for_the_docs_loads_nothing_of_the_sdk(tmp_path: Path) -> None:
    """What ``typer alma_onelink.cli utils docs`` (make cli-docs) does: every command and option built."""
    found = _modules_after(
        """
        import typer.main
        from alma_onelink.cli import app
        group = typer.main.get_command(app)
        found["commands"] = sorted(group.commands)
        """,
        tmp_path,
    )
    assert {"register", "batch", "user", "merge", "journal", "sandbox"} <= set(found["commands"])
    assert _loaded(found["modules"], (*HEAVY, *PYDANTIC)) == []
    assert _loaded(found["modules"], SDK_OUTSIDE_THE_COMMAND) == []


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_public_name_resolves_and_dir_lists_it(package: str) -> None:
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError):
        _ = module.no_such_name


def _type_checking_imports(package: str) -> dict[str, str]:
    """The names ``package``'s ``__init__`` imports under ``if TYPE_CHECKING:`` → the module each comes from."""
    path = PACKAGE.parent.joinpath(*package.split("."), "__init__.py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom):
                    source = "." * statement.level + (statement.module or "")
                    module = importlib.util.resolve_name(source, package) if statement.level else source
                    found.update({alias.asname or alias.name: module for alias in statement.names})
    return found


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_what_type_checkers_see_is_what_runs(package: str) -> None:
    """The ``TYPE_CHECKING`` imports (what mypy and IDEs read) name every public name, each from where it runs."""
    module = importlib.import_module(package)
    seen = _type_checking_imports(package)
    assert set(seen) == set(module.__all__) - {"__version__"}
    for name, home in seen.items():
        assert getattr(module, name) is getattr(importlib.import_module(home), name), name


def test_a_name_spelt_like_its_module_is_the_name_whatever_was_imported_first(tmp_path: Path) -> None:
    found = _modules_after(
        """
        import types
        import alma_onelink.engine.restore
        from alma_onelink.engine import restore
        from alma_onelink import restore as top
        found["function"] = not isinstance(restore, types.ModuleType) and callable(restore) and top is restore
        """,
        tmp_path,
    )
    assert found["function"]


def test_a_subpackage_is_found_as_an_attribute_as_before(tmp_path: Path) -> None:
    found = _modules_after(
        """
        import alma_onelink
        found["load_policy"] = callable(alma_onelink.policy.load_policy)
        found["errors"] = alma_onelink.errors.__name__
        """,
        tmp_path,
    )
    assert (found["load_policy"], found["errors"]) == (True, "alma_onelink.errors")


def test_the_values_the_help_shows_are_the_sdks() -> None:
    from alma_onelink import REGIONS, demo
    from alma_onelink.cli import _sdk
    from alma_onelink.onelink.batch import MAX_CONCURRENCY
    from alma_onelink.policy.types import PRIOR_ROLES
    from alma_onelink.sandbox import FAULT_KINDS

    assert tuple(REGIONS) == _sdk.REGION_NAMES
    assert _sdk.PRIOR_ROLES == PRIOR_ROLES
    assert (_sdk.DEMO_DEFAULT_PATRONS, _sdk.DEMO_MAX_PATRONS) == (demo.DEFAULT_PATRONS, demo.MAX_PATRONS)
    assert _sdk.FAULT_KINDS == FAULT_KINDS
    assert _sdk.BATCH_MAX_CONCURRENCY == MAX_CONCURRENCY


def test_every_outcome_has_an_exit_status() -> None:
    """The command's table is keyed by the outcomes' values (so it imports nothing): none may be missing."""
    from alma_onelink.cli._state import OUTCOME_EXIT
    from alma_onelink.onelink import Outcome

    assert set(OUTCOME_EXIT) == {outcome.value for outcome in Outcome}
    assert all(OUTCOME_EXIT[outcome] is OUTCOME_EXIT[outcome.value] for outcome in Outcome)
