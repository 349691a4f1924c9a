"""``merge plan | apply | undo``: an old account into the OneLink account, plan first, applied with the plan's token."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.text import Text

from alma_onelink.merge import MergeOutcome, MergePlan, MergeResult, apply_merge, plan_merge, undo_merge
from alma_onelink.onelink import Restored

from ._app import app, command
from ._register import parse_today, today_option
from ._state import ExitCode, UsageProblem, check_file_path, state_of

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
    state = state_of(ctx)
    target = check_file_path(out or Path(f"merge-{from_id}-{to_id}.json"), "--out", what="a .json file")
    chosen = [part.strip() for part in segments.split(",") if part.strip()] if segments is not None else None
    made = plan_merge(
        state.alma(), from_id, to_id, policy=state.policy(), segments=chosen, force=force, today=parse_today(today)
    )
    target.write_text(made.to_json(), encoding="utf-8")
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
        state.out.show(made)
        state.out.line(f"Plan written to {target}")
        state.out.line(f"Token: {made.token}")
        state.out.line("To apply it, after review:")
        state.out.line(f"  {apply}")
    return ExitCode.OK


def _read_plan(path: Path) -> MergePlan:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageProblem(f"no plan file {str(path)!r}", "make one with: alma-onelink merge plan FROM TO") from None
    except (IsADirectoryError, UnicodeDecodeError) as exc:
        raise UsageProblem(f"{str(path)!r} is not a plan file: {exc}") from None
    return MergePlan.from_json(text)


def _result_rendering(result: MergeResult) -> RenderableType:
    colour = {"merged": "green", "rolled_back": "yellow"}.get(result.outcome.value, "red")
    lines = str(result).splitlines()
    return Group(Text(lines[0], style=f"bold {colour}"), *(Text(line) for line in lines[1:]))


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

    Exit status: 0 merged, 1 refused (the token, or an account changed since the plan), 3 rolled back or failed.
    """
    state = state_of(ctx)
    reviewed = _read_plan(plan_file)
    result = apply_merge(
        state.alma(),
        reviewed,
        confirm=confirm,
        journal=state.journal_path(),
        delete_source=delete_source,
        staff=state.staff,
        today=parse_today(today),
    )
    if state.out.json_mode:
        state.out.document(result.to_dict())
    else:
        state.out.show(_result_rendering(result))
        if result.ok:
            state.out.line(f"Undo: {state.command_prefix()} merge undo {result.merge_id}")
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

    Exit status: 0 undone, 1 refused (an account changed since) or not confirmed, 3 a restore failed.
    """
    state = state_of(ctx)
    if not yes:
        if not state.interactive:
            raise UsageProblem("merge undo asks before writing, and nobody can answer here", "add --yes")
        if not typer.confirm(f"Undo merge {merge_id}, putting both accounts back as they were?", err=True):
            state.out.show(Text("Nothing written."))
            return ExitCode.ACTION
    results = undo_merge(state.alma(), merge_id, journal=state.journal_path(), staff=state.staff)
    failed = any(r.outcome is Restored.FAILED for r in results)
    if state.out.json_mode:
        state.out.document(
            {
                "merge_id": merge_id,
                "undone": not failed,
                "restores": [
                    {
                        "entry": r.entry.id,
                        "target": r.entry.target,
                        "outcome": r.outcome.value,
                        "reason": r.reason,
                        "journal_entries": list(r.journal_entries),
                    }
                    for r in results
                ],
            }
        )
    else:
        for r in results:
            state.out.show(Text(str(r), style="red" if r.outcome is Restored.FAILED else ""))
        state.out.show(Text("Merge undone." if not failed else "The undo stopped: see above.", style="bold"))
    return ExitCode.ALMA if failed else ExitCode.OK
