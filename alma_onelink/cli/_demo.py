"""``demo``: the narrated OneLink procedure of `alma_onelink.demo`, on its own fresh in-memory sandbox."""

from __future__ import annotations

from typing import Annotated

import typer

from ._app import app, command
from ._register import parse_today, today_option
from ._sdk import DEMO_MAX_PATRONS
from ._state import DEFAULT_PATRONS, State, state_of

__all__ = ["DEMO_MAX_PATRONS", "demo"]


def _banner(state: State) -> str:
    return "Sandbox in memory: the demo's own, seeded fresh; nothing is kept (no ALMA_API_KEY needed)"


@command(app, "demo", banner=_banner, short_help="The procedure, narrated, on a sandbox.")
def demo(
    ctx: typer.Context,
    *,
    patrons: Annotated[
        int,
        typer.Option(
            "--patrons",
            metavar="N",
            min=0,
            max=DEMO_MAX_PATRONS,
            help=f"Generated patrons around the Duke scenarios (at most {DEMO_MAX_PATRONS}).",
        ),
    ] = DEFAULT_PATRONS,
    today: Annotated[str | None, today_option] = None,
) -> int:
    """Seven patrons at the desk, registered under the Duke policy, and an old account merged and undone:
    what the software did at each step and why. Writes go to a temporary journal, never yours.
    Exit status 0 when every patron ended as the story says."""
    from alma_onelink.demo import run  # noqa: PLC0415  (the narration loads only when asked for)

    state = state_of(ctx)
    day = parse_today(today)
    if state.out.json_mode:
        lines: list[str] = []
        code = run(lines.append, patrons=patrons, today=day)
        state.out.document({"exit_code": code, "lines": lines})
        return code
    # Each line is written and flushed as it comes, so the story reads as it runs and `| head` stops it.
    return run(patrons=patrons, today=day, console=state.out.out)
