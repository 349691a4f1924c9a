"""The sans-I/O request and response the sandbox speaks, and Alma's error bodies (JSON and XML)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, unquote
from xml.sax.saxutils import escape

__all__ = ["AlmaFailure", "SandboxRequest", "SandboxResponse"]

JSON_TYPE = "application/json;charset=UTF-8"
XML_TYPE = "application/xml;charset=UTF-8"


@dataclass(frozen=True)
class SandboxRequest:
    """One HTTP request as the sandbox sees it, independent of any transport.

    ``path`` is the raw, still percent-encoded path without the query (``/almaws/v1/users/a%2Fb``);
    ``query`` is the raw query string; header names are matched ignoring case.
    """

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    origin: str | None = None  # scheme://host the client used; links in responses point there

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None

    @cached_property
    def params(self) -> dict[str, str]:
        """The query parameters (the last value wins when a name repeats); read only."""
        return dict(parse_qsl(self.query, keep_blank_values=True))

    @cached_property
    def segments(self) -> list[str]:
        """The path split on ``/`` and percent-decoded one segment at a time, so ``%2F`` stays inside an id."""
        path = self.path.rstrip("/") or "/"
        return [unquote(part) for part in path.split("/")[1:]]

    def __repr__(self) -> str:
        # Headers and query may hold the API key: never show them.
        return f"SandboxRequest(method={self.method!r}, path={self.path!r})"


@dataclass
class SandboxResponse:
    """What the sandbox answers. Transports wait ``delay`` seconds, then deliver it or act out ``fault``.

    ``fault`` is ``None`` for a normal response, or the transport-level failure to act out instead
    of delivering it: ``"read_timeout"``, ``"connection_reset"`` or ``"commit_then_fail"``.
    ``error_code`` is Alma's error code when the body is an error envelope.
    """

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    fault: str | None = None
    error_code: str | None = None

    def json(self) -> Any:
        """The body parsed as JSON; raises ``ValueError`` if it is not JSON."""
        return json.loads(self.body)

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8", "replace")


class AlmaFailure(Exception):
    """Raised inside the sandbox to answer with an Alma error envelope (business or gateway error)."""

    def __init__(self, code: str, message: str, *, status: int = 400, xml: bool = False) -> None:
        self.code = code
        self.message = message
        self.status = status
        self.xml = xml  # gateway auth errors are XML whatever format was asked for
        super().__init__(f"{code}: {message}")


def json_body(data: Any) -> bytes:
    """Alma-style compact JSON, UTF-8 (non-ASCII names stay readable)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error_json(code: str, message: str, tracking_id: str | None) -> bytes:
    """Alma's JSON error envelope."""
    error: dict[str, str] = {"errorCode": code, "errorMessage": message}
    if tracking_id:
        error["trackingId"] = tracking_id
    return json_body({"errorsExist": True, "errorList": {"error": [error]}, "result": None})


def error_xml(code: str, message: str, tracking_id: str | None) -> bytes:
    """Alma's XML error envelope (``web_service_result``)."""
    tracking = f"<trackingId>{escape(tracking_id)}</trackingId>" if tracking_id else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans">'
        "<errorsExist>true</errorsExist><errorList><error>"
        f"<errorCode>{escape(code)}</errorCode><errorMessage>{escape(message)}</errorMessage>{tracking}"
        "</error></errorList></web_service_result>"
    ).encode()


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    """``(media range, q)`` for each entry of an ``Accept`` header, lower case; a bad ``q`` counts as 1."""
    ranges = []
    for part in accept.lower().split(","):
        media, *options = (piece.strip() for piece in part.split(";"))
        if not media:
            continue
        weight = 1.0
        for option in options:
            name, _, value = option.partition("=")
            if name.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 1.0
        ranges.append((media, weight))
    return ranges


def response_format(request: SandboxRequest) -> str:
    """``"json"`` or ``"xml"``: what Alma answers in, as Alma chooses it.

    ``format=json|xml`` wins. Otherwise JSON only when ``Accept`` names JSON (``application/json``,
    ``…+json``) at least as highly as it names XML; everything else, ``*/*`` and no ``Accept`` at all
    included, gets Alma's default, XML.
    """
    fmt = request.params.get("format", "").strip().lower()
    if fmt in ("json", "xml"):
        return fmt
    json_q = xml_q = 0.0
    for media, weight in _media_ranges(request.header("accept") or ""):
        if "json" in media:
            json_q = max(json_q, weight)
        elif "xml" in media:
            xml_q = max(xml_q, weight)
    return "json" if json_q > 0 and json_q >= xml_q else "xml"


def wants_xml(request: SandboxRequest) -> bool:
    """Whether Alma would answer this request in XML (see `response_format`)."""
    return response_format(request) == "xml"


def body_is_xml(request: SandboxRequest) -> bool:
    """Whether the request body is XML: ``Content-Type`` says so, or names no JSON and the body starts with ``<``."""
    content_type = (request.header("content-type") or "").lower()
    if "xml" in content_type:
        return True
    return "json" not in content_type and request.body.lstrip()[:1] == b"<"
