"""The base model and the field types that absorb Alma's quirks at the edge.

Alma payloads are inconsistent: booleans arrive as ``true`` or ``"TRUE"``, numbers as strings, dates
as ``2027-06-30Z``, lists as ``null`` or as a single object. The annotated types here accept all of
it and write Alma's canonical JSON back, so the rest of the code sees clean Python types.
"""

from __future__ import annotations

import functools
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
    model_serializer,
)
from pydantic_core import core_schema as cs

__all__ = [
    "dump_date",
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

_DATE_Z = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[zZ]|[+-]00:?00)?$")


def parse_datetime(value: Any) -> datetime | None:
    """Read an Alma timestamp (ISO 8601, with or without ms and zone; UTC assumed); blank → None."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 timestamp, got {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    if len(text) == 10:  # a bare date where a timestamp is expected
        text += "T00:00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp such as 2018-01-05T04:49:27.349Z") from None
    # Alma speaks UTC; a timestamp without a zone is read as UTC rather than as local time.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_date(value: Any) -> date | None:
    """Read an Alma date (``2027-06-30Z``, ``…z`` or bare; a timestamp keeps its day); blank → None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a date such as 2027-06-30Z, got {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    match = _DATE_Z.match(text)
    if match:
        try:
            return date.fromisoformat(match.group(1))
        except ValueError:
            raise ValueError(f"{value!r} is not a real calendar date") from None
    if "T" in text or "t" in text:
        # A full timestamp where a date is expected: keep the calendar day Alma meant.
        parsed = parse_datetime(text.replace("t", "T"))
        return parsed.date() if parsed is not None else None
    raise ValueError(f"{value!r} is not a date such as 2027-06-30Z")


def dump_date(value: date) -> str:
    """Write a date as Alma does: ``2027-06-30Z``."""
    return value.isoformat() + "Z"


def dump_datetime(value: datetime) -> str:
    """Write a timestamp as Alma does: UTC, ``…T04:49:27.349Z`` (milliseconds only when non-zero)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    millis = value.microsecond // 1000
    if millis:
        text += f".{millis:03d}"
    return text + "Z"


# Each quirk is a pydantic-core schema, so the usual shapes validate in Rust and Python runs only
# for the unusual ones (a blank string, a lone object where a list belongs).

_BLANK_AS_NONE = cs.no_info_after_validator_function(lambda _: None, cs.str_schema(pattern=r"^\s*$"))


class _BlankIsNone:
    """Reads a blank string as ``None`` for a field of another type (``preferred: ""``)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> cs.CoreSchema:
        return cs.union_schema([handler(source), _BLANK_AS_NONE], mode="left_to_right")


class _KeepInts:
    """Keeps whole numbers as ``int`` (``750`` stays ``750``, not ``750.0``) in a float field."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> cs.CoreSchema:
        return cs.union_schema([cs.int_schema(strict=True), handler(source)], mode="left_to_right")


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

AlmaFloat = Annotated[float, _KeepInts(), _BlankIsNone()]
"""A number that also reads ``"7.50"``; whole numbers stay ``int``; a blank string reads as unset."""

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
        ser_json_inf_nan="null",
    )

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
        """The JSON body Alma expects for this object (canonical dates, codes and lists)."""
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_alma(cls, data: dict[str, Any] | str | bytes) -> Self:
        """Parse an Alma JSON object (a dict, or the raw JSON text)."""
        if isinstance(data, str | bytes):
            return cls.model_validate_json(data)
        return cls.model_validate(data)


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
