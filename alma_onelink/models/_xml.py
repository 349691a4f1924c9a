"""Alma's XML, written: the same records as the JSON, by the rules of ``rest_user.xsd`` (writing only).

Ex Libris generates its JSON from the XML schemas, so one set of rules maps each way:

- a code ``{"value": "X", "desc": "Label"}`` is ``<field desc="Label">X</field>``; any object whose
  ``value`` is text and whose other keys are plain values (``link``, ``name``…) is written the same way,
  except the objects in `RECORDS`, which hold a child element named ``value``;
- the XML attributes ``desc``, ``link``, ``preferred``, ``preferred_sms`` and ``segment_type`` are plain
  JSON keys;
- a JSON list is named after its items; in XML the items sit in a plural wrapper
  (``"user_identifier": [...]`` is ``<user_identifiers><user_identifier>…``);
- a list envelope (``users``, ``item_loans``, ``user_requests``, ``fees``) carries its counts as
  attributes of the root: ``<users total_record_count="2"><user>…``;
- ``null`` is left out; booleans are ``true``/``false``; no namespace (the schemas declare none).

Text is written so that a reader gets back exactly what was written: a carriage return is written as
``&#13;`` (an XML parser turns a bare one into a line feed), and a character XML 1.0 cannot carry (a
control character, a lone surrogate) raises `InputError` naming the element, never a broken document.

Used by the SIS file writer (`alma_onelink.sis`) and meant for the sandbox's XML answers too, so both
write one dialect.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import InputError

__all__ = [
    "ATTRIBUTES",
    "DECLARATION",
    "ENVELOPES",
    "ORDER",
    "RECORDS",
    "WRAPPERS",
    "element_bytes",
    "to_element",
    "to_xml",
    "user_to_element",
    "users_document",
]

DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
"""The declaration Alma writes at the top of its documents."""

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

ATTRIBUTES = frozenset({"desc", "link", "preferred", "preferred_sms", "segment_type"})
"""Keys of a JSON object that are attributes of its XML element."""

ENVELOPES = {"users": "user", "item_loans": "item_loan", "user_requests": "user_request", "fees": "fee"}
"""List envelopes: XML root → the JSON key (and XML element) of its items."""

RECORDS = frozenset({"user", "contact_info", "user_identifier", "library_notice", "parameter"})
"""Elements with element content even when their JSON looks like a code (they have a child named ``value``)."""

ORDER = {"contact_info": ("address", "email", "phone")}
"""Objects whose children the schema lists in a fixed order (``xs:sequence``): their JSON keys in that order."""

# XML 1.0's Char production: anything else cannot appear in a document, not even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any, name: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    text = str(value)
    bad = _NOT_XML.search(text)
    if bad:
        raise InputError(
            f"{name} holds the character U+{ord(bad.group()):04X}, which an XML document cannot carry; "
            "remove it (it is usually a stray control character pasted with the text)"
        )
    return text


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _simple(name: str, value: Mapping[str, Any]) -> bool:
    """Whether an object is written as text plus attributes (a code, ``{"value", "link"}``…)."""
    return name not in RECORDS and "value" in value and all(_is_scalar(item) for item in value.values())


def _add(parent: ET.Element, name: str, value: Any) -> None:
    """Append ``name`` holding ``value`` to ``parent`` (nothing for ``None``)."""
    if value is None:
        return
    if isinstance(value, list):
        holder = ET.SubElement(parent, WRAPPERS[name]) if name in WRAPPERS else parent
        for item in value:
            _add(holder, name, item)
        return
    _fill(ET.SubElement(parent, name), name, value)


def _fill(element: ET.Element, name: str, value: Any) -> None:
    if not isinstance(value, dict):
        element.text = _text(value, name)
        return
    if _simple(name, value):
        element.text = _text(value["value"], name) if value["value"] is not None else ""
        for key, item in value.items():
            if key != "value" and item is not None:
                element.set(key, _text(item, f"{name}/@{key}"))
        return
    order = ORDER.get(name)
    items = value.items() if order is None else sorted(value.items(), key=lambda kv: _rank(order, kv[0]))
    for key, item in items:
        if key in ATTRIBUTES and _is_scalar(item):
            if item is not None:
                element.set(key, _text(item, f"{name}/@{key}"))
        else:
            _add(element, key, item)


def _rank(order: tuple[str, ...], key: str) -> int:
    return order.index(key) if key in order else len(order)


def to_element(name: str, data: Any) -> ET.Element:
    """``data`` (Alma's JSON: an object, a code or a plain value) as the element ``name``.

    Raises `InputError` if a text holds a character XML cannot carry.
    """
    element = ET.Element(name)
    _fill(element, name, data)
    return element


def user_to_element(record: Mapping[str, Any]) -> ET.Element:
    """A user (``User.to_alma()``, Alma's JSON) as a ``<user>`` element; `InputError` as `to_element`."""
    return to_element("user", dict(record))


def element_bytes(element: ET.Element) -> bytes:
    """One element as UTF-8, without a declaration: for writing a document piece by piece."""
    text = ET.tostring(element, encoding="unicode", short_empty_elements=False)
    # ElementTree escapes a carriage return only in attributes; in text a parser would read it as a line feed.
    return text.replace("\r", "&#13;").encode("utf-8")


def to_xml(root: str, data: Mapping[str, Any]) -> bytes:
    """``data`` (Alma's JSON) as Alma's XML document with root element ``root``, declaration included.

    For a list envelope (`ENVELOPES`), ``data`` is the JSON envelope: its item list becomes the
    children, and its other keys the root's attributes. Raises `InputError` as `to_element`.
    """
    element = ET.Element(root)
    if root in ENVELOPES:
        item = ENVELOPES[root]
        for key, value in data.items():
            if key == item:
                for entry in value:
                    _fill(ET.SubElement(element, item), item, entry)
            elif value is not None:
                element.set(key, _text(value, f"{root}/@{key}"))
    else:
        _fill(element, root, dict(data))
    return DECLARATION.encode("utf-8") + element_bytes(element)


def users_document(records: Iterable[Mapping[str, Any]]) -> bytes:
    """Users (each Alma's JSON) as one ``<users>`` document (``rest_users.xsd``), without a count attribute.

    The whole document is built in memory: to write many users, write `DECLARATION`, ``<users>``,
    each `element_bytes(user_to_element(record))` and ``</users>`` as the SIS file writer does.
    """
    return to_xml("users", {"user": [dict(record) for record in records]})
