"""Renderings of models for notebooks and terminals, and flat records for tables and DataFrames.

`user_record` is the flat form of a `User` (one dict of plain JSON values, the same keys for every
user), `record_of` that of any model. `html_table` and `rich_table` draw a list of such records;
`user_html` and `user_rich` draw one user, short. `dataframe` turns records into a pandas DataFrame
when pandas is installed (``pip install 'alma-onelink[pandas]'``).

Every value is escaped: HTML through `html.escape`, rich through `Text` (never parsed as markup), so
a name like ``<script>`` or ``[bold]`` shows as typed.
"""

from __future__ import annotations

import html
import importlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pydantic
from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ._base import Code

if TYPE_CHECKING:
    from .user import User

__all__ = [
    "PANDAS_HINT",
    "USER_COLUMNS",
    "USER_TABLE_COLUMNS",
    "dataframe",
    "html_table",
    "record_of",
    "records_of",
    "rich_table",
    "user_html",
    "user_record",
    "user_rich",
]

USER_COLUMNS: tuple[str, ...] = (
    "primary_id",
    "name",
    "first_name",
    "last_name",
    "user_group",
    "user_group_desc",
    "status",
    "account_type",
    "expiry_date",
    "purge_date",
    "email",
    "emails",
    "identifiers",
    "statistics",
    "notes",
)
"""The keys of `User.to_record`, in order."""

USER_TABLE_COLUMNS: tuple[str, ...] = ("primary_id", "name", "user_group", "status", "expiry_date", "email")
"""The columns a page of users shows in a notebook or a terminal (`to_records` has them all)."""

PANDAS_HINT = "pip install 'alma-onelink[pandas]'"

Scalar = str | int | float | bool | None


def _code(code: Code | None) -> str | None:
    return code.value if code is not None else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def user_record(user: User) -> dict[str, Scalar]:
    """A user as one flat dict of JSON values (see `USER_COLUMNS`): lists are joined with ``"; "``.

    Dates are ISO text (``"2027-06-30"``); ``notes`` is how many notes the account has; ``email``
    is the preferred address, ``emails`` every address.
    """
    emails = [e.email_address for e in (user.contact_info.email if user.contact_info else []) if e.email_address]
    identifiers = [
        f"{_code(ident.id_type) or '?'} {ident.value}" for ident in user.user_identifier if ident.value is not None
    ]
    statistics = [value for stat in user.user_statistic if (value := _code(stat.statistic_category)) is not None]
    return {
        "primary_id": user.primary_id,
        "name": user.display_name or None,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "user_group": _code(user.user_group),
        "user_group_desc": user.user_group.desc if user.user_group is not None else None,
        "status": _code(user.status),
        "account_type": _code(user.account_type),
        "expiry_date": _day(user.expiry_date),
        "purge_date": _day(user.purge_date),
        "email": user.preferred_email,
        "emails": "; ".join(emails) or None,
        "identifiers": "; ".join(identifiers) or None,
        "statistics": "; ".join(statistics) or None,
        "notes": len(user.user_note),
    }


def _scalar(value: Any) -> tuple[bool, Scalar]:
    """``(True, the value as JSON)`` for a scalar, a date or a code; ``(False, None)`` for the rest."""
    if value is None or isinstance(value, str | bool | int | float):
        return True, value
    if isinstance(value, datetime | date):
        return True, value.isoformat()
    if isinstance(value, pydantic.BaseModel) and "value" in type(value).model_fields:
        inner = getattr(value, "value", None)  # a Code, a LinkedId: its value
        return True, inner if isinstance(inner, str | int | float | bool) or inner is None else str(inner)
    return False, None


def record_of(item: Any) -> dict[str, Scalar]:
    """An item as one flat dict of JSON values.

    A `User` (or anything with ``to_record()``) gives its own record; another model (a `Loan`, a
    journal entry…) its scalar
    fields that are set (codes and linked ids as their value, dates as ISO text; lists and nested
    objects are left out); a mapping its scalar values; anything else ``{"value": str(item)}``.
    """
    to_record = getattr(item, "to_record", None)
    if callable(to_record):
        return dict(to_record())
    fields: Iterable[tuple[str, Any]]
    if isinstance(item, pydantic.BaseModel):
        fields = ((name, getattr(item, name, None)) for name in type(item).model_fields)
    elif isinstance(item, Mapping):
        fields = ((str(key), value) for key, value in item.items())
    else:
        return {"value": str(item)}
    record: dict[str, Scalar] = {}
    for name, value in fields:
        scalar, flat = _scalar(value)
        if scalar and flat is not None:
            record[name] = flat
    return record


def records_of(items: Iterable[Any]) -> list[dict[str, Scalar]]:
    """`record_of` each item: a list of flat dicts, ready for ``json.dumps`` or a DataFrame."""
    return [record_of(item) for item in items]


def _columns(records: Sequence[Mapping[str, Any]], columns: Sequence[str] | None) -> list[str]:
    if columns is not None:
        return list(columns)
    seen: dict[str, None] = {}
    for record in records:
        seen.update(dict.fromkeys(record))
    return list(seen)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def html_table(
    records: Sequence[Mapping[str, Any]], *, columns: Sequence[str] | None = None, caption: str | None = None
) -> str:
    """An HTML table of records (every value escaped); ``columns`` default to every key, in order."""
    esc = html.escape
    names = _columns(records, columns)
    head = "".join(f"<th style='text-align:left'>{esc(name)}</th>" for name in names)
    rows = "".join(
        "<tr>" + "".join(f"<td>{esc(_cell(record.get(name)))}</td>" for name in names) + "</tr>" for record in records
    )
    title = f"<caption style='text-align:left'>{esc(caption)}</caption>" if caption else ""
    return f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def rich_table(
    records: Sequence[Mapping[str, Any]], *, columns: Sequence[str] | None = None, caption: str | None = None
) -> Table:
    """A rich `Table` of records; every cell is a `Text`, so nothing in the data is read as markup."""
    table = Table(box=box.SIMPLE_HEAD, title=Text(caption) if caption else None, title_justify="left")
    names = _columns(records, columns)
    for name in names:
        table.add_column(Text(name, style="bold"), overflow="fold")
    for record in records:
        table.add_row(*(Text(_cell(record.get(name))) for name in names))
    return table


def _user_rows(user: User) -> list[tuple[str, list[str]]]:
    group = user.user_group
    group_text = None
    if group is not None and group.value:
        group_text = f"{group.value} ({group.desc})" if group.desc else group.value
    emails = []
    for email in user.contact_info.email if user.contact_info else []:
        if email.email_address:
            kinds = ", ".join(code.value for code in email.email_type if code.value)
            extra = "; ".join(part for part in (kinds, "preferred" if email.preferred else "") if part)
            emails.append(f"{email.email_address} ({extra})" if extra else email.email_address)
    identifiers = [
        f"{_code(ident.id_type) or '?'} {ident.value}" for ident in user.user_identifier if ident.value is not None
    ]
    rows: list[tuple[str, list[str]]] = [
        ("name", [user.display_name or "(no name)"]),
        ("primary id", [user.primary_id or "(none)"]),
        ("group", [group_text] if group_text else []),
        ("status", [_code(user.status) or ""]),
        ("expires", [_day(user.expiry_date) or "no expiry date"]),
        ("identifiers", identifiers),
        ("emails", emails),
    ]
    return [(name, [value for value in values if value]) for name, values in rows]


def user_html(user: User) -> str:
    """A short HTML table of one user: name, primary id, group, status, expiry, identifiers, emails."""
    esc = html.escape
    cells = "".join(
        f"<tr><th style='text-align:left'>{esc(name)}</th><td>{'<br>'.join(esc(v) for v in values)}</td></tr>"
        for name, values in _user_rows(user)
        if values
    )
    return f"<table>{cells}</table>"


def user_rich(user: User) -> RenderableType:
    """The same as `user_html`, for a terminal (``rich.print(user)``)."""
    table = Table(box=box.ROUNDED, show_header=False, title=Text(str(user), style="bold"), title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, values in _user_rows(user):
        if values:
            table.add_row(Text(name), Text("\n".join(values)))
    return table


def dataframe(records: Sequence[Mapping[str, Any]], *, columns: Sequence[str] | None = None) -> Any:
    """A ``pandas.DataFrame`` of records, one row each; columns ending in ``_date`` become datetimes.

    Raises ``ModuleNotFoundError`` (an ``ImportError``) saying how to install pandas when it is not.
    """
    try:
        pandas = importlib.import_module("pandas")
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            f"to_dataframe() needs pandas, which is not installed: {PANDAS_HINT}", name="pandas"
        ) from None
    names = _columns(records, columns)
    frame = pandas.DataFrame.from_records([{name: record.get(name) for name in names} for record in records])
    frame = frame.reindex(columns=names)
    for name in names:
        if name.endswith("_date"):
            frame[name] = pandas.to_datetime(frame[name], errors="coerce")
    return frame
