"""Reading a SIS import file back: for reconciliation (which of these did Alma load?) and for tests."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any, cast

from ..errors import InputError
from ..models import User
from ..models._xml import RECORDS, WRAPPERS
from ._paths import SisFileError, asked, shown_path, sis_path

__all__ = ["read_sis_file"]

_ITEMS = {wrapper: item for item, wrapper in WRAPPERS.items()}
_DECLARES = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_CHUNK = 1 << 16


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _read(element: ET.Element) -> Any:
    """An element as Alma's JSON, the inverse of `alma_onelink.models._xml` (lenient, as Alma reads)."""
    children = list(element)
    tag = _local(element.tag)
    attributes = {_local(key): value for key, value in element.attrib.items()}
    if not children:
        if tag in _ITEMS:
            return []  # an empty wrapper: an empty list
        if tag in RECORDS:
            return attributes
        text = element.text or ""
        return {"value": text, **attributes} if attributes else text
    result: dict[str, Any] = dict(attributes)
    for child in children:
        name = _local(child.tag)
        if name in _ITEMS:
            result[_ITEMS[name]] = [_read(item) for item in child]
        elif name in result and name not in attributes:
            existing = result[name]
            result[name] = [*existing, _read(child)] if isinstance(existing, list) else [existing, _read(child)]
        else:
            result[name] = _read(child)
    return result


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> list[User]:
    """The users of one XML member, parsed as a stream: one ``<user>`` in memory at a time."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    users: list[User] = []
    root: ET.Element | None = None
    depth = 0
    tail = b""
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            if root is None and _DECLARES.search(tail + chunk):
                raise InputError(f"{info.filename} in {path} declares a document type; a SIS file never does")
            tail = chunk[-16:]
            try:
                parser.feed(chunk)
                # Only "start" and "end" were asked for: each event is an (event, element) pair.
                events = cast("list[tuple[str, ET.Element]]", list(parser.read_events()))
            except ET.ParseError as exc:
                raise InputError(f"{info.filename} in {path} is not well-formed XML: {exc}") from None
            for event, element in events:
                if event == "start":
                    depth += 1
                    if root is None:
                        root = element
                        if _local(root.tag) != "users":
                            found = _local(root.tag)
                            raise InputError(f"{info.filename} in {path} holds <{found}>, not <users>: not a SIS file")
                    continue
                depth -= 1
                if depth == 1 and root is not None and _local(element.tag) == "user":
                    data = _read(element)
                    try:
                        users.append(User.from_alma(data if isinstance(data, dict) else {}))
                    except InputError as exc:
                        raise InputError(f"{info.filename} in {path}, user {len(users) + 1}: {exc}") from None
                    root.remove(element)  # what is read is let go: memory stays one user deep
    try:
        parser.close()
    except ET.ParseError as exc:
        raise InputError(f"{info.filename} in {path} is not well-formed XML: {exc}") from None
    return users


def read_sis_file(path: str | os.PathLike[str]) -> list[User]:
    """The users of a SIS import file, in file order: every ``.xml`` member of the zip, in zip order.

    Reads files this package writes and other ``<users>`` files of Alma's user schema. A document
    type declaration is refused, so no file can make the reader expand or fetch anything. Raises
    `InputError` if ``path`` is missing or is not a zip of ``<users>`` XML whose users Alma's JSON
    models accept (the message names the member and the user), or is not a path (text or a
    path-like object) a file system can hold; `SisFileError` if it cannot be read.
    """
    source = sis_path(path)
    if not asked(source.is_file, source):
        raise InputError(f"There is no SIS file at {shown_path(source)}")
    users: list[User] = []
    try:
        with zipfile.ZipFile(source) as archive:
            members = [info for info in archive.infolist() if info.filename.lower().endswith(".xml")]
            if not members:
                raise InputError(f"{source} holds no .xml file: not a SIS users file")
            for info in members:
                users += _read_member(archive, info, source)
    except zipfile.BadZipFile:
        raise InputError(f"{source} is not a zip file (or is damaged): not a SIS users file") from None
    except OSError as exc:
        raise SisFileError(
            f"Could not read the SIS file {shown_path(source)}: {exc.strerror or exc}", path=source
        ) from exc
    return users
