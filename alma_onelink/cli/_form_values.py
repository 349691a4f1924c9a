"""The values of an application as typed, read one by one: dates, yes or no, and text that is plain.

Dates are ``YYYY-MM-DD`` or ``M/D/YYYY`` (US order, month first); a date that only reads day-first
is refused, never guessed. Text that will be written to Alma must be plain: a control character
(ESC and the terminal sequences it starts, C1 controls), a Unicode direction control or bytes that
were not UTF-8 are refused, naming the field (`plain_text_problems`); line breaks and tabs only
where a field may hold them (`MULTILINE`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Final

from alma_onelink._text import describe, unsafe_characters

__all__ = ["MULTILINE", "parse_date", "plain_text", "plain_text_problems", "yes_no"]

# --- dates ---------------------------------------------------------------------------------------------

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_US = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def parse_date(text: str) -> date:
    """``YYYY-MM-DD`` or ``M/D/YYYY`` (US order). Raises ``ValueError`` saying which forms are read."""
    value = text.strip()
    if iso := _ISO.fullmatch(value):
        year, month, day = (int(part) for part in iso.groups())
    elif us := _US.fullmatch(value):
        month, day, year = (int(part) for part in us.groups())
        if month > 12 and day <= 12:
            raise ValueError(
                f"{value!r} reads as day/month/year; dates with slashes are month first (M/D/YYYY, US order): "
                f"write {year:04d}-{day:02d}-{month:02d}"
            )
    else:
        raise ValueError(f"{value!r} is not a date: write YYYY-MM-DD (like 2024-05-12) or M/D/YYYY (like 5/12/2024)")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"{value!r} is not a day of the calendar: write YYYY-MM-DD or M/D/YYYY") from None


def yes_no(text: str) -> bool:
    """Yes or no as typed (``y``, ``true``, ``1``, ``x``…; blank is no). Raises ``ValueError`` for anything else."""
    value = text.strip().casefold()
    if value in ("", "0", "n", "no", "false", "f", "none"):
        return False
    if value in ("1", "y", "yes", "true", "t", "x"):
        return True
    raise ValueError(f"{text!r} is not yes or no")


# --- plain text -----------------------------------------------------------------------------------------

MULTILINE: Final = ("notes",)
"""Fields whose text may hold line breaks and tabs (a note written over several lines); a CRLF is read as LF."""


def plain_text_problems(form: Mapping[str, str | bool | None]) -> list[tuple[str | None, str]]:
    """Each text field of ``form`` holding a character that must not reach Alma or a terminal, and what it is.

    Refused: control characters (tab and line break too, except in `MULTILINE` fields), DEL, C1
    controls, Unicode direction controls, line and paragraph separators, and bytes that were not
    UTF-8 text (`alma_onelink._text`).
    """
    problems: list[tuple[str | None, str]] = []
    for name, value in form.items():
        if isinstance(value, str):
            problem = plain_text(value, multiline=name in MULTILINE)
            if problem:
                problems.append((name, problem))
    return problems


def plain_text(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` (stripped) is not plain text, or ``None``; ``multiline`` allows line breaks and tabs."""
    text = value.strip().replace("\r\n", "\n") if multiline else value.strip()
    found = unsafe_characters(text, allow="\n\t" if multiline else "")
    return f"holds {describe(found)}; type plain text only" if found else None
