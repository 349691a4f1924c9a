"""Alma's error bodies read once: the entries of an ``errorList`` (JSON, XML or wrapped), and what a body is.

`parse_error_details` finds codes, messages and tracking ids wherever real error bodies put them, the
message text included (Alma sometimes writes ``(Tracking ID: …)`` into ``errorMessage``). Nothing
here raises; `alma_onelink.errors` builds the typed errors from what is found.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AlmaErrorDetail", "body_excerpt", "body_kind", "lift_message_details", "parse_error_details"]


@dataclass(frozen=True, slots=True)
class AlmaErrorDetail:
    """One entry of Alma's ``errorList``: code, message, tracking id, and any other field it carried."""

    code: str
    message: str
    tracking_id: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        tracking = f" (tracking id {self.tracking_id})" if self.tracking_id else ""
        more = "".join(f"; {key}: {value}" for key, value in self.extra.items())
        return f"{self.code}: {self.message}{tracking}{more}"


# Alma writes camelCase; some gateways and wrappers write snake_case. Each name maps to its role.
_CODE_KEYS = ("errorCode", "error_code", "ErrorCode")
_MESSAGE_KEYS = ("errorMessage", "error_message", "ErrorMessage")
_TRACKING_KEYS = ("trackingId", "tracking_id", "TrackingId", "trackingID")
_DETAIL_KEYS = frozenset(_CODE_KEYS + _MESSAGE_KEYS + _TRACKING_KEYS)
_CONTAINER_KEYS = frozenset({"web_service_result", "errorList", "error_list", "error", "errors"})
_MAX_DEPTH = 8


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _first(obj: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        if obj.get(key) not in (None, ""):
            return obj[key]
    return None


# Details Alma sometimes writes into the message text instead of their own fields, as
# "User with identifier j was not found.\n(Tracking ID: E01-1609190759-CBB7C-AWAE151072507)".
# Each is taken out of the message into its field; the words around it stay as they were.
_IN_MESSAGE: dict[str, re.Pattern[str]] = {
    "tracking_id": re.compile(
        r"[ \t]*\r?\n?[ \t]*\(?[ \t]*tracking[ \t_-]*id[ \t]*[:=#][ \t]*(?P<value>[A-Za-z0-9][A-Za-z0-9._-]*)[ \t]*\)?",
        re.IGNORECASE,
    ),
}


def lift_message_details(message: str) -> tuple[str, dict[str, str]]:
    """``message`` without the details written into it, and those details by field (``tracking_id``).

    ``"Not found.\n(Tracking ID: E01-…)"`` gives ``("Not found.", {"tracking_id": "E01-…"})``. A message
    with no such detail comes back unchanged.
    """
    found: dict[str, str] = {}
    for name, pattern in _IN_MESSAGE.items():
        match = pattern.search(message)
        if match is not None:
            found[name] = match.group("value")
            message = (message[: match.start()].rstrip() + " " + message[match.end() :].lstrip()).strip()
    return message, found


def _detail(obj: Mapping[str, Any], tracking: str | None) -> AlmaErrorDetail | None:
    code, message = _first(obj, _CODE_KEYS), _first(obj, _MESSAGE_KEYS)
    if code is None and message is None:
        return None
    own = _text(_first(obj, _TRACKING_KEYS))
    extra = {
        str(key): _text(value)
        for key, value in obj.items()
        if key not in _DETAIL_KEYS and isinstance(value, str | int | float | bool) and _text(value)
    }
    text, lifted = lift_message_details(_text(message))
    written = lifted.get("tracking_id")
    if written and own and written != own:
        extra["message_tracking_id"] = written  # two different ids: keep both, the field's first
    return AlmaErrorDetail(
        code=_text(code),
        message=text,
        tracking_id=own or written or tracking or None,
        extra=extra,
    )


def _details_from_json(data: Any) -> list[AlmaErrorDetail]:
    details: list[AlmaErrorDetail] = []

    def walk(node: Any, depth: int, tracking: str | None) -> None:
        if depth > _MAX_DEPTH:
            return
        if isinstance(node, list):
            for item in node:
                walk(item, depth + 1, tracking)
            return
        if not isinstance(node, dict):
            return
        # A tracking id next to the error list (some gateways put it there) belongs to its errors.
        tracking = _text(_first(node, _TRACKING_KEYS)) or tracking
        if depth > 0:
            found = _detail(node, tracking)
            if found is not None:
                details.append(found)
                return
        for key in _CONTAINER_KEYS:
            if key in node:
                walk(node[key], depth + 1, tracking)

    walk(data, 0, None)
    return details


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _details_from_xml(text: str) -> list[AlmaErrorDetail]:
    try:
        # The stdlib parser resolves no external entities; Alma's error bodies are tiny.
        root = ET.fromstring(text.strip())  # noqa: S314
    except (ET.ParseError, UnicodeError, ValueError, RecursionError):
        return []
    # A tracking id outside every <error> (beside the list) belongs to the errors that have none.
    inside = {child for el in root.iter() if _local(el.tag) == "error" for child in el}
    outer_tracking = next(
        (
            (el.text or "").strip()
            for el in root.iter()
            if el not in inside and _local(el.tag) in _TRACKING_KEYS and (el.text or "").strip()
        ),
        None,
    )
    details: list[AlmaErrorDetail] = []
    for element in root.iter():
        if _local(element.tag) != "error":
            continue
        fields: dict[str, Any] = {_local(name): value for name, value in element.attrib.items()}
        fields.update({_local(child.tag): (child.text or "").strip() for child in element})
        found = _detail(fields, outer_tracking)
        if found is not None:
            details.append(found)
    return details


def _decode(content: bytes | str) -> str:
    return content.decode("utf-8", "replace") if isinstance(content, bytes) else content


def parse_error_details(content: bytes | str) -> list[AlmaErrorDetail]:
    """Alma's error entries in a response body (JSON, XML or wrapped); ``[]`` if it holds none.

    Codes, messages and tracking ids are read wherever real error bodies put them (a single error
    object or a list, wrapped in ``web_service_result`` or not, a tracking id beside the list); any
    other field of an error is kept in ``extra``. Never raises: HTML pages, truncated JSON and empty
    bodies simply yield no details.
    """
    stripped = _decode(content).lstrip().lstrip("\ufeff").lstrip()
    if not stripped:
        return []
    if stripped[0] in "{[":
        try:
            return _details_from_json(json.loads(stripped))
        except (ValueError, RecursionError):  # not JSON, or nested deeper than any error body
            return []
    if stripped[0] == "<":
        return _details_from_xml(stripped)
    return []


_TAG = re.compile(r"<[^>]*>")
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
_HTML_START = re.compile(r"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)


def body_kind(content: bytes | str, content_type: str | None = None) -> str:
    """What a body is: ``"html"``, ``"xml"``, ``"json"``, ``"text"`` or ``"empty"`` (by its header, then its start)."""
    text = _decode(content[:2048])
    head = text.lstrip().lstrip("\ufeff").lstrip()
    kind = (content_type or "").lower()
    if not head:
        return "empty"
    if "html" in kind or _HTML_START.match(head):
        return "html"
    if head[0] in "{[":
        return "json"
    if head[0] == "<":
        return "xml"
    return "text"


def body_excerpt(content: bytes | str, content_type: str | None = None, limit: int = 200) -> str | None:
    """A short, one-line excerpt of a body; an HTML page is shown as its text (title, message, support id)."""
    text = _decode(content)
    if body_kind(content, content_type) == "html":
        text = html.unescape(_TAG.sub(" ", _SCRIPT.sub(" ", text)))
    text = " ".join(text.split())
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"
