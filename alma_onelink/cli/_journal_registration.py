"""``journal show --registration ID``: a registration named by its whole id or a unique start of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._state import State, UsageProblem

if TYPE_CHECKING:
    from alma_onelink.engine import Journal

__all__ = ["registration_of"]

_SHORTEST = 4
"""The fewest characters of a registration id `journal show --registration` takes as its start."""


def registration_of(state: State, journal: Journal, given: str) -> str | None:
    """The registration id ``given`` names (whole, or a unique start of it), or None when it names none or
    several (said, with the candidates)."""
    from alma_onelink.engine._journal_lookup import registrations_starting  # noqa: PLC0415

    wanted = given.strip().rstrip("…").rstrip(".")
    if len(wanted) < _SHORTEST:
        raise UsageProblem(
            f"--registration {given!r} is too short: give at least {_SHORTEST} characters of the id",
            "copy it from `journal show` (like 911d) or from `register --json`",
        )
    if journal.count(registration=wanted):
        return wanted
    candidates = registrations_starting(journal, wanted, limit=11)
    if len(candidates) == 1:
        return candidates[0]
    prefix = state.command_prefix()
    if not candidates:
        message = f"No registration starts with {wanted} in {journal.path}"
        hint = f"check the id, or --journal; `{prefix} journal show` lists the latest entries with their short ids"
    else:
        more = " (the first 10 are listed)" if len(candidates) > 10 else ""
        message = f"Several registrations start with {wanted}{more}"
        hint = "give more of the id: one of the commands below"
    state.out.error(message, hint)
    for candidate in candidates[:10]:
        state.out.say("  ", (f"{prefix} journal show --registration {candidate}", "bold"))
    if state.out.json_mode:
        state.out.document(
            {
                "journal": str(journal.path),
                "total": 0,
                "entries": [],
                "registration": wanted,
                "error": message,
                "candidates": candidates[:10],
            }
        )
    return None
