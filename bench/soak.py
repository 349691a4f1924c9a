"""Fault soak: 1,000 registrations with ``register_many`` on a served sandbox that fails 10 % of the time.

The sandbox is served over real HTTP (uvicorn on 127.0.0.1, a port the OS picks) with 130 ± 40 ms
latency, Alma's 25 requests/s threshold, and 10 % of the requests it accepts failing, in every way it
knows (``FAULT_KINDS``: 429, 500, 503, a response lost before or after Alma applied the request, a
connection reset). The client keeps its default rate limiter and a 2 s read timeout (a lost answer
costs 2 s of one thread). Checks, printed as PASS or FAIL:

* zero duplicates: no OneLink ID held by more than one account;
* every patron either registered once (``created``, the account there with the patron's names) or
  reported ``failed`` with a reason and instructions, never a silent loss;
* the journal complete: no write left pending, every create it says was done is in Alma once, and
  every account Alma created is in the journal.

And the wall time against the floor: the requests the sandbox saw / 25 per second (how well the batch
used Alma's budget, faults and all), and the calls a fault-free batch would need / 25 per second.
The batch is capped (``--cap``): when the cap is reached no new patron starts, and the row says so.

Run: ``make bench`` or ``.venv/bin/python bench/soak.py [--patrons 1000] [--concurrency 16] [--cap 420]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

from alma_onelink import AlmaClient, Patron
from alma_onelink.onelink import Journal, RegistrationResult, register_many
from alma_onelink.policy import load_policy
from alma_onelink.sandbox import FAULT_KINDS, Faults, Sandbox

RATE = 25.0
FAULT_RATE = 0.10
TODAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
FIRST_NAMES = ("Ada", "Bram", "Cleo", "Dara", "Emil", "Fenna", "Gideon", "Hedda", "Ivo", "Juno")
LAST_NAMES = ("Quist", "Roemer", "Sandoval", "Tiller", "Underhill", "Verbeek", "Whitlock", "Xu", "Yardley", "Zorn")


def new_patrons(count: int) -> list[Patron]:
    """``count`` (≤ 1,000) first-time alumni with distinct OneLink IDs and distinct names, the same every run."""
    patrons = []
    for i in range(count):
        first = FIRST_NAMES[i % 10]
        last = f"{LAST_NAMES[(i // 10) % 10]}-{'ABCDEFGHIJ'[i // 100]}"
        patrons.append(
            Patron(
                onelink_id=f"{7_000_000 + i * 4_999 % 1_000_000:07d}",
                first_name=first,
                last_name=last,
                email=f"{first}.{last}.{i}@example.org".lower(),
                affiliation="alumni",
                graduated_on=date(2000 + i % 20, 5, 10),
            )
        )
    return patrons


def until(deadline: float, patrons: list[Patron], capped: list[bool]) -> Iterator[Patron]:
    for patron in patrons:
        if time.monotonic() >= deadline:
            capped.append(True)
            return
        yield patron


def check(results: list[RegistrationResult], patrons: list[Patron], sandbox: Sandbox, journal: Journal) -> list[str]:
    """What went wrong, as sentences (empty: every check passed)."""
    problems = []
    accounts: dict[str, list[dict[str, object]]] = {}
    for user in sandbox.users:
        accounts.setdefault(str(user["primary_id"]), []).append(user)
    duplicates = [user_id for user_id, held in accounts.items() if len(held) > 1]
    if duplicates:
        problems.append(f"{len(duplicates)} OneLink IDs held by more than one account: {duplicates[:5]}")
    entries = journal.entries()
    done = {e.target for e in entries if e.action == "create" and e.result == "done"}
    for result in results:
        patron = patrons[result.index] if result.index is not None else None
        if patron is None or result.patron != patron:
            problems.append(f"a result without its patron: {result.outcome}")
            continue
        held = accounts.get(patron.onelink_id, [])
        if result.outcome == "created":
            names = [(a.get("first_name"), a.get("last_name")) for a in held]
            if names != [(patron.first_name, patron.last_name)] or patron.onelink_id not in done:
                problems.append(f"{patron.onelink_id} reported created, but Alma holds {names}")
        elif result.outcome == "failed":
            if not result.reason.strip() or not result.instructions:
                problems.append(f"{patron.onelink_id} failed without a reason")
            if held and "may or may not" not in result.reason:
                problems.append(f"{patron.onelink_id} reported failed, yet its account exists: {result.reason}")
        else:
            problems.append(f"{patron.onelink_id}: unexpected outcome {result.outcome}: {result.reason}")
    if len({r.index for r in results}) != len(results):
        problems.append("a patron came back twice")
    if journal.pending():
        problems.append(f"{len(journal.pending())} journal intents left pending")
    created_in_alma = {p.onelink_id for p in patrons if p.onelink_id in accounts}
    journaled = {e.target for e in entries if e.action == "create" and e.result != "failed"}
    if not created_in_alma <= journaled:
        unknown = sorted(created_in_alma - journaled)[:5]
        problems.append(f"accounts Alma created that the journal does not know: {unknown}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patrons", type=int, default=1000, help="new patrons to register (at most 1,000)")
    parser.add_argument("--concurrency", type=int, default=16, help="register_many threads (default 16)")
    parser.add_argument("--cap", type=float, default=420.0, help="seconds after which no new patron starts")
    args = parser.parse_args()
    if not 1 <= args.patrons <= 1000:
        parser.error("--patrons must be from 1 to 1000")

    print(
        f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}"
    )
    sandbox = Sandbox(seed=11, latency=0.09, jitter=0.08, per_second_limit=int(RATE), daily_quota=10_000_000)
    sandbox.seed(20, seed=1, duke=True)
    server = sandbox.serve_in_thread(log_level="error")  # real HTTP on 127.0.0.1, on a port the OS chose
    origin = server.origin
    patrons = new_patrons(args.patrons)
    policy = load_policy("duke")
    # Hundreds of retries are the point here: keep their log lines out of the report.
    logging.getLogger("alma_onelink").setLevel(logging.ERROR)

    # The calls a batch without faults needs (one registration, counted), to state the ideal floor.
    probe = Sandbox.demo(now=lambda: NOW, per_second_limit=None)
    with AlmaClient.sandbox(probe, rate_limit=None) as alma:
        list(register_many(alma, policy, [patrons[0]], today=TODAY))
    calls_each = len(probe.request_log)
    probe.close()

    print(
        f"{len(patrons)} registrations, register_many with {args.concurrency} threads, on {origin}: "
        f"latency 90 to 170 ms, threshold {RATE:.0f}/s, {FAULT_RATE:.0%} faults of {', '.join(FAULT_KINDS)}"
    )
    sandbox.knobs.faults = Faults(rate=FAULT_RATE, kinds=FAULT_KINDS)
    capped: list[bool] = []
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as folder:
        journal = Journal(Path(folder) / "journal.jsonl")
        start = time.monotonic()
        try:
            with (
                httpx.Client(trust_env=False) as http,
                AlmaClient(api_key=sandbox.api_key, base_url=origin, http_client=http, timeout=2.0) as alma,
            ):
                batch = until(start + args.cap, patrons, capped)
                results = list(
                    register_many(alma, policy, batch, concurrency=args.concurrency, journal=journal, today=TODAY)
                )
            wall = time.monotonic() - start
        finally:
            server.stop()
        log = sandbox.request_log
        problems = check(results, patrons, sandbox, journal)
    sandbox.close()

    faults = Counter(entry.fault for entry in log if entry.fault)
    throttled = sum(1 for entry in log if entry.status == 429 and entry.fault != "429")
    outcomes = Counter(str(r.outcome) for r in results)
    reasons = Counter(r.reason.split(":")[0][:70] for r in results if r.outcome == "failed")
    seen_floor = len(log) / RATE
    ideal_floor = len(results) * calls_each / RATE
    print()
    print(f"{'registered':>10} {'created':>7} {'failed':>6} {'requests':>8} {'faults':>6} {'429s':>5} {'wall':>8} "
          f"{'of floor (requests seen)':>24} {'of floor (fault-free calls)':>27}")  # fmt: skip
    print(
        f"{len(results):10d} {outcomes['created']:7d} {outcomes['failed']:6d} {len(log):8d} {sum(faults.values()):6d} "
        f"{throttled:5d} {wall:6.1f} s {seen_floor / wall:24.2f} {ideal_floor / wall:27.2f}"
        + ("  capped" if capped else "")
    )
    print(f"faults injected: {dict(sorted(faults.items()))}")
    if reasons:
        print(f"why the failed ones failed: {dict(reasons)}")
    print(f"a registration without faults takes {calls_each} calls; 429s = drawn by the client's own pace")
    checks = [
        ("zero duplicates", not any("more than one account" in p for p in problems)),
        ("each patron registered once or reported failed with a reason", not problems),
        ("journal complete (nothing pending)", not any("journal" in p for p in problems)),
    ]
    for name, passed in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {name}")
    for problem in problems[:20]:
        print(f"  - {problem}")
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
