"""The plugin docs tell the truth: every hook is documented, the tutorial's plugin is the example's."""

from __future__ import annotations

import inspect
import re
import tomllib
from pathlib import Path

import pytest

from alma_onelink.policy import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS_PAGE = ROOT / "docs" / "plugins" / "hooks.md"
TUTORIAL = ROOT / "docs" / "plugins" / "writing-a-policy.md"
DUKE_PAGE = ROOT / "docs" / "plugins" / "duke.md"
EXAMPLE_SOURCE = ROOT / "plugins" / "example" / "alma_onelink_example" / "__init__.py"

SPECS = {
    name: getattr(hookspecs, name)
    for name in dir(hookspecs)
    if name.startswith("alma_onelink_") and hasattr(getattr(hookspecs, name), "alma_onelink_spec")
}


def blocks(page: Path, language: str) -> list[str]:
    fence = re.compile(rf"^```{language}[^\n]*\n(.*?)^```\s*$", re.M | re.S)
    return fence.findall(page.read_text(encoding="utf-8"))


def test_there_are_hooks_to_document() -> None:
    assert len(SPECS) >= 9


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_hook_is_in_the_reference_table_with_its_kind(name: str) -> None:
    rows = {
        match.group(1): match.group(2).strip()
        for match in re.finditer(r"^\| `(alma_onelink_\w+)` \| ([^|]+) \|", HOOKS_PAGE.read_text(), re.M)
    }
    assert name in rows, f"{name} is missing from the table in docs/plugins/hooks.md"
    firstresult = SPECS[name].alma_onelink_spec["firstresult"]
    assert (rows[name] == "firstresult") == firstresult, f"{name}: the table says {rows[name]!r}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_hook_is_rendered_on_the_reference_page(name: str) -> None:
    page = HOOKS_PAGE.read_text()
    assert "::: alma_onelink.policy.hookspecs" in page
    assert f"        - {name}\n" in page, f"{name} is not in the mkdocstrings members of docs/plugins/hooks.md"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_hook_says_what_it_answers_and_when_it_is_called(name: str) -> None:
    doc = inspect.getdoc(SPECS[name]) or ""
    first_line = doc.splitlines()[0] if doc else ""
    assert first_line, f"{name} has no docstring"
    assert "Called by" in doc, f"{name}: say when it is called"
    firstresult = SPECS[name].alma_onelink_spec["firstresult"]
    assert ("**firstresult.**" in first_line) == firstresult, f"{name}: the summary must say how answers combine"
    assert "Returns:" in doc
    assert inspect.signature(SPECS[name]).return_annotation != inspect.Signature.empty


def test_the_tutorial_builds_the_example_plugin() -> None:
    [source] = [block for block in blocks(TUTORIAL, "python") if "class ExamplePolicy" in block]
    assert source == EXAMPLE_SOURCE.read_text(encoding="utf-8"), (
        "the tutorial's full plugin differs from plugins/example/alma_onelink_example/__init__.py"
    )


def test_the_tutorial_entry_point_is_the_example_one() -> None:
    [pyproject] = [block for block in blocks(TUTORIAL, "toml") if "entry-points" in block]
    shown = tomllib.loads(pyproject)["project"]["entry-points"]
    shipped = tomllib.loads((EXAMPLE_SOURCE.parents[1] / "pyproject.toml").read_text())["project"]["entry-points"]
    assert shown == shipped


def test_the_duke_settings_shown_are_valid(tmp_path: Path) -> None:
    pytest.importorskip("alma_onelink_duke")
    from alma_onelink_duke import load_config

    settings = [block for block in blocks(DUKE_PAGE, "toml") if "[affiliations." in block]
    assert len(settings) >= 2
    for number, block in enumerate(settings):
        path = tmp_path / f"shown-{number}.toml"
        path.write_text(block)
        load_config(path)  # raises DukeConfigError naming the bad key
