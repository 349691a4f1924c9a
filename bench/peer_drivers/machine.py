"""How busy the machine was with other work during a run: for the bench's report, beside each figure.

The bench's figures are times, and on a machine shared with other work they stretch when a core is
not free the moment the client or the served sandbox needs it. `Meter` measures, for one run, the
cores that *other* processes kept busy (all CPU time the system reports, less the bench's own and
its finished children's) and, where Linux reports it, the share of the run during which some
process waited for a core (``/proc/pressure/cpu``). Runs in the bench's process only.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LOAD_HEADER", "LOAD_LEGEND", "Load", "Meter", "load_average", "summary"]

_STAT = Path("/proc/stat")
_PRESSURE = Path("/proc/pressure/cpu")


def _busy_seconds() -> float | None:
    """CPU seconds the whole system has spent busy since boot (every core), or None off Linux."""
    try:
        first = _STAT.read_text(encoding="ascii").split("\n", 1)[0].split()
    except OSError:
        return None
    if not first or first[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal: all but idle and iowait is time a core was taken.
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in first[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _stalled_seconds() -> float | None:
    """Seconds during which at least one process waited for a core (Linux PSI), or None."""
    try:
        line = _PRESSURE.read_text(encoding="ascii").split("\n", 1)[0]
    except OSError:
        return None
    fields = dict(part.split("=", 1) for part in line.split()[1:] if "=" in part)
    return int(fields["total"]) / 1e6 if "total" in fields else None


def _own_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def load_average() -> float:
    """The one-minute load average (runnable processes, averaged), as ``uptime`` shows it."""
    return os.getloadavg()[0]


@dataclass(frozen=True)
class Load:
    """What other work did to one run: ``others`` cores kept busy by other processes on average,
    ``stalled`` the share of the run (0-1) during which some process waited for a core, ``load``
    the one-minute load average when the run began. None where the system does not say."""

    others: float | None
    stalled: float | None
    load: float

    def columns(self) -> str:
        """The three figures, aligned under `LOAD_HEADER`."""
        others = f"{self.others:6.2f}" if self.others is not None else f"{'-':>6}"
        stalled = f"{self.stalled * 100:5.0f}%" if self.stalled is not None else f"{'-':>6}"
        return f"{self.load:5.2f} {others} {stalled}"


LOAD_HEADER = f"{'load':>5} {'others':>6} {'waited':>6}"
"""The header over `Load.columns`: the one-minute load average, the cores other processes kept busy,
the share of the run some process waited for a core."""

LOAD_LEGEND = (
    "load = one-minute load average when the run began; others = cores kept busy by other processes "
    "during the run (of {cores}); waited = share of the run during which some process waited for a core"
)


class Meter:
    """Started just before a run, read just after it (the bench's child process finished)."""

    def __init__(self) -> None:
        self._load = load_average()
        self._at = time.monotonic()
        self._busy = _busy_seconds()
        self._own = _own_seconds()
        self._stalled = _stalled_seconds()

    def read(self) -> Load:
        wall = max(time.monotonic() - self._at, 1e-9)
        busy, stalled = _busy_seconds(), _stalled_seconds()
        others = None
        if busy is not None and self._busy is not None:
            others = max(0.0, (busy - self._busy) - (_own_seconds() - self._own)) / wall
        waited = None
        if stalled is not None and self._stalled is not None:
            waited = min(1.0, max(0.0, (stalled - self._stalled) / wall))
        return Load(others, waited, self._load)


def summary(loads: list[Load]) -> str:
    """One line: how busy other work kept the machine during the runs of ``loads`` (ranges, medians)."""
    if not loads:
        return "machine during the runs: not measured"

    def spread(values: list[float], form: str = "{:.2f}") -> str:
        low, middle, high = (form.format(v) for v in (min(values), statistics.median(values), max(values)))
        return f"{low}-{high} (median {middle})"

    parts = [f"load {spread([load.load for load in loads])}"]
    others = [load.others for load in loads if load.others is not None]
    if others:
        parts.append(f"other processes kept {spread(others)} of {os.cpu_count()} cores busy")
    stalled = [load.stalled * 100 for load in loads if load.stalled is not None]
    if stalled:
        parts.append(f"some process waited for a core {spread(stalled, '{:.0f} %')} of the time")
    return "machine during the runs: " + "; ".join(parts)
