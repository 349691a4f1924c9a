"""Registering patrons: Alma calls per registration by outcome, and batch throughput over real HTTP.

Two measurements, in one run:

* **calls per registration** — one registration of each kind against the in-process sandbox (Duke
  scenarios, a fixed day), counted from the sandbox's request log, once with the two searches for
  older accounts Alma documents (by email, by name) and once with one search joining them with OR
  (the policy's ``search_with_or``). Each row stands beside its minimum, the calls the outcome
  cannot do without, named: a new patron takes 4 (3 with OR), a rerun 1. A row above its minimum
  is a MISS, and the script exits 1.
* **batch throughput** — ``register_many`` (threads) and ``aregister_many`` (tasks) registering new
  patrons on the sandbox *served over real HTTP* (uvicorn on 127.0.0.1, a port the OS picks), with
  150 ms latency and Alma's per-second threshold (25 requests/s) on. The clients keep their default
  rate limiter (25/s). Requests and 429s are counted from the sandbox's request log; requests per
  second as a fraction of Alma's 25 is the figure of merit (target ≥ 0.9: the batch is limited by
  Alma's threshold, not by the workflow).

Every batch is capped in time (``--cap``): when the cap is reached no new patron is started, the
registrations under way finish, and the row is marked ``capped``.

Run: ``make bench`` or ``.venv/bin/python bench/register.py [--patrons 100] [--latency 0.15] [--cap 24]``;
``--calls-only`` measures the calls alone (a second).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from alma_onelink import AlmaClient, AsyncAlmaClient, Patron
from alma_onelink.onelink import Journal, RegistrationResult, aregister_many, register_many, register_patron
from alma_onelink.policy import Policy, hookimpl, load_policy
from alma_onelink.sandbox import DUKE_UNIQUE_IDS, LogEntry, Sandbox

ALMA_RATE = 25.0
TODAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


# --- a. calls per registration ---------------------------------------------------------------------

SEARCHES = {False: ("search by email", "search by name"), True: ("search by email OR name",)}
"""The searches for older accounts, without and with OR in a user search (`Policy.search_with_or`)."""
SEARCH = "the search(es)"
"""In a case's calls: where the searches of the setting go."""


class WithOr:
    """The institution's Alma accepts OR in a user search (Duke's ``[alma] search_with_or = true``)."""

    @hookimpl
    def alma_onelink_search_with_or(self) -> bool:
        return True


@dataclass(frozen=True)
class Case:
    name: str
    patron: Patron
    expected: str
    calls: tuple[str | tuple[str, str], ...]
    """The calls the outcome cannot do without; ``SEARCH`` stands for the setting's searches, and a
    pair ``(without OR, with OR)`` for a call that is needed with one setting only (``""``: not needed)."""

    def minimum(self, with_or: bool) -> list[str]:
        """The calls this registration needs at least, in order, with or without OR."""
        needed: list[str] = []
        for call in self.calls:
            if call == SEARCH:
                needed += SEARCHES[with_or]
            elif isinstance(call, tuple):
                needed += [call[with_or]] if call[with_or] else []
            else:
                needed.append(call)
        return needed


def _applicant(scenario: str, first: str, last: str, affiliation: str, email: str, **facts: Any) -> Patron:
    return Patron(
        onelink_id=DUKE_UNIQUE_IDS.get(scenario, scenario),
        first_name=first,
        last_name=last,
        affiliation=affiliation,
        email=email,
        **facts,
    )


OLD_ACCOUNT = "grace.old"
"""An account of Grace Hopper's from before OneLink: her name and email, no OneLink ID (added by `_seed`)."""


def _cases() -> list[Case]:
    ada = _applicant(
        "new_registrant", "Ada", "Byron", "friends", "ada@example.org",
        donation={"amount": "250", "given_on": "2026-10-01"},
    )  # fmt: skip
    renewing = _applicant(
        "onelink_alumnus", "María José", "Ibáñez", "friends", "mj.ibanez@example.org",
        donation={"amount": "500", "given_on": "2026-11-01"},
    )  # fmt: skip
    jane = _applicant(
        "netid_era_alumna", "Jane", "Doe", "alumni", "jane.doe@alumni.duke.edu", graduated_on="2019-05-12"
    )
    lea = _applicant(
        "recent_graduate", "Léa", "Kowalczyk", "alumni", "lea.kowalczyk@duke.edu", graduated_on="2026-08-01"
    )
    tobias = _applicant(
        "2100003", "Tobias", "Whitfield", "community", "tobias.whitfield@example.org",
        address={"line1": "305 W Main St", "city": "Durham", "state_province": "NC", "postal_code": "27701"},
    )  # fmt: skip
    grace = _applicant("2100004", "Grace", "Hopper", "trln", "grace.hopper@unc.example.edu", home_institution="UNC")
    read, create = "read by OneLink ID", "create"
    return [
        Case("new patron", ada, "created", (read, SEARCH, create)),
        Case("rerun of the same", ada, "already_registered", (read,)),
        Case("Friends member renewing", renewing, "renewed", (read, "update")),
        Case(
            f"NetID-era alumna ({jane.onelink_id})",
            jane,
            "needs_merge",
            (f"{read} (finds the old account)", SEARCH, "move the ID off the old account", create),
        ),
        Case("rerun before the merge", jane, "needs_merge", (read, "read the old account (merged yet?)")),
        Case("recent graduate", lea, "blocked", (read, SEARCH)),
        Case(
            "namesake, another person",
            tobias,
            "created",
            (read, SEARCH, ("", "read the namesake (a brief record has no email)"), create),
        ),
        Case(
            "old account by email and name",
            grace,
            "needs_merge",
            (read, SEARCH, "read the old account in full (eligibility)", create),
        ),
    ]


def _seed(sandbox: Sandbox) -> None:
    sandbox.users.create(
        {
            "primary_id": OLD_ACCOUNT,
            "first_name": "Grace",
            "last_name": "Hopper",
            "record_type": {"value": "PUBLIC"},
            "account_type": {"value": "INTERNAL"},
            "user_group": {"value": "PUBLIC"},
            "contact_info": {
                "email": [
                    {"email_address": "grace.hopper@unc.example.edu", "email_type": "personal", "preferred": True}
                ]
            },
        }
    )


def _kind(entry: LogEntry) -> str:
    """``GET`` (one user), ``search`` (``GET /users``), ``POST``, ``PUT`` or ``DELETE``."""
    if entry.method == "GET" and entry.path.rstrip("/").endswith("/users"):
        return "search"
    return entry.method


def _breakdown(log: list[LogEntry]) -> str:
    counts = Counter(_kind(entry) for entry in log)
    return ", ".join(f"{kind} {counts[kind]}" for kind in ("GET", "search", "POST", "PUT", "DELETE") if counts[kind])


def _measure(with_or: bool, folder: Path) -> list[tuple[int, str]]:
    """Run every case on a fresh sandbox; ``(calls, breakdown)`` of each, in order."""
    policy = load_policy("duke", plugins=[WithOr()] if with_or else [])
    journal = Journal(folder / f"calls-{'or' if with_or else 'and'}.jsonl")
    sandbox = Sandbox.demo(now=lambda: NOW, per_second_limit=None)
    _seed(sandbox)
    measured = []
    with AlmaClient.sandbox(sandbox, rate_limit=None) as alma:
        for case in _cases():
            sandbox.clear_log()
            result = register_patron(alma, policy, case.patron, today=TODAY, journal=journal)
            if result.outcome != case.expected:
                sys.exit(f"{case.name}: expected {case.expected}, the workflow said {result.outcome}:\n{result}")
            log = sandbox.request_log
            measured.append((len(log), _breakdown(log)))
    sandbox.close()
    return measured


def calls_per_registration(folder: Path) -> bool:
    """Print calls per registration beside the minimum, for both search settings; whether all are at it."""
    print(f"a. Alma calls per registration (in-process sandbox, Duke scenarios, today {TODAY})")
    print("   two searches (Alma's documented AND) and one (search_with_or: email OR name), measured in this run")
    runs = {with_or: _measure(with_or, folder) for with_or in (False, True)}
    at_minimum = True
    print(f"{'registration':30} {'outcome':18} {'search':6} {'calls':>5} {'minimum':>7}  {'of which':30} the minimum")
    for index, case in enumerate(_cases()):
        for with_or in (False, True):
            calls, breakdown = runs[with_or][index]
            needed = case.minimum(with_or)
            verdict = "" if calls <= len(needed) else "  MISS"
            at_minimum = at_minimum and not verdict
            name, outcome = (case.name, case.expected) if not with_or else ("", "")
            print(
                f"{name:30} {outcome:18} {'OR' if with_or else 'AND':6} {calls:5d} {len(needed):7d}  "
                f"{breakdown:30} {', '.join(needed)}{verdict}"
            )
    print(
        "(a search is GET /users?q=…; the record a create or update returns is the one verified, never read again;\n"
        " a write whose answer is lost is read back by the client first: one call more)"
    )
    return at_minimum


# --- b. batch throughput on the served sandbox -------------------------------------------------------


@dataclass
class Batch:
    name: str
    concurrency: int
    registered: int
    outcomes: Counter[str]
    requests: int
    throttled: int
    seconds: float
    capped: bool


def _patrons(prefix: int, count: int, deadline: float, capped: list[bool]) -> Iterator[Patron]:
    """``count`` new TRLN borrowers whose OneLink IDs start with ``prefix``; stops at ``deadline``."""
    for i in range(count):
        if time.monotonic() >= deadline:
            capped.append(True)
            return
        yield Patron(
            onelink_id=f"{prefix}{i:06d}",
            first_name="Bench",
            last_name=f"Borrower{prefix}x{i:06d}",  # fixed width: no name is a prefix of another
            email=f"bench.{prefix}.{i}@unc.example.edu",
            affiliation="trln",
            home_institution="UNC-Chapel Hill",
        )


def _batch(
    name: str,
    *,
    concurrency: int,
    sandbox: Sandbox,
    run: Callable[[Iterator[Patron]], list[RegistrationResult]],
    prefix: int,
    count: int,
    cap: float,
) -> Batch:
    sandbox.clear_log()
    capped: list[bool] = []
    start = time.monotonic()
    results = run(_patrons(prefix, count, start + cap, capped))
    seconds = time.monotonic() - start
    log = sandbox.request_log
    return Batch(
        name=name,
        concurrency=concurrency,
        registered=len(results),
        outcomes=Counter(r.outcome.value for r in results),
        requests=len(log),
        throttled=sum(1 for entry in log if entry.status == 429),
        seconds=seconds,
        capped=bool(capped),
    )


def throughput(policy: Policy, journal: Journal, patrons: int, latency: float, cap: float) -> list[Batch]:
    sandbox = Sandbox(seed=1, latency=latency, per_second_limit=int(ALMA_RATE))
    sandbox.seed(20, seed=1, duke=True)  # a few accounts for the searches to look through
    server = sandbox.serve_in_thread()  # real HTTP on 127.0.0.1, on a port the OS chose
    origin = server.origin
    options: dict[str, Any] = {"api_key": sandbox.api_key, "base_url": origin}

    def sync_run(concurrency: int) -> Callable[[Iterator[Patron]], list[RegistrationResult]]:
        def run(batch: Iterator[Patron]) -> list[RegistrationResult]:
            # trust_env=False: loopback, never through a proxy from the environment.
            with httpx.Client(trust_env=False, timeout=30) as http, AlmaClient(**options, http_client=http) as alma:
                return list(register_many(alma, policy, batch, concurrency=concurrency, journal=journal))

        return run

    def async_run(concurrency: int) -> Callable[[Iterator[Patron]], list[RegistrationResult]]:
        async def go(batch: Iterator[Patron]) -> list[RegistrationResult]:
            async with (
                httpx.AsyncClient(trust_env=False, timeout=30) as http,
                AsyncAlmaClient(**options, http_client=http) as alma,
            ):
                return [r async for r in aregister_many(alma, policy, batch, concurrency=concurrency, journal=journal)]

        return lambda batch: asyncio.run(go(batch))

    print()
    print(
        f"b. register_many on the served sandbox ({origin}), {patrons} new patrons per batch, "
        f"{latency * 1000:.0f} ms latency, Alma's threshold {ALMA_RATE:.0f} req/s, cap {cap:.0f} s per batch"
    )
    print(
        f"{'batch':28} {'patrons':>7} {'created':>7} {'requests':>8} {'429s':>5} {'wall':>8} "
        f"{'req/s':>6} {'of 25/s':>7}  target  result"
    )
    batches = []
    plans = [
        ("sync, 8 threads", 8, sync_run(8)),
        ("sync, 16 threads", 16, sync_run(16)),
        ("async, 8 tasks", 8, async_run(8)),
        ("async, 16 tasks", 16, async_run(16)),
    ]
    try:
        for prefix, (name, concurrency, run) in enumerate(plans, start=2):
            batch = _batch(
                name, concurrency=concurrency, sandbox=sandbox, run=run, prefix=prefix, count=patrons, cap=cap
            )
            batches.append(batch)
            rate = batch.requests / batch.seconds
            fraction = rate / ALMA_RATE
            note = "  capped" if batch.capped else ""
            others = {k: v for k, v in batch.outcomes.items() if k != "created"}
            if others:
                note += f"  other outcomes: {dict(others)}"
            print(
                f"{name:28} {batch.registered:7d} {batch.outcomes['created']:7d} {batch.requests:8d} "
                f"{batch.throttled:5d} {batch.seconds:6.1f} s {rate:6.1f} {fraction:7.2f}  ≥ 0.90  "
                f"{'PASS' if fraction >= 0.9 else 'MISS'}{note}"
            )
    finally:
        server.stop()
        sandbox.close()
    print("req/s = requests the sandbox received / wall time of the batch; 429s = PER_SECOND_THRESHOLD answers")
    return batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patrons", type=int, default=100, help="new patrons per batch (default 100)")
    parser.add_argument("--latency", type=float, default=0.15, help="seconds the sandbox adds to each response")
    parser.add_argument("--cap", type=float, default=24.0, help="seconds after which a batch starts no new patron")
    parser.add_argument("--calls-only", action="store_true", help="measure the calls per registration only (a second)")
    args = parser.parse_args()
    if not 1 <= args.patrons <= 999_999:
        parser.error("--patrons must be from 1 to 999999")

    cores = os.cpu_count() or 0
    load = f"; load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
    print(
        f"machine: {cores} cores, {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}{load}"
    )
    policy = load_policy("duke")
    with tempfile.TemporaryDirectory(prefix="bench-register-") as folder:
        at_minimum = calls_per_registration(Path(folder))
        if args.calls_only:
            sys.exit(0 if at_minimum else "some registration took more calls than its minimum")
        journal = Journal(Path(folder) / "journal.jsonl")
        throughput(policy, journal, args.patrons, args.latency, args.cap)
        if journal.pending():
            sys.exit(f"{len(journal.pending())} journal intents were left pending")
    if not at_minimum:
        sys.exit("some registration took more calls than its minimum")


if __name__ == "__main__":
    main()
