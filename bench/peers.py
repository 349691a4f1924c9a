"""Side by side with the other Alma clients, on the served sandbox with Alma's latency and threshold.

Every client — ours (async with ``asyncio.gather``; sync with ``thread_map`` on 8 threads) and the peers
almapy, almaapitk, almapiwrapper and almapipy, each in its own virtual environment under
``.bench-venvs/`` (created on first use: the pinned release and what it imports without declaring it,
both listed in ``bench/peer_drivers/peers.toml``) — runs each scenario in its own process,
used the way its documentation shows (``bench/peer_drivers/``), against one sandbox served over real
HTTP on 127.0.0.1 (uvicorn in a thread, a port the OS picks) with 130 ± 40 ms latency and the
25 requests/s threshold:

* ``get x200`` — 200 users by id; ``…, two 429s`` — the same with the first two requests refused;
* ``walk 1,000`` — every user of a 1,000-user search (pages of 100); ``…, two 429s`` likewise;
* ``create, 503`` — a create answered 503 (not applied): is it replayed, duplicated, reported truly?
* ``ids #/?␠é`` — five users whose ids hold ``#``, ``/``, ``?``, a space and non-ASCII letters;
* ``key`` — is the API key seen in a URL the server received, in the client's logs or output, or in
  the exception a missing user raises?

The table gives, per run: correct or not, the wall time of the calls (imports and set-up excluded,
and the garbage they left collected before the clock starts, for every client alike), the requests
the server saw, the client's own 429s (per-second refusals it drew by its pace, beyond the injected
ones), the floor and the fraction of it (floor ÷ wall, 1.00 = as fast as Alma allows), and what the
caller saw. The floor for N requests is ``(N - 25)/25 s`` plus the round trips that must follow one
another (one for the gets; a walk's first page must come back before the others can go): a quiet
client may send its first 25 at once, and the last answers take a round trip to come back (130 ms on
average here; the slowest of a burst's 25, which ends a get x200, takes 167 ms on average). Every
run is capped (``--cap``), and the whole script stops starting runs after ``--budget`` seconds.
``BENCH_SKIP_PEERS=1`` measures our clients only (no installs).

``--repeat K`` runs only ``get x200`` for our clients, K times each, and prints each run's own 429s and
fraction of the floor; it exits 1 if any run drew a 429 of its own or ran below 0.95 of the floor.
Beside every run it prints how busy other work kept the machine (``bench/peer_drivers/machine.py``):
the load average, the cores other processes used, and the share of the run some process waited for
a core — on a shared machine the times stretch with them.

Run: ``make bench`` or ``.venv/bin/python bench/peers.py [--quick] [--only NAME ...] [--repeat K]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: bench.* lives in the repository's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alma_onelink.sandbox import Faults, LogEntry, Sandbox
from bench.peer_drivers.breakdown import HEADER as SPLIT_HEADER
from bench.peer_drivers.breakdown import LEGEND as SPLIT_LEGEND
from bench.peer_drivers.breakdown import Breakdown, medians, split
from bench.peer_drivers.machine import LOAD_HEADER, LOAD_LEGEND, Load, Meter, summary
from bench.peer_drivers.served import serve_steadily
from bench.peer_drivers.venvs import DRIVERS, Client, load_peers, prepare

RATE = 25.0
RESULT_MARK = "BENCH-RESULT "
QUERY = "primary_id~*"
WALK_USERS = 1000
SPECIAL_IDS = ["bench#hash", "bench/slash", "bench?query", "bench space", "bënch-ünïcødé"]
MISSING_ID = "no-such-user-bench"
LATENCY, JITTER = 0.09, 0.08  # 90 to 170 ms: 130 ± 40 ms
ROUND_TRIP = LATENCY + JITTER / 2  # on average
BURST = 25  # what a quiet client may send at once
TARGET = 0.95  # of the floor, with no 429 of our own (--repeat)


OURS = [
    Client("ours, async", "run_ours_async.py", note="asyncio.gather; async for over pages"),
    Client("ours, sync", "run_ours_sync.py", note="thread_map(8 threads); for over pages", in_flight=8),
]
CLIENTS = OURS + load_peers()


def floor_seconds(requests: int, round_trips: int) -> float:
    """The least time ``requests`` calls can take at Alma's threshold: the first 25 at once, the rest at
    25 a second, and ``round_trips`` round trips that must follow one another (at least the last)."""
    return max(0, requests - BURST) / RATE + round_trips * ROUND_TRIP


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    faults: tuple[str, ...] = ()
    floor_requests: int | None = None  # None: not a speed row
    round_trips: int = 1  # that must follow one another

    @property
    def floor(self) -> float | None:
        return None if self.floor_requests is None else floor_seconds(self.floor_requests, self.round_trips)


@dataclass
class Row:
    client: str
    scenario: Scenario
    correct: bool | None
    wall: float | None = None
    requests: int = 0
    drawn: int = 0
    saw: str = ""
    exposed: set[str] = field(default_factory=set)
    machine: Load | None = None  # what other work did to the machine during the run
    split: Breakdown | None = None  # where the time beyond the rate went (the gets)

    @property
    def fraction(self) -> float | None:
        floor = self.scenario.floor
        if floor is None or not self.wall or not self.correct:
            return None
        return floor / self.wall


def scenarios(gets: int) -> list[Scenario]:
    pages = WALK_USERS // 100
    return [
        Scenario("get", f"get x{gets}", floor_requests=gets),
        Scenario("get_429", f"get x{gets}, two 429s", ("429", "429"), gets + 2),
        # Page 1 must come back before the others can be asked for: two round trips one after the other;
        # with page 1 refused twice, four.
        Scenario("walk", f"walk {WALK_USERS:,}", floor_requests=pages, round_trips=2),
        Scenario("walk_429", f"walk {WALK_USERS:,}, two 429s", ("429", "429"), pages + 2, round_trips=4),
        Scenario("create", "create, 503", ("503",)),
        Scenario("ids", "ids # / ? space é"),
        Scenario("key", "key exposure"),
    ]


# --- the served sandbox ----------------------------------------------------------------------------


def build_sandbox() -> tuple[Sandbox, list[str]]:
    # A daily quota far above 5,000: almapiwrapper exits the process when fewer calls are left.
    sandbox = Sandbox(seed=1, latency=LATENCY, jitter=JITTER, per_second_limit=int(RATE), daily_quota=10_000_000)
    ids = sandbox.seed(WALK_USERS - len(SPECIAL_IDS), seed=1)
    template = sandbox.users.get(ids[0])
    assert template is not None
    for number, user_id in enumerate(SPECIAL_IDS):
        sandbox.users.create(
            {**template, "primary_id": user_id, "first_name": "Special", "last_name": f"Id{number}"}
            | {"user_identifier": []}
        )
    return sandbox, ids


def create_body(client: Client, template: dict[str, Any]) -> dict[str, Any]:
    slug = "".join(ch for ch in client.name if ch.isalnum())
    keep = ("record_type", "status", "user_group", "preferred_language", "expiry_date")
    body = {k: template[k] for k in keep if k in template}
    # INTERNAL: an EXTERNAL account needs an external_id (Alma's 401854).
    return {
        **body,
        "account_type": {"value": "INTERNAL"},
        "primary_id": f"bench-create-{slug}",
        "first_name": "Bench",
        "last_name": f"Create {slug}",
        "password": "Bench-Pass-2026",  # almapiwrapper's NewUser.create needs one
    }


# --- one run -----------------------------------------------------------------------------------------


def _key_in_url(log: list[LogEntry]) -> bool:
    return any(name.lower() == "apikey" for entry in log for name in entry.query)


def run_once(
    client: Client, scenario: Scenario, *, python: str, config: dict[str, Any], sandbox: Sandbox, cap: float, work: Path
) -> Row:
    sandbox.knobs.faults = Faults(script=list(scenario.faults))
    time.sleep(1.1)  # the per-second threshold refills between runs
    sandbox.clear_log()
    config_path = work / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    env.pop("PYTHONPATH", None)
    row = Row(client.name, scenario, correct=False)
    meter = Meter()
    try:
        done = subprocess.run(
            [python, str(DRIVERS / client.driver), scenario.key, str(config_path)],
            capture_output=True,
            text=True,
            timeout=cap,
            cwd=work,
            env=env,
            check=False,
        )
        output, errors = done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        errors = ""
        row.saw = f"stopped after the {cap:.0f} s cap"
    row.machine = meter.read()
    log = sandbox.request_log
    row.requests = len(log)
    row.drawn = sum(1 for entry in log if entry.status == 429 and entry.fault != "429")
    if _key_in_url(log):
        row.exposed.add("URL")
    lines = [line for line in output.splitlines() if line.startswith(RESULT_MARK)]
    other_output = "\n".join(line for line in output.splitlines() if not line.startswith(RESULT_MARK)) + errors
    if config["key"] in other_output:
        row.exposed.add("output")
    if not lines:
        if not row.saw:
            last = (errors.strip().splitlines() or ["no result"])[-1]
            row.saw = f"no result (exit {done.returncode}): {last[:120]}"
        return row
    result = json.loads(lines[-1][len(RESULT_MARK) :])
    row.exposed.update(result["exposed"])
    row.wall = result["wall"]
    row.saw = result["saw"]
    if scenario.key == "get" and result.get("started_at"):
        arrivals = [datetime.fromisoformat(entry.time.replace("Z", "+00:00")).timestamp() for entry in log]
        row.split = split(arrivals, result["started_at"], result["wall"], len(config["get_ids"]))
    row.correct = bool(result["ok"])
    if scenario.key == "create":
        created = sandbox.users.get(config["create_body"]["primary_id"]) is not None
        posts = sum(1 for entry in log if entry.method == "POST")
        # True when the caller's answer matches what happened: created and told so, or not and told so.
        row.correct = created == row.correct
        row.saw += f"; {posts} POST{'s' if posts != 1 else ''}, record {'created' if created else 'absent'}"
        if created:
            sandbox.users.delete(config["create_body"]["primary_id"])
    return row


# --- the table ---------------------------------------------------------------------------------------


def print_table(rows: list[Row], pythons: dict[str, str]) -> None:
    print()
    print(
        f"{'client':14} {'scenario':26} {'correct':7} {'wall':>8} {'requests':>8} {'own 429s':>8} {'floor':>7} "
        f"{'of floor':>8}  caller saw"
    )
    last = ""
    for row in rows:
        name = row.client if row.client != last else ""
        last = row.client
        verdict = {True: "yes", False: "NO", None: "-"}[row.correct]
        wall = f"{row.wall:6.2f} s" if row.wall is not None else "-"
        floor = f"{row.scenario.floor:5.2f} s" if row.scenario.floor is not None else "-"
        fraction = f"{row.fraction:.2f}" if row.fraction is not None else "-"
        saw = row.saw
        if row.scenario.key == "key":
            saw = "key in " + ", ".join(sorted(row.exposed)) if row.exposed else "key nowhere: " + saw
        print(
            f"{name:14} {row.scenario.label:26} {verdict:7} {wall:>8} {row.requests:8d} {row.drawn:8d} {floor:>7} "
            f"{fraction:>8}  {saw}"
        )
    print()
    for name, python in pythons.items():
        print(f"  {name}: Python {python}")
    print(summary([row.machine for row in rows if row.machine is not None]))
    print("own 429s = PER_SECOND_THRESHOLD answers the client drew by its own pace (the injected ones are not counted)")
    print(
        f"floor = (N requests the scenario needs - {BURST}) / {RATE:.0f} per second + the round trips that must follow "
        f"one another ({ROUND_TRIP * 1000:.0f} ms each); of floor = floor / wall, 1.00 = as fast as Alma allows"
    )


# --- the run ---------------------------------------------------------------------------------------------


@dataclass
class Bench:
    """The served sandbox and what every run shares."""

    sandbox: Sandbox
    config: dict[str, Any]
    template: dict[str, Any]
    cap: float
    folder: Path

    def run(self, client: Client, scenario: Scenario, python: str) -> Row:
        work = self.folder / client.driver.removesuffix(".py")
        work.mkdir(exist_ok=True)
        config = {**self.config, "create_body": create_body(client, self.template)}
        return run_once(client, scenario, python=python, config=config, sandbox=self.sandbox, cap=self.cap, work=work)


def compare(bench: Bench, clients: list[Client], gets: int, budget: float, started: float) -> None:
    """Every scenario for every client; the table."""
    rows: list[Row] = []
    pythons: dict[str, str] = {}
    for client in clients:
        python, label = prepare(client, timeout=300)
        pythons[client.name] = f"{label}; {client.note}" if python else label
        for scenario in scenarios(gets):
            if python is None:
                rows.append(Row(client.name, scenario, None, saw=label))
            elif time.monotonic() - started > budget:
                rows.append(Row(client.name, scenario, None, saw="skipped: the time budget is spent"))
            else:
                rows.append(bench.run(client, scenario, python))
                print(f"  {client.name:14} {scenario.label:26} {time.monotonic() - started:6.0f} s", flush=True)
    print_table(rows, pythons)


def repeat(bench: Bench, clients: list[Client], gets: int, times: int) -> bool:
    """``get x{gets}`` for each of ``clients``, ``times`` times in turn; whether every run met the target."""
    scenario = scenarios(gets)[0]
    assert scenario.floor is not None
    print(f"get x{gets}, {times} runs per client; floor {scenario.floor:.2f} s")
    print(
        f"{'client':14} {'run':>3} {'correct':7} {'wall':>8} {'requests':>8} {'own 429s':>8} {'of floor':>8}  "
        f"{SPLIT_HEADER}  {LOAD_HEADER}"
    )
    runs: dict[str, list[Row]] = {client.name: [] for client in clients}
    for number in range(1, times + 1):
        for client in clients:
            row = bench.run(client, scenario, sys.executable)
            runs[client.name].append(row)
            wall = f"{row.wall:6.2f} s" if row.wall is not None else "-"
            fraction = f"{row.fraction:.3f}" if row.fraction is not None else "-"
            machine = row.machine.columns() if row.machine is not None else ""
            parts = row.split.columns() if row.split is not None else f"{'-':>28}"
            print(
                f"{client.name:14} {number:3d} {'yes' if row.correct else 'NO':7} {wall:>8} {row.requests:8d} "
                f"{row.drawn:8d} {fraction:>8}  {parts}  {machine}",
                flush=True,
            )
    met = True
    print()
    for client in clients:
        rows = runs[client.name]
        fractions = [row.fraction or 0.0 for row in rows]
        drawn = [row.drawn for row in rows]
        with_429 = sum(1 for count in drawn if count)
        print(
            f"{client.name}: own 429s in {with_429} of {len(rows)} runs ({sum(drawn)} in all); of floor "
            f"min {min(fractions):.3f}, median {statistics.median(fractions):.3f}, max {max(fractions):.3f}"
        )
        print("  " + medians([row.split for row in rows if row.split is not None]))
        met = met and with_429 == 0 and all(row.correct for row in rows)
        if client.in_flight is None or client.in_flight >= BURST:
            met = met and min(fractions) >= TARGET
        else:  # the floor assumes a client that sends its first 25 at once
            rounds = math.ceil(BURST / client.in_flight)
            print(f"  ({client.in_flight} calls at a time: its first {BURST} take {rounds} round trips, not one)")
    print(summary([row.machine for rows in runs.values() for row in rows if row.machine is not None]))
    print(SPLIT_LEGEND)
    print(LOAD_LEGEND.format(cores=os.cpu_count()))
    verdict = "met" if met else "MISSED"
    print(
        f"target: no 429 of our own in any run, and every run of a client that sends {BURST} at once at {TARGET} of "
        f"the floor or better: {verdict}"
    )
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="get x50 instead of x200, shorter caps")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="clients whose name starts with NAME")
    parser.add_argument("--cap", type=float, default=None, help="seconds one run may take (default 90, quick 30)")
    parser.add_argument("--budget", type=float, default=None, help="seconds after which no run starts (default 570)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=0,
        metavar="K",
        help=f"only get x200 for our clients, K times each ({TARGET} target)",
    )
    args = parser.parse_args()
    cap = args.cap or (30.0 if args.quick else 90.0)
    budget = args.budget or (300.0 if args.quick else 570.0)
    started = time.monotonic()

    clients = OURS if args.repeat or os.environ.get("BENCH_SKIP_PEERS") else CLIENTS
    if args.only:
        clients = [c for c in clients if any(c.name.startswith(prefix) for prefix in args.only)]
    print(
        f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    sandbox, seeded = build_sandbox()
    gets = 50 if args.quick else 200
    config_base: dict[str, Any] = {
        "key": sandbox.api_key,
        "get_ids": seeded[:gets],
        "q": QUERY,
        "walk_expected": WALK_USERS,
        "special": SPECIAL_IDS,
        "missing_id": MISSING_ID,
    }
    server, steady = serve_steadily(sandbox)  # real HTTP on 127.0.0.1, on a port the OS chose
    config_base["base"] = server.origin
    print(
        f"sandbox served on {config_base['base']}: {WALK_USERS} users, latency {LATENCY * 1000:.0f}-"
        f"{(LATENCY + JITTER) * 1000:.0f} ms, threshold {RATE:.0f}/s; cap {cap:.0f} s a run; {steady}"
    )
    met = True
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as folder:
        from alma_onelink import AlmaClient  # noqa: PLC0415  (only for the warm-up)

        # The first search builds the sandbox's search index: do it before anything is timed.
        with AlmaClient(api_key=sandbox.api_key, base_url=config_base["base"], rate_limit=None) as warm:
            warm.users.list(q=QUERY, limit=1)
        # Alma's gateway counts a request when it arrives; the served sandbox counts it when its thread
        # gets to it, so a garbage collection of the seeded users mid-burst would count a burst late.
        gc.collect()
        gc.freeze()
        bench = Bench(sandbox, config_base, sandbox.users.get(seeded[0]) or {}, cap, Path(folder))
        try:
            if args.repeat:
                met = repeat(bench, clients, gets, args.repeat)
            else:
                compare(bench, clients, gets, budget, started)
        finally:
            server.stop()
            sandbox.close()
        print(f"total {time.monotonic() - started:.0f} s")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
