"""What the API carries from the old account (From) to the new one (To), item by item, and the records it writes.

Pure functions on Alma JSON and `User` records, shared by the plan and the apply step: `carry`
decides each item with the rule that decides it (stated in words, for the plan); `with_carried`,
`without_identifiers` and `marked` build the three records a merge writes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from alma_onelink.engine._compare import fold
from alma_onelink.engine._diff import describe, segment_items
from alma_onelink.models import (
    Address,
    Code,
    ContactInfo,
    Email,
    Phone,
    User,
    UserBlock,
    UserIdentifier,
    UserNote,
    UserStatistic,
)
from alma_onelink.policy.defaults import MERGE_SEGMENTS

from ._types import MergeItem

__all__ = ["NOTE_TYPE", "carry", "holds_carried", "marked", "with_carried", "without_identifiers"]

NOTE_TYPE = "OTHER"
"""The note type of the note a merge leaves on From (Alma's standard ``NoteTypes`` has it)."""

# --- what the API carries, item by item ------------------------------------------------------------


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _text(field: Any) -> str:
    if isinstance(field, dict):
        field = field.get("value")
    return "" if field is None else str(field)


_KEYS: dict[str, Callable[[dict[str, Any]], str]] = {
    "identifiers": lambda i: _text(i.get("value")).strip().casefold(),
    "addresses": lambda i: "|".join(fold(_text(i.get(k))) for k in ("line1", "city", "postal_code")).strip("|"),
    "emails": lambda i: _text(i.get("email_address")).strip().casefold(),
    "phones": lambda i: _digits(_text(i.get("phone_number"))),
    "notes": lambda i: _text(i.get("note_text")).strip(),
    "blocks": lambda i: f"{fold(_text(i.get('block_type')) or 'GENERAL')}|{fold(_text(i.get('block_description')))}",
    "statistics": lambda i: fold(_text(i.get("statistic_category"))),
    "proxies": lambda i: _text(i.get("primary_id")).strip().casefold(),
}
"""Segment → the key two items are the same by (case, accents and spacing ignored where people type them)."""

_NEW = {
    "identifiers": "To does not hold this value; it is taken off From first (Alma lets one user only hold an "
    "identifier value), then added to To",
    "addresses": "To has no address with this line 1, city and postal code",
    "emails": "To has no such email address (compared ignoring case)",
    "phones": "To has no such phone number (compared by its digits)",
    "notes": "To has no note with this text",
    "blocks": "To has no block of this type and description",
    "statistics": "To has no statistic of this category type",
}
_SAME = {
    "identifiers": "To already holds this value",
    "addresses": "To already has this address (same line 1, city and postal code)",
    "emails": "To already has this email address",
    "phones": "To already has this phone number",
    "notes": "To already has a note with this text",
    "blocks": "To already has a block of this type and description",
    "statistics": "To already has this statistic",
    "proxies": "To is already a proxy for this user",
}


def holds_carried(user: User, carried: list[MergeItem]) -> bool:
    """Whether ``user`` holds every carried item (each compared by its segment's rule)."""
    record = user.to_alma()
    keys = {segment: {key(i) for i in segment_items(record, segment)} for segment, key in _KEYS.items()}
    return all(_KEYS[item.segment](item.item) in keys[item.segment] for item in carried)


def carry(from_user: User, to_user: User, segments: list[str]) -> tuple[list[MergeItem], list[MergeItem]]:
    """What the API carries from From to To, and what it leaves, each with the rule that decided."""
    source, target = from_user.to_alma(), to_user.to_alma()
    carried: list[MergeItem] = []
    skipped: list[MergeItem] = []
    for segment in MERGE_SEGMENTS:
        items = segment_items(source, segment)
        if segment not in segments:
            why = f"the {segment} segment was not chosen"
            skipped += [MergeItem(segment=segment, description=describe(segment, i), reason=why, item=i) for i in items]
            continue
        key = _KEYS[segment]
        theirs = segment_items(target, segment)
        have = {key(item) for item in theirs}
        if segment == "identifiers":
            have.add((to_user.primary_id or "").casefold())
        types = {fold(_text(s.get("category_type"))) for s in theirs} - {""} if segment == "statistics" else set()
        preferred = {flag: any(item.get(flag) is True for item in theirs) for flag in ("preferred", "preferred_sms")}
        for item in items:
            found = key(item)
            left = _left_behind(
                segment, item, found=found, have=have, types=types, from_user=from_user, to_user=to_user
            )
            if left:
                skipped.append(MergeItem(segment=segment, description=describe(segment, item), reason=left, item=item))
                continue
            have.add(found)
            copy, reason = dict(item), _NEW[segment]
            if str(item.get("segment_type") or "").casefold() == "external":
                reason += "; copied as Internal (as External, the next feed load would overwrite it)"
            else:
                reason += "; copied as Internal"
            copy["segment_type"] = "Internal"
            for flag in ("preferred", "preferred_sms"):
                if copy.get(flag) is True and preferred[flag]:
                    copy[flag] = False
                    reason += (
                        f"; {'not preferred' if flag == 'preferred' else 'not preferred for SMS'}: To keeps its own"
                    )
                preferred[flag] = preferred[flag] or copy.get(flag) is True
            carried.append(MergeItem(segment=segment, description=describe(segment, copy), reason=reason, item=copy))
    return carried, skipped


MERGE_MARK = "Merged into "
"""How the note ``apply_merge`` writes on From begins (the default ``alma_onelink_merge_note``)."""


def is_merge_mark(note_text: str) -> bool:
    """Whether a note's text is the mark of an earlier merge ("Merged into <id> on <date> by <staff>")."""
    return note_text.strip().startswith(MERGE_MARK)


def merged_into(from_user: User, to_id: str) -> str | None:
    """The note on From saying it was merged into ``to_id`` already, if there is one."""
    wanted = f"{MERGE_MARK}{to_id}".casefold()
    for note in from_user.user_note:
        text = (note.note_text or "").strip()
        if text.casefold().startswith(wanted):
            return text
    return None


def _left_behind(
    segment: str, item: dict[str, Any], *, found: str, have: set[str], types: set[str], from_user: User, to_user: User
) -> str | None:
    """Why ``item`` is not carried, or ``None`` if it is."""
    if not found:
        return "incomplete (no value to compare): Alma would refuse it"
    if segment == "identifiers" and found == (from_user.primary_id or "").casefold():
        return (
            f"its value is From's primary id {from_user.primary_id}: Alma keeps ids unique across primary ids and "
            "identifiers, so To cannot hold it while From exists"
        )
    if found in have:
        return _SAME[segment]
    if segment == "notes" and is_merge_mark(found):
        return "it is the mark of an earlier merge, which belongs on the old account only"
    kind = fold(_text(item.get("category_type")))
    if segment == "statistics" and kind in types:
        ours = [
            _text(s.get("statistic_category"))
            for s in segment_items(to_user.to_alma(), segment)
            if fold(_text(s.get("category_type"))) == kind
        ]
        return (
            f"To already has a {_text(item.get('category_type'))} statistic ({', '.join(ours)}): To's is the "
            "policy's decision, not the old account's"
        )
    if segment == "proxies":
        return "Alma's API cannot write proxy_for_user (it is read-only): tick “Proxy for” in the UI merge to copy it"
    return None


# --- the records the merge writes ------------------------------------------------------------------

_LISTS: dict[str, tuple[str, type[Any]]] = {
    "identifiers": ("user_identifier", UserIdentifier),
    "notes": ("user_note", UserNote),
    "blocks": ("user_block", UserBlock),
    "statistics": ("user_statistic", UserStatistic),
}
_CONTACT: dict[str, tuple[str, type[Any]]] = {
    "addresses": ("address", Address),
    "emails": ("email", Email),
    "phones": ("phone", Phone),
}


def with_carried(to_user: User, carried: list[MergeItem]) -> User:
    """``to_user`` (a copy) with the carried items added after its own: GET → change → PUT, nothing lost."""
    final = to_user.model_copy(deep=True)
    contact = final.contact_info.model_copy(deep=True) if final.contact_info is not None else ContactInfo()
    touched = False
    for item in carried:
        if item.segment in _LISTS:
            name, model = _LISTS[item.segment]
            setattr(final, name, [*getattr(final, name), model.from_alma(item.item)])
        elif item.segment in _CONTACT:
            name, model = _CONTACT[item.segment]
            setattr(contact, name, [*getattr(contact, name), model.from_alma(item.item)])
            touched = True
    if touched:
        final.contact_info = contact
    return final


def without_identifiers(from_user: User, values: list[str]) -> User:
    """``from_user`` (a copy) without the identifiers whose values are in ``values`` (ignoring case)."""
    moving = {value.casefold() for value in values}
    stripped = from_user.model_copy(deep=True)
    stripped.user_identifier = [i for i in from_user.user_identifier if (i.value or "").casefold() not in moving]
    return stripped


def marked(from_user: User, note: str, today: date) -> User:
    """``from_user`` (a copy) marked merged: the note, status INACTIVE, expiry today (never later than it was)."""
    done = from_user.model_copy(deep=True)
    done.user_note = [
        *done.user_note,
        UserNote(
            note_type=Code(value=NOTE_TYPE),
            note_text=note,
            user_viewable=False,
            popup_note=False,
            segment_type="Internal",
        ),
    ]
    done.status = Code(value="INACTIVE")
    if done.expiry_date is None or done.expiry_date > today:
        done.expiry_date = today  # an account that expired earlier keeps its date: a merge never extends one
    return done
