"""Small helpers the record rules share: the rules' environment, code values, mandatory-field checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ._codes import CodeTables
from ._http import AlmaFailure

Json = dict[str, Any]


@dataclass(frozen=True)
class Env:
    """What the rules need besides the body: code tables, the sandbox's clock and institution."""

    codes: CodeTables
    now: datetime
    institution: str
    institution_desc: str

    @property
    def today(self) -> date:
        """The sandbox's current date."""
        return self.now.date()

    def stamp(self) -> str:
        """The current time as Alma writes date-times (``2024-05-01T10:00:00.000Z``)."""
        return self.now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.now.microsecond // 1000:03d}Z"


def code_value(value: Any) -> str:
    """The code of a ``{"value": …}`` object or a plain string; ``""`` when blank."""
    if isinstance(value, dict):
        value = value.get("value")
    return str(value).strip() if value is not None else ""


def text(value: Any) -> str:
    """A string field as Alma returns it: ``""`` when unset."""
    return "" if value is None else str(value)


def make_code(codes: CodeTables, table: str, value: Any) -> Json:
    """``{"value", "desc"}`` with the code spelled as the table spells it and ``desc`` from the table.

    ``desc`` always comes from the table: a code the table does not hold gets ``""``, whatever
    ``desc`` the client sent.
    """
    raw = code_value(value)
    if not raw:
        return {"value": "", "desc": ""}
    canonical = codes.canonical(table, raw)
    if canonical is None:
        return {"value": raw, "desc": ""}
    return {"value": canonical, "desc": codes.desc(table, canonical)}


def require(obj: Json, field: str, label: str | None = None) -> None:
    value = obj.get(field)
    missing = not value if isinstance(value, list) else not code_value(value)
    if missing:
        raise AlmaFailure("401664", f"Mandatory field is missing: {label or field}")


def check_code(codes: CodeTables, table: str, value: Any, what: str) -> None:
    raw = code_value(value)
    if raw and not codes.has(table, raw):
        raise AlmaFailure("401864", f"Given {what} ({raw}) is invalid.")


def type_list(codes: CodeTables, table: str, value: Any, what: str) -> list[Json]:
    items = value if isinstance(value, list) else ([] if value is None else [value])
    result = []
    for item in items:
        check_code(codes, table, item, what)
        result.append(make_code(codes, table, item))
    return result


def as_bool(value: Any) -> bool:
    """A boolean from ``true``/``"TRUE"``/``"false"`` and the like."""
    return bool(value) if not isinstance(value, str) else value.strip().lower() == "true"
