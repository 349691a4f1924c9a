"""Recorded traffic: the SDK replays HTTP exchanges kept as vcrpy cassettes in ``cassettes/``.

By default (``--record-mode=none``, as in CI) every request is answered from its cassette and any
request that is not in one fails, so these tests never touch a network. ``make cassettes`` records
them again (``--record-mode=rewrite``) over real HTTP against the sandbox served by uvicorn on
127.0.0.1:8765 — the same server ``alma-onelink sandbox serve`` runs. The Authorization header and
any ``apikey`` query parameter are filtered out before a cassette is written, and
:func:`test_no_cassette_holds_a_key` checks every cassette for anything that looks like a key.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from alma_onelink import AlmaClient, AsyncAlmaClient, NotFoundError
from alma_onelink.models import Code, User
from alma_onelink.sandbox import DUKE_SCENARIOS, Sandbox

ROOT = Path(__file__).resolve().parents[1]
CASSETTES = ROOT / "cassettes"
RECORD_HOST, RECORD_PORT = "127.0.0.1", 8765
BASE_URL = f"http://{RECORD_HOST}:{RECORD_PORT}"
RECORDING_KEY = "l7xx" + "0" * 32  # shaped like an Alma key, so the filter is proven on the real shape


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    """One shared VCR configuration: secrets never reach a cassette."""
    return {
        "filter_headers": [("authorization", "apikey REDACTED")],
        "filter_query_parameters": [("apikey", "REDACTED")],
        "decode_compressed_response": True,
        "match_on": ["method", "scheme", "host", "port", "path", "query", "body"],
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """``cassettes/<test module>/<test>.yaml``, at the top of the repository."""
    return str(CASSETTES / request.module.__name__.rsplit(".", 1)[-1])


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test thread is not the main thread
        return None


@pytest.fixture(scope="module")
def served_sandbox(record_mode: str) -> Iterator[None]:
    """While recording: the demo sandbox over real HTTP on 127.0.0.1:8765. While replaying: nothing."""
    if record_mode == "none":
        yield None
        return
    with socket.socket() as probe:
        if probe.connect_ex((RECORD_HOST, RECORD_PORT)) == 0:
            pytest.fail(f"Port {RECORD_PORT} is busy; stop whatever listens there and record again.")
    sandbox = Sandbox.demo(patrons=120, seed=3, per_second_limit=None)
    sandbox.add_api_key(RECORDING_KEY)
    config = uvicorn.Config(
        sandbox.asgi_app(), host=RECORD_HOST, port=RECORD_PORT, log_level="warning", lifespan="off", http="h11"
    )
    server = _Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.01)
    try:
        yield None
    finally:
        server.should_exit = True
        thread.join(5)


@pytest.fixture
def alma(served_sandbox: None) -> Iterator[AlmaClient]:
    with AlmaClient(api_key=RECORDING_KEY, base_url=BASE_URL, rate_limit=None, max_retries=0) as client:
        yield client


@pytest.mark.vcr
def test_search_walks_every_page(alma: AlmaClient) -> None:
    page = alma.users.list(limit=50)
    ids = [user.primary_id for user in page]
    assert page.total_record_count == len(ids) == 125  # 120 generated patrons and 5 Duke scenario accounts
    assert len(set(ids)) == len(ids)


@pytest.mark.vcr
def test_get_reads_a_full_record(alma: AlmaClient) -> None:
    user = alma.users.get(DUKE_SCENARIOS["netid_era_alumna"])
    assert user.identifier_values("DUKE_UNIQUE_ID") == ["0456789"]
    assert user.expiry_date is not None
    assert user.password == ""  # Alma never returns a password


@pytest.mark.vcr
def test_create_edit_delete(alma: AlmaClient) -> None:
    onelink_id = DUKE_SCENARIOS["new_registrant"]
    created = alma.users.create(
        User(
            primary_id=onelink_id,
            first_name="Ines",
            last_name="Þórsdóttir",
            record_type=Code(value="PUBLIC"),
            account_type=Code(value="INTERNAL"),
            user_group=Code(value="DUKE_FRIENDS"),
        )
    )
    assert created.user_group is not None
    assert created.user_group.desc == "Friends of the Library"  # desc filled from the code table
    edit = alma.users.edit(onelink_id)
    with edit as user:
        user.job_description = "Friends of the Library donor"
    assert edit.saved is not None
    assert edit.saved.job_description == "Friends of the Library donor"
    alma.users.delete(onelink_id)
    with pytest.raises(NotFoundError):
        alma.users.get(onelink_id)


@pytest.mark.vcr
async def test_async_client_replays_too(served_sandbox: None) -> None:
    async with AsyncAlmaClient(api_key=RECORDING_KEY, base_url=BASE_URL, rate_limit=None) as alma:
        user = await alma.users.get(DUKE_SCENARIOS["former_staff_with_loans"])
        loans = await (await alma.users.loans(user.primary_id or "")).to_list()
    assert loans, "the former staff member in the demo data has loans"
    assert all(loan.is_active for loan in loans)


def test_no_cassette_holds_a_key() -> None:
    cassettes = sorted(CASSETTES.rglob("*.yaml"))
    assert cassettes, "the recorded-traffic tests need their cassettes in cassettes/"
    for path in cassettes:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"l7xx[0-9a-f]{20,}", text), f"{path} holds something shaped like an Alma API key"
        assert RECORDING_KEY not in text
        assert "apikey REDACTED" in text, f"{path} was not written through the key filter"
