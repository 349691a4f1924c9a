"""Alma's XML: the same records as the JSON, written and read by the rules of ``rest_user.xsd``.

Ex Libris generates its JSON from the XML schemas, so one set of rules maps each way (reference §5.1):

- a code ``{"value": "X", "desc": "Label"}`` is ``<field desc="Label">X</field>``; any object whose
  ``value`` is text and whose other keys are plain values (``link``, ``name``…) is written the same way;
- the XML attributes ``desc``, ``link``, ``preferred``, ``preferred_sms`` and ``segment_type`` are plain
  JSON keys;
- a JSON list is named after its items; in XML the items sit in a plural wrapper
  (``"user_identifier": [...]`` is ``<user_identifiers><user_identifier>…``);
- a list envelope (``users``, ``item_loans``, ``user_requests``, ``fees``) carries its counts as
  attributes of the root: ``<users total_record_count="2"><user>…``;
- ``null`` is left out; booleans are ``true``/``false``.

Reading is lenient, as Alma's is: a code may come without ``desc``, and namespaces are ignored. A
document type declaration (and so any entity) is refused, so no document can expand or fetch anything.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from ._fields import Json
from ._http import AlmaFailure

__all__ = ["ENVELOPES", "from_xml", "parse_xml", "to_xml", "user_from_xml"]

DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'

WRAPPERS = {
    "user_identifier": "user_identifiers",
    "user_role": "user_roles",
    "user_block": "user_blocks",
    "user_note": "user_notes",
    "user_statistic": "user_statistics",
    "proxy_for_user": "proxy_for_users",
    "rs_library": "rs_libraries",
    "library_notice": "library_notices",
    "address": "addresses",
    "email": "emails",
    "phone": "phones",
    "email_type": "email_types",
    "phone_type": "phone_types",
    "address_type": "address_types",
    "parameter": "parameters",
    "transaction": "transactions",
}
"""JSON list key → the XML element that wraps its items."""

_ITEMS = {wrapper: item for item, wrapper in WRAPPERS.items()}

ATTRIBUTES = frozenset({"desc", "link", "preferred", "preferred_sms", "segment_type"})
"""Keys of a JSON object that are attributes of its XML element."""

ENVELOPES = {"users": "user", "item_loans": "item_loan", "user_requests": "user_request", "fees": "fee"}
"""List envelopes: XML root → the JSON key (and XML element) of its items."""

_ENVELOPE_NUMBERS = {"total_record_count": int, "total_sum": float}
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _simple(value: Json) -> bool:
    """Whether an object is written as text plus attributes (a code, ``{"value", "link"}``…)."""
    return "value" in value and all(_is_scalar(item) for item in value.values())


def _add(parent: ET.Element, name: str, value: Any) -> None:
    """Append ``name`` holding ``value`` to ``parent`` (nothing for ``None``)."""
    if value is None:
        return
    if isinstance(value, list):
        holder = ET.SubElement(parent, WRAPPERS[name]) if name in WRAPPERS else parent
        for item in value:
            _add(holder, name, item)
        return
    element = ET.SubElement(parent, name)
    _fill(element, value)


def _fill(element: ET.Element, value: Any) -> None:
    if not isinstance(value, dict):
        element.text = _text(value)
        return
    if _simple(value):
        element.text = _text(value["value"]) if value["value"] is not None else ""
        for key, item in value.items():
            if key != "value" and item is not None:
                element.set(key, _text(item))
        return
    for key, item in value.items():
        if key in ATTRIBUTES and _is_scalar(item):
            if item is not None:
                element.set(key, _text(item))
        else:
            _add(element, key, item)


def to_xml(root: str, data: Json) -> bytes:
    """``data`` (Alma's JSON) as Alma's XML document with root element ``root``.

    For a list envelope (`ENVELOPES`), ``data`` is the JSON envelope: its item list becomes the
    children, and its other keys the root's attributes.
    """
    element = ET.Element(root)
    if root in ENVELOPES:
        item = ENVELOPES[root]
        for key, value in data.items():
            if key == item:
                for entry in value:
                    _fill(ET.SubElement(element, item), entry)
            elif value is not None:
                element.set(key, _text(value))
    else:
        _fill(element, data)
    return (DECLARATION + ET.tostring(element, encoding="unicode", short_empty_elements=False)).encode("utf-8")


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
