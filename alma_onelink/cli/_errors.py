"""What an error raised by a command says: its exit code, one ``error:`` line and a ``hint:``, in the command's words.

`error_parts` maps each kind of error (a usage problem, a refused merge or restore, a journal that
could not be written, an Alma error, a network failure, a bug) to its `ExitCode`, message and hint.
Errors of a package that was never imported are recognised without importing it (``--help`` loads
nothing of the SDK).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Final, cast

from alma_onelink.errors import (
    AlmaError,
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    InputError,
    NotFoundError,
)

from ._state import ExitCode, UsageProblem

if TYPE_CHECKING:
    from alma_onelink.merge import MergeRefused

__all__ = ["error_parts"]

_NOTHING_CHANGED: Final = "nothing was changed by this call"

_ALMA_HINTS: Final[dict[str, str]] = {
    # Alma's error codes whose SDK hint names a Python call: what to do at the command line instead.
    "401851": "another account already has this primary id or identifier: look it up first "
    "(alma-onelink user show ID, or alma-onelink user search --identifier VALUE)",
    "PER_SECOND_THRESHOLD": "more calls a second than the institution's quota reached Alma; run the command again "
    "in a moment",
    "DAILY_THRESHOLD": "the institution's daily API quota is used up; it resets at midnight: run the command again "
    "then",
}
"""The command's hint for an Alma error code, where the SDK's own hint is for a programmer."""


def _without_hint(text: str, hint: str | None) -> str:
    """``text`` (an `APIStatusError`'s message) without its ``hint: …`` line: the hint is said once, on its own."""
    if not hint:
        return text
    return "\n".join(line for line in text.splitlines() if line.strip() != f"hint: {hint}")


def _is_a(exc: BaseException, package: str, name: str) -> bool:
    """Whether ``exc`` is a ``package.name``, without loading ``package``: an error of a package that was never
    imported cannot have been raised (``--help`` and a mistyped flag load nothing of the SDK)."""
    loaded = sys.modules.get(package)
    return loaded is not None and isinstance(exc, getattr(loaded, name))


def error_parts(exc: BaseException) -> tuple[ExitCode, str, str | None]:
    """The exit code, the one-line message and the hint for an error a command raised."""
    if isinstance(exc, UsageProblem):
        return ExitCode.USAGE, str(exc), exc.hint
    if _is_a(exc, "alma_onelink.engine", "JournalError"):
        # The library's message says what was not written, what Alma may hold, and what to do.
        return ExitCode.JOURNAL, str(exc), None
    if _is_a(exc, "alma_onelink.merge", "MergeRefused"):
        reasons = "; ".join(cast("MergeRefused", exc).reasons)
        return (
            ExitCode.ACTION,
            f"merge refused: {reasons}",
            "nothing was written; do what the reasons say",
        )
    if _is_a(exc, "alma_onelink.engine", "RestoreError"):
        return ExitCode.ACTION, f"restore refused: {exc}", "nothing was written"
    if _is_a(exc, "alma_onelink.policy", "PolicyError"):
        return ExitCode.USAGE, str(exc), "alma-onelink policies lists the installed policies"
    if isinstance(exc, InputError):
        return ExitCode.USAGE, str(exc), None
    if isinstance(exc, NotFoundError):
        # Not a failure of Alma's: the id names no account. Staff act on it (exit 1), like a refusal.
        return (
            ExitCode.ACTION,
            f"no account found: {exc.message}",
            "check the id; `alma-onelink user search --name …` finds accounts by name or email",
        )
    if isinstance(exc, APIStatusError):
        hint = exc.hint
        said = _without_hint(str(exc), hint)
        return ExitCode.ALMA, f"Alma said: {said}", _ALMA_HINTS.get(exc.code or "", hint or _NOTHING_CHANGED)
    if isinstance(exc, APIConnectionError | APIResponseValidationError):
        return ExitCode.ALMA, f"Alma could not be reached or answered badly: {exc}", "check the network and --base-url"
    if isinstance(exc, AlmaError):
        return ExitCode.ALMA, str(exc), None
    return ExitCode.ACTION, f"unexpected {type(exc).__name__}: {exc}", "this is a bug; run again with --debug"
