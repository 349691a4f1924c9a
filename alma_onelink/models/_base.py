"""The base model and the field types that absorb Alma's quirks at the edge.

Alma payloads are inconsistent: booleans arrive as ``true`` or ``"TRUE"``, numbers as strings, dates
as ``2027-06-30Z``, lists as ``null`` or as a single object. The annotated types here accept all of
it and write Alma's canonical JSON back, so the rest of the code sees clean Python types.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

__all__ = [
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


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _parse_date(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        match = _DATE_Z.match(text)
        if match:
            return match.group(1)
        # A full timestamp where a date is expected: keep the calendar day Alma meant.
        if "T" in text:
            return _parse_datetime(text).date()
    return value


def _dump_date(value: date) -> str:
    return value.isoformat() + "Z"


def _parse_datetime(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text[-1] in "zZ":
            text = text[:-1] + "+00:00"
        if len(text) == 10:  # a bare date where a timestamp is expected
            text += "T00:00:00+00:00"
        return datetime.fromisoformat(text)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _dump_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return text + "Z"


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, dict | BaseModel | str):
        return [value]
    return value


AlmaDate = Annotated[date, BeforeValidator(_parse_date), PlainSerializer(_dump_date, return_type=str)]
"""A calendar date. Reads ``2027-06-30Z``, ``2027-06-30z`` and ``2027-06-30``; writes ``2027-06-30Z``."""

AlmaDateTime = Annotated[
    datetime, BeforeValidator(_parse_datetime), PlainSerializer(_dump_datetime, return_type=str)
]
"""A UTC timestamp. Reads ISO 8601 with or without milliseconds and ``Z``; writes ``…T04:49:27.349Z``."""

AlmaBool = Annotated[bool, BeforeValidator(_blank_to_none)]
"""A boolean that also reads ``"TRUE"``/``"false"``; a blank string reads as unset."""

AlmaInt = Annotated[int, BeforeValidator(_blank_to_none)]
"""An integer that also reads ``"42"``; a blank string reads as unset."""

AlmaFloat = Annotated[float, BeforeValidator(_blank_to_none)]
"""A number that also reads ``"7.50"``; a blank string reads as unset."""

T = TypeVar("T")

ListOf = Annotated[list[T], BeforeValidator(_as_list)]
"""A list that also reads ``null`` (as ``[]``) and a lone object (as a one-item list)."""


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
        fields_set = self.__pydantic_fields_set__
        for name, field in type(self).model_fields.items():
            if name in fields_set:
                continue
            key = field.alias if (info.by_alias and field.alias) else name
            if key in data and getattr(self, name) == field.get_default(call_default_factory=True):
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

    @model_validator(mode="before")
    @classmethod
    def _from_plain_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"value": data}
        return data

    def __str__(self) -> str:
        return self.value or ""

    def matches(self, value: str | None) -> bool:
        """Whether this code's value equals ``value``, ignoring case."""
        if self.value is None or value is None:
            return self.value is value
        return self.value.casefold() == value.casefold()
