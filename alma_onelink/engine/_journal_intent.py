"""An intent to journal: what `Journal.intend` and `Journal.intend_many` take, checked and turned into a line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pydantic

from alma_onelink.errors import InputError

from ._journal_data import ACTIONS, SETTLED_KEYS, Action, JournalEntry, encode, plain_record

__all__ = ["Intent", "intent_of"]


@dataclass(frozen=True, slots=True)
class Intent:
    """One write to journal ahead of it, for `Journal.intend_many`: the arguments `Journal.intend` takes.

    ``before`` is the record as Alma holds it now (None for a create); ``sending`` the record an update
    is to send (what settles it if its end is lost); both Alma JSON objects (``user.to_alma()``).
    """

    action: Action
    target: str
    before: Mapping[str, Any] | None = None
    sending: Mapping[str, Any] | None = None
    staff: str | None = None
    registration: str | None = None
    operation: str | None = None
    reason: str | None = None


def intent_of(intent: Intent, *, entry_id: str, time: datetime) -> tuple[JournalEntry, bytes]:
    """The pending entry of ``intent`` and its intent line. Raises `InputError` for anything the journal cannot hold.

    An unknown action, a blank target, a record that is not a JSON object, text fields that are not
    text, or text that is not valid Unicode.
    """
    if not isinstance(intent, Intent):
        raise InputError(f"Each intent must be an Intent(action=..., target=..., ...), not {type(intent).__name__}.")
    if intent.action not in ACTIONS:
        raise InputError(f"Unknown journal action {intent.action!r}; use one of {', '.join(ACTIONS)}.")
    if not isinstance(intent.target, str) or not intent.target.strip():
        raise InputError("The journal needs the primary id of the record written (target); it was blank.")
    before = plain_record(intent.before, "before")
    sending = plain_record(intent.sending, "sending")
    try:
        entry = JournalEntry(
            id=entry_id,
            time=time,
            staff=intent.staff,
            action=intent.action,
            target=intent.target,
            before=before,
            sending=sending,
            registration=intent.registration,
            operation=intent.operation,
            reason=intent.reason,
        )
    except pydantic.ValidationError as exc:
        raise InputError(f"Cannot journal this write: {exc}") from exc
    left_out = SETTLED_KEYS if entry.sending is not None else SETTLED_KEYS | {"sending"}  # old shape when unset
    line = {"type": "intent", **entry.model_dump(mode="json", exclude=left_out), "time": entry.time.isoformat()}
    return entry, encode(line)
