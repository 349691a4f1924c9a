"""The journal at size: what a registration costs with 0, 20,000 and 100,000 entries in the journal.

One run builds journals of each size (JSON Lines written directly in the journal's format: a mix of
creates, identifier moves and renewals with whole Alma records, as registrations write them), brings
each one's index up to date once (timed: the one-time cost after an upgrade, or after an archive
rewrites the live file), then measures on the in-process sandbox, with a new ``Journal`` object per
call as each command makes:

* ``register_patron`` of a new patron: median time, and peak memory (``tracemalloc``), each as a
  ratio to the empty journal. Target: at most 1.2 at 100,000 entries;
* ``journal pending`` (``Journal.pending``) and a look-up by OneLink ID (``entries(target=…)``).

Run: ``.venv/bin/python bench/journal_scale.py [--sizes 0,20000,100000] [--repeat 15]``. Point
``PYTHONPATH`` at another checkout to measure it the same way (a journal without an index is read
whole by each call there, so its "index build" column is blank).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from alma_onelink import AlmaClient, Patron
from alma_onelink.onelink import Journal, register_patron
from alma_onelink.policy import Policy, load_policy
from alma_onelink.sandbox import Sandbox

TODAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
START = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class Row:
    size: int
    megabytes: float
    build_seconds: float | None
    build_peak: float | None
    register_seconds: float
    register_peak: float
    pending_seconds: float
    target_seconds: float


def _line(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _record(template: dict[str, Any], primary_id: str, identifiers: list[str]) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(json.dumps(template))
    record["primary_id"] = primary_id
    record["user_identifier"] = [{"id_type": {"value": "DUKE_UNIQUE_ID"}, "value": v} for v in identifiers]
    return record


def _entries(count: int, template: dict[str, Any]) -> Iterator[bytes]:
    """``count`` settled entries: 7 in 10 creates, 2 identifier moves, 1 renewal, one registration each."""
    for i in range(count):
        entry_id, registration = f"{i:08d}{'a' * 24}", f"{i:08d}{'b' * 24}"
        when = START + timedelta(minutes=i)
        onelink = f"9{i:06d}"
        kind = ("create", "create", "create", "create", "create", "create", "create", "move", "move", "renew")[i % 10]
        target = onelink if kind != "move" else f"old{i:06d}"
        before = None if kind == "create" else _record(template, target, [onelink, f"n{i}"])
        after = _record(template, target, [f"n{i}"] if kind == "move" else [onelink])
        yield _line({
            "type": "intent", "id": entry_id, "time": when.isoformat(), "staff": "bench",
            "action": "create" if kind == "create" else "update", "target": target, "before": before,
            "registration": registration, "operation": "register", "reason": f"bench {kind}",
        })  # fmt: skip
        yield _line({
            "type": "completion", "id": entry_id, "result": "done", "after": after, "error": None,
            "completed": (when + timedelta(seconds=1)).isoformat(),
        })  # fmt: skip


def build(folder: Path, size: int, template: dict[str, Any]) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"journal-{size}.jsonl"
    with path.open("wb") as file:
        for line in _entries(size, template):
            file.write(line)
    return path


def measured(call: Callable[[], object]) -> tuple[float, float]:
    """Seconds and peak traced megabytes of one call (two runs: tracing slows the code it traces)."""
    start = time.perf_counter()
    call()
    seconds = time.perf_counter() - start
    return seconds, peak_of(call)


def peak_of(call: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", default="0,20000,100000", help="journal sizes, comma separated (first: baseline)")
    parser.add_argument("--repeat", type=int, default=21, help="registrations measured per size")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with Sandbox.demo(now=lambda: NOW, per_second_limit=None) as sandbox:
        template = sandbox.users.get("jd123")
    if template is None:
        sys.exit("the sandbox's demo data has no jd123 to model the journal's records on")
    policy = load_policy("duke")
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        benches: list[Bench] = []
        for size in sizes:
            path = build(Path(folder) / str(len(benches)), size, template)
            # A sandbox per journal: every size registers against the same Alma, only the journal differs.
            sandbox = stack.enter_context(Sandbox.demo(now=lambda: NOW, per_second_limit=None))
            alma = stack.enter_context(AlmaClient.sandbox(sandbox, sleep=lambda s: None))
            benches.append(Bench(alma, policy, path, size))
            print(f"... {size:,} entries written", file=sys.stderr)
        rows = measure(benches, args.repeat)
    _report(rows)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"\n{os.cpu_count()} cores" + (f", load {load:.1f} at the end" if load is not None else ""))


def measure(benches: list[Bench], repeat: int) -> list[Row]:
    """Each figure of each size, the sizes taken in turn, so that the machine's load falls on all of them alike."""
    built = [measured(b.build) if hasattr(Journal, "reindex") else (None, None) for b in benches]
    for _ in range(3):
        for bench in benches:
            bench.register()  # warm: imports, caches, the index's pages
    times = _rounds(benches, repeat, timed, Bench.register)
    peaks = _rounds(benches, 3, peak_of, Bench.register)
    pending = _rounds(benches, repeat, timed, Bench.pending)
    by_target = _rounds(benches, repeat, timed, Bench.by_target)
    rows = []
    for i, b in enumerate(benches):
        median = [statistics.median(figures[i]) for figures in (times, peaks, pending, by_target)]
        rows.append(Row(b.size, b.path.stat().st_size / 1e6, *built[i], *median))
    return rows


def _rounds(
    benches: list[Bench], rounds: int, how: Callable[[Callable[[], object]], float], what: Callable[[Bench], object]
) -> list[list[float]]:
    found: list[list[float]] = [[] for _ in benches]
    for _ in range(rounds):
        for i, bench in enumerate(benches):
            found[i].append(how(lambda bench=bench: what(bench)))  # type: ignore[misc]
    return found


class Bench:
    """One journal of a given size, and a sandbox of its own to register new patrons on."""

    def __init__(self, alma: AlmaClient, policy: Policy, path: Path, size: int) -> None:
        self.alma, self.policy, self.path, self.size = alma, policy, path, size
        self.counter = iter(range(10**6))

    def build(self) -> None:
        Journal(self.path).reindex()

    def register(self) -> None:
        n = next(self.counter)
        patron = Patron(
            onelink_id=f"8{n:06d}", first_name="Bench", last_name=f"Newcomer{n:06d}", affiliation="friends",
            email=f"bench.{n}@example.org", donation={"amount": "250", "given_on": "2026-10-01"},
        )  # fmt: skip
        journal = Journal(self.path, now=lambda: NOW)  # a new object each time, as each command makes
        result = register_patron(self.alma, self.policy, patron, today=TODAY, journal=journal)
        if result.outcome != "created":
            sys.exit(f"the bench registration was {result.outcome}, not created: {result.reason}")

    def pending(self) -> None:
        Journal(self.path).pending()

    def by_target(self) -> None:
        Journal(self.path).entries(target=f"9{max(self.size - 1, 0):06d}")


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _report(rows: list[Row]) -> None:
    base = rows[0]
    print("| entries | file | index built once | register | ratio | peak memory | ratio | pending | by OneLink ID |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        built = f"{row.build_seconds:.1f} s, {row.build_peak:.0f} MB" if row.build_seconds is not None else "—"
        print(
            f"| {row.size:,} | {row.megabytes:.0f} MB | {built} | {row.register_seconds * 1000:.1f} ms "
            f"| {row.register_seconds / base.register_seconds:.2f} | {row.register_peak * 1000:.0f} KB "
            f"| {row.register_peak / base.register_peak:.2f} | {row.pending_seconds * 1000:.2f} ms "
            f"| {row.target_seconds * 1000:.2f} ms |"
        )
    worst = max(max(r.register_seconds / base.register_seconds, r.register_peak / base.register_peak) for r in rows)
    print(f"\nlargest ratio to the empty journal: {worst:.2f} (target ≤ 1.2)")


if __name__ == "__main__":
    main()
