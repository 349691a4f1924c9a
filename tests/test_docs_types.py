"""The docs' examples pass ``mypy --strict`` as a user would run them: a page's blocks as one script.

Run outside the project's configuration (no pydantic plugin, no ``mypy_path``), as someone who copied
the examples into a file of their own would. The pages listed are those whose examples are checked;
add a page here once its examples type-check.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^(?P<indent>[ \t]*)```python[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
CHECKED = [
    "docs/quickstart.md",
    "docs/errors.md",
    "docs/pagination.md",
    "docs/onelink.md",
    "docs/sis.md",
    "docs/journal.md",
    "docs/merging.md",
    "docs/sandbox.md",
    "docs/rate-limits.md",
    "docs/plugins/duke.md",
    "docs/plugins/writing-a-policy.md",
    "README.md",
]


def script_of(page: Path) -> str:
    return "\n".join(textwrap.dedent(m.group("body")) for m in FENCE.finditer(page.read_text(encoding="utf-8")))


def test_doc_examples_pass_mypy_strict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = []
    for name in CHECKED:
        target = tmp_path / (name.removesuffix(".md").replace("/", "_").replace("-", "_") + "_example.py")
        target.write_text(script_of(ROOT / name), encoding="utf-8")
        files.append(str(target))
    monkeypatch.chdir(tmp_path)  # away from pyproject.toml: the user's defaults, not ours
    out, err, status = api.run(["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), *files])
    assert status == 0, out + err
