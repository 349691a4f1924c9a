"""What installing the distributions gives a user: typed packages and the entry points they rely on."""

from __future__ import annotations

from importlib import metadata, resources

import pytest


@pytest.mark.parametrize("package", ["alma_onelink", "alma_onelink_duke", "alma_onelink_example"])
def test_packages_are_marked_typed(package: str) -> None:
    # Without py.typed, mypy in a user's project treats the package as untyped.
    assert resources.files(package).joinpath("py.typed").is_file()


def test_the_command_is_installed() -> None:
    scripts = {ep.name: ep.value for ep in metadata.entry_points(group="console_scripts")}
    assert scripts.get("alma-onelink") == "alma_onelink.cli:main"


def test_the_policies_are_registered() -> None:
    policies = {ep.name for ep in metadata.entry_points(group="alma_onelink.policies")}
    assert {"duke", "example"} <= policies


def test_the_version_is_the_distributions() -> None:
    import alma_onelink

    assert metadata.version("alma-onelink") == alma_onelink.__version__
