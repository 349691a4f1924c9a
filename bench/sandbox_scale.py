"""The sandbox at 1k, 10k and 100k users: seeding, a 100-user page, a walk over every page, memory.

All figures come from one run, against the SQLite store (what ``alma-onelink sandbox serve`` keeps)
through the in-process transport, so they are the sandbox's own work (no network):

* **seed** — ``Sandbox.seed(n)``: realistic patrons through Alma's rules, written and indexed in one
  transaction, into the SQLite file and (each size in a fresh process of its own, so the figures
  below stay the SQLite store's) into the memory store; µs per user, and 100k against 1k per user,
  target ≈ 1 (linear). The load average is printed beside it: the machine may be shared.
* **page** — one ``GET /users?limit=100`` with a write just before it, so nothing a previous search
  kept helps (the median of several): every user (no ``q``), a selective ``q`` and a broad one. The
  figure of merit is the ratio 100k / 1k, target ≤ 5 (the scan it replaces grew with the users).
* **walk** — every page of a search, one after another, per user read: 100k against 10k, target ≈ 1
  (linear: each page costs the same wherever it is).
* **memory** — the peak of Python's allocations (tracemalloc) while walking every page (the request
  log, one entry per request, emptied as it goes), and the process's peak resident size (which
  includes seeding and SQLite's page cache, capped at 32 MB).

Run: ``.venv/bin/python bench/sandbox_scale.py`` (a few minutes), ``--quick`` (1k and 10k only), or
``--seed-only`` (the seeding table alone).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx

from alma_onelink.sandbox import Sandbox

PAGE = 100
ROUNDS = 9
WALK_ROUNDS = 3
QUERIES = {
    "every user (no q)": None,
    "q=last_name~s (~15%, together in the order)": "last_name~s",
    "q=user_group~UNDERGRAD (~30%, spread out)": "user_group~UNDERGRAD",
}
WALKS = {"every user (no q)": None, "q=user_group~UNDERGRAD": "user_group~UNDERGRAD"}
PAGE_TARGET = 5.0
WALK_TARGET = 1.5
SEED_TARGET = 1.5  # per user, 100k against 1k: linear, with room for a busy moment


class Scale:
    """One sandbox of ``users`` seeded patrons in a SQLite file, and a client on it."""

    def __init__(self, users: int, folder: Path) -> None:
        self.users = users
        self.path = folder / f"sandbox-{users}.sqlite3"
        self.sandbox = Sandbox(seed=1, db_path=self.path, per_second_limit=None, daily_quota=10**9)
        self.seed_seconds = _seeding_seconds(self.sandbox, users)
        self.client = httpx.Client(
            transport=self.sandbox.transport(),
            base_url=self.sandbox.base_url + "/almaws/v1",
            headers={"Accept": "application/json", "Authorization": f"apikey {self.sandbox.api_key}"},
        )

    def page(self, q: str | None, offset: int = 0) -> dict[str, object]:
        params: dict[str, str | int] = {"limit": PAGE, "offset": offset}
        if q:
            params["q"] = q
        response = self.client.get("/users", params=params)
        response.raise_for_status()
        body: dict[str, object] = response.json()
        return body

    def touch(self) -> None:
        """A write that changes no search result but drops everything searches kept."""
        store = self.sandbox.store
        store.set_items(1, "fees", store.items(1, "fees"))  # user 1: the first seeded, in a new file

    def cold_page(self, q: str | None) -> float:
        """Seconds for one page of ``q``, right after a write."""
        self.touch()
        started = time.perf_counter()
        self.page(q)
        return time.perf_counter() - started

    def walk(self, q: str | None, *, log: bool = True) -> tuple[float, int]:
        """Seconds to read every page of ``q`` in order, and how many users that was.

        ``log=False`` empties the request log after each page (it keeps one entry per request).
        """
        self.touch()
        started = time.perf_counter()
        offset, total = 0, 1
        while offset < total:
            body = self.page(q, offset)
            total = int(body["total_record_count"])  # type: ignore[call-overload]
            offset += PAGE
            if not log:
                self.sandbox.clear_log()
        return time.perf_counter() - started, total

    def walk_per_user(self, q: str | None) -> float:
        seconds, read = self.walk(q)
        return seconds / max(read, 1)

    def walk_peak_mb(self, q: str | None) -> float:
        tracemalloc.start()
        try:
            self.walk(q, log=False)
            return tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()

    def close(self) -> None:
        self.client.close()
        self.sandbox.close()


def _seeding_seconds(sandbox: Sandbox, users: int) -> float:
    started = time.perf_counter()
    sandbox.seed(users, seed=1)
    return time.perf_counter() - started


def _memory_seed_seconds(users: int) -> float:
    """Seconds to seed ``users`` patrons into a memory store, in a fresh process (its memory stays there)."""
    done = subprocess.run(  # this script, by the same interpreter
        [sys.executable, __file__, "--memory-seed", str(users)], check=True, capture_output=True, text=True
    )
    return float(json.loads(done.stdout)["seconds"])


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def _seed_table(sizes: list[int], sqlite_seconds: list[float]) -> bool:
    """Print µs per user at each size, SQLite file and memory store, and 100k/1k per user; whether linear."""
    memory_seconds = [_memory_seed_seconds(users) for users in sizes]
    names = " ".join(f"{users:>10,}" for users in sizes)
    span = f"{sizes[-1] // 1000}k/{sizes[0] // 1000}k"
    print(f"\nseed, µs per user (Sandbox.seed(n), one run each; {_load()})")
    print(f"  {'':44} {names}  {span}")
    met = True
    for label, seconds in (("SQLite file", sqlite_seconds), ("memory store", memory_seconds)):
        per_user = [1e6 * taken / users for taken, users in zip(seconds, sizes, strict=True)]
        met &= _row(
            label, per_user, fmt=".0f", ratio=_ratio(per_user[-1], per_user[0]), target=SEED_TARGET, sign="≈ 1, ≤"
        )
    largest = sizes[-1]
    print(f"  {largest:,} users in {sqlite_seconds[-1]:.1f} s (SQLite file), {memory_seconds[-1]:.1f} s (memory store)")
    return met


def _ratio(value: float, base: float) -> float:
    return value / base if base else float("inf")


def _interleaved(scales: list[Scale], measure: Callable[[Scale], float], rounds: int) -> list[float]:
    """The median of ``rounds`` measurements per scale, taken in turns, so a busy moment hits every scale alike."""
    samples: list[list[float]] = [[] for _ in scales]
    for _ in range(rounds):
        for samples_of, scale in zip(samples, scales, strict=True):
            samples_of.append(measure(scale))
    return [statistics.median(taken) for taken in samples]


def _row(label: str, values: list[float], *, fmt: str, ratio: float, target: float, sign: str) -> bool:
    met = ratio <= target
    cells = " ".join(f"{v:>10{fmt}}" for v in values)
    print(f"  {label:44} {cells} {ratio:9.2f}  {'ok' if met else 'MISS'} ({sign} {target:g})")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="1k and 10k users only (about half a minute)")
    parser.add_argument("--seed-only", action="store_true", help="only the seeding table")
    parser.add_argument("--memory-seed", type=int, help=argparse.SUPPRESS)  # one memory seed, for _memory_seed_seconds
    args = parser.parse_args()
    if args.memory_seed is not None:
        print(json.dumps({"seconds": _seeding_seconds(Sandbox(seed=1), args.memory_seed)}))
        return
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    print(
        f"sandbox scale: SQLite store, in-process transport; Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.machine()}; {_load()}"
    )
    met = True
    with tempfile.TemporaryDirectory(prefix="sandbox-scale-") as folder:
        scales: list[Scale] = []
        try:
            for users in sizes:
                scales.append(Scale(users, Path(folder)))
                print(f"  seeded {users:>7,} users in {scales[-1].seed_seconds:6.1f} s", flush=True)
            rss = _peak_rss_mb()  # before the memory stores are seeded (each in a process of its own)
            met &= _seed_table(sizes, [scale.seed_seconds for scale in scales])
            if not args.seed_only:
                met &= _reads(scales)
                rss = _peak_rss_mb()
            size = scales[-1].path.stat().st_size / 2**20
            print(f"\nprocess peak RSS {rss:.0f} MB (seeding included); {scales[-1].users:,}-user file {size:.0f} MB")
        finally:
            for scale in scales:
                scale.close()
    print(f"\n{_load()}")
    print("all targets met" if met else "a target was missed (MISS above)")
    sys.exit(0 if met else 1)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)


def _reads(scales: list[Scale]) -> bool:
    """Print the page, walk and memory tables; whether every target was met."""
    met = True
    names = " ".join(f"{scale.users:>10,}" for scale in scales)
    small, large = scales[0], scales[-1]
    print(f"\n100-user page, ms (first after a write, median of {ROUNDS}, sizes in turn)")
    print(f"  {'':44} {names}  {large.users // 1000}k/{small.users // 1000}k")
    for label, q in QUERIES.items():
        times = [1000 * t for t in _interleaved(scales, partial(Scale.cold_page, q=q), ROUNDS)]
        met &= _row(label, times, fmt=".1f", ratio=_ratio(times[-1], times[0]), target=PAGE_TARGET, sign="≤")
    walkers = scales[-2:]
    print(f"\nwalk over every page, µs per user read (median of {WALK_ROUNDS}, sizes in turn)")
    print(f"  {'':44} " + " ".join(f"{s.users:>10,}" for s in walkers) + f"  {walkers[1].users // 1000}k/"
          f"{walkers[0].users // 1000}k")  # fmt: skip
    for label, q in WALKS.items():
        per = [1e6 * t for t in _interleaved(walkers, partial(Scale.walk_per_user, q=q), WALK_ROUNDS)]
        met &= _row(label, per, fmt=".0f", ratio=_ratio(per[1], per[0]), target=WALK_TARGET, sign="≈ 1, ≤")
    print("\nmemory while walking every page (Python's peak, tracemalloc, request log emptied), MB")
    for label, q in WALKS.items():
        peaks = [scale.walk_peak_mb(q) for scale in walkers]
        print(f"  {label:44} " + " ".join(f"{v:10.1f}" for v in peaks) + f" {_ratio(peaks[1], peaks[0]):9.2f}")
    return met


if __name__ == "__main__":
    main()
