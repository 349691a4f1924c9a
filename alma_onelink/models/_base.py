"""The base model and the field types that absorb Alma's quirks at the edge.

Alma payloads are inconsistent: booleans arrive as ``true`` or ``"TRUE"``, numbers as strings, dates
as ``2027-06-30Z``, lists as ``null`` or as a single object. The annotated types here accept all of
it and write Alma's canonical JSON back, so the rest of the code sees clean Python types.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    PlainSerializer,
    PlainValidator,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)
from pydantic_core import PydanticSerializationError
from pydantic_core import core_schema as cs

from ..errors import InputError

__all__ = [
    "KeptNumber",
    "dump_date",
    "input_error",
    "is_placeholder_id",
    "dump_datetime",
    "parse_date",
    "parse_datetime",
    "AlmaBool",
    "AlmaDate",
    "AlmaDateTime",
    "AlmaFloat",
    "AlmaInt",
    "AlmaModel",
    "Code",
    "ListOf",
]

_PLACEHOLDER_ID = re.compile(r"^\s*no primary id\s*\(.*\)\s*$", re.I | re.S)


def is_placeholder_id(value: str | None) -> bool:
    """Whether ``value`` is Alma's "no primary id (<internal number>)", written for contacts without one."""
    return bool(value) and _PLACEHOLDER_ID.match(value or "") is not None


_DATE_Z = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[zZ]|[+-]\d{2}:?\d{2})?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_EPOCH_TEXT = re.compile(r"^-?\d{9,}(?:\.\d+)?$")
# Epoch numbers above this are milliseconds (Java's habit), below it seconds: 10**11 s is the year 5138.
_MILLIS_FROM = 10**11


def _from_epoch(value: float, shown: Any) -> datetime:
    seconds = value / 1000 if abs(value) >= _MILLIS_FROM else value
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(
            f"{shown!r} is not a timestamp: as seconds or milliseconds since 1970 it is out of range"
        ) from None


def parse_datetime(value: Any) -> datetime | None:
    """Read an Alma timestamp; blank → None.

    ISO 8601 with or without milliseconds and zone (a text without a zone is UTC, as Alma speaks
    UTC), a bare date (midnight UTC), or an epoch number in seconds or milliseconds. A Python
    ``datetime`` without a zone is local time (as ``datetime.now()`` gives it), never taken for UTC.
    """
    if isinstance(value, datetime):
        # A naive datetime from Python code is the machine's wall clock: astimezone() reads it so.
        return value if value.tzinfo is not None else value.astimezone()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a timestamp")
        return _from_epoch(value, value)
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 timestamp such as 2018-01-05T04:49:27.349Z, got {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    if _EPOCH_TEXT.match(text):
        return _from_epoch(float(text), value)
    compact = _COMPACT_DATE.match(text)
    if compact:
        text = "-".join(compact.groups())
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    if len(text) == 10:  # a bare date where a timestamp is expected
        text += "T00:00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp such as 2018-01-05T04:49:27.349Z") from None
    # Alma speaks UTC; a timestamp text without a zone is read as UTC rather than as local time.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_date(value: Any) -> date | None:
    """Read an Alma date; blank → None.

    ``2027-06-30Z``, ``…z``, bare, with a zone offset (``2027-06-30+02:00``: the day stays), compact
    ``20270630``, or a timestamp (text or epoch number), whose calendar day is kept.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        parsed = parse_datetime(value)
        return parsed.date() if parsed is not None else None
    if not isinstance(value, str):
        raise ValueError(f"expected a date such as 2027-06-30Z, got {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    match = _DATE_Z.match(text) or _COMPACT_DATE.match(text)
    if match:
        day = match.group(1) if match.re is _DATE_Z else "-".join(match.groups())
        try:
            return date.fromisoformat(day)
        except ValueError:
            raise ValueError(f"{value!r} is not a real calendar date") from None
    if "T" in text or "t" in text or _EPOCH_TEXT.match(text):
        # A full timestamp where a date is expected: keep the calendar day Alma meant.
        try:
            parsed = parse_datetime(text if "T" in text else text.replace("t", "T"))
        except ValueError:
            raise ValueError(f"{value!r} is not a date such as 2027-06-30Z") from None
        return parsed.date() if parsed is not None else None
    raise ValueError(f"{value!r} is not a date such as 2027-06-30Z")


def dump_date(value: date) -> str:
    """Write a date as Alma does: ``2027-06-30Z``."""
    return value.isoformat() + "Z"


def dump_datetime(value: datetime) -> str:
    """Write a timestamp as Alma does: UTC, ``…T04:49:27.349Z`` (milliseconds only when non-zero).

    A naive ``datetime`` (set without validation) is local time, as everywhere in these models.
    """
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    millis = value.microsecond // 1000
    if millis:
        text += f".{millis:03d}"
    return text + "Z"


class KeptNumber(float):
    """A number Alma sent as text that no finite float holds (``"NaN"``, ``"1e999"``, ``"Infinity"``).

    It reads as the float it names (NaN, infinity) and is written back as the very text Alma sent,
    never as ``null`` or another spelling.
    """

    text: str

    def __new__(cls, value: float, text: str) -> KeptNumber:
        number = super().__new__(cls, value)
        number.text = text
        return number

    def __repr__(self) -> str:
        return f"KeptNumber({self.text!r})"


_INT_TEXT = re.compile(r"^[+-]?\d+$")


def _number_from_text(value: Any) -> int | float | None:
    """A number from the text Alma sent: ``"7.50"``, ``"42"`` (kept whole and exact), blank (unset)."""
    if not isinstance(value, str):
        raise ValueError(f"expected a number such as 7.50, got {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    if _INT_TEXT.match(text):
        return int(text)
    try:
        number = float(text.replace(",", "") if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?", text) else text)
    except ValueError:
        raise ValueError(f"{value!r} is not a number such as 7.50") from None
    return number if math.isfinite(number) else KeptNumber(number, value)


def _dump_number(value: float) -> float | str:
    return value.text if isinstance(value, KeptNumber) else value


# --- caller mistakes as InputError ----------------------------------------------------------------

_UNION_TAGS = frozenset({"none", "str", "int", "float", "bool", "dict", "list"})


def _where(loc: tuple[Any, ...]) -> str:
    """A field path as a person writes it (``user_note[0].created_date``), without pydantic's union tags."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, str) and re.fullmatch(r"[a-z_][a-z0-9_]*", part) and part not in _UNION_TAGS:
            text += f".{part}" if text else part
    return text or "(value)"


def input_error(model: str, exc: ValidationError) -> InputError:
    """A pydantic `ValidationError` as `InputError`: one line per field, naming it and what to type.

    Where pydantic tried several readings of one field (a union), our own message, which says what to
    type, wins over a generic one, and the deepest location over a shallow one.
    """
    best: dict[str, tuple[tuple[bool, int], str]] = {}
    for error in exc.errors(include_url=False):
        loc = tuple(error.get("loc", ()))
        where = _where(loc)
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") in ("model_type", "model_attributes_type", "list_type", "dict_type"):
            message = f"{message} (give an object in Alma's JSON shape)"
        rank = (error.get("type") == "value_error", where.count(".") + where.count("["))
        top = where.split(".")[0].split("[")[0]
        if top not in best or rank > best[top][0]:
            best[top] = (rank, f"{where}: {message}")
    return InputError(f"{model}: {'; '.join(line for _, line in best.values())}")


# Each quirk is a pydantic-core schema, so the usual shapes validate in Rust and Python runs only
# for the unusual ones (a blank string, a lone object where a list belongs).

_BLANK_AS_NONE = cs.no_info_after_validator_function(lambda _: None, cs.str_schema(pattern=r"^\s*$"))


class _BlankIsNone:
    """Reads a blank string as ``None`` for a field of another type (``preferred: ""``)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> cs.CoreSchema:
        return cs.union_schema([handler(source), _BLANK_AS_NONE], mode="left_to_right")


class _Number:
    """A JSON number as it came (whole numbers stay ``int``), or a number written as text (see `_number_from_text`)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> cs.CoreSchema:
        return cs.union_schema(
            [
                cs.int_schema(strict=True),
                cs.float_schema(strict=True),
                cs.no_info_plain_validator_function(_number_from_text),
            ],
            mode="left_to_right",
            serialization=cs.plain_serializer_function_ser_schema(_dump_number, when_used="json-unless-none"),
        )


class _ListOrOne:
    """Reads ``null`` as ``[]`` and a lone item as a one-item list."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> cs.CoreSchema:
        schema = handler(source)
        items = schema.get("items_schema", cs.any_schema()) if schema.get("type") == "list" else cs.any_schema()
        return cs.union_schema(
            [
                schema,
                cs.no_info_after_validator_function(lambda _: [], cs.none_schema()),
                cs.no_info_after_validator_function(lambda item: [item], items),
            ],
            mode="left_to_right",
        )


AlmaDate = Annotated[
    date,
    PlainValidator(parse_date, json_schema_input_type=str),
    PlainSerializer(dump_date, return_type=str),
]
"""A calendar date. Reads ``2027-06-30Z``, ``2027-06-30z`` and ``2027-06-30`` (blank: unset); writes ``2027-06-30Z``."""

AlmaDateTime = Annotated[
    datetime,
    PlainValidator(parse_datetime, json_schema_input_type=str),
    PlainSerializer(dump_datetime, return_type=str),
]
"""A UTC timestamp. Reads ISO 8601 with or without milliseconds and zone (UTC assumed); writes ``…T04:49:27.349Z``."""

AlmaBool = Annotated[bool, _BlankIsNone()]
"""A boolean that also reads ``"TRUE"``/``"false"``; a blank string reads as unset."""

AlmaInt = Annotated[int, _BlankIsNone()]
"""An integer that also reads ``"42"``; a blank string reads as unset."""

AlmaFloat = Annotated[float, _Number()]
"""A number that also reads ``"7.50"``; whole numbers stay ``int``; a blank string reads as unset.

``"NaN"`` or ``"1e999"`` sent as text are kept (`KeptNumber`) and written back as sent; a NaN or
infinite number set in Python cannot be sent (JSON has no such number) and is refused on sending.
"""

T = TypeVar("T")

ListOf = Annotated[list[T], _ListOrOne()]
"""A list that also reads ``null`` (as ``[]``) and a lone object (as a one-item list)."""


@functools.cache
def _defaults_of(model: type[BaseModel]) -> tuple[frozenset[str], dict[str, tuple[str | None, Any]]]:
    """Each field's alias and default, worked out once per class (used only for comparing)."""
    fields = {
        name: (field.alias, field.get_default(call_default_factory=True)) for name, field in model.model_fields.items()
    }
    return frozenset(fields), fields


class AlmaModel(BaseModel):
    """Base of every Alma object: lenient on read, canonical on write, and lossless.

    Unknown fields are kept as extras. Dumping writes the fields Alma sent or you set, plus any
    field whose value you changed in place (a list you appended to); defaults nobody touched are
    left out, so a GET → PUT round trip sends back exactly what Alma sent, with your changes.
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        coerce_numbers_to_str=True,
        validate_assignment=True,
        # NaN and infinities stay what they are: refused when sent, never silently written as null.
        ser_json_inf_nan="constants",
    )

    def __init__(self, /, **data: Any) -> None:
        """Build the object from its fields; a value that does not fit raises `InputError` naming the field."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise input_error(type(self).__name__, exc) from None

    # Tell pydantic this is its own __init__: validating nested objects (Alma's JSON) then stays in
    # pydantic-core instead of calling __init__ for each one.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            raise input_error(type(self).__name__, exc) from None

    @model_serializer(mode="wrap")
    def _drop_untouched_defaults(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if info.exclude_unset:
            return data
        names, defaults = _defaults_of(type(self))
        for name in names - self.__pydantic_fields_set__:  # usually empty or small: a set difference in C
            alias, default = defaults[name]
            key = alias if (info.by_alias and alias) else name
            if key in data and getattr(self, name) == default:
                del data[key]
        return data

    def to_alma(self) -> dict[str, Any]:
        """The JSON body Alma expects for this object (canonical dates, codes and lists).

        Raises `InputError` if the object cannot be written (nested too deeply, or a value of a type
        JSON has no form for).
        """
        try:
            return self.model_dump(mode="json", by_alias=True)
        except (PydanticSerializationError, ValueError, TypeError, RecursionError) as exc:
            raise InputError(
                f"This {type(self).__name__} cannot be written as JSON ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else 'unknown'}); check extra fields nested too deeply "
                "or holding objects that are not JSON values"
            ) from None

    @classmethod
    def from_alma(cls, data: dict[str, Any] | str | bytes) -> Self:
        """Parse an Alma JSON object (a dict, or the raw JSON text); `InputError` names what does not fit."""
        try:
            if isinstance(data, str | bytes):
                return cls.model_validate_json(data)
            return cls.model_validate(data)
        except ValidationError as exc:
            raise input_error(cls.__name__, exc) from None


class Code(AlmaModel):
    """A code-table value: ``{"value": "ALUM", "desc": "Alumni"}``.

    Only ``value`` matters when writing; Alma fills ``desc`` from its code tables. A plain string
    is accepted wherever a code is expected: ``User(user_group="ALUM")``.
    """

    value: str | None = None
    desc: str | None = None

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> cs.CoreSchema:
        # A code arrives as an object; a plain string (written by hand) becomes {"value": string}.
        return cs.union_schema(
            [handler(source), cs.no_info_after_validator_function(lambda v: cls(value=v), cs.str_schema())],
            mode="left_to_right",
        )

    def __str__(self) -> str:
        return self.value or ""

    def matches(self, value: str | None) -> bool:
        """Whether this code's value equals ``value``, ignoring case."""
        if self.value is None or value is None:
            return self.value is value
        return self.value.casefold() == value.casefold()
