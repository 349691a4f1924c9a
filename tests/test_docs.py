"""The docs are tested: every ```python block of every page runs, top to bottom, against the sandbox.

Blocks of one page share a namespace, as a reader would run them. Blocks fenced as ``text``,
``bash``, ``pycon`` or ``toml`` are shown, not run. No Alma key is set and no network is used.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
FENCE = re.compile(r"^(?P<indent>[ \t]*)```python[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)


def python_blocks(page: Path) -> list[str]:
    """The python code blocks of a page, dedented (blocks inside tabs are indented)."""
    return [textwrap.dedent(match.group("body")) for match in FENCE.finditer(page.read_text(encoding="utf-8"))]


def test_the_docs_have_code_to_run() -> None:
    assert sum(len(python_blocks(page)) for page in PAGES) >= 10


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_code_runs(page: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ALMA_API_KEY", "ALMA_REGION", "ALMA_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for number, block in enumerate(python_blocks(page), start=1):
        try:
            exec(compile(block, f"{page.relative_to(ROOT)} block {number}", "exec"), namespace)
        except Exception as exc:
            pytest.fail(f"{page.relative_to(ROOT)}, python block {number} failed: {type(exc).__name__}: {exc}")
    for value in namespace.values():
        close = getattr(value, "close", None)
        if type(value).__name__ == "AlmaClient" and callable(close):
            close()


def test_every_page_in_the_nav_exists() -> None:
    """mkdocs only logs a nav entry without a page, even with --strict; this makes it an error."""
    nav = re.findall(r":\s*([\w./-]+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.M)
    assert nav, "no pages found in mkdocs.yml's nav"
    missing = [page for page in nav if not (ROOT / "docs" / page).is_file()]
    assert not missing, f"pages in the nav but not in docs/: {missing}"
