"""The command's words for what the library says in Python's.

The library's messages are written for a programmer (``restore(alma, entry_id, force=True)``,
``confirm=``, ``journal.pending()``); staff at the command line act with flags and commands.
`staff_words` rewrites the Python idioms the library uses into the command that does the same
thing, for every message the command prints (errors, hints, reasons, issues, steps). What is not
recognised is left as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

__all__ = ["staff_words"]

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str], str], str]]


def _rule(pattern: str, replace: Callable[[re.Match[str], str], str]) -> _Rule:
    return re.compile(pattern), replace


_RULES: Final[tuple[_Rule, ...]] = (
    # Calls first, then the keyword arguments left over.
    _rule(
        r"\brestore\(alma, (?:entry_id|entry|ENTRY)(, force=True)?\)",
        lambda m, p: f"{p} journal restore ENTRY" + (" --force" if m.group(1) else ""),
    ),
    _rule(r"\bundo_merge\(alma, ?[^)]*\)", lambda m, p: f"{p} merge undo MERGE_ID"),
    _rule(
        r"\bplan_merge\(alma, '([^']*)', '([^']*)'\)",
        lambda m, p: f"{p} merge plan {m.group(1)} {m.group(2)}",
    ),
    _rule(r"\bplan_merge\(alma, [^)]*\)", lambda m, p: f"{p} merge plan FROM TO"),
    _rule(r"\bJournal\.pending\(\)|\bjournal\.pending\(\)", lambda m, p: f"{p} journal pending"),
    _rule(r"\bapply_merge\(delete_source=True\)", lambda m, p: "merge apply --delete-source"),
    _rule(r"\bapply_merge\b", lambda m, p: "merge apply"),
    _rule(r"\bMergePlan\.to_json\(\)", lambda m, p: "merge plan"),
    _rule(r" ?\(plan\.token\)", lambda m, p: ""),
    _rule(r"\bplan\.token\b", lambda m, p: "the plan's token"),
    _rule(r"\b([Pp])ass force=True\b", lambda m, p: ("A" if m.group(1) == "P" else "a") + "dd --force"),
    _rule(r"\bforce=True\b", lambda m, p: "--force"),
    _rule(r"\bforce=\"<reason>\"", lambda m, p: '--force "WHY"'),
    _rule(r"\bforce=\"([^\"]*)\"", lambda m, p: f'--force "{m.group(1)}"'),
    _rule(r" ?\(``force=``\)| ?\(force=\)", lambda m, p: " (--force)"),
    _rule(r"\bdelete_source=True\b", lambda m, p: "--delete-source"),
    _rule(r" ?\(delete_source=False\)", lambda m, p: " (without --delete-source)"),
    _rule(r"\bdelete_source=False\b", lambda m, p: "without --delete-source"),
    _rule(r"Token \(confirm=\)", lambda m, p: "Token"),
    _rule(r"\bconfirm=", lambda m, p: "--confirm "),
    _rule(r"\bconfirm must be\b", lambda m, p: "--confirm must be"),
    _rule(r"\bdry_run=True\b", lambda m, p: "--dry-run"),
    _rule(r"\bdonation\.given_on\b", lambda m, p: "the date of the gift (--donation-date)"),
    _rule(r"\bdonation\.amount\b", lambda m, p: "the gift (--donation-amount)"),
    _rule(r"\bstr\(result\)", lambda m, p: "the result above"),
    _rule(r"\beligibility\(\) reports why", lambda m, p: f"{p} check says why"),
    _rule(r"\beligibility\(\)", lambda m, p: f"{p} check"),
)


def staff_words(text: str, prefix: str = "alma-onelink") -> str:
    """``text`` with the library's Python idioms as the command's words; ``prefix`` starts each command.

    >>> staff_words("restore them one by one (restore(alma, entry_id, force=True))")
    'restore them one by one (alma-onelink journal restore ENTRY --force)'
    """
    for pattern, replace in _RULES:
        text = _substitute(pattern, replace, text, prefix)
    return text


def _substitute(pattern: re.Pattern[str], replace: Callable[[re.Match[str], str], str], text: str, prefix: str) -> str:
    def one(match: re.Match[str]) -> str:
        return replace(match, prefix)

    return pattern.sub(one, text)
