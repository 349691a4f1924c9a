"""What a merge plan tells people: the notes a reviewer reads, and the steps left for Alma's UI merge.

Alma has no merge API (the reference, §8): its Merge Users job moves loans, requests, fees and
circulation history, copies the segments ticked, and deletes the old account. The API carries the
segments; these steps say exactly what a user administrator still does, and nothing more.
"""

from __future__ import annotations

from datetime import date

from alma_onelink.models import Phone, User

from ._types import MergePlan

__all__ = ["activity_summary", "plan_notes", "steps_after_delete", "ui_steps"]


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
