"""The `Sandbox`: one emulated Alma institution, reachable in-process or over real HTTP."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx
import platformdirs

from ._asgi import ASGIApp, SandboxASGI
from ._codefile import check_code_tables
from ._codes import CodeTables
from ._directory import SandboxUsers
from ._duke import seed_duke
from ._faults import Faults, Governor, Knobs
from ._fields import Env
from ._handler import Handler, KeyRing
from ._http import SandboxRequest, SandboxResponse
from ._log import LogEntry, RequestLog
from ._memory import MemoryStore
from ._seeding import seed_patrons
from ._sqlite import SqliteStore
from ._store import Store
from ._transport import async_transport, sync_transport
from ._users import UserService

if TYPE_CHECKING:
    from ._serve import ServedSandbox

__all__ = ["DEFAULT_BASE_URL", "Sandbox", "default_db_path"]

DEFAULT_BASE_URL = "https://sandbox.alma-onelink.invalid"
DEFAULT_INSTITUTION = ("01ALMA_SANDBOX", "Alma sandbox institution")
SEEDED_ON = "seeded_on"  # the store setting holding the day seed data is dated from


def default_db_path() -> Path:
    """Where ``alma-onelink sandbox serve`` keeps its SQLite file: the per-user data directory."""
    return platformdirs.user_data_path("alma-onelink", appauthor=False) / "sandbox.sqlite3"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Sandbox:
    """An emulated Alma institution (Users API): the same behaviour through httpx transports and ASGI.

    ``Sandbox(seed=0)`` is in memory and empty except for its code tables; ``Sandbox.demo()`` is
    seeded. Pass ``db_path=`` (or a ``store=``) to keep users in a SQLite file across restarts.
    Everything random (the default API key, jitter, faults, seed data, tracking ids) follows ``seed``.
    Seed data is dated from the day the store was first seeded (midnight UTC of ``now()`` then), and
    that day is kept in the store (`seeded_on`): its dates never move, at midnight or on a restart.
    The knobs (``latency`` … ``unsupported_query``) live on `knobs` and can change at run time;
    ``clock``, ``sleep``, ``async_sleep`` and ``now`` are fixed here (read-only properties afterwards).

    Args:
        seed: Seeds every random choice the sandbox makes.
        store: Where users live; default in memory, or SQLite at ``db_path``.
        db_path: A SQLite file to use (created if missing); ignored when ``store`` is given.
        api_key: The read/write key to accept (default: derived from ``seed``, shaped like ``l7xx…``).
        latency: Seconds added to every response; ``jitter`` adds up to that many more at random.
        per_second_limit: Alma's per-second threshold (25 by default); ``None`` turns it off.
        daily_quota: Calls per day before ``DAILY_THRESHOLD``.
        faults: A `Faults` (copied), or a script list such as ``["500", None, "commit_then_fail"]``.
        overstate_total: Added to every ``total_record_count`` (Alma sometimes overstates it).
        unsupported_query: ``"402119"`` (default) or ``"-1"``: how a search Alma cannot run is answered.
        clock: Monotonic seconds for the per-second threshold (inject a `ManualClock` in tests).
        sleep: How the sync transport waits out latency; ``async_sleep`` for the async one and ASGI.
        now: The sandbox's wall clock (UTC): dates it writes, the daily quota's day, seed data.
        log_path: Also append the request log to this JSON Lines file (its folder must exist).
        code_tables: The code tables to validate against and fill ``desc`` from (default: the
            built-in ones). The codes loaded into the store (`load_codes`, ``alma-onelink sandbox
            codes load``) are laid over them, and so are codes another process loads later.
        base_url: The origin clients use for the in-process transports.

    Raises ``ValueError`` for a knob out of range (a negative latency, an unknown fault kind…), a
    blank ``api_key``, or a ``log_path`` that is a folder or whose folder does not exist.
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        store: Store | None = None,
        db_path: str | Path | None = None,
        api_key: str | None = None,
        latency: float = 0.0,
        jitter: float = 0.0,
        per_second_limit: int | None = 25,
        daily_quota: int = 100_000,
        faults: Faults | Iterable[str | None] | None = None,
        overstate_total: int = 0,
        unsupported_query: str = "402119",
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        async_sleep: Callable[[float], Awaitable[None]] | None = None,
        now: Callable[[], datetime] | None = None,
        log_path: str | Path | None = None,
        code_tables: CodeTables | None = None,
        base_url: str = DEFAULT_BASE_URL,
        institution: tuple[str, str] = DEFAULT_INSTITUTION,
    ) -> None:
        self.seed_value = seed
        self._log = RequestLog(log_path)  # checked first: a bad path raises before a store is opened
        self.knobs = Knobs(
            latency=latency,
            jitter=jitter,
            per_second_limit=per_second_limit,
            daily_quota=daily_quota,
            faults=Faults.coerce(faults),
            overstate_total=overstate_total,
            unsupported_query=unsupported_query,
        )
        self._keys = KeyRing()
        # Derived from the seed so a served sandbox keeps its key across restarts; it guards nothing real.
        derived = random.Random(f"{seed}:key").getrandbits(128)  # noqa: S311
        self._api_key = (api_key if api_key is not None else f"l7xx{derived:032x}").strip()
        self._keys.add(self._api_key)  # a blank key raises here, before a store is opened
        self.store: Store = store or (SqliteStore(db_path) if db_path is not None else MemoryStore())
        self._code_tables = CodeTables() if code_tables is None else code_tables
        self._codes_lock = threading.Lock()
        self._codes_seen = -1  # the store's codes_version last laid over the code tables
        self.base_url = base_url.rstrip("/")
        self.institution = institution
        self._clock: Callable[[], float] = clock or time.monotonic
        self._sleep: Callable[[float], None] = sleep or time.sleep
        self._async_sleep: Callable[[float], Awaitable[None]] = async_sleep or asyncio.sleep
        self._now: Callable[[], datetime] = now or _utc_now
        self._governor = Governor(self.knobs, seed=seed, clock=self._clock, now=self._now)
        self._service = UserService(self.store, self.env)
        self.users = SandboxUsers(self._service)
        self._handler = Handler(
            service=self._service,
            governor=self._governor,
            keys=self._keys,
            log=self._log,
            base_url=self.base_url,
            now=self._now,
        )
        self._seed_calls = 0

    @classmethod
    def demo(cls, *, patrons: int = 40, seed: int = 0, **options: Any) -> Sandbox:
        """A sandbox with ``patrons`` generated patrons plus the Duke scenarios; deterministic.

        In memory unless ``options`` name a ``db_path``/``store``: a store that already holds users is
        used as it is, not seeded again. The same ``seed`` on the same day gives the same users.
        """
        sandbox = cls(seed=seed, **options)
        if not len(sandbox.users):
            sandbox.seed(patrons, seed=seed, duke=True)
        return sandbox

    # --- fixed at construction -------------------------------------------------------------------

    @property
    def clock(self) -> Callable[[], float]:
        """Monotonic seconds for the per-second threshold (a constructor option, read-only)."""
        return self._clock

    @property
    def sleep(self) -> Callable[[float], None]:
        """How the sync transport waits out latency (a constructor option, read-only)."""
        return self._sleep

    @property
    def async_sleep(self) -> Callable[[float], Awaitable[None]]:
        """How the async transport and the ASGI app wait out latency (a constructor option, read-only)."""
        return self._async_sleep

    @property
    def now(self) -> Callable[[], datetime]:
        """The sandbox's wall clock, UTC (a constructor option, read-only)."""
        return self._now

    # --- data ------------------------------------------------------------------------------------

    @property
    def code_tables(self) -> CodeTables:
        """The code tables the rules check against: the built-in (or given) ones, the store's loaded codes over them."""
        self._sync_codes()
        return self._code_tables

    def env(self) -> Env:
        """The code tables, current time and institution the rules run against."""
        return Env(self.code_tables, self._now(), *self.institution)

    def _sync_codes(self) -> None:
        """Lay the store's loaded codes over `code_tables` when they changed (another process may load them)."""
        if self.store.codes_version() == self._codes_seen:
            return
        with self._codes_lock:
            version = self.store.codes_version()
            if version == self._codes_seen:
                return
            for table, rows in self.store.codes().items():
                for code, desc in rows.items():
                    self._code_tables.add(table, code, desc)
            self._codes_seen = version

    def load_codes(self, tables: Mapping[str, Mapping[str, str]]) -> dict[str, int]:
        """Add an institution's codes (``{"UserGroups": {"CODE": "Description"}, …}``) and keep them in the store.

        Codes already there are relabelled; the tables are checked whole first, so a bad entry stores
        nothing. Returns how many codes each table received. Raises ``ValueError`` (a `CodeFileError`)
        naming the table or code that cannot be loaded, and ``NotImplementedError`` for a store that
        keeps no code tables.
        """
        checked = check_code_tables(tables, source="the codes")
        self.store.add_codes(checked)
        self._sync_codes()
        return {table: len(rows) for table, rows in checked.items()}

    @property
    def seeded_on(self) -> date | None:
        """The day seed data is dated from: the day the store was first seeded (``None``: not yet)."""
        try:
            day = self.store.setting(SEEDED_ON)
        except NotImplementedError:
            return None
        return None if day is None else date.fromisoformat(day)

    def _seed_env(self) -> Env:
        """The rules' environment with the clock at midnight UTC of `seeded_on` (fixed now if unset)."""
        today = self._now().astimezone(UTC).date()
        try:
            with self.store.transaction():
                day = self.store.setting(SEEDED_ON)
                if day is None:
                    day = today.isoformat()
                    self.store.set_setting(SEEDED_ON, day)
        except NotImplementedError:  # a store that keeps no settings: today, as before
            day = today.isoformat()
        return replace(self.env(), now=datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC))

    def seed(self, n: int = 100, *, seed: int | None = None, duke: bool = False) -> list[str]:
        """Add ``n`` realistic patrons, and with ``duke=True`` the Duke scenarios not there yet (see
        `seed_duke`); returns the primary ids added. Raises ``ValueError`` if ``n < 0``.

        Without ``seed``, each call draws a new deterministic batch from the sandbox's seed. Every
        timestamp is an offset from midnight UTC of `seeded_on`, the day the store was first seeded,
        so nothing depends on the time of day, and a store's seed data never moves. The patrons are
        written in one transaction and indexed at its end (the same records, ids and search index as
        one at a time), in time that grows linearly with n.
        """
        if seed is None:
            self._seed_calls += 1
            seed = self.seed_value * 1000 + self._seed_calls
        added = seed_patrons(self.store, self._seed_env(), n, seed)
        return added + self.seed_duke() if duke else added

    def seed_duke(self) -> list[str]:
        """Add the Duke scenarios (see ``DUKE_SCENARIOS``) that are not there yet; returns ids added.

        They are dated from `seeded_on` like the rest of the seed data.
        """
        return seed_duke(self.store, self._seed_env())

    def reset(self) -> None:
        """Remove every user, loan, request and fee, and forget `seeded_on` (code tables, keys and knobs stay)."""
        self.store.clear()

    # --- keys ------------------------------------------------------------------------------------

    @property
    def api_key(self) -> str:
        """A read/write key this sandbox accepts."""
        return self._api_key

    def add_api_key(self, key: str, *, read_only: bool = False) -> None:
        """Accept another key, read-only or read/write; raises ``ValueError`` for a blank key."""
        self._keys.add(key, read_only=read_only)

    def remove_api_key(self, key: str) -> None:
        """Stop accepting ``key``; requests with it get Alma's ``UNAUTHORIZED`` error."""
        self._keys.remove(key)

    # --- the ways in -----------------------------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """Answer one request (the sans-I/O core every transport uses); never raises."""
        return self._handler.handle(request)

    def transport(self) -> httpx.MockTransport:
        """An ``httpx.MockTransport`` for ``httpx.Client``/``AlmaClient``: in-process, no network."""
        return sync_transport(self)

    def async_transport(self) -> httpx.MockTransport:
        """An ``httpx.MockTransport`` for ``httpx.AsyncClient``/``AsyncAlmaClient`` (latency via ``async_sleep``)."""
        return async_transport(self)

    def serve_in_thread(self, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> ServedSandbox:
        """Serve this sandbox over real HTTP in a background thread; ``.origin`` is the base URL, ``.stop()`` ends it.

        ``port=0`` (the default) takes a free port from the OS. Use it in a ``with`` block, or call
        ``stop()``. Raises ``RuntimeError`` if the server does not start.
        """
        from ._serve import ServedSandbox  # noqa: PLC0415  (uvicorn loads only when serving)

        return ServedSandbox(self, host=host, port=port, log_level=log_level)

    def asgi_app(self) -> ASGIApp:
        """An ASGI application serving this sandbox (run it with uvicorn for real HTTP)."""
        return SandboxASGI(self)

    # --- observing -------------------------------------------------------------------------------

    @property
    def request_log(self) -> list[LogEntry]:
        """Every request so far (the last 100 000), oldest first, API key masked."""
        return self._log.entries()

    def clear_log(self) -> None:
        """Forget the in-memory request log (a log file is left alone)."""
        self._log.clear()

    @property
    def remaining_daily_calls(self) -> int:
        """Calls left today under ``daily_quota`` (what ``X-Exl-Api-Remaining`` says)."""
        return self._governor.remaining()

    def close(self) -> None:
        """Close the store (the SQLite connection); the sandbox is unusable afterwards."""
        self.store.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        # Never the key: a repr ends up in logs and tracebacks.
        return f"Sandbox(seed={self.seed_value}, store={self.store!r}, base_url={self.base_url!r})"
