"""Start-up: how long the ``alma-onelink`` command takes to begin, against the imports it cannot avoid.

Every command is run in a fresh process (``python -c …`` or the ``alma-onelink`` script), one after
the other in a rotating order, ``--rounds`` times after one warm-up round. Bytecode caches are warm,
as in an installed package: the warm-up round writes them to a temporary folder (``PYTHONPYCACHEPREFIX``,
even when ``PYTHONDONTWRITEBYTECODE`` is set), so no run compiles a module.
A round's ratio is the command's time over its baseline's time in that same round, so a drift of the
machine (frequency, other load) hits both sides alike; shown is the median over the rounds with the
middle half of the rounds in parentheses. The target is on the time a person waits (wall clock); the
ratio of CPU time (user + system, of the process alone) is shown beside it, steadier on a busy machine.

* ``alma-onelink --help`` against ``python -c "import typer, rich"``: the help needs the command's
  framework and nothing of the SDK. Target: at most 3x.
* ``alma-onelink register --dry-run`` on a local sandbox (seeded before the rounds, the Duke policy)
  against ``python -c "import …"`` of the libraries a registration needs: typer and rich's console,
  httpx, pydantic, the client, the models, the policy and its plugin, the engine and the procedure,
  the sandbox. Target: at most 1.5x.
* ``import alma_onelink`` against ``python -c pass``: what an SDK user pays before the first call
  (no target; shown for the record).
* a typer app of two commands, ``--help``, against ``python -c "import typer, rich"``: what typer's
  help costs with nothing of ours (no target; the floor under the first line).

Run: ``make bench`` or ``.venv/bin/python bench/startup.py [--rounds N]`` (about a minute).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ENV_VARS = (
    "ALMA_API_KEY", "ALMA_BASE_URL", "ALMA_REGION", "ALMA_ONELINK_POLICY", "ALMA_ONELINK_STAFF",
    "ALMA_ONELINK_JOURNAL", "ALMA_ONELINK_DUKE_CONFIG",
)  # fmt: skip
"""Settings the command reads from the environment: unset, so every run goes to the local sandbox."""

REGISTRATION_LIBRARIES = (
    "typer",
    "rich.console",
    "httpx",
    "pydantic",
    "alma_onelink._client",
    "alma_onelink.models",
    "alma_onelink.policy.manager",
    "alma_onelink_duke.policy",
    "alma_onelink.engine",
    "alma_onelink.onelink.register",
    "alma_onelink.sandbox",
)
"""What ``register --dry-run`` on the sandbox cannot do without: the baseline of its target."""

TOY_APP = """
import typer
app = typer.Typer(add_completion=False)
@app.command()
def one(count: int = 1) -> None:
    \"\"\"One.\"\"\"
@app.command()
def two(name: str = "") -> None:
    \"\"\"Two.\"\"\"
app(["--help"])
"""
"""The least a typer app's help costs: the floor under the ``--help`` target."""

PATRON = (
    "--onelink-id", "2000001", "--first-name", "Ann", "--last-name", "Lee", "--email", "ann.lee@example.org",
    "--affiliation", "alumni", "--graduated-on", "2015-05-10",
)  # fmt: skip


@dataclass(frozen=True)
class Case:
    """One command and the baseline it is measured against (``target``: the most its ratio may be)."""

    name: str
    argv: list[str]
    baseline: str
    target: float | None


def _script() -> str:
    """The ``alma-onelink`` console script of this interpreter's environment."""
    beside = Path(sys.executable).with_name("alma-onelink")
    found = str(beside) if beside.exists() else shutil.which("alma-onelink")
    if not found:
        raise SystemExit("the alma-onelink command is not installed in this environment (pip install -e .)")
    return found


def _cpu_of_children() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Seconds ``argv`` took from start to exit, and the CPU seconds it used. Raises ``SystemExit`` if it failed."""
    cpu, start = _cpu_of_children(), time.perf_counter()
    done = subprocess.run(
        argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, check=False, timeout=120
    )
    seconds, cpu = time.perf_counter() - start, _cpu_of_children() - cpu
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr.decode(errors='replace')}")
    return seconds, cpu


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 4:
        return min(values), max(values)
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15, help="measured rounds (default 15)")
    args = parser.parse_args()

    python, script = sys.executable, _script()
    env = {name: value for name, value in os.environ.items() if name not in ENV_VARS}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["NO_COLOR"] = "1"
    with tempfile.TemporaryDirectory(prefix="alma-onelink-startup-") as folder:
        where = Path(folder)
        env["PYTHONPYCACHEPREFIX"] = str(where / "pycache")
        target = ["--db", str(where / "sandbox.sqlite3"), "--journal", str(where / "journal.jsonl")]
        register = [script, *target, "--policy", "duke", "register", *PATRON, "--dry-run", "--today", "2026-06-01"]
        plain: dict[str, list[str]] = {
            "python -c pass": [python, "-c", "pass"],
            "import typer, rich": [python, "-c", "import typer, rich"],
            "import the registration's libraries": [python, "-c", f"import {', '.join(REGISTRATION_LIBRARIES)}"],
        }
        cases = [
            Case("alma-onelink --help", [script, "--help"], "import typer, rich", 3.0),
            Case("alma-onelink register --dry-run", register, "import the registration's libraries", 1.5),
            Case("import alma_onelink", [python, "-c", "import alma_onelink"], "python -c pass", None),
            Case("a typer app of two commands --help", [python, "-c", TOY_APP], "import typer, rich", None),
        ]
        commands = {**plain, **{case.name: case.argv for case in cases}}
        _run(register, env, where)  # seeds the sandbox's file: every measured run reads the same store
        names = list(commands)
        times: dict[str, list[float]] = {name: [] for name in names}
        cpus: dict[str, list[float]] = {name: [] for name in names}
        for round_ in range(args.rounds + 1):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                seconds, cpu = _run(commands[name], env, where)
                if round_:  # round 0 warms the caches
                    times[name].append(seconds)
                    cpus[name].append(cpu)

    load = f", load {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    print(f"Start-up: {args.rounds} rounds, {platform.python_implementation()} {platform.python_version()}, ", end="")
    print(f"{os.cpu_count()} cores{load}")
    print()
    print("| command | median | baseline | baseline median | ratio (middle half) | CPU ratio | target |")
    print("|---|---|---|---|---|---|---|")
    for case in cases:
        ratios = [mine / base for mine, base in zip(times[case.name], times[case.baseline], strict=True)]
        ratio = statistics.median(ratios)
        low, high = _quartiles(ratios)
        cpu_ratio = statistics.median(
            mine / base for mine, base in zip(cpus[case.name], cpus[case.baseline], strict=True) if base > 0
        )
        if case.target is None:
            verdict = "—"
        else:
            verdict = f"≤ {case.target:g}x: **{'met' if ratio <= case.target else 'missed'}**"
        print(
            f"| `{case.name}` | {statistics.median(times[case.name]) * 1000:,.0f} ms | `{case.baseline}` | "
            f"{statistics.median(times[case.baseline]) * 1000:,.0f} ms | {ratio:.2f}x ({low:.2f}-{high:.2f}) | "
            f"{cpu_ratio:.2f}x | {verdict} |"
        )


if __name__ == "__main__":
    main()
