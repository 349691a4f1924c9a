"""``policies``: the installed policies, their affiliations, the codes and expiry each gives, and their links.

The codes and dates are the policy's own answers for a sample application of each affiliation
registered ``--today`` (a gift that day, a graduation five years before, each former role in turn),
so what is shown is what the policy does, not a description of it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.text import Text

from alma_onelink.errors import InputError
from alma_onelink.policy import (
    Affiliation,
    Donation,
    Patron,
    Policy,
    PolicyError,
    PostalAddress,
    add_months,
    available_policies,
    load_policy,
)
from alma_onelink.policy.types import PRIOR_ROLES

from ._app import app, command
from ._register import parse_today, today_option
from ._state import ExitCode, default_policy, state_of

__all__ = ["describe_policy"]


def _sample(code: str, day: date, role: str | None) -> Patron:
    past = min(day, date.today())  # a Patron's dates must not be in the future
    return Patron(
        onelink_id="0000000",
        first_name="Sample",
        last_name="Patron",
        affiliation=code,
        home_institution="UNC",
        graduated_on=add_months(past, -60),
        left_on=add_months(past, -24),
        prior_role=role,
        donation=Donation(amount=Decimal("1000"), given_on=past),
        address=PostalAddress(line1="1 Main Street", city="Durham"),
    )


def _answer(policy: Policy, affiliation: Affiliation, day: date) -> dict[str, Any]:
    """What the policy answers for ``affiliation``: group, Patron type (per former role when they differ), dates."""
    found: dict[str, Any] = {"user_group": None, "patron_type": None, "expiry_date": None, "purge_date": None}
    types: dict[str, str] = {}
    for role in (None, *PRIOR_ROLES):
        try:
            patron = _sample(affiliation.code, day, role)
            statistic = policy.patron_type(patron)
            types[role or "-"] = str(statistic.statistic_category or "")
            if found["user_group"] is None:
                found["user_group"] = str(policy.patron_group(patron))
                expiry = policy.expiry_date(patron, today=day)
                found["expiry_date"] = expiry.isoformat()
                purge = policy.purge_date(patron, expiry=expiry)
                found["purge_date"] = purge.isoformat() if purge else None
        except (InputError, PolicyError):
            continue
    distinct = set(types.values())
    if len(distinct) == 1:
        found["patron_type"] = distinct.pop()
    elif types:
        found["patron_type"] = {role: value for role, value in types.items() if role != "-"}
    return found


def describe_policy(name: str, day: date) -> dict[str, Any]:
    """One policy as JSON-ready data: plugins, affiliations with their answers, links (or the error loading it)."""
    try:
        policy = load_policy(name)
    except PolicyError as exc:
        return {"name": name, "error": str(exc)}
    return {
        "name": name,
        "plugins": policy.plugin_names,
        "affiliations": [
            {
                "code": a.code,
                "label": a.label,
                "requires": list(a.requires),
                "description": a.description,
                **_answer(policy, a, day),
            }
            for a in policy.affiliations()
        ],
        "links": policy.links(),
    }


def _months(day: date, later: str | None) -> str:
    if later is None:
        return "none"
    end = date.fromisoformat(later)
    months = (end.year - day.year) * 12 + end.month - day.month
    return f"{later} ({months} months)"


def _rendering(data: dict[str, Any], selected: str, day: date) -> RenderableType:
    title = Text.assemble((data["name"], "bold"), (" (selected)" if data["name"] == selected else "", "bold green"))
    if "error" in data:
        return Group(title, Text(f"  cannot be loaded: {data['error']}", style="red"), Text(""))
    lines: list[RenderableType] = [title, Text(f"  plugins: {', '.join(data['plugins'])}", style="dim")]
    for a in data["affiliations"]:
        kind = a["patron_type"]
        shown = ", ".join(f"{role}: {value}" for role, value in kind.items()) if isinstance(kind, dict) else kind
        about = f": {a['description']}" if a["description"] else ""
        lines += [
            Text.assemble("  ", (a["code"], "bold"), f" — {a['label']}{about}"),
            Text(f"      needs: {', '.join(a['requires']) or 'nothing more'}"),
            Text(f"      user group {a['user_group'] or '?'}, Patron type {shown or '?'}"),
            Text(
                f"      registered {day}: expires {_months(day, a['expiry_date'])}, purge {a['purge_date'] or 'none'}"
            ),
        ]
    if data["links"]:
        lines.append(Text("  links:", style="bold"))
        lines += [Text(f"      {key}: {url}") for key, url in data["links"].items()]
    lines.append(Text(""))
    return Group(*lines)


@command(app, "policies", short_help="List policies, affiliations and codes.")
def policies(
    ctx: typer.Context,
    *,
    today: Annotated[str | None, today_option] = None,
) -> int:
    """List every installed policy with its affiliations: what each needs, the group and Patron type it gives,
    the expiry and purge dates of an account registered --today, and the policy's links."""
    state = state_of(ctx)
    day = parse_today(today) or state.policy().today()
    selected = state.settings.policy or default_policy()
    described = [describe_policy(name, day) for name in available_policies()]
    if state.out.json_mode:
        state.out.document({"selected": selected, "today": day.isoformat(), "policies": described})
    else:
        for data in described:
            state.out.show(_rendering(data, selected, day))
    return ExitCode.OK
