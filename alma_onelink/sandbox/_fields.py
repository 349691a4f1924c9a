"""Small helpers the record rules share: the rules' environment, code values, mandatory-field checks,
and the date-time formats the sandbox writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ._codefile import LOADABLE_TABLES
from ._codes import CodeTables
from ._http import AlmaFailure

LOAD_COMMAND = "alma-onelink sandbox codes load FILE"
"""The command that adds codes to the sandbox's database, named in every refusal of a code it lacks."""

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


# The date-time formats the sandbox writes. Each is deliberate and none is `dump_datetime`'s (which
# converts to UTC and writes milliseconds only when they are not zero): they are kept as they are seen.


def stamp_millis(moment: datetime) -> str:
    """A date-time with milliseconds, always (``2024-05-01T10:00:00.000Z``): notes' and blocks' ``created_date``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def stamp_seconds(moment: datetime) -> str:
    """A date-time to the second (``2018-08-14T20:00:00Z``): the times of loans, requests and fees."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp_log(moment: datetime) -> str:
    """ISO 8601 to the microsecond, ``Z`` for UTC (``2026-03-14T15:09:26.123456Z``): the request log's times."""
    return moment.isoformat().replace("+00:00", "Z")


def code_value(value: Any) -> str:
    """The code of a ``{"value": …}`` object or a plain string; ``""`` when blank."""
    if isinstance(value, dict):
        value = value.get("value")
    return str(value).strip() if value is not None else ""


def is_unpaid_fee(fee: Json) -> bool:
    """Whether money is still owed on the fee."""
    return float(fee.get("balance") or 0) > 0 and code_value(fee.get("status")).upper() != "CLOSED"


def text(value: Any) -> str:
    """A string field as Alma returns it: ``""`` when unset."""
    return "" if value is None else str(value)


def lacking_code(error_code: str, message: str, table: str, code: str) -> AlmaFailure:
    """Alma's refusal (``error_code``, ``message``) of a ``code`` the sandbox's ``table`` lacks, saying so.

    Alma's message comes first, word for word, so a client that reads it still matches it; the
    sandbox's note follows in the same text: which table lacks which code and, for a table an
    institution configures, the command that adds it.
    """
    note = f" Sandbox: the {table} table has no code {code}"
    if table in LOADABLE_TABLES:
        note += f"; add it with: {LOAD_COMMAND}"
    return AlmaFailure(error_code, message + note)


def make_code(codes: CodeTables, table: str, value: Any, *, strict: str | None = None) -> Json:
    """``{"value", "desc"}`` with the code spelled as the table spells it and ``desc`` from the table.

    ``desc`` always comes from the table: a code the table does not hold gets ``""``, whatever
    ``desc`` the client sent. With ``strict`` (the field's name, such as ``"note type"``), such a
    code is refused instead: 401864 "Given note type (X) is invalid.", followed by the sandbox's note
    (see `lacking`). A blank code is never refused.
    """
    raw = code_value(value)
    if not raw:
        return {"value": "", "desc": ""}
    found = codes.lookup(table, raw)
    if found is not None:
        return {"value": found[0], "desc": found[1]}
    if strict:
        raise lacking_code("401864", f"Given {strict} ({raw}) is invalid.", table, raw)
    return {"value": raw, "desc": ""}


def require(obj: Json, field: str, label: str | None = None) -> None:
    value = obj.get(field)
    missing = not value if isinstance(value, list) else not code_value(value)
    if missing:
        raise AlmaFailure("401664", f"Mandatory field is missing: {label or field}")


def type_list(codes: CodeTables, table: str, value: Any, what: str) -> list[Json]:
    items = value if isinstance(value, list) else ([] if value is None else [value])
    return [make_code(codes, table, item, strict=what) for item in items]


def as_bool(value: Any) -> bool:
    """A boolean from ``true``/``"TRUE"``/``"false"`` and the like."""
    return bool(value) if not isinstance(value, str) else value.strip().lower() == "true"
