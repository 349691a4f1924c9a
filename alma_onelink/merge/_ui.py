"""What a merge plan tells people: the notes a reviewer reads, the steps left for Alma's UI merge, and whether
the plan was applied already.

Alma has no merge API (the reference, §8): its Merge Users job moves loans, requests, fees and
circulation history, copies the segments ticked, and deletes the old account. The API carries the
segments; these steps say exactly what a user administrator still does, and nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from alma_onelink.engine import JournalEntry, RestoreError
from alma_onelink.models import Phone, User

from ._types import MergePlan

__all__ = ["EarlierMerge", "activity_summary", "earlier_merge", "plan_notes", "steps_after_delete", "ui_steps"]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def activity_summary(plan: MergePlan) -> str:
    """``"2 loans, 1 request and 1 fee"``, or ``"no active loans, requests or fees"``."""
    counts = [(sum(1 for a in plan.activity if a.kind == kind), kind) for kind in ("loan", "request", "fee")]
    parts = [_plural(count, kind) for count, kind in counts if count]
    if not parts:
        return "no active loans, requests or fees"
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _phone(user: User) -> str | None:
    phones: list[Phone] = user.contact_info.phone if user.contact_info else []
    chosen = next((p for p in phones if p.preferred), phones[0] if phones else None)
    return chosen.phone_number if chosen is not None else None


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def plan_notes(from_user: User, to_user: User, plan: MergePlan, today: date) -> list[str]:
    """What a reviewer should know before applying: differences shown, not refused, and what stays behind."""
    notes = []
    if plan.force:
        notes.append(f"Merged on staff's word although {'; '.join(plan.mismatches) or 'nothing differs'}: {plan.force}")
    ours, theirs = from_user.preferred_email, to_user.preferred_email
    if ours and theirs and ours.strip().casefold() != theirs.strip().casefold():
        notes.append(
            f"The email differs: From {ours}, To {theirs}. Shown, not refused: people change them. "
            "To keeps its preferred email."
        )
    ours, theirs = _phone(from_user), _phone(to_user)
    if ours and theirs and _digits(ours) != _digits(theirs):
        notes.append(f"The phone differs: From {ours}, To {theirs}. Shown, not refused: people change them.")
    group = from_user.user_group.value if from_user.user_group and from_user.user_group.value else "none"
    status = from_user.status.value if from_user.status and from_user.status.value else "ACTIVE"
    expiry = from_user.expiry_date.isoformat() if from_user.expiry_date else "none"
    notes.append(
        f"Never carried: From's user group ({group}), status ({status}), expiry date ({expiry}) and record fields "
        "(names, record and account type, birth date, roles): To keeps its own."
    )
    if from_user.account_type is not None and from_user.account_type.matches("EXTERNAL"):
        source = from_user.external_id or "an external system"
        notes.append(
            f"From is EXTERNAL (loaded from {source}): what is carried is copied to To as Internal, as Alma's "
            f"“copy all segments as internal” does, so no load can overwrite it there. A later load from {source} "
            f"may still update or re-activate {plan.from_id}: ask its administrators to stop loading it."
        )
    if from_user.expiry_date is not None and from_user.expiry_date < today:
        notes.append(f"From expired on {expiry}; marking it merged keeps that date (a merge never extends an account).")
    if plan.activity:
        notes.append(
            f"From holds {activity_summary(plan)}: only Alma's UI merge can move them (the API has no way to move a "
            "loan, request or fee), so applying the merge keeps From, INACTIVE, even with --delete-source "
            "(Python: delete_source=True)."
        )
    else:
        notes.append(
            "From holds no active loans, requests or fees: applied with --delete-source (Python: delete_source=True), "
            "the merge may delete it. Its "
            "circulation history (returned loans, closed fees) is then deleted with it, where Alma's UI merge "
            "would move it to To."
        )
    return notes


def ui_steps(from_user: User, to_user: User, plan: MergePlan) -> list[str]:
    """The numbered steps left for a fulfillment user administrator in Alma's Merge Users job."""
    proxies = [item for item in plan.skipped if item.segment == "proxies" and "UI merge" in item.reason]
    boxes = (
        "Segments to be copied: tick only “Proxy for” (for "
        + ", ".join(item.description for item in proxies)
        + "), which the API cannot write; every other segment the plan carries is already on To."
        if proxies
        else "Segments to be copied: untick every box; the API already carried what the plan lists."
    )
    steps = [
        "In Alma, open Admin > User Management > Merge Users and choose Add Job (this needs the “Merge Patrons” "
        "privilege; Ex Libris support enables the feature).",
        f"From user: {plan.from_id} ({from_user.display_name or 'no name'}), the old account. To user: "
        f"{plan.to_id} ({to_user.display_name or 'no name'}), the OneLink account. Check both: From is moved into "
        "To and deleted, and Alma's merge cannot be undone.",
        boxes
        + " Demerits and attachments: this plan cannot read them; tick their boxes only if From has some to keep.",
        "Tick “Copy all segments as internal”, so a feed load cannot overwrite what is copied.",
        "Choose Merge, then Confirm. Alma moves From's "
        + (
            f"{activity_summary(plan)}, its circulation history"
            if plan.activity
            else "circulation history (it holds no active loans, requests or fees)"
        )
        + " and its interested-user entries to To, then deletes From.",
    ]
    if plan.activity:
        steps.append(
            f"Check that To {plan.to_id} now holds them: " + "; ".join(str(item) for item in plan.activity) + "."
        )
    return steps + steps_after_delete(plan)


def steps_after_delete(plan: MergePlan) -> list[str]:
    """What is left once From is deleted: identifiers whose value was From's primary id, added by hand."""
    return [
        f"If the old id should still find the account, add identifier {item.description} to To {plan.to_id} "
        "by hand once From is deleted (Alma frees the value only then)."
        for item in plan.skipped
        if item.segment == "identifiers" and "primary id" in item.reason
    ]


# --- the plan applied already --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EarlierMerge:
    """A merge the journal holds of the very accounts of a plan, as the plan read them (its writes' ``before``)."""

    merge_id: str
    """The merge's id (its entries' ``registration``): ``merge undo`` takes it."""
    applied_at: datetime
    """When its first write was journaled (UTC)."""
    staff: str | None
    """Who applied it, as journaled."""
    entry_ids: tuple[str, ...]
    """Its writes' journal entries, oldest first."""
    complete: bool
    """Every write the plan needs took effect, and none is open, rolled back or undone: the plan is applied.

    The delete of From (``--delete-source``) is not among them: ``deleted`` and ``delete_tried`` say of it."""
    deleted: bool = False
    """The merge deleted From, and that delete stands."""
    delete_tried: bool = False
    """The merge journaled a delete of From that did not take effect (refused, not sent, or cut short)."""
    unsettled: tuple[JournalEntry, ...] = ()
    """Its writes whose outcome the journal does not know (the run was killed, or Alma's answer was lost)."""
    from_after: dict[str, object] | None = None
    """From as the merge's last write that took effect on it left it (Alma's record), if journaled."""

    @property
    def delete_left(self) -> bool:
        """Applied, From not deleted, and the merge's own delete of it did not take effect."""
        return self.complete and not self.deleted and self.delete_tried


def _merges(entries: Iterable[JournalEntry]) -> dict[str, list[JournalEntry]]:
    found: dict[str, list[JournalEntry]] = {}
    for entry in entries:
        if entry.operation in ("merge", "merge_rollback") and entry.registration:
            found.setdefault(entry.registration, []).append(entry)
    return {merge_id: sorted(group, key=lambda e: e.time) for merge_id, group in found.items()}


def _as_planned(writes: list[JournalEntry], target: str, record: dict[str, object]) -> bool | None:
    """Whether the first write of ``target`` found it as the plan read it (``None``: it wrote nothing there)."""
    from ._apply import changed_fields  # noqa: PLC0415  (_apply imports this module)

    first = next((e for e in writes if e.operation == "merge" and e.target.casefold() == target.casefold()), None)
    if first is None or first.before is None:
        return None
    return not changed_fields(dict(first.before), dict(record))


def earlier_merge(plan: MergePlan, entries: Iterable[JournalEntry]) -> EarlierMerge | None:
    """The newest merge in ``entries`` (journal entries of both accounts, restores included) that applied ``plan``.

    A merge applied ``plan`` when its first write of each account found it as the plan read it.
    It is ``complete`` when the writes applying the plan takes (the identifiers taken off From, the
    items carried to To, From marked merged) all took effect and none is open, rolled back or undone;
    whether its delete of From (``--delete-source``) took effect is said apart (``deleted``,
    ``delete_tried``, ``delete_left``): an applied merge may have stopped before it.
    Pure: reads nothing but ``entries``.
    """
    from ._undo import standing_writes  # noqa: PLC0415  (it imports _apply, which imports this module)

    listed = list(entries)
    restores = [e for e in listed if e.operation == "restore"]
    found: list[EarlierMerge] = []
    for merge_id, writes in _merges(listed).items():
        from_planned = _as_planned(writes, plan.from_id, plan.from_record)
        to_planned = _as_planned(writes, plan.to_id, plan.to_record)
        if not from_planned or to_planned is False:
            continue
        ids = {w.id for w in writes}
        try:
            standing = standing_writes(merge_id, writes, [r for r in restores if r.registration in ids])
        except RestoreError:  # rolled back, undone, or nothing written
            standing = []
        done = [w for w in writes if w.operation == "merge" and w.result == "done"]
        of_from = [w for w in done if w.target.casefold() == plan.from_id.casefold()]
        updates_of_from = [w for w in of_from if w.action != "delete"]
        on_to = sum(1 for w in done if w.target.casefold() == plan.to_id.casefold())
        unsettled = tuple(w for w in writes if w.is_unsettled)
        complete = (
            len(standing) == len(done)
            and not unsettled
            and len(updates_of_from) >= (1 if plan.moved_identifiers else 0) + 1  # taken off (if any), marked merged
            and on_to >= (1 if plan.carried else 0)
        )
        deletes = [w for w in writes if w.operation == "merge" and w.action == "delete"]
        deleted = any(w.result == "done" for w in deletes) and complete
        last = updates_of_from[-1] if updates_of_from else None
        staff = next((w.staff for w in writes if w.staff), None)
        found.append(
            EarlierMerge(
                merge_id,
                writes[0].time,
                staff,
                tuple(w.id for w in writes),
                complete,
                deleted=deleted,
                delete_tried=bool(deletes) and not deleted,
                unsettled=unsettled,
                from_after=dict(last.after) if last is not None and last.after is not None else None,
            )
        )
    return max(found, key=lambda merge: merge.applied_at, default=None)
