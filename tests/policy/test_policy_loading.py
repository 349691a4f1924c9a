"""Loading policies through entry points: the installed distributions, add-ons, and loud failures."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from alma_onelink.policy import PLUGIN_GROUP, POLICY_GROUP, Patron, PolicyError, available_policies, load_policy
from alma_onelink.policy import manager as manager_module

INSTALL_HINT = "install the plugins: .venv/bin/pip install --no-deps -e plugins/duke -e plugins/example"


@pytest.fixture
def add_entry_points(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Stand in for more installed distributions: add entry points to what importlib.metadata finds."""
    real = manager_module._entry_points
    extra: list[EntryPoint] = []

    def fake(group: str) -> list[EntryPoint]:
        return sorted([*real(group), *(ep for ep in extra if ep.group == group)], key=lambda ep: ep.name)

    monkeypatch.setattr(manager_module, "_entry_points", fake)

    def add(name: str, value: str, group: str = POLICY_GROUP) -> None:
        extra.append(EntryPoint(name=name, value=value, group=group))

    return add


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_the_installed_policies_are_listed() -> None:
    names = available_policies()
    assert names[0] == "default"
    assert {"duke", "example"} <= set(names), INSTALL_HINT


def test_duke_loads_through_its_entry_point() -> None:
    policy = load_policy("duke")
    assert policy.name == "duke"
    assert type(policy.plugin("duke")).__name__ == "DukePolicy"
    assert type(policy.plugin("duke")).__module__ == "alma_onelink_duke.policy"
    assert policy.plugin_names[0] == "duke"
    assert policy.plugin_names[-1] == "default"
    assert [a.code for a in policy.affiliations()] == [
        "alumni",
        "trln",
        "borrowdirect",
        "friends",
        "former_affiliate",
        "community",
    ]


def test_the_example_loads_through_its_entry_point() -> None:
    policy = load_policy("example")
    assert type(policy.plugin("example")).__module__ == "alma_onelink_example"
    patron = Patron(onelink_id="20240001", first_name="A", last_name="B", affiliation="alumni")
    assert policy.patron_group(patron).value == "ALUM"


def test_an_unknown_name_lists_the_installed_policies() -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy("dook")
    message = str(caught.value)
    assert message.startswith("No policy named 'dook'. Did you mean 'duke'? Installed policies: default, ")
    assert "duke" in message
    assert "example" in message


def test_a_policy_that_cannot_be_imported_says_why(add_entry_points: Callable[..., None]) -> None:
    add_entry_points("ghost", "alma_onelink_ghost.policy:GhostPolicy")
    with pytest.raises(PolicyError) as caught:
        load_policy("ghost")
    assert str(caught.value).startswith(
        "Plugin 'ghost' (alma_onelink_ghost.policy:GhostPolicy, from unknown distribution) could not be imported: "
        "ModuleNotFoundError: No module named 'alma_onelink_ghost'"
    )
    assert caught.value.plugin == "ghost"


def test_a_policy_class_that_fails_to_set_up_says_why(add_entry_points: Callable[..., None], module_dir: Path) -> None:
    (module_dir / "fragile_policy.py").write_text(
        textwrap.dedent(
            """
            class FragilePolicy:
                def __init__(self):
                    raise FileNotFoundError("fragile.toml")
            """
        )
    )
    add_entry_points("fragile", "fragile_policy:FragilePolicy")
    with pytest.raises(PolicyError, match=r"^Plugin 'fragile' could not be set up: FileNotFoundError: fragile.toml$"):
        load_policy("fragile")


def test_two_distributions_claiming_one_name_is_an_error(add_entry_points: Callable[..., None]) -> None:
    add_entry_points("duke", "alma_onelink_example:ExamplePolicy")
    with pytest.raises(PolicyError, match="More than one distribution registers the policy 'duke'"):
        load_policy("duke")


def test_add_ons_load_with_every_policy_after_the_defaults_and_before_the_institution(
    add_entry_points: Callable[..., None], module_dir: Path
) -> None:
    (module_dir / "desk_notes.py").write_text(
        textwrap.dedent(
            """
            from alma_onelink.models import Code
            from alma_onelink.policy import hookimpl

            @hookimpl
            def alma_onelink_links():
                return {"help": "https://desk.example.org/help", "my_account": "https://desk.example.org/acct"}

            @hookimpl
            def alma_onelink_patron_group(patron):
                return Code(value="DESK")
            """
        )
    )
    add_entry_points("desk-notes", "desk_notes", group=PLUGIN_GROUP)
    example = load_policy("example")
    assert example.plugin_names == ["example", "desk-notes", "default"]
    assert example.links() == {
        "help": "https://desk.example.org/help",
        "my_account": "https://library.example.edu/account",
    }
    patron = Patron(onelink_id="20240001", first_name="A", last_name="B", affiliation="alumni")
    assert example.patron_group(patron).value == "ALUM"  # the institution is asked before the add-on
    assert load_policy("default").patron_group(patron).value == "DESK"  # ...which is asked before the defaults
    assert "desk-notes" not in load_policy("example", addons=False).plugin_names


def test_a_plugin_name_may_be_used_once(add_entry_points: Callable[..., None]) -> None:
    add_entry_points("example", "alma_onelink_example:ExamplePolicy", group=PLUGIN_GROUP)
    with pytest.raises(PolicyError, match="Two plugins are called 'example'"):
        load_policy("example")


def test_a_misspelled_hook_in_an_installed_plugin_fails_at_load(
    add_entry_points: Callable[..., None], module_dir: Path
) -> None:
    (module_dir / "typo_policy.py").write_text(
        textwrap.dedent(
            """
            from alma_onelink.policy import hookimpl

            @hookimpl
            def alma_onelink_expiry(patron, today):
                return today
            """
        )
    )
    add_entry_points("typo", "typo_policy")
    with pytest.raises(PolicyError, match="Did you mean 'alma_onelink_expiry_date'"):
        load_policy("typo")


def test_nothing_is_loaded_at_import_time() -> None:
    import alma_onelink.policy as policy_package

    assert not any(isinstance(value, manager_module.Policy) for value in vars(policy_package).values())
    assert not any(isinstance(value, manager_module.Policy) for value in vars(manager_module).values())
