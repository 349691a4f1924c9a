"""What one read of Alma says of a write whose end the journal lost: done, failed, or cannot tell, and why.

Pure: the record read (or the record a later write read just before it) against the entry's records.
A create took effect if the account exists; a delete if it is gone. An update is judged by the
record it was to send (``sending``, journaled with its intent), on the fields it changes: the
account holding what was sent there (as Alma keeps it: `_holds` leaves aside what Alma fills in by
itself) and as it was before elsewhere is done; as it was before, failed. An account holding every
change the update was to make, with only fields it did not touch changed since, is done too (its
record after is the account as the update left it, so a restore refuses to undo the later change);
one holding none of its changes, with other fields changed, failed. Anything else cannot be told,
and says why and what to check. So does an update of an account that is gone, and one journaled
without ``sending`` (by an older version) whose account changed. An account handed off in a SIS
file (operation ``"sis_file"``) that Alma does not hold yet is waiting for Alma's load: it stays
pending.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any, Final, Literal

from ._compare import comparable
from .journal import JournalEntry

__all__ = ["HANDED_OFF", "SETTLED_BY_READING", "Decision", "accepted_create", "decide", "decide_by_following"]

SETTLED_BY_READING: Final = "settled by reading Alma"
"""How every settlement note starts."""
HANDED_OFF: Final = "sis_file"
"""The journal's ``operation`` of an account handed off in a SIS import file (pending until Alma loads it)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """How a write ended, as far as Alma tells: ``result`` None when it cannot tell (``why``, ``what_to_do``)."""

    result: Literal["done", "failed"] | None
    note: str = ""
    """For a settlement: what was found, starting ``settled by …``."""
    after: dict[str, Any] | None = None
    """The record the write left (for ``done``), as the settlement journals it."""
    why: str = ""
    """For an entry Alma cannot tell about: why, in words staff read."""
    what_to_do: str = ""
    """For an entry Alma cannot tell about: what to check, with the command."""


def _was(entry: JournalEntry) -> str:
    if entry.result == "unknown":
        return "its outcome was unknown"
    return "the run had stopped before its completion line"


def _show(entry: JournalEntry) -> str:
    return f"`alma-onelink journal show --target {shlex.quote(entry.target)}`"


def _fields(keys: set[str]) -> str:
    return ", ".join(sorted(keys)) or "none"


def decide(entry: JournalEntry, found: dict[str, Any] | None, *, where: str = "by reading Alma") -> Decision:
    """What Alma holds says of ``entry``.

    ``found`` is the record (Alma JSON) whose primary id is the entry's target, None if there is none;
    ``where`` says where it was read, for the note.
    """
    target, action, was = entry.target, entry.action, _was(entry)
    how = f"settled {where}"
    if action == "create":
        if found is not None:
            what = "the account handed off in the SIS file is in Alma" if entry.operation == HANDED_OFF else ""
            return Decision("done", f"{how}: {target} exists, so {what or 'the create took effect'} ({was})", found)
        if entry.operation == HANDED_OFF:
            return Decision(
                None,
                why=f"there is no account {target} in Alma yet: Alma's SIS job has not loaded the file it was handed "
                "off in (or refused this account), so the hand-off stays pending",
                what_to_do="once Alma has loaded the SIS file, `alma-onelink batch FILE --reconcile` (FILE: the batch "
                "file the SIS file was written from) settles it; if it stays missing, read the job's report in Alma "
                "(Admin > Monitor Jobs > History)",
            )
        return Decision("failed", f"{how}: there is no account {target}, so the create did not happen ({was})")
    if action == "delete":
        if found is None:
            return Decision("done", f"{how}: {target} is gone, so the delete took effect ({was})")
        return Decision("failed", f"{how}: {target} still exists, so the delete did not happen ({was})")
    if found is None:
        return Decision(
            None,
            why=f"{target} is not in Alma any more, and no later write in this journal read it: whether this update "
            "took effect cannot be told from Alma",
            what_to_do=f"find out in Alma who deleted {target} (not through this journal: {_show(entry)} lists every "
            "write on it that was). With the account gone there is nothing to put back, and the entry stays open.",
        )
    return _update(entry, found, how, was)


def _holds(stored: Any, sent: Any) -> bool:
    """Whether ``stored`` (as Alma keeps it) holds ``sent``: every value sent, Alma's own additions aside.

    Alma fills in what a write leaves out (``segment_type``, a code's ``desc``, a note's author) and
    writes codes and ids in its own case and without surrounding blanks; lists keep their length.
    """
    if isinstance(sent, dict):
        return isinstance(stored, dict) and all(_holds(stored.get(key), value) for key, value in sent.items())
    if isinstance(sent, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(sent)
            and all(_holds(a, b) for a, b in zip(stored, sent, strict=True))
        )
    if isinstance(sent, str) and isinstance(stored, str):
        return stored.strip().casefold() == sent.strip().casefold()
    return bool(stored == sent)


def _update(entry: JournalEntry, found: dict[str, Any], how: str, was: str) -> Decision:
    target = entry.target
    now, before = comparable(found), comparable(entry.before or {})
    if entry.sending is None:
        if now == before:
            return Decision("failed", f"{how}: {target} is as it was before, so the update did not happen ({was})")
        return Decision(
            None,
            why=f"{target} is no longer as it was before, but this entry does not hold the record the update was to "
            "send (it was journaled by an older version), so whether the change is this update's or another write's "
            f"cannot be told ({was})",
            what_to_do=_what_to_do(entry),
        )
    sending = comparable(entry.sending)
    changed = {key for key in set(before) | set(sending) if before.get(key) != sending.get(key)}
    others = {key for key in set(before) | set(now) if key not in changed and now.get(key) != before.get(key)}
    took = all(_holds(now.get(key), sending[key]) if key in sending else key not in now for key in changed)
    stayed = all(now.get(key) == before.get(key) for key in changed)
    if not others and changed and took:
        return Decision(
            "done", f"{how}: {target} holds the record the update was to send, so it took effect ({was})", found
        )
    if not others and (stayed or not changed):
        return Decision("failed", f"{how}: {target} is as it was before, so the update did not happen ({was})")
    if changed and took:
        # Only fields the update did not touch differ: a later write changed them. Its record after is the account
        # with those fields as they were, so a restore sees the later change and refuses to undo it.
        note = (
            f"{how}: {target} holds every change the update was to make ({_fields(changed)}), and {_fields(others)} "
            f"changed since by another write, so the update took effect ({was})"
        )
        return Decision("done", note, _as_left(found, entry.before or {}, others))
    if changed and stayed:
        note = (
            f"{how}: {target} holds none of the changes the update was to make ({_fields(changed)}), and "
            f"{_fields(others)} changed since by another write, so the update did not happen ({was})"
        )
        return Decision("failed", note)
    differ = {key for key in changed if not (_holds(now.get(key), sending.get(key)) or now.get(key) == before.get(key))}
    return Decision(
        None,
        why=f"{target} is neither as it was before nor as this update was to leave it ({_fields(differ | others)} "
        f"differ): another write changed it too, so whether this update took effect cannot be told ({was})",
        what_to_do=_what_to_do(entry),
    )


def _what_to_do(entry: JournalEntry) -> str:
    target = entry.target
    return (
        f"compare {target} in Alma with the records of this entry ({_show(entry)} lists every write on it): if "
        f"{target} is as it should be, nothing is to be done and the entry stays open; to put its record before back "
        f"all the same, `alma-onelink journal restore {entry.id} --force`"
    )


def _as_left(found: dict[str, Any], before: dict[str, Any], others: set[str]) -> dict[str, Any]:
    """The account as the update left it: as found, but for the fields a later write changed, as they were before."""
    left = dict(found)
    for key in others:
        if key in before:
            left[key] = before[key]
        else:
            left.pop(key, None)
    return left


def decide_by_following(entry: JournalEntry, following: JournalEntry) -> Decision | None:
    """What the next journaled write on the same account says of ``entry``; None if it says nothing.

    Its record before was read from Alma just before it, after ``entry``'s write was over: that is how
    ``entry`` left the account, whatever later writes did to it since. A later create Alma accepted
    (its own completion, not a settlement) says the account was not there: a create before it did not
    stay, a delete before it took effect, and an account handed off in a SIS file was not loaded from
    it: the create through Alma's API superseded the hand-off, which is settled failed, its note naming
    the SIS file to remove the account from before loading it.
    """
    where = f"by reading Alma before the next write on {entry.target} (journal entry {following.id})"
    # That read shows the write done when it was; but it may have been made while the write was still under way
    # (another run, at the same time), so unless the two are of one run, one after the other, it never says failed.
    if entry.operation == HANDED_OFF:
        return _superseded(entry, following) if accepted_create(following) else None
    if following.before is not None:
        decided = decide(entry, following.before, where=where)
        if decided.result != "failed" or _in_turn(entry, following):
            return decided
        return _maybe_stale(entry, following)
    if not accepted_create(following):
        return None
    how, was = f"settled {where}", _was(entry)
    if entry.action == "create":
        return Decision(
            "failed", f"{how}: Alma accepted that later create of {entry.target}, so this one did not happen ({was})"
        )
    if entry.action == "delete":
        return Decision("done", f"{how}: Alma accepted a later create of {entry.target}, so it was gone ({was})")
    return None


def accepted_create(entry: JournalEntry) -> bool:
    """Whether ``entry`` is a create Alma's API accepted: its own completion says done (not a settlement, nor a
    hand-off in a SIS file)."""
    return (
        entry.action == "create"
        and entry.result == "done"
        and entry.completed is not None
        and entry.operation != HANDED_OFF
    )


_SIS_FILE = re.compile(r"in the SIS file (.+?) \(sha256 ")


def _superseded(entry: JournalEntry, create: JournalEntry) -> Decision:
    """A hand-off in a SIS file that a later create through Alma's API superseded: failed, the file to fix named."""
    named = _SIS_FILE.search(entry.reason or "")
    sis_file = named[1] if named else "the SIS file it was handed off in"
    note = (
        f"settled by reading the journal: {entry.target} was created through Alma's API by journal entry "
        f"{create.id} after this hand-off, so the account handed off in the SIS file was not loaded from it "
        f"(superseded); remove {entry.target} from {sis_file} before loading it"
    )
    return Decision("failed", note)


def _in_turn(entry: JournalEntry, following: JournalEntry) -> bool:
    """Whether ``following`` was read after ``entry``'s write was over: both of one registration (or merge, or
    restore), whose writes are made one after the other."""
    return entry.registration is not None and entry.registration == following.registration


def _maybe_stale(entry: JournalEntry, following: JournalEntry) -> Decision:
    """The next write read the account as this one found it before, but maybe before this one ended: cannot tell."""
    return Decision(
        None,
        why=f"the next write on {entry.target} (journal entry {following.id}, of another run) read it without this "
        "write's change, but that read may have been made while this write was still under way, and the writes since "
        f"keep Alma from telling whether this one took effect ({_was(entry)})",
        what_to_do=_what_to_do(entry),
    )
