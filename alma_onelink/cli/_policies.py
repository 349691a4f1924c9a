"""``policies``: the installed policies, their affiliations (what each needs, its limits, the codes and expiry it
gives), their links, and the links they leave unset.

The codes and dates are the policy's own answers for a sample application of each affiliation
registered ``--today`` (a gift that day, a graduation five years before, each former role in turn),
so what is shown is what the policy does, not a description of it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from alma_onelink.errors import InputError

from ._app import app, command
from ._patron_opts import requirement_flags
from ._register import parse_today, today_option
from ._state import ExitCode, State, default_policy, state_of

if TYPE_CHECKING:
    from alma_onelink.policy import Affiliation, Patron, Policy

__all__ = ["describe_policy"]


def _sample(code: str, day: date, role: str | None) -> Patron:
    from alma_onelink.policy import Donation, Patron, PostalAddress, add_months  # noqa: PLC0415  (not for --help)

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
    from alma_onelink.policy import PolicyError  # noqa: PLC0415  (loaded when a command runs, not for --help)
    from alma_onelink.policy.types import PRIOR_ROLES  # noqa: PLC0415

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
    from alma_onelink.policy import PolicyError, load_policy  # noqa: PLC0415  (not for --help)

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
                "flags": [flag for need in a.requires for flag in requirement_flags(need)],
                "limits": dict(a.limits),
                "description": a.description,
                **_answer(policy, a, day),
            }
            for a in policy.affiliations()
        ],
        "links": policy.links(),
        "unset_links": policy.unset_links(),
    }


def _months(day: date, later: str | None) -> str:
    if later is None:
        return "none"
    end = date.fromisoformat(later)
    months = (end.year - day.year) * 12 + end.month - day.month
    return f"{later} ({months} months)"


def _show(state: State, data: dict[str, Any], selected: str, day: date) -> None:
    """One policy, a line per fact, every link whole."""
    out = state.out
    out.say((data["name"], "bold"), (" (selected)" if data["name"] == selected else "", "bold green"))
    if "error" in data:
        out.say((f"  cannot be loaded: {data['error']}", "red"))
        out.say("")
        return
    out.say((f"  plugins: {', '.join(data['plugins'])}", "dim"))
    for a in data["affiliations"]:
        kind = a["patron_type"]
        shown = ", ".join(f"{role}: {value}" for role, value in kind.items()) if isinstance(kind, dict) else kind
        about = f": {a['description']}" if a["description"] else ""
        out.say("  ", (a["code"], "bold"), f" — {a['label']}{about}")
        needs = [f"{need.replace('_', ' ')} ({', '.join(requirement_flags(need))})" for need in a["requires"]]
        out.say(f"      needs: {'; '.join(needs) or 'nothing more than the name and OneLink ID'}")
        for label, text in a["limits"].items():
            out.say(f"      {label}: {text}")
        out.say(f"      user group {a['user_group'] or '?'}, Patron type {shown or '?'}")
        out.say(f"      registered {day}: expires {_months(day, a['expiry_date'])}, purge {a['purge_date'] or 'none'}")
    if data["links"]:
        out.say(("  links:", "bold"))
        for key, url in data["links"].items():
            out.say(f"      {key}: {url}")
    if data["unset_links"]:
        out.say(("  links not set:", "bold yellow"))
        for key, why in data["unset_links"].items():
            out.say(f"      {key}: {why}")
    out.say("")


@command(app, "policies", short_help="List policies, affiliations and codes.")
def policies(
    ctx: typer.Context,
    *,
    today: Annotated[str | None, today_option] = None,
) -> int:
    """List every installed policy with its affiliations: what each needs, its limits (a minimum gift…), the
    group and Patron type it gives, the expiry and purge dates of an account registered --today, the policy's
    links, and the links it leaves unset (with how to set them)."""
    from alma_onelink.policy import available_policies  # noqa: PLC0415  (loaded when a command runs)

    state = state_of(ctx)
    day = parse_today(today) or state.policy().today()
    selected = state.settings.policy or default_policy()
    described = [describe_policy(name, day) for name in available_policies()]
    if state.out.json_mode:
        state.out.document({"selected": selected, "today": day.isoformat(), "policies": described})
    else:
        for data in described:
            _show(state, data, selected, day)
    return ExitCode.OK
