"""The other Alma clients on the served sandbox: a change that breaks their view of Alma fails here.

almapy, almaapitk, almapiwrapper and almapipy each run their basic operations (get users, walk a
two-page search, create a user, ids with ``#``/``/``/``?``/space/accents, a missing user) through
their own driver in ``bench/peer_drivers/``, in their own virtual environment, set up as
``bench/peers.py`` sets it up (``.bench-venvs/``, the pinned release and what it imports without
declaring it, both from ``bench/peer_drivers/peers.toml``; created on first use, which needs the
package index). The sandbox is served over real HTTP on 127.0.0.1 and a free port, with Alma's 25/s threshold.

Marked ``peers``: ``make test-peers`` runs it (``pytest -m peers``); a plain ``pytest`` skips it.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from alma_onelink.sandbox import Faults, Sandbox

pytestmark = pytest.mark.peers

ROOT = Path(__file__).resolve().parents[2]
with (ROOT / "bench" / "peer_drivers" / "peers.toml").open("rb") as _peers:
    PEERS = tuple(tomllib.load(_peers))  # almapy, almaapitk, almapiwrapper, almapipy
SCENARIOS = ("get", "walk", "create", "ids", "key")
USERS = 150  # two pages of 100: the walk pages
QUERY = "primary_id~*"
# Ids every peer sends right. Ids with "#", "/" or "?" are left out: almaapitk and almapipy do not
# percent-encode ids (a bug of theirs that bench/peers.py measures), so Alma would not find them either.
SPECIAL_IDS = ["bench space", "bënch-ünïcødé"]


def _bench() -> Any:
    """``bench/peers.py`` (its clients, drivers and venv set-up), imported from ``bench/``."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        return importlib.import_module("peers")
    finally:
        sys.path.remove(str(ROOT / "bench"))


@dataclass
class Served:
    sandbox: Sandbox
    config: dict[str, Any]
    bench: Any


@pytest.fixture(scope="module")
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    """The sandbox with 150 patrons and the odd ids, on uvicorn in a thread; skipped unless asked for."""
    if "peers" not in (request.config.getoption("-m") or ""):
        pytest.skip("the peers run with `make test-peers` (pytest -m peers)")
    bench = _bench()
    sandbox = Sandbox(seed=1, per_second_limit=25, daily_quota=10_000_000)  # almapiwrapper exits below 5,000
    ids = sandbox.seed(USERS - len(SPECIAL_IDS), seed=1)
    template = next(user for user in sandbox.users if user["account_type"]["value"] == "INTERNAL")
    for number, user_id in enumerate(SPECIAL_IDS):
        sandbox.users.create(
            {
                **template,
                "primary_id": user_id,
                "first_name": "Special",
                "last_name": f"Id{number}",
                "user_identifier": [],
            }
        )
    server = sandbox.serve_in_thread()
    config = {
        "base": server.origin,
        "key": sandbox.api_key,
        "get_ids": ids[:5],
        "q": QUERY,
        "walk_expected": USERS,
        "special": SPECIAL_IDS,
        "missing_id": bench.MISSING_ID,
        "template": template,
    }
    try:
        yield Served(sandbox, config, bench)
    finally:
        server.stop()
        sandbox.close()


def _python(served: Served, name: str) -> tuple[Any, str]:
    """The peer and its environment's Python, as the bench makes it (``bench/peer_drivers/peers.toml``:
    the pinned release and what it imports without declaring it)."""
    [client] = [client for client in served.bench.CLIENTS if client.name == name]
    python, why = served.bench.prepare(client, timeout=300)
    if python is None:
        pytest.skip(f"{name}: {why}")
    return client, str(python)


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("name", PEERS)
def test_a_peer_client_works_on_the_sandbox(served: Served, name: str, scenario: str, tmp_path: Path) -> None:
    client, python = _python(served, name)
    bench, sandbox = served.bench, served.sandbox
    sandbox.knobs.faults = Faults()
    config = {**served.config, "create_body": bench.create_body(client, served.config["template"])}
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    env.pop("PYTHONPATH", None)
    # A copy under a name no package has: a script named like its package (almapipy.py) would import itself.
    driver = tmp_path / f"driver_{client.driver}"
    driver.write_text((bench.DRIVERS / client.driver).read_text(encoding="utf-8"), encoding="utf-8")
    shutil.copy(bench.DRIVERS / "drivercommon.py", tmp_path / "drivercommon.py")
    done = subprocess.run(
        [python, str(driver), scenario, str(config_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(bench.RESULT_MARK)]
    assert lines, f"{name} {scenario}: no result (exit {done.returncode})\n{done.stderr[-2000:]}"
    result = json.loads(lines[-1][len(bench.RESULT_MARK) :])
    if scenario == "create":
        primary_id = config["create_body"]["primary_id"]
        created = sandbox.users.get(primary_id) is not None
        if created:
            sandbox.users.delete(primary_id)
        assert created, f"{name} create: {result['saw']}"
    assert result["ok"], f"{name} {scenario}: {result['saw']}"
