"""Alma's XML: the same records as the JSON, read by the rules of ``rest_user.xsd``; written by the SDK's writer.

The sandbox answers in XML with the writer the SIS file uses (`alma_onelink.models._xml`), so both
write one dialect (reference §5.1): codes as ``<field desc="Label">X</field>``, lists in their plural
wrappers, list envelopes with their counts as attributes of the root, ``null`` left out. A record
holding a character XML cannot carry raises `InputError` there (the handler answers with an error).

Reading is lenient, as Alma's is: a code may come without ``desc``, and namespaces are ignored. A
document type declaration (and so any entity) is refused, so no document can expand or fetch anything.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from alma_onelink.models._xml import ATTRIBUTES, DECLARATION, ENVELOPES, WRAPPERS, to_xml

from ._fields import Json
from ._http import AlmaFailure

__all__ = ["ATTRIBUTES", "DECLARATION", "ENVELOPES", "WRAPPERS", "from_xml", "parse_xml", "to_xml", "user_from_xml"]

_ITEMS = {wrapper: item for item, wrapper in WRAPPERS.items()}
_ENVELOPE_NUMBERS = {"total_record_count": int, "total_sum": float}
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _read(element: ET.Element) -> Any:
    children = list(element)
    attributes = {_local(key): value for key, value in element.attrib.items()}
    if not children:
        text = element.text or ""
        if _local(element.tag) in _ITEMS:
            return []  # an empty wrapper: an empty list
        return {"value": text, **attributes} if attributes else text
    result: Json = dict(attributes)
    for child in children:
        tag = _local(child.tag)
        if tag in _ITEMS:
            result[_ITEMS[tag]] = [_read(item) for item in child]
        elif tag in result and tag not in attributes:
            existing = result[tag]
            result[tag] = [*existing, _read(child)] if isinstance(existing, list) else [existing, _read(child)]
        else:
            result[tag] = _read(child)
    return result


def parse_xml(body: bytes) -> ET.Element:
    """The root element of ``body``; raises 401676 for malformed XML or any DOCTYPE/ENTITY declaration."""
    if _DOCTYPE.search(body):
        raise AlmaFailure("401676", "No valid XML was given.")
    try:
        return ET.fromstring(body)  # noqa: S314 - no DOCTYPE, so no entity can be declared or expanded
    except ET.ParseError as exc:
        raise AlmaFailure("401676", "No valid XML was given.") from exc


def from_xml(body: bytes) -> tuple[str, Json]:
    """``(root element name, the document as Alma's JSON)``; raises 401676 if ``body`` is not XML.

    A list envelope becomes its JSON envelope (counts as numbers, the items under their key, the key
    left out when there are none).
    """
    root = parse_xml(body)
    name = _local(root.tag)
    if name in ENVELOPES:
        data: Json = {}
        items = [_read(child) for child in root if _local(child.tag) == ENVELOPES[name]]
        if items:
            data[ENVELOPES[name]] = items
        for key, value in root.attrib.items():
            convert = _ENVELOPE_NUMBERS.get(_local(key))
            data[_local(key)] = convert(value) if convert else value
        return name, data
    content = _read(root)
    return name, content if isinstance(content, dict) else {}


def user_from_xml(body: bytes) -> Json:
    """A ``<user>`` request body as the JSON the user rules take; 401676 for anything else."""
    name, data = from_xml(body)
    if name != "user":
        raise AlmaFailure("401676", "No valid XML was given.")
    return data
