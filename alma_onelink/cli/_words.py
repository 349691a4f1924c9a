"""The library's messages as the command prints them.

The library writes its messages in the command's words, and adds what a Python caller passes in an
aside: ``applied without --delete-source (Python: delete_source=False)``. `staff_words` takes those
asides out, and gives each command the library names (``alma-onelink merge undo ID``) the global
options typed this time (``--db``, ``--journal``…), so that a command staff copy works on the same
sandbox and journal. Everything else is left as written: what the library says in its own words is
not rewritten here, so a message reworded at its source reads as reworded.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["COMMANDS", "staff_words"]

COMMANDS: Final = ("register", "check", "batch", "user", "merge", "journal", "policies", "sandbox", "demo")
"""The commands of ``alma-onelink`` (a test checks this against the app)."""

_PYTHON_ASIDE: Final = re.compile(r" ?\(Python: (?:[^()]|\([^()]*\))*\)")
"""`` (Python: …)``, with one level of parentheses inside (``(Python: restore(alma, id, force=True))``)."""

_COMMAND: Final = re.compile(rf"\balma-onelink(?= (?:{'|'.join(COMMANDS)})\b)")
"""``alma-onelink`` where a command follows (not where global options already do, nor in a path or a note)."""


def staff_words(text: str, prefix: str = "alma-onelink") -> str:
    """``text`` without its ``(Python: …)`` asides, each ``alma-onelink COMMAND`` in it starting with ``prefix``.

    >>> staff_words("kept, without --delete-source (Python: delete_source=False): then", "alma-onelink --db x.db")
    'kept, without --delete-source: then'
    >>> staff_words("run `alma-onelink merge undo 3f2a`", "alma-onelink --db x.db")
    'run `alma-onelink --db x.db merge undo 3f2a`'
    """
    text = _PYTHON_ASIDE.sub("", text)
    return _COMMAND.sub(lambda _: prefix, text) if prefix != "alma-onelink" else text
