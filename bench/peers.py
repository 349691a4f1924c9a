"""Side by side with the other Alma clients, on the served sandbox with Alma's latency and threshold.

Every client — ours (async with ``asyncio.gather``; sync with ``thread_map`` on 8 threads) and the peers
almapy, almaapitk, almapiwrapper and almapipy, each in its own virtual environment under
``.bench-venvs/`` (created on first use, pinned versions) — runs each scenario in its own process,
used the way its documentation shows (``bench/peer_drivers/``), against one sandbox served over real
HTTP on 127.0.0.1 (uvicorn in a thread, a port the OS picks) with 130 ± 40 ms latency and the
25 requests/s threshold:

* ``get x200`` — 200 users by id; ``…, two 429s`` — the same with the first two requests refused;
* ``walk 1,000`` — every user of a 1,000-user search (pages of 100); ``…, two 429s`` likewise;
* ``create, 503`` — a create answered 503 (not applied): is it replayed, duplicated, reported truly?
* ``ids #/?␠é`` — five users whose ids hold ``#``, ``/``, ``?``, a space and non-ASCII letters;
* ``key`` — is the API key seen in a URL the server received, in the client's logs or output, or in
  the exception a missing user raises?

The table gives, per run: correct or not, the wall time of the calls (imports and set-up excluded),
the requests the server saw, the 429s drawn (beyond the two injected), the fraction of the floor
(N/25 s for the N requests the scenario needs at least: floor ÷ wall, 1.00 = at Alma's limit), and
what the caller saw. Every run is capped (``--cap``), and the whole script stops starting runs after
``--budget`` seconds. ``BENCH_SKIP_PEERS=1`` measures our clients only (no installs).

Run: ``make bench`` or ``.venv/bin/python bench/peers.py [--quick] [--only NAME ...]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alma_onelink.sandbox import Faults, LogEntry, Sandbox

ROOT = Path(__file__).resolve().parents[1]
DRIVERS = Path(__file__).resolve().parent / "peer_drivers"
CACHE = ROOT / ".bench-venvs"
RATE = 25.0
RESULT_MARK = "BENCH-RESULT "
QUERY = "primary_id~*"
WALK_USERS = 1000
SPECIAL_IDS = ["bench#hash", "bench/slash", "bench?query", "bench space", "bënch-ünïcødé"]
MISSING_ID = "no-such-user-bench"
LATENCY, JITTER = 0.09, 0.08  # 90 to 170 ms: 130 ± 40 ms


@dataclass(frozen=True)
class Client:
    name: str
    driver: str
    requirement: str | None = None  # a pinned peer; None for ours (the project's own interpreter)
    min_python: tuple[int, int] = (3, 9)
    note: str = ""


CLIENTS = [
    Client("ours, async", "run_ours_async.py", note="asyncio.gather; async for over pages"),
    Client("ours, sync", "run_ours_sync.py", note="thread_map(8 threads); for over pages"),
    Client("almapy", "run_almapy.py", "almapy==9.3.1", (3, 11), "async; gather"),
    Client("almaapitk", "run_almaapitk.py", "almaapitk==0.5.1", (3, 12), "sync"),
    Client("almapiwrapper", "run_almapiwrapper.py", "almapiwrapper==1.9.7", (3, 9), "sync"),
    Client("almapipy", "run_almapipy.py", "almapipy==1.0.3", (3, 0), "sync"),
]


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    faults: tuple[str, ...] = ()
    floor_requests: int | None = None  # None: not a speed row


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

    @property
    def fraction(self) -> float | None:
        if self.scenario.floor_requests is None or not self.wall or not self.correct:
            return None
        return self.scenario.floor_requests / RATE / self.wall


def scenarios(gets: int) -> list[Scenario]:
    pages = WALK_USERS // 100
    return [
        Scenario("get", f"get x{gets}", floor_requests=gets),
        Scenario("get_429", f"get x{gets}, two 429s", ("429", "429"), gets + 2),
        Scenario("walk", f"walk {WALK_USERS:,}", floor_requests=pages),
        Scenario("walk_429", f"walk {WALK_USERS:,}, two 429s", ("429", "429"), pages + 2),
        Scenario("create", "create, 503", ("503",)),
        Scenario("ids", "ids # / ? space é"),
        Scenario("key", "key exposure"),
    ]


# --- interpreters and virtual environments ----------------------------------------------------------


def _version(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    return int(out[0]), int(out[1])


def find_python(minimum: tuple[int, int]) -> tuple[str, tuple[int, int]] | None:
    """An interpreter of at least ``minimum``: this one, ``python3.N`` on PATH, or a pyenv version."""
    candidates = [sys.executable]
    candidates += [found for n in range(14, 8, -1) if (found := shutil.which(f"python3.{n}"))]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted((str(p) for p in pyenv.glob("3.*/bin/python3")), reverse=True)
    for candidate in candidates:
        version = _version(candidate)
        if version is not None and version >= minimum:
            return candidate, version
    return None


def prepare(client: Client, timeout: float) -> tuple[str | None, str]:
    """The Python to run ``client``'s driver with (creating its venv if needed), or ``None`` and why not."""
    if client.requirement is None:
        return sys.executable, f"{platform.python_version()} (the project's)"
    found = find_python(client.min_python)
    if found is None:
        wanted = ".".join(map(str, client.min_python))
        return None, f"not installed: needs Python ≥ {wanted}, none on this machine"
    base, version = found
    venv = CACHE / client.name
    python = venv / "bin" / "python"
    stamp = venv / ".bench-installed"
    label = f"{version[0]}.{version[1]}"
    if stamp.exists() and stamp.read_text() == client.requirement and python.exists():
        return str(python), label
    shutil.rmtree(venv, ignore_errors=True)
    try:
        subprocess.run([base, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=timeout)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", client.requirement],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or ["?"]
        return None, f"not installed: {tail[0][:100]}"
    except subprocess.TimeoutExpired:
        return None, f"not installed: pip took longer than {timeout:.0f} s"
    stamp.write_text(client.requirement)
    return str(python), label


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
        f"{'client':14} {'scenario':26} {'correct':7} {'wall':>8} {'requests':>8} {'429s':>5} {'of floor':>8}  "
        "caller saw"
    )
    last = ""
    for row in rows:
        name = row.client if row.client != last else ""
        last = row.client
        verdict = {True: "yes", False: "NO", None: "-"}[row.correct]
        wall = f"{row.wall:6.2f} s" if row.wall is not None else "-"
        fraction = f"{row.fraction:.2f}" if row.fraction is not None else "-"
        saw = row.saw
        if row.scenario.key == "key":
            saw = "key in " + ", ".join(sorted(row.exposed)) if row.exposed else "key nowhere: " + saw
        print(
            f"{name:14} {row.scenario.label:26} {verdict:7} {wall:>8} {row.requests:8d} {row.drawn:5d} "
            f"{fraction:>8}  {saw}"
        )
    print()
    for name, python in pythons.items():
        print(f"  {name}: Python {python}")
    print("429s = PER_SECOND_THRESHOLD answers the client drew by its own pace (the two injected are not counted)")
    print("of floor = (N requests the scenario needs at least) / 25 per second / wall; 1.00 = at Alma's limit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="get x50 instead of x200, shorter caps")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="clients whose name starts with NAME")
    parser.add_argument("--cap", type=float, default=None, help="seconds one run may take (default 90, quick 30)")
    parser.add_argument("--budget", type=float, default=None, help="seconds after which no run starts (default 570)")
    args = parser.parse_args()
    cap = args.cap or (30.0 if args.quick else 90.0)
    budget = args.budget or (300.0 if args.quick else 570.0)
    started = time.monotonic()

    clients = CLIENTS
    if os.environ.get("BENCH_SKIP_PEERS"):
        clients = [c for c in clients if c.requirement is None]
    if args.only:
        clients = [c for c in clients if any(c.name.startswith(prefix) for prefix in args.only)]
    print(
        f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}"
    )
    sandbox, seeded = build_sandbox()
    gets = 50 if args.quick else 200
    template = sandbox.users.get(seeded[0]) or {}
    config_base: dict[str, Any] = {
        "key": sandbox.api_key,
        "get_ids": seeded[:gets],
        "q": QUERY,
        "walk_expected": WALK_USERS,
        "special": SPECIAL_IDS,
        "missing_id": MISSING_ID,
    }
    server = sandbox.serve_in_thread()  # real HTTP on 127.0.0.1, on a port the OS chose
    config_base["base"] = server.origin
    print(
        f"sandbox served on {config_base['base']}: {WALK_USERS} users, latency {LATENCY * 1000:.0f}-"
        f"{(LATENCY + JITTER) * 1000:.0f} ms, threshold {RATE:.0f}/s; cap {cap:.0f} s a run"
    )
    # The first search builds the sandbox's search index: do it before anything is timed.
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as folder:
        from alma_onelink import AlmaClient  # noqa: PLC0415  (only for the warm-up)

        with AlmaClient(api_key=sandbox.api_key, base_url=config_base["base"], rate_limit=None) as warm:
            warm.users.list(q=QUERY, limit=1)
        rows: list[Row] = []
        pythons: dict[str, str] = {}
        try:
            for client in clients:
                python, label = prepare(client, timeout=300)
                pythons[client.name] = f"{label}; {client.note}" if python else label
                work = Path(folder) / client.driver.removesuffix(".py")
                work.mkdir()
                for scenario in scenarios(gets):
                    if python is None:
                        rows.append(Row(client.name, scenario, None, saw=label))
                        continue
                    if time.monotonic() - started > budget:
                        rows.append(Row(client.name, scenario, None, saw="skipped: the time budget is spent"))
                        continue
                    config = {**config_base, "create_body": create_body(client, template)}
                    rows.append(
                        run_once(client, scenario, python=python, config=config, sandbox=sandbox, cap=cap, work=work)
                    )
                    print(f"  {client.name:14} {scenario.label:26} {time.monotonic() - started:6.0f} s", flush=True)
        finally:
            server.stop()
            sandbox.close()
        print_table(rows, pythons)
        print(f"total {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
