"""The three Almas the contract suite runs against: recorded, the served sandbox, a real one.

- ``replay`` (``make test``): every answer comes from ``cassettes/``; the network is blocked.
- ``sandbox`` (``make cassettes``): the demo sandbox served by uvicorn on 127.0.0.1 and a free port,
  over real HTTP; the cassettes are recorded again from it.
- ``alma`` (``make test-alma``): a real Alma, from ``ALMA_API_KEY`` and ``ALMA_BASE_URL`` or
  ``ALMA_REGION``. Meant for an institution's Alma *sandbox*: the suite makes its own users, with a
  primary-id prefix unique to the run, and deletes them afterwards, even when a test fails.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn

from alma_onelink import AlmaClient, AsyncAlmaClient
from alma_onelink._config import REGIONS
from alma_onelink.sandbox import DUKE_SCENARIOS, ManualClock, Sandbox

from ._recording import CANONICAL_ORIGIN, CANONICAL_PREFIX

T = TypeVar("T")

REPLAY_KEY = "l7xx" + "c0ffee" * 5 + "00"
"""The key replays send (shaped like a real one, so the cassette filters are proven on the real shape)."""
RECORDED_AT = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
"""The served sandbox's fixed clock while recording: its dates, and so the cassettes, never move."""

# What an institution tells the suite about its Alma (all optional but the groups, for writes).
ENV_GROUPS = "ALMA_TEST_USER_GROUPS"  # two legal user group codes, comma separated
ENV_ID_TYPE = "ALMA_TEST_ID_TYPE"  # a user identifier type (default BARCODE)
ENV_EXTERNAL_ID = "ALMA_TEST_EXTERNAL_ID"  # an SIS profile code, for the external-user test
ENV_KNOWN_USER = "ALMA_TEST_USER"  # a user to read in read-only mode
ENV_ACTIVE_USER = "ALMA_TEST_ACTIVE_USER"  # a user with loans, requests and fees, read only


@dataclass
class Target:
    """One Alma to run the contract against, and what the tests need to know about it."""

    kind: str  # "replay", "sandbox" or "alma"
    origin: str  # the gateway origin clients are given
    api_key: str
    prefix: str  # primary-id prefix of the users this run makes
    read_only: bool = False
    groups: tuple[str, str] | None = ("PUBLIC", "GRAD")  # two legal user groups; None: writes cannot run
    id_type: str = "BARCODE"
    external_id: str | None = "SIS"  # an SIS profile for external users; None: skip that test
    known_user: str | None = DUKE_SCENARIOS["netid_era_alumna"]
    active_user: str | None = DUKE_SCENARIOS["former_staff_with_loans"]
    sandbox: Sandbox | None = None  # the served sandbox (kind "sandbox")
    clock: ManualClock | None = None
    burst: int = 1  # how many requests of the per-second test are in flight at once
    rewrites: dict[str, str] = field(default_factory=dict)  # live value → canonical value in cassettes

    @property
    def live(self) -> bool:
        """Whether requests reach a server (``sandbox`` or ``alma``)."""
        return self.kind != "replay"

    def client(self, **options: Any) -> AlmaClient:
        """A sync SDK client on this Alma. Off a real Alma: no client-side limiter and no retries, so
        every request is the one recorded."""
        return AlmaClient(**{"api_key": self.api_key, "base_url": self.origin, **self._defaults(), **options})

    def async_client(self, **options: Any) -> AsyncAlmaClient:
        """The async twin of `client`."""
        return AsyncAlmaClient(**{"api_key": self.api_key, "base_url": self.origin, **self._defaults(), **options})

    def _defaults(self) -> dict[str, Any]:
        return {} if self.kind == "alma" else {"rate_limit": None, "max_retries": 0}

    def http(self, *, key: str | None = None, **options: Any) -> httpx.Client:
        """A plain HTTP client rooted at ``…/almaws/v1``, sending the key (or ``key``) and nothing else."""
        headers = {"Authorization": f"apikey {key or self.api_key}", **options.pop("headers", {})}
        return httpx.Client(base_url=self.origin + "/almaws/v1", headers=headers, trust_env=False, **options)

    @contextmanager
    def per_second_window(self) -> Iterator[None]:
        """While the per-second test runs: on the served sandbox, Alma's 25/s threshold with a frozen
        clock (so exactly 25 calls pass, the same every recording); elsewhere, nothing to arrange."""
        if self.sandbox is None or self.clock is None:
            yield
            return
        self.clock.advance(60.0)  # a full bucket
        self.sandbox.knobs.per_second_limit = 25
        try:
            yield
        finally:
            self.sandbox.knobs.per_second_limit = None

    def eventually(self, check: Callable[[], T], *, seconds: float = 30.0) -> T:
        """``check()`` until it stops raising ``AssertionError``; only a real Alma gets time (its search
        index may lag a write); elsewhere the first try counts."""
        deadline = time.monotonic() + (seconds if self.kind == "alma" else 0.0)
        while True:
            try:
                return check()
            except AssertionError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(2.0)  # only against a real Alma, never in replay or recording


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self.port = 0

    def install_signal_handlers(self) -> None:  # not the main thread
        return None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.port = self.servers[0].sockets[0].getsockname()[1]  # port 0: the one the OS gave
        self.ready.set()


@contextmanager
def served_sandbox(*, read_only: bool) -> Iterator[Target]:
    """The demo sandbox on uvicorn, 127.0.0.1 and a free port, in a background thread."""
    clock = ManualClock()
    sandbox = Sandbox.demo(patrons=60, seed=3, per_second_limit=None, clock=clock, now=lambda: RECORDED_AT)
    config = uvicorn.Config(
        sandbox.asgi_app(), host="127.0.0.1", port=0, http="h11", lifespan="off", log_level="warning", access_log=False
    )
    server = _Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    if not server.ready.wait(10):
        raise RuntimeError("the sandbox server did not start")
    origin = f"http://127.0.0.1:{server.port}"
    try:
        yield Target(
            kind="sandbox",
            origin=origin,
            api_key=sandbox.api_key,
            prefix=CANONICAL_PREFIX,
            read_only=read_only,
            sandbox=sandbox,
            clock=clock,
            rewrites={origin: CANONICAL_ORIGIN},
        )
    finally:
        server.should_exit = True
        thread.join(10)
        sandbox.close()


def replay_target(*, read_only: bool) -> Target:
    """The recorded Alma: the canonical origin, a key-shaped dummy key, the canonical prefix."""
    return Target(
        kind="replay", origin=CANONICAL_ORIGIN, api_key=REPLAY_KEY, prefix=CANONICAL_PREFIX, read_only=read_only
    )


def alma_target(*, read_only: bool, environ: dict[str, str] | None = None) -> Target:
    """A real Alma from the environment; `pytest.UsageError` names what is missing."""
    env = dict(os.environ if environ is None else environ)
    key = env.get("ALMA_API_KEY", "").strip()
    base_url = env.get("ALMA_BASE_URL", "").strip()
    region = env.get("ALMA_REGION", "").strip().lower()
    if not key or not (base_url or region):
        raise pytest.UsageError(
            "--alma-live needs ALMA_API_KEY and ALMA_BASE_URL (or ALMA_REGION: " + ", ".join(REGIONS) + ")."
        )
    if not base_url and region not in REGIONS:
        raise pytest.UsageError(f"ALMA_REGION={region!r} is not one of {', '.join(REGIONS)}.")
    origin = (base_url or REGIONS[region]).rstrip("/").removesuffix("/almaws/v1")
    groups = [group.strip() for group in env.get(ENV_GROUPS, "").split(",") if group.strip()]
    prefix = f"{CANONICAL_PREFIX}{secrets.token_hex(3)}-"  # unique to this run
    return Target(
        kind="alma",
        origin=origin,
        api_key=key,
        prefix=prefix,
        read_only=read_only,
        groups=(groups[0], groups[1]) if len(groups) >= 2 else None,
        id_type=env.get(ENV_ID_TYPE, "").strip() or "BARCODE",
        external_id=env.get(ENV_EXTERNAL_ID, "").strip() or None,
        known_user=env.get(ENV_KNOWN_USER, "").strip() or None,
        active_user=env.get(ENV_ACTIVE_USER, "").strip() or None,
        burst=60,
        rewrites={origin: CANONICAL_ORIGIN, prefix: CANONICAL_PREFIX},
    )


async def gather_limited(calls: list[Callable[[], Any]], concurrency: int) -> list[Any]:
    """Run the coroutine factories ``calls`` with at most ``concurrency`` in flight; results in order,
    an exception where a call raised."""
    gate = asyncio.Semaphore(concurrency)

    async def one(call: Callable[[], Any]) -> Any:
        async with gate:
            try:
                return await call()
            except Exception as exc:
                return exc

    return list(await asyncio.gather(*(one(call) for call in calls)))
