"""The merge, planned once for both clients: who may be merged, what the API carries, what only the UI can.

`planning` is a generator of reads only (no I/O, no write): it reads both accounts, refuses with
every reason at once (`MergeRefused`), reads the old account's activity and builds the `MergePlan`.
What is carried, item by item, is decided in ``_carry``; what people read, in ``_ui``.
"""

from __future__ import annotations

import shlex
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from alma_onelink._text import describe, unsafe_characters
from alma_onelink.engine._compare import fold, same_name, same_value
from alma_onelink.engine._ops import GetUser, ListActivity, Op
from alma_onelink.errors import InputError, NotFoundError
from alma_onelink.models import Fee, Loan, User, UserRequest
from alma_onelink.policy import Policy
from alma_onelink.policy import defaults as default_rules
from alma_onelink.policy.defaults import DEFAULT_MERGE_SEGMENTS, MERGE_SEGMENTS

from ._carry import carry, marked, merged_into, with_carried, without_identifiers
from ._types import ActivityItem, MergePlan, MergeRefused, plan_digest
from ._ui import plan_notes, ui_steps

__all__ = ["MergeRules", "build_plan", "check_accounts", "check_force", "check_segments", "planning", "read_account"]


@dataclass(frozen=True, slots=True)
class MergeRules:
    """The policy's answers to a merge's questions, or the in-tree defaults' when there is no policy."""

    policy: Policy | None

    @property
    def name(self) -> str | None:
        return self.policy.name if self.policy is not None else None

    def today(self) -> date:
        return self.policy.today() if self.policy is not None else date.today()

    def segments(self, from_user: User, to_user: User) -> list[str]:
        if self.policy is None:
            return list(DEFAULT_MERGE_SEGMENTS)
        return self.policy.merge_segments(from_user, to_user)

    def vetoes(self, from_user: User, to_user: User) -> list[str]:
        if self.policy is None:
            veto = default_rules.alma_onelink_merge_veto(from_user, to_user)
            return [veto] if veto else []
        return self.policy.merge_vetoes(from_user, to_user)

    def onelink_problem(self, to_id: str) -> str | None:
        return self.policy.validate_onelink_id(to_id) if self.policy is not None else None

    def note(self, from_user: User, to_user: User, *, today: date, staff: str | None, plan: MergePlan) -> str:
        """The note on From: the policy's text, then the reason of a forced merge."""
        if self.policy is None:
            text = default_rules.alma_onelink_merge_note(to_user, today, staff)
        else:
            text = self.policy.merge_note(from_user, to_user, today=today, staff=staff)
        if plan.force:
            fields = [mismatch.split(":", 1)[0] for mismatch in plan.mismatches]
            text += f"; merged although {', '.join(fields)} differ: {plan.force}" if fields else f"; {plan.force}"
        return text


# --- input, checked before any request ------------------------------------------------------------


def check_segments(segments: Iterable[str] | str | None) -> list[str] | None:
    """The segments chosen, in Alma's UI order; ``None`` to let the policy decide. Raises ``InputError``."""
    if segments is None:
        return None
    if isinstance(segments, bytes | bytearray | Mapping) or not isinstance(segments, str | Iterable):
        raise InputError(
            f"The segments to carry (--segments; Python: segments=) must be segment names, like "
            f'["identifiers", "notes"]; got {type(segments).__name__}. Choose from: {", ".join(MERGE_SEGMENTS)}.'
        )
    names = [segments] if isinstance(segments, str) else list(segments)
    odd = [name for name in names if not isinstance(name, str)]
    if odd:
        raise InputError(
            f'Each segment to carry is a name, like "identifiers"; got {", ".join(type(n).__name__ for n in odd)}. '
            f"Choose from: {', '.join(MERGE_SEGMENTS)}."
        )
    unknown = [name for name in names if name not in MERGE_SEGMENTS]
    if unknown:
        raise InputError(
            f"Unknown merge segment(s) {', '.join(map(repr, unknown))}; choose from: {', '.join(MERGE_SEGMENTS)}."
        )
    return [name for name in MERGE_SEGMENTS if name in names]


def check_force(force: str | None) -> str | None:
    """The reason given with ``force=``, on one line. Raises ``InputError`` for a blank, non-text or unplain one."""
    if force is None:
        return None
    if not isinstance(force, str) or not force.strip():
        raise InputError(
            "The reason given with --force (Python: force=) must say why the two accounts are the same person, "
            f'like "same Duke Unique ID; married name" (it goes into the journal and the note on From); got {force!r}'
        )
    reason = " ".join(force.split())
    found = unsafe_characters(reason)
    if found:
        raise InputError(
            f"The reason given with --force (Python: force=) holds {describe(found)}; it goes into the journal and "
            "the note on From in Alma: type plain text only"
        )
    return reason


def token_refusal(token: str, given: object) -> str:
    """Why ``given`` is not the plan's ``token``, and what to give instead (always the whole token).

    Only the token's first 8 characters are shown, followed by "…" and its length: a preview that
    could be pasted back would be refused as shortened.
    """
    whole = (
        'the whole token: the line `Token:` printed with the plan, or the plan file\'s "token", as in '
        "`alma-onelink merge apply PLAN --confirm TOKEN` (Python: confirm=plan.token)"
    )
    typed = given.strip().rstrip(".…") if isinstance(given, str) else ""
    if not typed:
        return f"no token was given: applying a plan takes {whole}, to show the plan applied is the plan reviewed"
    if typed == token:
        return f"the token given has characters after it: give {whole}, alone"
    if token.startswith(typed):
        return f"the token given is shortened ({len(typed)} of its {len(token)} characters): give {whole}"
    return (
        f"the token given is not this plan's token ({token[:8]}…, {len(token)} characters): the plan applied must be "
        f"the plan reviewed. Give {whole}; a plan made again has a new token"
    )


# --- the plan --------------------------------------------------------------------------------------


def read_account(user_id: str, role: str, reasons: list[str]) -> Generator[Op, Any, User | None]:
    """``user_id``'s record, or ``None`` with the reason appended (no such account, or not its primary id)."""
    try:
        user: User = yield GetUser(user_id)
    except NotFoundError:
        reasons.append(f"the {role} account {user_id} does not exist in Alma")
        return None
    if not same_value(user.primary_id, user_id):
        reasons.append(
            f"{user_id} is not the primary id of an account: it finds {user.primary_id} through an identifier; "
            f"give {role}'s primary id"
        )
        return None
    return user


def planning(
    from_id: str, to_id: str, *, rules: MergeRules, segments: list[str] | None, force: str | None, today: date
) -> Generator[Op, Any, MergePlan]:
    """Read both accounts and From's activity, then decide. Raises `MergeRefused` listing every reason."""
    what = f"Cannot merge {from_id} into {to_id}"
    if same_value(from_id.strip(), to_id.strip()):
        raise MergeRefused([f"From and To are the same account ({from_id}): a merge needs two accounts"], what=what)
    reasons: list[str] = []
    from_user = yield from read_account(from_id, "From", reasons)
    to_user = yield from read_account(to_id, "To", reasons)
    mismatches: list[str] = []
    if from_user is not None and to_user is not None:
        more, mismatches = check_accounts(from_user, to_user, rules=rules, force=force)
        reasons += more
    if reasons or from_user is None or to_user is None:
        raise MergeRefused(reasons, what=what)
    chosen = segments if segments is not None else rules.segments(from_user, to_user)
    primary = from_user.primary_id or from_id
    loans: list[Loan] = yield ListActivity(primary, "loans")
    requests: list[UserRequest] = yield ListActivity(primary, "requests")
    fees: list[Fee] = yield ListActivity(primary, "fees")
    activity = [*map(_loan, loans), *map(_request, requests), *map(_fee, fees)]
    return build_plan(
        from_user,
        to_user,
        rules=rules,
        segments=chosen,
        force=force,
        mismatches=mismatches,
        activity=activity,
        today=today,
    )


def check_accounts(
    from_user: User, to_user: User, *, rules: MergeRules, force: str | None
) -> tuple[list[str], list[str]]:
    """Every reason not to merge these two records (pure), and how the two persons differ.

    Checked when planning and again, on the records re-read, when applying: a plan file edited to
    point at other accounts is refused like a plan made for them.
    """
    reasons: list[str] = []
    from_id, to_id = from_user.primary_id or "", to_user.primary_id or ""
    if same_value(from_user.primary_id, to_user.primary_id):
        reasons.append(f"{from_id} and {to_id} are the same account ({to_id})")
    if not from_user.is_patron_only:
        roles = [
            str(role.role_type)
            for role in from_user.user_role
            if not (role.role_type and role.role_type.matches("200"))
        ]
        reasons.append(
            f"From {from_id} holds roles besides Patron (role types {', '.join(roles)}): Alma merges only accounts "
            "whose one role is Patron; remove the other roles first"
        )
    if done := merged_into(from_user, to_id):
        reasons.append(
            f"{from_id} is already marked merged into {to_id} (its note: {done!r}): what the API can do is done; "
            "what remains is Alma's UI merge (Admin > User Management > Merge Users), or undoing the merge to start "
            "over: `alma-onelink merge undo MERGE_ID`, MERGE_ID being the id merge apply printed (Python: undo_merge)"
        )
    if problem := rules.onelink_problem(to_id):
        reasons.append(f"To {to_id} is not a OneLink account for the {rules.name!r} policy: {problem}")
    mismatches = person_differences(from_user, to_user)
    if mismatches and not force:
        reasons.append(
            f"they may not be the same person: {'; '.join(mismatches)}. If they are, plan again saying why: "
            f'`alma-onelink merge plan {shlex.quote(from_id)} {shlex.quote(to_id)} --force "WHY"` '
            '(Python: force="WHY"); the reason goes into the journal and the note on From'
        )
    reasons += [f"the {rules.name or 'default'} policy vetoes it: {veto}" for veto in rules.vetoes(from_user, to_user)]
    return reasons, mismatches


def person_differences(from_user: User, to_user: User) -> list[str]:
    """Why the two may not be the same person: names (ignoring case, accents, spacing) and birth dates."""
    found = []
    if not same_name(from_user, to_user.first_name or "", to_user.last_name or ""):
        if fold(from_user.last_name) != fold(to_user.last_name) or not fold(to_user.last_name):
            found.append(f"last_name: From {from_user.last_name!r}, To {to_user.last_name!r}")
        if not same_name(to_user, from_user.first_name or "", to_user.last_name or ""):
            found.append(f"first_name: From {from_user.first_name!r}, To {to_user.first_name!r}")
    if from_user.birth_date and to_user.birth_date and from_user.birth_date != to_user.birth_date:
        found.append(f"birth_date: From {from_user.birth_date.isoformat()}, To {to_user.birth_date.isoformat()}")
    return found


def build_plan(
    from_user: User,
    to_user: User,
    *,
    rules: MergeRules,
    segments: list[str],
    force: str | None,
    mismatches: list[str],
    activity: list[ActivityItem],
    today: date,
) -> MergePlan:
    """The plan (pure): what is carried and why, both final records, the notes, the UI steps, the token."""
    carried, skipped = carry(from_user, to_user, segments)
    draft = MergePlan(
        from_id=from_user.primary_id or "",
        to_id=to_user.primary_id or "",
        from_record=from_user.to_alma(),
        to_record=to_user.to_alma(),
        segments=segments,
        carried=carried,
        skipped=skipped,
        notes=[],
        activity=activity,
        ui_steps=[],
        final_from={},
        final_to=with_carried(to_user, carried).to_alma(),
        force=force,
        mismatches=mismatches if force else [],
        policy=rules.name,
        planned_on=today,
        token="",
    )
    note = rules.note(from_user, to_user, today=today, staff=None, plan=draft)
    final_from = marked(without_identifiers(from_user, draft.moved_identifiers), note, today)
    contents = draft.model_dump(mode="json", exclude={"token"})
    contents.update(
        final_from=final_from.to_alma(),
        notes=plan_notes(from_user, to_user, draft, today),
        ui_steps=ui_steps(from_user, to_user, draft),
    )
    plan = MergePlan.model_validate({**contents, "token": plan_digest(contents)})
    plan._policy = rules.policy
    return plan


# --- activity only the UI merge moves -----------------------------------------------------------------


def _loan(loan: Loan) -> ActivityItem:
    return ActivityItem(
        kind="loan",
        id=loan.loan_id,
        title=loan.title,
        barcode=loan.item_barcode,
        due_date=loan.due_date,
        status=loan.loan_status,
    )


def _request(request: UserRequest) -> ActivityItem:
    return ActivityItem(
        kind="request",
        id=request.request_id,
        title=request.title,
        barcode=request.barcode,
        type=request.request_type,
        status=request.request_status,
    )


def _fee(fee: Fee) -> ActivityItem:
    return ActivityItem(
        kind="fee",
        id=fee.id,
        title=fee.title,
        barcode=fee.barcode.value if fee.barcode is not None else None,
        type=fee.type.value if fee.type is not None else None,
        status=fee.status.value if fee.status is not None else None,
        amount=fee.original_amount,
        balance=fee.balance,
    )
