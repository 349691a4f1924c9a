"""Fixtures for the SIS file tests: Ex Libris' users schema, and a check that a zip's members follow it."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree  # type: ignore[import-untyped]

XSD = Path(__file__).resolve().parent / "xsd" / "rest_users.xsd"  # includes rest_user.xsd, rest_researcher.xsd

MemberCheck = Callable[[Path], dict[str, int]]


@pytest.fixture(scope="session")
def users_schema() -> etree.XMLSchema:
    """``rest_users.xsd`` with its includes resolved from the same folder."""
    return etree.XMLSchema(etree.parse(str(XSD)))


@pytest.fixture(scope="session")
def schema_valid_members(users_schema: etree.XMLSchema) -> MemberCheck:
    """Asserts every member of a zip is a valid ``<users>`` document; returns ``{member: users in it}``."""

    def check(path: Path) -> dict[str, int]:
        counts: dict[str, int] = {}
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                document = etree.fromstring(archive.read(info))
                if not users_schema.validate(document):
                    pytest.fail(f"{info.filename} does not follow rest_users.xsd: {users_schema.error_log.last_error}")
                counts[info.filename] = len(document)
        return counts

    return check
