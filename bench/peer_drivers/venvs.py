"""The peers' virtual environments: which release of each, what it imports undeclared, which Python runs it.

``peers.toml`` beside this file is the one list of the other Alma clients; ``bench/peers.py`` and
``tests/sandbox/test_sandbox_peers.py`` both take it from `load_peers`, and `prepare` makes (or
reuses) a peer's environment under ``.bench-venvs/``: the pinned release and what it imports without
declaring it, then a check that the module its driver imports does import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CACHE", "DRIVERS", "Client", "find_python", "load_peers", "prepare"]

DRIVERS = Path(__file__).resolve().parent
CACHE = DRIVERS.parents[1] / ".bench-venvs"


@dataclass(frozen=True)
class Client:
    """One client the bench runs: its driver script, and for a peer what its environment holds."""

    name: str
    driver: str
    requirement: str | None = None  # a pinned peer; None for ours (the project's own interpreter)
    min_python: tuple[int, int] = (3, 9)
    note: str = ""
    undeclared: tuple[str, ...] = ()  # what the peer imports without declaring it: installed beside it
    imports: str = ""  # the module its driver imports: the venv must import it
    in_flight: int | None = None  # how many calls its driver runs at once; None: all it is given

    @property
    def requirements(self) -> list[str]:
        """What ``pip install`` gets for this peer."""
        return [self.requirement, *self.undeclared] if self.requirement else []


def load_peers(path: Path = DRIVERS / "peers.toml") -> list[Client]:
    """The peers of ``peers.toml``, in its order (the one list the bench and the peers test use)."""
    with path.open("rb") as handle:
        table = tomllib.load(handle)
    clients = []
    for name, peer in table.items():
        major, minor = (int(part) for part in peer["min_python"].split("."))
        clients.append(
            Client(
                name,
                peer["driver"],
                peer["requirement"],
                (major, minor),
                peer["note"],
                tuple(peer.get("undeclared", ())),
                peer["imports"],
            )
        )
    return clients


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
        return sys.executable, "{}.{}.{} (the project's)".format(*sys.version_info[:3])
    found = find_python(client.min_python)
    if found is None:
        wanted = ".".join(map(str, client.min_python))
        return None, f"not installed: needs Python ≥ {wanted}, none on this machine"
    base, version = found
    venv = CACHE / client.name
    python = venv / "bin" / "python"
    stamp = venv / ".bench-installed"
    label = f"{version[0]}.{version[1]}"
    wanted = " ".join(client.requirements)
    if stamp.exists() and stamp.read_text() == wanted and python.exists():
        return str(python), label
    shutil.rmtree(venv, ignore_errors=True)
    try:
        subprocess.run([base, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=timeout)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *client.requirements],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        subprocess.run(
            [str(python), "-c", f"import {client.imports}"], check=True, capture_output=True, text=True, timeout=60
        )
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or ["?"]
        return None, f"not installed: {tail[0][:100]}"
    except subprocess.TimeoutExpired:
        return None, f"not installed: pip took longer than {timeout:.0f} s"
    stamp.write_text(wanted)
    return str(python), label
