"""What makes a recording safe to keep: secrets filtered, personal data replaced, bodies readable.

Every cassette in ``cassettes/`` is written through `before_record_request` and
`before_record_response` (see ``vcr_config`` in ``conftest.py``), whichever Alma it was recorded from:

- the ``Authorization`` header and any ``apikey`` parameter become ``REDACTED`` (vcrpy's filters);
- the origin and the run's user-id prefix become canonical values, so a replay sends the same
  requests whatever server or run they were recorded from;
- personal data (names, emails, phone numbers, addresses, birth dates) is replaced with stable
  fake values. A value that is already fake (a name from `NAMES`, an email at an example domain,
  a ``555-01xx`` phone number…) is kept, so what the tests send and check survives unchanged;
- only a few headers are kept (no dates, cookies or server names), and JSON bodies are stored
  pretty-printed, so a diff of a re-recording shows what changed.

`problems` is what ``make test`` checks every cassette for.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape as xml_escape

import yaml

CANONICAL_ORIGIN = "https://alma.contract.invalid"
"""The origin every cassette speaks of; replays send their requests there (and never reach it)."""
CANONICAL_PREFIX = "aotest-"
"""The primary-id prefix of the suite's own users in every cassette."""
REDACTED_AUTH = "apikey REDACTED"

NAMES = (
    "Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Claude", "Radia", "Ken", "Margaret",
    "Dennis", "Shafi", "Niklaus", "Lynn", "Tim", "Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth",
    "Allen", "Shannon", "Perlman", "Thompson", "Hamilton", "Ritchie", "Goldwasser", "Wirth", "Conway",
    "Berners-Lee",
)  # fmt: skip
"""Fake name words: the suite's users are named from these, and real names are replaced by them."""
STREETS = ("1 Example Street", "2 Sample Road", "3 Test Avenue", "4 Placeholder Lane")
CITIES = ("Springfield", "Riverside", "Fairview", "Greenville")
POSTAL_CODES = ("00000", "12345", "99999")
BIRTH_DATES = ("1970-01-01", "1980-02-02", "1990-03-03")
FAKE_PHONE = re.compile(r"\+1 555 01\d\d")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})")
KEY_SHAPED = re.compile(r"l7xx[0-9A-Za-z]{8,}", re.IGNORECASE)
_EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")
_RESERVED_TLDS = ("example", "test", "invalid", "localhost")

_NAME_FIELDS = frozenset(
    {"first_name", "middle_name", "last_name", "full_name", "pref_first_name", "pref_middle_name", "pref_last_name"}
)
_STREET_FIELDS = frozenset({"line1", "line2", "line3", "line4", "line5"})
_KEPT_RESPONSE_HEADERS = frozenset({"content-type", "x-exl-api-remaining", "retry-after"})
_KEPT_REQUEST_HEADERS = frozenset({"accept", "content-type", "authorization"})


def is_example_email(address: str) -> bool:
    """Whether ``address`` is at a domain reserved for examples (RFC 2606/6761)."""
    domain = address.rsplit("@", 1)[-1].lower().rstrip(".")
    return (
        domain.endswith(tuple(f".{d}" for d in _EXAMPLE_DOMAINS))
        or domain in _EXAMPLE_DOMAINS
        or (domain.rsplit(".", 1)[-1] in _RESERVED_TLDS)
    )


def _pick(options: tuple[str, ...], value: str) -> str:
    digest = hashlib.sha256(value.encode("utf-8")).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def fake_name(value: str) -> str:
    """Each word of a name kept if it is one of `NAMES`, else replaced by one (the same one every time)."""
    return " ".join(word if word in NAMES else _pick(NAMES, word) for word in value.split())


def fake_email(address: str) -> str:
    """An email at an example domain kept; any other replaced by a stable fake one."""
    if is_example_email(address):
        return address
    return f"person-{hashlib.sha256(address.lower().encode()).hexdigest()[:8]}@example.org"


def fake_phone(number: str) -> str:
    """A ``+1 555 01xx`` number kept; any other replaced by a stable fake one."""
    if not number or FAKE_PHONE.fullmatch(number):
        return number
    return f"+1 555 01{int(hashlib.sha256(number.encode()).hexdigest(), 16) % 100:02d}"


def fake_birth_date(value: str) -> str:
    """A fake birth date kept; any other replaced by one of `BIRTH_DATES` (keeping a trailing ``Z``)."""
    day = value[:10]
    if not day or day in BIRTH_DATES:
        return value
    return _pick(BIRTH_DATES, day) + value[10:]


def _scrub_text(text: str) -> str:
    return EMAIL.sub(lambda match: fake_email(match.group(0)), text)


def _field(key: str, value: str) -> str:
    """The fake for one string ``value`` of field ``key``."""
    if key in _NAME_FIELDS:
        return fake_name(value)
    if key == "email_address":
        return fake_email(value)
    if key == "phone_number":
        return fake_phone(value)
    if key == "birth_date":
        return fake_birth_date(value)
    if key in _STREET_FIELDS:
        return value if not value or value in STREETS else _pick(STREETS, value)
    if key == "city":
        return value if not value or value in CITIES else _pick(CITIES, value)
    if key == "postal_code":
        return value if not value or value in POSTAL_CODES else _pick(POSTAL_CODES, value)
    if key == "address_note":
        return ""
    return _scrub_text(value)


def scrub(data: Any, key: str = "") -> Any:
    """Alma's JSON with personal data replaced (see the module docstring); other values unchanged."""
    if isinstance(data, dict):
        return {name: scrub(value, name) for name, value in data.items()}
    if isinstance(data, list):
        return [scrub(item, key) for item in data]
    if isinstance(data, str):
        return _field(key, data)
    return data


_XML_FIELD = re.compile(r"<(?P<tag>(?:[\w.-]+:)?(?P<name>[a-z_0-9]+))(?P<attrs>\s[^>]*)?>(?P<text>[^<]*)</(?P=tag)>")


def scrub_xml(text: str) -> str:
    """The same for an XML body: the text of elements named like the personal JSON fields is replaced,
    every other byte kept (values in XML are escaped; fakes need no escaping)."""

    def replace(match: re.Match[str]) -> str:
        value = unescape(match.group("text"))
        fake = _field(match.group("name"), value)
        if fake == value:
            return match.group(0)
        attrs = match.group("attrs") or ""
        return f"<{match.group('tag')}{attrs}>{xml_escape(fake)}</{match.group('tag')}>"

    return _XML_FIELD.sub(replace, text)


def _pretty(body: str) -> str:
    """A JSON body pretty-printed (``body`` unchanged if it is not JSON)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    return json.dumps(scrub(data), indent=2, ensure_ascii=False)


def clean_body(body: str) -> str:
    """A request or response body as a cassette keeps it: scrubbed, JSON pretty-printed."""
    stripped = body.lstrip()
    if stripped.startswith(("{", "[")):
        return _pretty(body)
    if stripped.startswith("<"):
        return scrub_xml(body)
    return _scrub_text(body)


def _as_text(body: Any) -> str | None:
    if body is None:
        return None
    if isinstance(body, bytes):
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return str(body)


class Rewriter:
    """Rewrites a live run's origin and user-id prefix to the canonical ones, in URIs and bodies."""

    def __init__(self, replacements: Mapping[str, str]) -> None:
        pairs = {old: new for old, new in replacements.items() if old and old != new}
        # An id may come back upper case (Alma matches ids ignoring case): rewrite that spelling too.
        self.replacements = {**pairs, **{old.upper(): new.upper() for old, new in pairs.items()}}

    def __call__(self, text: str) -> str:
        for old, new in self.replacements.items():
            text = text.replace(old, new)
        return text


def before_record_request(rewrite: Rewriter) -> Callable[[Any], Any]:
    """vcrpy's ``before_record_request``: canonical URI, few headers, a scrubbed pretty body.

    vcrpy runs it on every live request too before matching it against a cassette, so a replay
    compares like with like.
    """

    def hook(request: Any) -> Any:
        request.uri = EMAIL.sub(lambda m: fake_email(m.group(0)), rewrite(request.uri))
        for name in list(request.headers):
            if name.lower() not in _KEPT_REQUEST_HEADERS:
                del request.headers[name]
        text = _as_text(request.body)
        if text:
            request.body = clean_body(rewrite(text)).encode("utf-8")
        return request

    return hook


def before_record_response(rewrite: Rewriter) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """vcrpy's ``before_record_response``: a scrubbed pretty body, and only the headers worth keeping."""

    def hook(response: dict[str, Any]) -> dict[str, Any]:
        body = response.get("body") or {}
        text = _as_text(body.get("string"))
        if text is not None:
            cleaned = clean_body(rewrite(text))
            body["string"] = cleaned.encode("utf-8")
        headers = {
            name: values
            for name, values in (response.get("headers") or {}).items()
            if name.lower() in _KEPT_RESPONSE_HEADERS
        }
        if text:
            headers["content-length"] = [str(len(body["string"]))]
        response["headers"] = headers
        return response

    return hook


# --- the cassette file format: YAML with bodies as readable blocks --------------------------------


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]  # no stubs for PyYAML
    pass


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _represent_str)


class ReadableYaml:
    """A vcrpy serializer: YAML as vcrpy writes it, but multi-line bodies as literal blocks."""

    @staticmethod
    def serialize(cassette: dict[str, Any]) -> str:
        """The cassette as YAML."""
        return str(yaml.dump(cassette, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120))

    @staticmethod
    def deserialize(text: str) -> dict[str, Any]:
        """A cassette read back."""
        data = yaml.safe_load(text)
        return data if isinstance(data, dict) else {}


# --- the checks ``make test`` runs on every cassette --------------------------------------------


def _strings(data: Any) -> Iterable[str]:
    if isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for item in data:
            yield from _strings(item)
    elif isinstance(data, str):
        yield data


def problems(path: Path) -> list[str]:
    """What is unsafe in the cassette at ``path``: key-shaped strings, real-looking emails, unfiltered
    credentials, or personal data that was not replaced. Empty when it is safe to keep."""
    text = path.read_text(encoding="utf-8")
    found = [f"something shaped like an Alma API key: {m.group(0)[:8]}…" for m in KEY_SHAPED.finditer(text)]
    found += [
        f"an email outside the example domains: {m.group(0)}"
        for m in EMAIL.finditer(text)
        if not is_example_email(m.group(0))
    ]
    cassette = ReadableYaml.deserialize(text)
    for interaction in cassette.get("interactions") or []:
        request = interaction.get("request") or {}
        for name, values in (request.get("headers") or {}).items():
            if name.lower() == "authorization" and any(value != REDACTED_AUTH for value in values):
                found.append("an Authorization header that was not filtered")
        for name, value in parse_qsl(urlsplit(str(request.get("uri", ""))).query, keep_blank_values=True):
            if name.lower() == "apikey" and value != "REDACTED":
                found.append("an apikey parameter that was not filtered")
        for kind in ("request", "response"):
            part = interaction.get(kind) or {}
            body = part.get("body")
            body_text = body.get("string") if isinstance(body, dict) else body
            if isinstance(body_text, str) and body_text.lstrip().startswith("<") and scrub_xml(body_text) != body_text:
                found.append(f"personal data left in a {kind} body")
            if isinstance(body_text, str) and body_text.lstrip().startswith(("{", "[")):
                try:
                    data = json.loads(body_text)
                except ValueError:
                    continue
                if scrub(data) != data:
                    found.append(f"personal data left in a {kind} body")
    return found


def strings_in(path: Path) -> list[str]:
    """Every string in a cassette (for tests that look for a value)."""
    return list(_strings(ReadableYaml.deserialize(path.read_text(encoding="utf-8"))))
