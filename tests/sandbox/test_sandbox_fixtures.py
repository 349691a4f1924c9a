"""The opt-in pytest fixtures: ``alma_sandbox``, ``alma`` and ``async_alma``.

The plugin is tested for real in a separate pytest run: a project that opts in with
``pytest_plugins = ["alma_onelink.testing"]`` in its top-level conftest. (pytest's own ``pytester``
fixture cannot be enabled from this non-top-level conftest: pytest refuses ``pytest_plugins`` there when
the whole suite runs from the repository root, and the root configuration is not ours to change.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from alma_onelink.sandbox import DUKE_SCENARIOS, Sandbox

if TYPE_CHECKING:
    from alma_onelink import AlmaClient, AsyncAlmaClient

PLUGIN_USER = textwrap.dedent(
    """
    from alma_onelink.sandbox import DUKE_SCENARIOS

    ALUMNUS = DUKE_SCENARIOS["onelink_alumnus"]
    NEW_USER = {"record_type": "PUBLIC", "primary_id": "fresh01", "last_name": "Fresh", "account_type": "INTERNAL",
                "user_group": "PUBLIC"}


    def test_sync_client(alma, alma_sandbox):
        assert alma.users.get("kl234").primary_id == "kl234"
        assert len(alma_sandbox.request_log) == 1


    async def test_async_client(async_alma, alma_sandbox):
        assert (await async_alma.users.get("jd123")).primary_id == "jd123"
        assert alma_sandbox.knobs.per_second_limit is None


    def test_1_a_test_changes_its_sandbox(alma_sandbox):
        alma_sandbox.users.create(NEW_USER)
        assert alma_sandbox.users.delete(ALUMNUS)


    def test_2_the_next_test_gets_a_fresh_one(alma_sandbox):
        assert "fresh01" not in alma_sandbox.users
        assert ALUMNUS in alma_sandbox.users
    """
)

# A project that (wrongly) shares one sandbox between tests: the freshness check must catch it.
SHARED_SANDBOX = textwrap.dedent(
    """
    import pytest

    from alma_onelink.sandbox import Sandbox


    @pytest.fixture(scope="module")
    def alma_sandbox():
        with Sandbox.demo(per_second_limit=None) as sandbox:
            yield sandbox
    """
)


def test_the_plugin_works_in_a_project_that_opts_in(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\nfilterwarnings = error\n",
        encoding="utf-8",
    )
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["alma_onelink.testing"]\n', encoding="utf-8")
    (tmp_path / "test_patrons.py").write_text(PLUGIN_USER, encoding="utf-8")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "conftest.py").write_text(SHARED_SANDBOX, encoding="utf-8")
    (shared / "test_shared.py").write_text(PLUGIN_USER, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "-q", "-rf", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTEST_ADDOPTS": ""},
        check=False,
    )
    report = run.stdout + run.stderr
    assert "1 failed, 7 passed" in report, report
    [failed] = [line for line in report.splitlines() if line.startswith("FAILED")]
    assert "shared/test_shared.py::test_2_the_next_test_gets_a_fresh_one" in failed


def test_alma_sandbox_is_seeded_and_without_a_per_second_threshold(alma_sandbox: Sandbox) -> None:
    assert len(alma_sandbox.users) == 40 + len(DUKE_SCENARIOS) - 1
    assert alma_sandbox.knobs.per_second_limit is None


def test_alma_is_a_sync_client_on_the_sandbox(alma: AlmaClient, alma_sandbox: Sandbox) -> None:
    user = alma.users.get(DUKE_SCENARIOS["netid_era_alumna"])
    assert user.primary_id == "jd123"
    assert [e.path for e in alma_sandbox.request_log] == ["/almaws/v1/users/jd123"]


async def test_async_alma_is_an_async_client_on_the_sandbox(async_alma: AsyncAlmaClient, alma_sandbox: Sandbox) -> None:
    user = await async_alma.users.get(DUKE_SCENARIOS["recent_graduate"])
    assert user.primary_id == DUKE_SCENARIOS["recent_graduate"]
    assert len(alma_sandbox.request_log) == 1


@pytest.mark.parametrize("scenario", sorted(set(DUKE_SCENARIOS) - {"new_registrant"}))
def test_every_duke_scenario_reads_through_the_client(alma: AlmaClient, scenario: str) -> None:
    assert alma.users.get(DUKE_SCENARIOS[scenario]).primary_id == DUKE_SCENARIOS[scenario]
