"""pytest fixtures on the Alma sandbox: a fresh seeded sandbox per test, and clients on it.

``alma_sandbox`` has the per-second threshold off, so fast tests never meet a 429 they did not ask for;
set ``alma_sandbox.knobs.per_second_limit`` in a test that wants it. Clients are imported lazily so
that loading the plugin costs nothing until a test asks for one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from alma_onelink.sandbox import Sandbox

if TYPE_CHECKING:
    from alma_onelink import AlmaClient, AsyncAlmaClient

__all__ = ["alma", "alma_sandbox", "async_alma"]

_async_fixture: Any
try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - async fixtures then need asyncio_mode=auto
    _async_fixture = pytest.fixture
else:
    _async_fixture = pytest_asyncio.fixture


@pytest.fixture
def alma_sandbox() -> Iterator[Sandbox]:
    """A fresh in-memory `Sandbox` per test: 40 patrons plus the Duke scenarios."""
    with Sandbox.demo(per_second_limit=None) as sandbox:
        yield sandbox


@pytest.fixture
def alma(alma_sandbox: Sandbox) -> Iterator[AlmaClient]:
    """A sync `AlmaClient` on ``alma_sandbox``, closed after the test."""
    from alma_onelink import AlmaClient  # noqa: PLC0415 - the client loads only when a test asks

    with AlmaClient.sandbox(alma_sandbox) as client:
        yield client


@_async_fixture  # type: ignore[untyped-decorator]  # pytest_asyncio's decorator is untyped
async def async_alma(alma_sandbox: Sandbox) -> AsyncIterator[AsyncAlmaClient]:
    """An `AsyncAlmaClient` on ``alma_sandbox``, closed after the test."""
    from alma_onelink import AsyncAlmaClient  # noqa: PLC0415 - the client loads only when a test asks

    async with AsyncAlmaClient.sandbox(alma_sandbox) as client:
        yield client
