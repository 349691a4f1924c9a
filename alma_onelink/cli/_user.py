"""``user show | search | edit``: look a patron up, find patrons, and change a few fields, journaled."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from alma_onelink._text import visible

from ._app import app, command
from ._form_values import parse_date, plain_text
from ._output import value as one_line
from ._state import ExitCode, UsageProblem, state_of

if TYPE_CHECKING:
    from alma_onelink.models import Code, User

__all__ = ["EDITABLE", "user_app"]

user_app = typer.Typer(
    short_help="Look patrons up and fix them.",
    help="Look patrons up, find them, and change a few fields (journaled).",
    no_args_is_help=True,
)
app.add_typer(user_app, name="user")

TEXT_FIELDS: Final = (
    "first_name",
    "middle_name",
    "last_name",
    "job_description",
    "web_site_url",
    "pref_first_name",
    "pref_middle_name",
    "pref_last_name",
    "pref_name_suffix",
)
CODE_FIELDS: Final = ("user_group", "status", "job_category", "campus_code", "preferred_language", "user_title")
DATE_FIELDS: Final = ("expiry_date", "purge_date", "birth_date")
EDITABLE: Final = (*TEXT_FIELDS, *CODE_FIELDS, *DATE_FIELDS)
"""The fields ``user edit --set`` changes; others (identifiers, contact info, primary id) are Alma's UI's job."""

_STATUSES: Final = ("ACTIVE", "INACTIVE")
_REQUIRED: Final = ("user_group", "status")
"""Fields Alma refuses to leave empty on an account (a PUT without them is refused)."""


# --- show ----------------------------------------------------------------------------------------------


def _code(value: Code | None) -> str:
    if value is None or not value.value:
        return ""
    return f"{value.value} ({value.desc})" if value.desc else str(value.value)


def _user_rows(user: User) -> list[tuple[tuple[str, str], str]]:
    """The account as (field, value) rows, every value whole."""
    rows: list[tuple[tuple[str, str], str]] = []

    def row(name: str, value: object) -> None:
        if value not in (None, "", []):
            rows.append(((name, "bold"), str(value)))

    row("primary id", user.primary_id)
    row("name", user.display_name)
    row("user group", _code(user.user_group))
    row("status", _code(user.status))
    row("record / account", f"{_code(user.record_type)} / {_code(user.account_type)}")
    row("expiry date", user.expiry_date)
    row("purge date", user.purge_date)
    row("job description", user.job_description)
    for ident in user.user_identifier:
        row("identifier", f"{_code(ident.id_type)}: {ident.value}")
    contact = user.contact_info
    if contact is not None:
        for email in contact.email:
            row("email", f"{email.email_address}{' (preferred)' if email.preferred else ''}")
        for phone in contact.phone:
            row("phone", phone.phone_number)
        for address in contact.address:
            row("address", ", ".join(str(p) for p in (address.line1, address.city, address.postal_code) if p))
    for statistic in user.user_statistic:
        row("statistic", f"{_code(statistic.category_type)}: {_code(statistic.statistic_category)}")
    for note in user.user_note:
        row("note", note.note_text)
    for block in user.user_block:
        row("block", f"{_code(block.block_type)} {_code(block.block_description)} {block.block_status or ''}".strip())
    for kind in ("loans", "requests", "fees"):
        count = getattr(user, kind)
        if count is not None and count.value is not None:
            row(kind, count.value)
    return rows


@command(user_app, "show", short_help="Show one patron's account.")
def show(
    ctx: typer.Context,
    *,
    user_id: Annotated[str, typer.Argument(metavar="ID", help="Primary id or any identifier (OneLink ID, barcode…).")],
) -> int:
    """Show one account: names, group, dates, identifiers, contact details, notes and activity counts."""
    state = state_of(ctx)
    user = state.alma().users.get(user_id, expand=["loans", "requests", "fees"])
    if state.out.json_mode:
        state.out.document(user.to_alma())
    else:
        state.out.rows(_user_rows(user), indent=0)
    return ExitCode.OK


# --- search ---------------------------------------------------------------------------------------------


@command(user_app, "search", short_help="Find patrons by name, email, id or group.")
def search(
    ctx: typer.Context,
    *,
    name: Annotated[str | None, typer.Option("--name", help="Words of the name (any field).")] = None,
    email: Annotated[str | None, typer.Option("--email", help="Email address.")] = None,
    identifier: Annotated[str | None, typer.Option("--identifier", help="Any identifier value.")] = None,
    group: Annotated[str | None, typer.Option("--group", help="User group code, like DUKE_ALUMNI.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Show at most this many.")] = 20,
) -> int:
    """Find patrons; criteria combine with AND. Without any, list the first --limit patrons."""
    state = state_of(ctx)
    filters = {
        key: value.strip()
        for key, value in (("email", email), ("identifiers", identifier), ("user_group", group))
        if value is not None and value.strip()
    }
    # AND, OR and NOT in capitals join conditions in Alma's query language: a name's word is searched as a word.
    words = [word.lower() if word in ("AND", "OR", "NOT") else word for word in (name or "").split()]
    query = f"ALL~{' '.join(words)}" if words else None
    # Full records: brief ones carry no group or email to show.
    page = state.alma().users.list(q=query, limit=min(limit, 100), expand="full", **filters)  # type: ignore[arg-type]
    users: list[User] = []
    for user in page:
        users.append(user)
        if len(users) >= limit:
            break
    if state.out.json_mode:
        state.out.document({"total_record_count": page.total_record_count, "users": [u.to_alma() for u in users]})
        return ExitCode.OK
    state.out.rows(
        [
            (
                user.primary_id or "",
                user.display_name or "",
                (user.user_group.value or "") if user.user_group else "",
                user.preferred_email or "",
                user.expiry_date.isoformat() if user.expiry_date else "",
                (user.status.value or "") if user.status else "",
            )
            for user in users
        ],
        header=("primary id", "name", "group", "email", "expires", "status"),
        indent=0,
    )
    total = page.total_record_count if page.total_record_count is not None else len(users)
    more = f", showing {len(users)}" if total > len(users) else ""
    state.out.say(f"{total} found{more}", style="dim")
    return ExitCode.OK


# --- edit -----------------------------------------------------------------------------------------------


def parse_changes(assignments: list[str]) -> dict[str, Any]:
    """``field=value`` pairs as field → new value (``None`` clears). Raises `UsageProblem` for an unknown field."""
    changes: dict[str, Any] = {}
    for text in assignments:
        name, sep, raw = text.partition("=")
        name = name.strip()
        if not sep:
            raise UsageProblem(f"--set {text!r}: write field=value, like expiry_date=2027-06-30")
        if name not in EDITABLE:
            raise UsageProblem(f"--set {name!r}: not a field this can change", f"fields: {', '.join(EDITABLE)}")
        value = raw.strip()
        problem = plain_text(value)
        if problem:
            raise UsageProblem(
                f"--set {name}: the value {problem}", "nothing was written; give the value as plain text"
            )
        if not value and name in _REQUIRED:
            raise UsageProblem(f"--set {name}=: an account always has a {name.replace('_', ' ')}; give one")
        if not value:
            changes[name] = None
        elif name in DATE_FIELDS:
            try:
                changes[name] = parse_date(value)
            except ValueError as exc:
                raise UsageProblem(f"--set {name}: {exc}") from None
        elif name == "status" and value.upper() not in _STATUSES:
            raise UsageProblem(f"--set status={value!r}: status is ACTIVE or INACTIVE")
        elif name in CODE_FIELDS:
            changes[name] = value.upper() if name == "status" else value
        else:
            changes[name] = value
    return changes


def _current(user: User, name: str) -> Any:
    from alma_onelink.models import Code  # noqa: PLC0415  (loaded with the user)

    value = getattr(user, name)
    if isinstance(value, Code):
        return value.value
    return value


def _apply(user: User, changes: dict[str, Any]) -> None:
    from alma_onelink.models import Code  # noqa: PLC0415  (loaded with the user)

    for name, value in changes.items():
        if name in CODE_FIELDS:
            setattr(user, name, Code(value=value) if value is not None else None)
        else:
            setattr(user, name, value)


def _shown(value: Any) -> str:
    if value is None:
        return "(empty)"
    return value.isoformat() if isinstance(value, date) else str(value)


class _Declined(Exception):
    """Raised inside ``users.edit`` when the answer is no: the edit then sends nothing."""


@command(user_app, "edit", short_help="Change fields of one patron (journaled).")
def edit(
    ctx: typer.Context,
    *,
    user_id: Annotated[str, typer.Argument(metavar="ID", help="Primary id of the account.")],
    assignments: Annotated[
        list[str],
        typer.Option("--set", metavar="FIELD=VALUE", help=f"A change (repeatable); fields: {', '.join(EDITABLE)}."),
    ],
    reason: Annotated[str | None, typer.Option("--reason", help="Why, for the journal.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Write without asking (for scripts).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the diff, write nothing.")] = False,
) -> int:
    """Change fields of one account: GET it, show the diff, ask, then PUT it journaled (undo: journal restore)."""
    state = state_of(ctx)
    changes = parse_changes(assignments)
    if reason is not None and (problem := plain_text(reason, multiline=True)):
        raise UsageProblem(f"--reason {problem}", "nothing was written; type the reason as plain text")
    if not (yes or dry_run or state.interactive):
        raise UsageProblem(
            "user edit asks before writing, and nobody can answer here", "add --yes to write, or --dry-run"
        )
    alma = state.alma()
    journal = None if dry_run else state.journal()
    why = reason or "alma-onelink user edit: " + ", ".join(f"{k}={_shown(v)}" for k, v in changes.items())
    diff: list[dict[str, str]] = []
    written = False
    try:
        with alma.users.edit(user_id, journal=journal, staff=state.staff, reason=why) as user:
            diff = [
                {"field": name, "before": _shown(_current(user, name)), "after": _shown(value)}
                for name, value in changes.items()
                if _current(user, name) != value
            ]
            if diff:
                state.out.say((one_line(user), "bold"))
                state.out.rows(
                    [(c["field"], c["before"], (c["after"], "bold")) for c in diff], header=("field", "now", "after")
                )
            if not diff or dry_run:
                raise _Declined
            if not yes and not typer.confirm(f"Write these changes to {visible(user_id)}?", err=True):
                raise _Declined
            _apply(user, changes)
            written = True
    except _Declined:
        written = False
    entry = None
    if written and journal is not None:
        entries = journal.entries(target=user_id)
        entry = entries[-1].id if entries else None
    if state.out.json_mode:
        state.out.document({"user_id": user_id, "changes": diff, "written": written, "journal_entry": entry})
    elif not diff:
        state.out.say("Nothing to change: the account already has these values.")
    elif written:
        state.out.say((f"Saved {user_id}", "bold green"))
        if entry:
            state.out.say(("Undo: ", "bold"), f"{state.command_prefix()} journal restore {entry}")
    else:
        state.out.say("Nothing written." + (" (dry run)" if dry_run else ""), style="bold")
    return ExitCode.OK if written or dry_run or not diff else ExitCode.ACTION
