"""Where a rate-bound run's time goes beyond the rate itself, from when its requests reached the server.

For N requests at Alma's 25 a second, no client can beat the floor: the first 25 at once, then
(N - 25)/25 s of windows, then the last answers' round trip. A run's wall time splits, by the arrival
times the served sandbox logged (its clock and the driver's are the machine's one wall clock), into:

* ``start`` — from the driver's clock starting to the first request reaching the server (building the
  requests, opening connections, the first imports a client makes lazily);
* ``windows`` — from the first arrival to the first of the last 25, beyond (N - 25)/25 s: the margin a
  client leaves at each window's edge, and how late it wakes up there;
* ``last burst`` — from the first to the last of the last 25 arrivals (how long sending a burst takes);
* ``last answer`` — from the last arrival to the end of the run (its round trip, the slowest of the
  burst; parsing the answers).

The four add up to the wall time less (N - 25)/25 s; the floor allows one round trip (130 ms here).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

__all__ = ["HEADER", "LEGEND", "Breakdown", "medians", "split"]

BURST, RATE = 25, 25.0

HEADER = f"{'start':>6} {'windows':>7} {'burst':>6} {'answer':>6}"
"""The header over `Breakdown.columns` (milliseconds each)."""

LEGEND = (
    "start, windows, burst, answer = ms beyond (N - 25)/25 s: first request out and at the server; windows "
    "beyond one second each (edge margin, late wake-ups); the last 25 from first to last; the last answer"
)


@dataclass(frozen=True)
class Breakdown:
    """Seconds of a run beyond (N - 25)/25 s, by where they went (see the module)."""

    start: float
    windows: float
    last_burst: float
    last_answer: float

    def columns(self) -> str:
        """The four in milliseconds, aligned under `HEADER`."""
        parts = (self.start, self.windows, self.last_burst, self.last_answer)
        widths = (6, 7, 6, 6)
        return " ".join(f"{seconds * 1000:{width}.0f}" for seconds, width in zip(parts, widths, strict=True))


def split(arrivals: list[float], started_at: float, wall: float, requests: int) -> Breakdown | None:
    """The breakdown of a run of ``requests`` calls that started at ``started_at`` (epoch seconds) and
    took ``wall`` seconds, whose requests reached the server at ``arrivals`` (epoch seconds); None
    unless exactly ``requests`` arrived (a refused request sent again has no place in it)."""
    if len(arrivals) != requests or requests <= BURST:
        return None
    ordered = sorted(arrivals)
    first, last_burst = ordered[0], ordered[requests - BURST]
    return Breakdown(
        start=first - started_at,
        windows=last_burst - first - (requests - BURST) / RATE,
        last_burst=ordered[-1] - last_burst,
        last_answer=started_at + wall - ordered[-1],
    )


def medians(splits: list[Breakdown]) -> str:
    """The median of each part over ``splits``, in words."""
    if not splits:
        return "no breakdown (no run of exactly the requests it needs)"
    parts = {
        "start": [part.start for part in splits],
        "windows": [part.windows for part in splits],
        "last burst": [part.last_burst for part in splits],
        "last answer": [part.last_answer for part in splits],
    }
    said = ", ".join(f"{name} {statistics.median(values) * 1000:.0f} ms" for name, values in parts.items())
    return f"beyond (N - 25)/25 s, median of {len(splits)} runs: {said}"
