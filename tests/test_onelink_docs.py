"""The OneLink pages show what their examples print: each ``python`` block followed by an ``Output`` block.

``docs/onelink.md`` and ``docs/journal.md`` run top to bottom in one namespace, as a reader would
run them (and as ``tests/test_docs.py`` runs every page). Here, in addition, what each block prints
must be exactly the ``text title="Output"`` block right after it: the examples fix the registration
day and the sandbox's clock, and print nothing that changes from run to run (no timings, no
temporary paths, no random ids). The journal lines the journal page shows must read back as entries.
"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from alma_onelink.onelink import Journal

ROOT = Path(__file__).resolve().parents[1]
# Each page and the least number of examples whose output it shows (so the check cannot go vacuous).
SHOWN = {"onelink.md": 10, "journal.md": 4, "merging.md": 6}
PAGES = [ROOT / "docs" / name for name in SHOWN]
# A fenced block: its language and options, and its body (blocks inside tabs or lists are indented).
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
OUTPUT = re.compile(r'^text\s+title="Output"\s*$')


@dataclass
class Block:
    info: str
    body: str
    line: int
    end: int

    @property
    def is_python(self) -> bool:
        return self.info.split()[:1] == ["python"]

    @property
    def is_output(self) -> bool:
        return bool(OUTPUT.match(self.info.strip()))


def blocks(text: str) -> list[Block]:
    return [
        Block(
            info=match.group("info").strip(),
            body=textwrap.dedent(match.group("body")),
            line=text.count("\n", 0, match.start()) + 1,
            end=match.end(),
        )
        for match in FENCE.finditer(text)
    ]


def run_page(page: Path) -> list[tuple[Block, str, Block | None]]:
    """Run the page's python blocks in order; each with what it printed and the Output block after it."""
    text = page.read_text(encoding="utf-8")
    found = blocks(text)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    ran = []
    try:
        for index, block in enumerate(found):
            if not block.is_python:
                continue
            following = found[index + 1] if index + 1 < len(found) else None
            between = text[block.end : text.find("```", block.end + 1)] if following else ""
            shown = following if following is not None and following.is_output and not between.strip() else None
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                try:
                    exec(compile(block.body, f"{page.name}, line {block.line}", "exec"), namespace)
                except Exception as exc:
                    pytest.fail(f"{page.name}, python block at line {block.line} failed: {type(exc).__name__}: {exc}")
            ran.append((block, printed.getvalue(), shown))
    finally:
        for value in namespace.values():
            close = getattr(value, "close", None)
            if type(value).__name__ == "AlmaClient" and callable(close):
                close()
    return ran


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_page_shows_what_its_examples_print(page: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ALMA_API_KEY", "ALMA_REGION", "ALMA_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    ran = run_page(page)
    shown = [(block, printed, output) for block, printed, output in ran if output is not None]
    assert len(shown) >= SHOWN[page.name], f"{page.name} shows the output of only {len(shown)} examples"
    for block, printed, output in shown:
        assert printed == output.body, (
            f"{page.name}: the Output block after the python block at line {block.line} is not what it prints:\n"
            f"--- printed ---\n{printed}--- shown ---\n{output.body}"
        )
    silent_outputs = [b.line for b, printed, output in ran if output is None and printed.strip()]
    assert not silent_outputs, f"{page.name}: python blocks at lines {silent_outputs} print but show no Output"


def test_every_output_block_follows_a_python_block() -> None:
    for page in PAGES:
        found = blocks(page.read_text(encoding="utf-8"))
        orphans = [b.line for i, b in enumerate(found) if b.is_output and (i == 0 or not found[i - 1].is_python)]
        assert not orphans, f"{page.name}: Output blocks at lines {orphans} follow no python block"


def test_the_journal_lines_shown_read_back_as_entries(tmp_path: Path) -> None:
    page = ROOT / "docs" / "journal.md"
    [example] = [b for b in blocks(page.read_text(encoding="utf-8")) if b.info.startswith("json")]
    path = tmp_path / "journal.jsonl"
    path.write_text(example.body, encoding="utf-8")
    journal = Journal(path)
    [entry] = journal.entries()
    assert journal.skipped_lines == 0
    assert (entry.action, entry.result, entry.is_pending) == ("update", "done", False)
    assert entry.before is not None
    assert entry.after is not None
