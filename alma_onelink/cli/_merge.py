"""``merge plan | apply | undo``: an old account into the OneLink account, plan first, applied with the plan's token."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alma_onelink.errors import InputError

from ._app import app, command
from ._journal import restore_json, say_restore
from ._output import value
from ._register import parse_today, today_option
from ._registration import show_steps
from ._state import ExitCode, State, UsageProblem, check_file_path, state_of
from ._words import staff_words

if TYPE_CHECKING:
    from alma_onelink.merge import MergePlan, MergeRefused, MergeResult
    from alma_onelink.merge._ui import EarlierMerge
    from alma_onelink.merge._undo import AlreadyUndone

__all__ = ["merge_app"]

merge_app = typer.Typer(
    short_help="Merge an old account: plan, apply, undo.",
    help="Merge an old account into the patron's OneLink account: plan (reads only), apply, undo.",
    no_args_is_help=True,
)
app.add_typer(merge_app, name="merge")


@command(merge_app, "plan", short_help="Plan a merge (reads only) into a file.")
def plan(
    ctx: typer.Context,
    *,
    from_id: Annotated[str, typer.Argument(metavar="FROM", help="The old account (merged away).")],
    to_id: Annotated[str, typer.Argument(metavar="TO", help="The OneLink account it goes into.")],
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Where to write the plan (default merge-FROM-TO.json).")
    ] = None,
    segments: Annotated[
        str | None,
        typer.Option("--segments", metavar="LIST", help="Comma-separated segments to carry (default: the policy's)."),
    ] = None,
    force: Annotated[
        str | None,
        typer.Option(
            "--force", metavar="WHY", help="Why these are the same person although names or birth dates differ."
        ),
    ] = None,
    today: Annotated[str | None, today_option] = None,
) -> int:
    """Plan the merge of FROM into TO. Nothing is written to Alma; the plan goes to a file for review.

    Exit status: 0 planned, 1 refused (the reasons say why).
    """
    from alma_onelink.merge import plan_merge  # noqa: PLC0415  (loaded when a command runs, not for --help)

    state = state_of(ctx)
    target = check_file_path(out or Path(f"merge-{from_id}-{to_id}.json"), "--out", what="a .json file")
    chosen = [part.strip() for part in segments.split(",") if part.strip()] if segments is not None else None
    made = plan_merge(
        state.alma(), from_id, to_id, policy=state.policy(), segments=chosen, force=force, today=parse_today(today)
    )
    target = target.absolute()  # the command to copy works from any folder, for whoever applies it
    _write_private(target, made.to_json())
    apply = f"{state.command_prefix()} merge apply {shlex.quote(str(target))} --confirm {made.token}"
    if state.out.json_mode:
        state.out.document(
            {
                "plan_file": str(target),
                "token": made.token,
                "apply_command": apply,
                "plan": made.model_dump(mode="json"),
            }
        )
    else:
        _show_plan(state, made)
        state.out.say("Plan written to ", str(target))
        state.out.say("Token: ", made.token)
        state.out.say(("To apply it, after review:", "bold"))
        state.out.say(f"  {apply}")
    return ExitCode.OK


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (a plan holds two patrons' records)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_TRUNC


def _show_plan(state: State, plan: MergePlan) -> None:
    """The plan as a user administrator reviews it, every line whole."""
    out, prefix = state.out, state.command_prefix()
    policy = f"the {plan.policy!r} policy" if plan.policy else "no policy (the defaults' rules)"
    sections: list[tuple[str, list[str]]] = [
        (
            "Plan",
            [f"made {plan.planned_on.isoformat()} with {policy}", f"segments: {', '.join(plan.segments) or 'none'}"],
        ),
        ("Forced", [f"{'; '.join(plan.mismatches)} — {plan.force}"] if plan.force else []),
        (f"Carried by the API ({len(plan.carried)})", [str(item) for item in plan.carried]),
        (f"Not carried ({len(plan.skipped)})", [str(item) for item in plan.skipped]),
        ("Notes", list(plan.notes)),
        (f"Only Alma's UI merge can move ({len(plan.activity)})", [str(item) for item in plan.activity]),
        ("Then, in Alma, a user administrator", [f"{n}. {step}" for n, step in enumerate(plan.ui_steps, 1)]),
        ("What changes", plan.diff().splitlines()),
    ]
    out.say((value(plan.headline()), "bold"))
    for title, lines in sections:
        if lines:
            out.say((f"{title}:", "bold"))
            for line in lines:
                out.say(f"  {value(staff_words(line, prefix))}")


def _read_plan(state: State, path: Path) -> MergePlan:
    from alma_onelink.merge import MergePlan  # noqa: PLC0415  (loaded when a command runs, not for --help)

    make = f"make one with: {state.command_prefix()} merge plan FROM TO"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageProblem(f"no plan file {str(path)!r}", make) from None
    except (IsADirectoryError, UnicodeDecodeError) as exc:
        raise UsageProblem(f"{str(path)!r} is not a plan file: {exc}", make) from None
    try:
        return MergePlan.from_json(text)
    except InputError as exc:
        raise UsageProblem(
            f"{str(path)!r} is not a merge plan file as merge plan writes it: {_why(exc)}", make
        ) from None


def _why(exc: InputError) -> str:
    """What is wrong with a plan file, in a few words (not the validator's page of text)."""
    import pydantic  # noqa: PLC0415  (loaded with the plan)

    cause = exc.__cause__
    if not isinstance(cause, pydantic.ValidationError):
        return staff_words(str(exc))
    problems = cause.errors()
    if any(problem["type"] == "json_invalid" for problem in problems):
        return "it is not JSON (cut short, or not a plan)"
    fields = sorted({".".join(str(part) for part in problem["loc"]) or "the whole file" for problem in problems})
    shown = ", ".join(fields[:6]) + (f" and {len(fields) - 6} more" if len(fields) > 6 else "")
    return f"{len(fields)} field{'s' if len(fields) != 1 else ''} missing or not valid ({shown})"


def _show_result(state: State, result: MergeResult) -> None:
    out, prefix = state.out, state.command_prefix()
    colour = {"merged": "green", "rolled_back": "yellow"}.get(result.outcome.value, "red")
    out.say((value(staff_words(result.headline(), prefix)), f"bold {colour}"))
    if result.journal_error:  # what Alma holds is above; this says what the journal lacks and what to do
        out.say((staff_words(result.journal_error, prefix), "bold red"))
    show_steps(state, result.steps)
    if result.ui_steps:
        out.say(("Still to do in Alma's UI (a user administrator):", "bold"))
        for n, step in enumerate(result.ui_steps, 1):
            out.say(f"  {n}. {value(staff_words(step, prefix))}")
    if result.journal_entries:
        where = f" in {result.journal_path}" if result.journal_path else ""
        out.say(f"Journal: merge {result.merge_id}, {len(result.journal_entries)} entries{where}")


def _check_token(plan: MergePlan, confirm: str) -> None:
    """Refuse a ``--confirm`` that is not the plan's whole token, saying what to paste (not to plan again)."""
    from alma_onelink.merge import MergeRefused  # noqa: PLC0415  (loaded with the plan)

    typed = confirm.strip()
    shortened = typed.rstrip(".…")
    if typed == plan.token:
        return
    if shortened and plan.token.startswith(shortened):
        raise UsageProblem(
            f"--confirm: the token is shortened ({len(shortened)} of its {len(plan.token)} characters)",
            'paste the whole token: the line `Token:` that merge plan printed, or the plan file\'s "token"',
        )
    raise MergeRefused(
        [
            "--confirm is not this plan's token: the plan applied must be the plan reviewed. Paste the whole token "
            "merge plan printed with this plan file; a plan made again has a new token"
        ],
        what=f"Cannot apply the plan to merge {plan.from_id} into {plan.to_id}",
    )


@command(merge_app, "apply", short_help="Apply a reviewed plan with its token.")
def apply(
    ctx: typer.Context,
    *,
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="The plan file merge plan wrote.")],
    confirm: Annotated[
        str, typer.Option("--confirm", metavar="TOKEN", help="The plan's token: you reviewed this plan.")
    ],
    delete_source: Annotated[
        bool, typer.Option("--delete-source", help="Delete the old account once merged, if it has no activity.")
    ] = False,
    today: Annotated[str | None, today_option] = None,
) -> int:
    """Apply the merge PLAN. Every write is journaled first; undo with merge undo MERGE_ID.

    A plan applied already is not applied twice: the merge the journal holds is named, and nothing is
    sent. Exit status: 0 merged (or applied already), 1 refused (the token, or an account changed since
    the plan), 3 rolled back or failed, 4 the journal could not be written (what Alma holds is shown,
    and what to do).
    """
    from alma_onelink.merge import (  # noqa: PLC0415  (loaded when a command runs)
        MergeOutcome,
        MergeRefused,
        apply_merge,
    )

    state = state_of(ctx)
    reviewed = _read_plan(state, plan_file)
    _check_token(reviewed, confirm)
    if state.staff is None:
        state.out.note(
            "No staff name is known (no --staff, ALMA_ONELINK_STAFF or login name): the journal names nobody and the "
            f"note on {reviewed.from_id} says “by alma-onelink”. Give --staff NAME to be named."
        )
    try:
        result = apply_merge(
            state.alma(),
            reviewed,
            confirm=confirm,
            journal=state.journal_path(),
            delete_source=delete_source,
            staff=state.staff,
            today=parse_today(today),
        )
    except MergeRefused as refused:
        again = f"{state.command_prefix()} merge apply {shlex.quote(str(plan_file))} --confirm {reviewed.token}"
        return _refused(state, reviewed, refused, delete_source=delete_source, again=again)
    if state.out.json_mode:
        state.out.document(result.to_dict())
    else:
        _show_result(state, result)
        if result.ok:
            state.out.say(("Undo: ", "bold"), f"{state.command_prefix()} merge undo {result.merge_id}")
    if result.journal_error:
        state.out.error(staff_words(result.journal_error, state.command_prefix()))  # says what to do
        return ExitCode.JOURNAL
    return ExitCode.OK if result.outcome is MergeOutcome.MERGED else ExitCode.ALMA


def _earlier(state: State, plan: MergePlan) -> EarlierMerge | None:
    """The merge the journal holds of ``plan``; its writes of unknown outcome settled first by reading Alma."""
    from alma_onelink.engine import Trace, drive  # noqa: PLC0415  (loaded with the plan)
    from alma_onelink.engine._settle import settling  # noqa: PLC0415
    from alma_onelink.merge._ui import earlier_merge  # noqa: PLC0415

    journal = state.journal()
    earlier = earlier_merge(plan, [*journal.entries(target=plan.from_id), *journal.entries(target=plan.to_id)])
    if earlier is None or not earlier.unsettled:
        return earlier
    drive(settling(earlier.unsettled), state.alma(), journal=journal, trace=Trace())  # journaled; reads only
    return earlier_merge(plan, [*journal.entries(target=plan.from_id), *journal.entries(target=plan.to_id)])


def _refused(state: State, plan: MergePlan, refused: MergeRefused, *, delete_source: bool, again: str) -> int:
    """A refused apply, told by the journal: the plan applied already (exit 0, nothing sent; with --delete-source
    and the delete left undone, only the delete sent), or the refusal."""
    from alma_onelink.merge import MergeRefused  # noqa: PLC0415  (loaded with the plan)

    earlier = _earlier(state, plan)
    if earlier is None:
        raise refused
    prefix, when = state.command_prefix(), earlier.applied_at.strftime("%Y-%m-%d %H:%M UTC")
    by = f" by {earlier.staff}" if earlier.staff else ""
    what = f"Cannot apply the plan to merge {plan.from_id} into {plan.to_id}"
    if not earlier.complete:
        raise MergeRefused(
            [
                *refused.reasons,
                f"this plan was applied on {when}{by} as merge {earlier.merge_id}, which did not finish (or was rolled "
                f"back or undone since): `{prefix} merge undo {earlier.merge_id}` settles and puts back what it did; "
                "then plan the merge again",
            ],
            what=what,
        ) from None
    if earlier.delete_left and not delete_source:
        raise MergeRefused(
            [
                f"this plan was applied on {when}{by} as merge {earlier.merge_id}, which stopped before deleting "
                f"{plan.from_id} (it is marked merged, INACTIVE): `{again} --delete-source` deletes it now, sending "
                f"only the delete; or finish with Alma's UI merge, or undo with `{prefix} merge undo "
                f"{earlier.merge_id}`",
            ],
            what=f"Merge {plan.from_id} into {plan.to_id} is applied but not finished",
        ) from None
    if delete_source and not earlier.deleted and (earlier.delete_left or not plan.activity):
        return _finish_delete(state, plan, earlier, when=when, by=by)
    entries = ", ".join(entry_id[:12] for entry_id in earlier.entry_ids)
    if state.out.json_mode:
        state.out.document(
            {
                "outcome": "already_applied",
                "merge_id": earlier.merge_id,
                "applied_at": earlier.applied_at,
                "staff": earlier.staff,
                "journal_entries": list(earlier.entry_ids),
                "deleted": earlier.deleted,
                "sent": False,
            }
        )
        return ExitCode.OK
    out = state.out
    out.say(
        (f"ALREADY APPLIED — merge {plan.from_id} into {plan.to_id}", "bold cyan"),
        f": this plan was applied on {when}{by}; nothing was sent this time (both accounts were only read).",
    )
    out.say(f"  Merge {earlier.merge_id}, journal entries {entries}")
    out.say(("What it wrote: ", "bold"), f"{prefix} journal show --registration {earlier.merge_id}")
    if not earlier.deleted:
        out.say(
            f"  {plan.from_id} is kept, marked merged (INACTIVE): Alma's UI merge finishes the job"
            + ("." if plan.activity else "; or delete it now, sending only the delete, with:")
        )
        if not plan.activity:
            out.say(f"  {again} --delete-source")
    out.say(("Undo: ", "bold"), f"{prefix} merge undo {earlier.merge_id}")
    return ExitCode.OK


def _finish_delete(state: State, plan: MergePlan, earlier: EarlierMerge, *, when: str, by: str) -> int:
    """The plan applied already, From not deleted: send only the delete (journaled under the merge's id)."""
    from alma_onelink.engine import Trace, drive  # noqa: PLC0415  (loaded with the plan)
    from alma_onelink.merge import MergeOutcome  # noqa: PLC0415
    from alma_onelink.merge._finish import finishing_delete  # noqa: PLC0415

    journal, trace = state.journal(), Trace()
    procedure = finishing_delete(plan, earlier.merge_id, from_after=earlier.from_after, staff=state.staff, trace=trace)
    result = drive(procedure, state.alma(), journal=journal, trace=trace)
    result.journal_path = journal.path
    if state.out.json_mode:
        state.out.document({**result.to_dict(), "applied_earlier": True, "applied_at": earlier.applied_at})
    else:
        if result.deleted:
            state.out.say(
                ("DELETED the old account now: the earlier apply had stopped before it", "bold green"),
                f" — {plan.from_id}; this plan was applied on {when}{by} as merge {earlier.merge_id}, and only the "
                "delete was sent this time.",
            )
        else:
            state.out.say(
                (f"ALREADY APPLIED — merge {plan.from_id} into {plan.to_id}", "bold cyan"),
                f": this plan was applied on {when}{by} as merge {earlier.merge_id}, which had not deleted "
                f"{plan.from_id}; the delete was tried now:",
            )
        _show_result(state, result)
        state.out.say(("Undo: ", "bold"), f"{state.command_prefix()} merge undo {earlier.merge_id}")
    if result.journal_error:
        state.out.error(staff_words(result.journal_error, state.command_prefix()))  # says what to do
        return ExitCode.JOURNAL
    return ExitCode.OK if result.outcome is MergeOutcome.MERGED else ExitCode.ALMA


@command(merge_app, "undo", short_help="Undo an applied merge from the journal.")
def undo(
    ctx: typer.Context,
    *,
    merge_id: Annotated[
        str, typer.Argument(metavar="MERGE_ID", help="The merge id merge apply printed (or its first 6+ characters).")
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking (for scripts).")] = False,
) -> int:
    """Put both accounts back as they were before the merge MERGE_ID (each restore journaled).

    A merge undone already (say, by a run killed after its last write) is named with the restores that
    undid it, and nothing is sent. Exit status: 0 undone (now or already), 1 refused (an account changed
    since) or not confirmed, 3 a restore failed, 4 the journal could not be written (what Alma holds is
    shown, and what to do).
    """
    from alma_onelink.engine import Restored  # noqa: PLC0415  (loaded when a command runs, not for --help)
    from alma_onelink.merge import undo_merge  # noqa: PLC0415
    from alma_onelink.merge._undo import AlreadyUndone  # noqa: PLC0415

    state = state_of(ctx)
    if not yes:
        if not state.interactive:
            raise UsageProblem("merge undo asks before writing, and nobody can answer here", "add --yes")
        if not typer.confirm(f"Undo merge {merge_id}, putting both accounts back as they were?", err=True):
            state.out.say("Nothing written.")
            return ExitCode.ACTION
    try:
        results = undo_merge(state.alma(), merge_id, journal=state.journal_path(), staff=state.staff)
    except AlreadyUndone as undone:
        return _undone_already(state, undone)
    failed = any(r.outcome is Restored.FAILED for r in results)
    lacking = [r.journal_error for r in results if r.journal_error]
    if state.out.json_mode:
        state.out.document({"merge_id": merge_id, "undone": not failed, "restores": [restore_json(r) for r in results]})
    else:
        for r in results:
            say_restore(state, r)
        state.out.say("Merge undone." if not failed else "The undo stopped: see above.", style="bold")
    if lacking:
        state.out.error(staff_words(lacking[0], state.command_prefix()))  # says what to do
        return ExitCode.JOURNAL
    return ExitCode.ALMA if failed else ExitCode.OK


def _undone_already(state: State, undone: AlreadyUndone) -> int:
    """The merge is undone (by an earlier run, maybe one killed after its last write): say by which entries; exit 0."""
    restores = undone.restores
    if state.out.json_mode:
        state.out.document(
            {
                "merge_id": undone.merge_id,
                "undone": True,
                "already": True,
                "sent": False,
                "restores": [r.id for r in restores],
            }
        )
        return ExitCode.OK
    last = restores[-1] if restores else None
    when = f" on {last.time:%Y-%m-%d %H:%M} UTC" if last is not None else ""
    by = f" by {last.staff}" if last is not None and last.staff else ""
    state.out.say(
        (f"UNDONE ALREADY — merge {undone.merge_id}", "bold cyan"),
        f": it was undone{when}{by}; nothing was sent this time (Alma was only read).",
    )
    state.out.say(f"  Restored by journal entries {', '.join(r.id[:12] for r in restores)}")
    for r in restores:
        state.out.say(f"  {r.target}: {r.action}, journal entry {r.id[:12]} ({r.result})")
    state.out.say(
        ("What the merge wrote: ", "bold"), f"{state.command_prefix()} journal show --registration {undone.merge_id}"
    )
    return ExitCode.OK
