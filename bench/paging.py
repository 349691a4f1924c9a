"""Walking every page of a search: sequential vs concurrent, against the theoretical limit.

The sandbox adds a fixed latency to every response (as a remote Alma would) and keeps Alma's
per-second threshold on; the clients share one rate limiter (25 requests a second).
Requests are counted from the sandbox's request log, so the numbers show both the time and the
number of calls each walk cost.

The theoretical limit for ``n`` pages with ``c`` pages in flight: the first page alone, then the
rest, bounded both by the rate limiter (25 in any one-second window) and by ``c`` round trips at a time;
the time above it is the client's and the sandbox's own work (parsing and searching 1,000 users).

Run: ``make bench`` or ``.venv/bin/python bench/paging.py [--latency 0.05] [--users 1000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import time
from collections.abc import Callable

from alma_onelink import AlmaClient, AsyncAlmaClient, RateLimiter
from alma_onelink.sandbox import Sandbox

PAGE = 100
RATE = 25.0


def _limit(pages: int, latency: float, concurrency: int) -> float:
    rest = pages - 1
    # The limiter lets 25 go in any one-second window: request k (from 0) may start at floor(k / 25) s.
    by_rate = float(rest // int(RATE))
    by_round_trips = math.ceil(rest / concurrency) * latency
    return latency + max(by_rate, by_round_trips)


def _median_time(run: Callable[[], int], rounds: int) -> tuple[float, int]:
    samples, requests = [], 0
    for _ in range(rounds):
        start = time.perf_counter()
        requests = run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the sandbox adds to each response")
    parser.add_argument("--users", type=int, default=1000, help="patrons to walk")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per case (median is reported)")
    args = parser.parse_args()

    sandbox = Sandbox(seed=1, latency=args.latency)
    sandbox.seed(args.users, seed=1)
    total = len(sandbox.users)
    # One budget for every walk, as one institution has: a fresh limiter per client would let
    # back-to-back walks together past Alma's 25 a second.
    limiter = RateLimiter(RATE)
    pages = math.ceil(total / PAGE)

    def sync_walk() -> int:
        sandbox.clear_log()
        with AlmaClient.sandbox(sandbox, rate_limiter=limiter) as alma:
            walked = sum(1 for _ in alma.users.list(limit=PAGE))
        assert walked == total, (walked, total)
        return len(sandbox.request_log)

    def async_walk(concurrency: int) -> Callable[[], int]:
        async def walk() -> int:
            async with AsyncAlmaClient.sandbox(sandbox, rate_limiter=limiter) as alma:
                page = await alma.users.list(limit=PAGE)
                return len(await page.to_list(max_concurrency=concurrency))

        def run() -> int:
            sandbox.clear_log()
            walked = asyncio.run(walk())
            assert walked == total, (walked, total)
            return len(sandbox.request_log)

        return run

    cases: list[tuple[str, Callable[[], int], int]] = [
        ("sync, one page at a time", sync_walk, 1),
        ("async, max_concurrency=1", async_walk(1), 1),
        ("async, max_concurrency=4", async_walk(4), 4),
        ("async, max_concurrency=10 (default)", async_walk(10), 10),
    ]
    print(f"{total} users, {pages} pages of {PAGE}, {args.latency * 1000:.0f} ms latency, rate limit {RATE:.0f}/s")
    print(f"{'walk':38} {'requests':>8} {'time':>9} {'limit':>9} {'time/limit':>10} {'speed-up':>9}")
    baseline = None
    for name, run, concurrency in cases:
        elapsed, requests = _median_time(run, args.rounds)
        baseline = baseline or elapsed
        limit = _limit(pages, args.latency, concurrency)
        print(
            f"{name:38} {requests:8d} {elapsed * 1000:6.0f} ms {limit * 1000:6.0f} ms "
            f"{elapsed / limit:9.2f}x {baseline / elapsed:8.2f}x"
        )
    print("speed-up is against the sync walk; time/limit near 1x means the walk is as fast as the limits allow")


if __name__ == "__main__":
    main()
