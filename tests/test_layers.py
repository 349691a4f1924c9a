"""The house's walls: each package imports only the layers below it (DESIGN.md, "Dependency direction")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "alma_onelink"

# package -> the alma_onelink packages it must never import (directly or by a lazy import inside a function).
# ``sis`` (the SIS import file) sits beside the sandbox: models and errors only; registration (onelink) and the
# command build on it, nothing below them may import it.
FORBIDDEN: dict[str, set[str]] = {
    "models": {"_client", "resources", "engine", "onelink", "merge", "cli", "sandbox", "policy", "demo", "sis"},
    "policy": {"_client", "resources", "engine", "onelink", "merge", "cli", "sandbox", "demo", "sis"},
    "sandbox": {"_client", "resources", "engine", "onelink", "merge", "cli", "policy", "demo", "sis"},
    "sis": {"_client", "resources", "engine", "onelink", "merge", "cli", "sandbox", "policy", "demo", "testing"},
    "resources": {"engine", "onelink", "merge", "cli", "demo", "sis"},
    "engine": {"onelink", "merge", "cli", "demo", "testing", "sis"},
    "onelink": {"merge", "cli", "demo"},
    "merge": {"onelink", "cli", "demo"},
}
# The one sanctioned exception: onelink/__init__ forwards the merge's old names, with a DeprecationWarning.
ALLOWED = {("onelink/__init__.py", "merge")}


def _imports(path: Path) -> set[str]:
    """The first component under alma_onelink of every module ``path`` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package_parts = path.relative_to(PACKAGE).parts[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package_parts[: len(package_parts) - (node.level - 1)])
                module = [*base, *(node.module.split(".") if node.module else [])]
                names = ["alma_onelink." + ".".join(module)] if module else []
                if not node.module:
                    names += [f"alma_onelink.{'.'.join([*base, alias.name])}" for alias in node.names]
            else:
                names = [node.module or ""]
                if node.module == "alma_onelink":
                    names += [f"alma_onelink.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "alma_onelink" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_arrows_point_only_downward(package: str) -> None:
    wrong = []
    for path in sorted((PACKAGE / package).rglob("*.py")):
        where = path.relative_to(PACKAGE / package).as_posix()
        for imported in _imports(path) & FORBIDDEN[package]:
            if (f"{package}/{where}", imported) not in ALLOWED:
                wrong.append(f"{package}/{where} imports alma_onelink.{imported}")
    assert not wrong, "\n".join(wrong)


def test_the_merges_old_names_still_work_from_onelink_with_a_warning() -> None:
    import alma_onelink.merge
    import alma_onelink.onelink

    with pytest.warns(DeprecationWarning, match=r"import it from alma_onelink\.merge"):
        moved = alma_onelink.onelink.plan_merge
    assert moved is alma_onelink.merge.plan_merge
    with pytest.raises(AttributeError):
        _ = alma_onelink.onelink.no_such_name


def test_every_public_name_of_the_three_packages_is_importable_from_the_top() -> None:
    import alma_onelink

    for name in ("Journal", "JournalEntry", "restore", "arestore", "register_patron", "aregister_many"):
        assert hasattr(alma_onelink, name)
    for name in alma_onelink.merge.__all__:
        if name.endswith("_merge") or name in {"MergePlan", "MergeResult", "MergeRefused"}:
            assert getattr(alma_onelink, name) is getattr(alma_onelink.merge, name)
