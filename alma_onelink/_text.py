"""Characters that never reach a terminal or Alma as they are: what they are, how they are shown, how refused.

A terminal runs C0 and C1 control characters (ESC starts a sequence that can recolour the screen,
move the cursor, set the window's title, or write a link), and Unicode's direction controls reorder
what is shown (``"abc\\u202edcb"`` reads as something else). Text read from a CSV cell or an Alma
record may hold any of them. The command prints each as a visible escape (`visible`: ``\\x1b``,
``\\u202e``), so staff see it and nothing is run; what is written to Alma is refused instead
(`unsafe_characters`, `describe`).

The characters (`UNSAFE`): C0 controls U+0000 to U+001F (tab and line feed are allowed where a text
may hold them: `visible` keeps them by default), DEL U+007F, C1 controls U+0080 to U+009F, the
direction marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F, U+202A to U+202E,
U+2066 to U+2069), the line and paragraph separators U+2028 and U+2029, lone surrogates U+D800 to
U+DFFF (bytes that were not UTF-8, as Python reads them from a command line), and the invisible
characters that make two texts differ unseen: the zero-width space U+200B, the word joiner U+2060
and the zero-width no-break space (byte order mark) U+FEFF everywhere; the zero-width non-joiner
U+200C and joiner U+200D everywhere except between two letters of the scripts that write with them
(Arabic and Persian, Syriac, Thaana, the Indic scripts, Sinhala, Thai to Tibetan, Myanmar, Khmer,
Javanese), where they shape a real name (Persian ``"\u0645\u06cc\u200c\u0631\u0636\u0627"``,
Sinhala ``"\u0dc1\u0dca\u200d\u0dbb\u0dd3"``). Next to Latin letters, at either end, or inside an emoji sequence
(``"\U0001f468\u200d\U0001f469"``) a joiner is refused: a name is never written to Alma with one there.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["UNSAFE", "describe", "escape", "unsafe_characters", "visible"]

_JOINING: Final = (
    "\u0600-\u06ff\u0700-\u07bf\u0860-\u08ff\u0900-\u0dff\u0e00-\u0fff\u1000-\u109f"
    "\u1780-\u17ff\ua980-\ua9df\ufb50-\ufdff\ufe70-\ufefc"
)
"""The scripts whose writing uses U+200C and U+200D between letters (see the module's list)."""

UNSAFE: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\u2028\u2029\ufeff\ud800-\udfff]"
    f"|(?<![{_JOINING}])[\u200c\u200d]|[\u200c\u200d](?![{_JOINING}])"
)
"""One character a terminal could run, that reorders or breaks a line, or that hides between letters (see the
module's list)."""

_SHORT: Final = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

_NAMES: Final = {
    "\x00": "a NUL",
    "\t": "a tab",
    "\n": "a line break",
    "\r": "a carriage return",
    "\x1b": "an escape, which starts a terminal sequence",
    "\x7f": "a delete",
    "\u2028": "a line separator",
    "\u2029": "a paragraph separator",
    "\u200b": "a zero-width space, invisible",
    "\u200c": "a zero-width non-joiner, invisible here",
    "\u200d": "a zero-width joiner, invisible here",
    "\u2060": "a word joiner, invisible",
    "\ufeff": "a zero-width no-break space (byte order mark), invisible",
}


def escape(char: str) -> str:
    """``char`` as the visible escape Python writes it in: ``\\x1b``, ``\\u202e``, ``\\t``."""
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str, *, keep: str = "\n\t") -> str:
    """``text`` with every `UNSAFE` character but those in ``keep`` written as its escape (``\\x1b``).

    >>> visible("Ann\\x1b[31m"), visible("a\\tb", keep="")
    ('Ann\\\\x1b[31m', 'a\\\\tb')
    """
    if not UNSAFE.search(text):
        return text
    return UNSAFE.sub(lambda found: found[0] if found[0] in keep else escape(found[0]), text)


def unsafe_characters(text: str, *, allow: str = "") -> list[str]:
    """The distinct `UNSAFE` characters of ``text`` not in ``allow``, in the order they first appear."""
    found: list[str] = []
    for match in UNSAFE.finditer(text):
        char = match[0]
        if char not in allow and char not in found:
            found.append(char)
    return found


def describe(chars: list[str]) -> str:
    """What the characters are, for a message: ``"\\x1b (an escape, …)"``, the first three named."""

    def one(char: str) -> str:
        code = ord(char)
        if char in _NAMES:
            name = _NAMES[char]
        elif 0xD800 <= code <= 0xDFFF:
            name = "a byte that is not UTF-8 text"
        elif code < 0x20 or 0x80 <= code <= 0x9F:
            name = "a control character"
        else:
            name = "a direction control, which reorders the text shown"
        return f"{escape(char)} ({name})"

    shown = ", ".join(one(char) for char in chars[:3])
    return shown + (f" and {len(chars) - 3} more" if len(chars) > 3 else "")
