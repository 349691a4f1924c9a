"""Shared set-up of the OneLink workflow tests: a Duke sandbox frozen in time, clients, patrons, helpers.

Nothing here reads the wall clock or sleeps: the sandbox's ``now`` is fixed at `NOW`, every
registration is dated `TODAY`, and the clients' and the sandbox's ``sleep`` are no-ops. The Duke
scenarios of ``Sandbox.demo()`` are dated from the sandbox's today, so with a fixed ``now`` the seed
data is the same on every run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from alma_onelink import AlmaClient, AsyncAlmaClient, Patron
from alma_onelink.onelink import Journal
from alma_onelink.policy import Policy, load_policy
from alma_onelink.sandbox import DUKE_UNIQUE_IDS, Sandbox

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
TODAY: date = NOW.date()
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
# What Alma fills in or changes by itself on every write: left out when two states of a record are compared.
VOLATILE = frozenset({"last_modified_date", "last_modified_by", "status_date", "link", "loans", "requests", "fees"})


def fixed_now() -> datetime:
    """The sandbox's wall clock: always `NOW`."""
    return NOW


def no_sleep(seconds: float) -> None:
    """A ``sleep`` that returns at once (retries and rate limits in tests never wait)."""


async def no_async_sleep(seconds: float) -> None:
    """The async twin of `no_sleep`."""


def make_sandbox(**options: Any) -> Sandbox:
    """``Sandbox.demo()`` frozen at `NOW`: 40 patrons plus the Duke scenarios, no threshold, no waiting."""
    options.setdefault("per_second_limit", None)
    return Sandbox.demo(now=fixed_now, sleep=no_sleep, async_sleep=no_async_sleep, **options)


def sync_client(sandbox: Sandbox, **options: Any) -> AlmaClient:
    """An in-process `AlmaClient` on ``sandbox`` that never sleeps."""
    return AlmaClient.sandbox(sandbox, sleep=no_sleep, **options)


def async_client(sandbox: Sandbox, **options: Any) -> AsyncAlmaClient:
    """An in-process `AsyncAlmaClient` on ``sandbox`` that never sleeps."""
    return AsyncAlmaClient.sandbox(sandbox, sleep=no_async_sleep, **options)


@pytest.fixture(autouse=True)
def _shipped_duke_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped duke.toml, whatever the environment says."""
    monkeypatch.delenv("ALMA_ONELINK_DUKE_CONFIG", raising=False)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh Duke sandbox per test, frozen at `NOW`."""
    with make_sandbox() as made:
        yield made


@pytest.fixture
def alma(sandbox: Sandbox) -> Iterator[AlmaClient]:
    """A sync client on ``sandbox``."""
    with sync_client(sandbox) as client:
        yield client


@pytest_asyncio.fixture
async def aalma(sandbox: Sandbox) -> AsyncIterator[AsyncAlmaClient]:
    """An async client on ``sandbox``."""
    async with async_client(sandbox) as client:
        yield client


@pytest.fixture
def policy() -> Policy:
    """The Duke policy, loaded by name as staff load it."""
    return load_policy("duke")


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    """A journal of this test's own (not the default one)."""
    return Journal(tmp_path / "registrations.jsonl")


# --- the people of the Duke scenarios, as staff fill in their applications ---------------------------


def new_registrant(**change: Any) -> Patron:
    """A first-time registrant: no Alma account anywhere."""
    facts: dict[str, Any] = {
        "onelink_id": DUKE_UNIQUE_IDS["new_registrant"],
        "first_name": "Ann",
        "last_name": "Newcombe",
        "email": "ann.newcombe@example.org",
        "affiliation": "alumni",
        "graduated_on": date(2010, 5, 9),
    }
    return Patron(**{**facts, **change})


def onelink_alumnus(**change: Any) -> Patron:
    """The alumna whose OneLink account (primary id = Unique ID) already exists and is up to date."""
    facts: dict[str, Any] = {
        "onelink_id": DUKE_UNIQUE_IDS["onelink_alumnus"],
        "first_name": "María José",
        "last_name": "Ibáñez",
        "email": "mj.ibanez@example.org",
        "affiliation": "alumni",
        "graduated_on": date(2009, 5, 10),
    }
    return Patron(**{**facts, **change})


def netid_era_alumna(**change: Any) -> Patron:
    """The alumna whose NetID-era account jd123 holds her Unique ID as an identifier."""
    facts: dict[str, Any] = {
        "onelink_id": DUKE_UNIQUE_IDS["netid_era_alumna"],
        "first_name": "Jane",
        "last_name": "Doe",
        "email": "jane.doe@alumni.duke.edu",
        "affiliation": "alumni",
        "graduated_on": date(2019, 5, 12),
    }
    return Patron(**{**facts, **change})


def former_staff(**change: Any) -> Patron:
    """The former staff member whose account rm56 (with loans) holds his Unique ID as an identifier."""
    facts: dict[str, Any] = {
        "onelink_id": DUKE_UNIQUE_IDS["former_staff_with_loans"],
        "first_name": "Rafael",
        "last_name": "Martínez",
        "email": "rafa.martinez@example.com",
        "affiliation": "former_affiliate",
        "prior_role": "staff",
        "left_on": TODAY - timedelta(days=60),
    }
    return Patron(**{**facts, **change})


def recent_graduate(**change: Any) -> Patron:
    """The graduate of 120 days ago whose NetID-era account is still active."""
    facts: dict[str, Any] = {
        "onelink_id": DUKE_UNIQUE_IDS["recent_graduate"],
        "first_name": "Léa",
        "last_name": "Kowalczyk",
        "affiliation": "alumni",
        "graduated_on": TODAY - timedelta(days=120),
    }
    return Patron(**{**facts, **change})


def trln_borrower_as_alumna(**change: Any) -> Patron:
    """The TRLN borrower with a OneLink account, now registering as a Duke alumna."""
    facts: dict[str, Any] = {
        "onelink_id": DUKE_UNIQUE_IDS["trln_borrower"],
        "first_name": "Mai",
        "last_name": "Nguyễn",
        "affiliation": "alumni",
        "graduated_on": date(2012, 5, 13),
    }
    return Patron(**{**facts, **change})


# --- reading the sandbox ---------------------------------------------------------------------------


def writes(sandbox: Sandbox) -> list[tuple[str, str]]:
    """Every POST, PUT and DELETE the sandbox received, as (method, path)."""
    return [(e.method, e.path) for e in sandbox.request_log if e.method in WRITE_METHODS]


def api_calls(sandbox: Sandbox) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """Every request the sandbox received, as (method, path, sorted query)."""
    return [(e.method, e.path, tuple(sorted(e.query.items()))) for e in sandbox.request_log]


def accounts_with_primary_id(sandbox: Sandbox, primary_id: str) -> list[dict[str, Any]]:
    """The sandbox's records whose primary id is ``primary_id`` (there should never be two)."""
    return [user for user in sandbox.users if str(user.get("primary_id", "")).casefold() == primary_id.casefold()]


def record(sandbox: Sandbox, user_id: str) -> dict[str, Any]:
    """The record as ``GET /users/{id}`` returns it; fails the test if there is none."""
    found = sandbox.users.get(user_id)
    assert found is not None, f"no account {user_id} in the sandbox"
    return found


def identifier_values(user: dict[str, Any]) -> list[str]:
    """The values of a record's user identifiers."""
    return [str(ident.get("value")) for ident in user.get("user_identifier") or []]


def same_instant(value: Any) -> Any:
    """``value`` with every timestamp written one way (``…00.000Z`` and ``…00Z`` are the same instant)."""
    if isinstance(value, dict):
        return {key: same_instant(item) for key, item in value.items()}
    if isinstance(value, list):
        return [same_instant(item) for item in value]
    if isinstance(value, str) and "T" in value and value.endswith("Z"):
        try:
            return datetime.fromisoformat(value[:-1] + "+00:00").isoformat()
        except ValueError:
            return value
    return value


def without(user: dict[str, Any], *keys: str) -> dict[str, Any]:
    """``user`` without ``keys`` and what Alma changes by itself on a write (`VOLATILE`), timestamps compared as
    instants."""
    dropped = VOLATILE | set(keys)
    kept: dict[str, Any] = same_instant({key: value for key, value in user.items() if key not in dropped})
    return kept
