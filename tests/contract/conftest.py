"""The contract suite's harness: one set of tests, three Almas (see ``_targets.py``).

Which Alma:

- ``pytest`` / ``make test``: replayed from ``cassettes/<module>/<test>.yaml``, network blocked;
- ``pytest tests/contract --record-mode=rewrite`` / ``make cassettes``: the served sandbox, recorded again;
- ``pytest tests/contract --alma-live --disable-recording`` / ``make test-alma``: a real Alma (add
  ``--record-mode=rewrite`` instead of ``--disable-recording`` to record it; see ``cassettes/README.md``).

``--alma-read-only`` skips every test marked ``writes``. One shared ``vcr_config`` filters the key and
makes recordings safe (``_recording.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest

from alma_onelink import AlmaClient, NotFoundError
from alma_onelink.models import User

from ._recording import NAMES, ReadableYaml, Rewriter, before_record_request, before_record_response
from ._targets import Target, alma_target, replay_target, served_sandbox

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes"
MARKER = "alma-onelink contract test"
"""The job description of every user the suite makes (how a person can tell them apart)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("alma contract")
    group.addoption(
        "--alma-live",
        action="store_true",
        default=False,
        help="Run tests/contract against the real Alma of ALMA_API_KEY and ALMA_BASE_URL/ALMA_REGION.",
    )
    group.addoption(
        "--alma-read-only",
        action="store_true",
        default=False,
        help="Skip the contract tests that write (marked 'writes'): only read from Alma.",
    )


def pytest_configure(config: pytest.Config) -> None:
    """With ``--alma-live``, say at once (not once per test) what is missing from the environment."""
    if config.getoption("--alma-live", default=False):
        alma_target(read_only=True)  # raises pytest.UsageError naming the variable


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """Cassettes are YAML with readable body blocks (the file suffix stays ``.yaml``)."""
    vcr.register_serializer("yaml", ReadableYaml)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each contract test runs in its cassette; a replay cannot reach the network; read-only skips writes."""
    replay = not config.getoption("--alma-live") and (config.getoption("--record-mode") or "none") == "none"
    read_only = config.getoption("--alma-read-only")
    here = Path(__file__).parent
    for item in items:
        if here not in Path(str(item.path)).parents or item.get_closest_marker("no_cassette"):
            continue
        item.add_marker(pytest.mark.vcr)
        if replay:
            item.add_marker(pytest.mark.block_network)
        if read_only and item.get_closest_marker("writes"):
            item.add_marker(pytest.mark.skip(reason="--alma-read-only: this test writes"))


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest, record_mode: str) -> Iterator[Target]:
    """The Alma this run is against (see the module docstring)."""
    read_only = bool(request.config.getoption("--alma-read-only"))
    if request.config.getoption("--alma-live"):
        yield alma_target(read_only=read_only)
    elif record_mode != "none":
        with served_sandbox(read_only=read_only) as served:
            yield served
    else:
        yield replay_target(read_only=read_only)


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """``cassettes/<test module>/<test>.yaml`` at the top of the repository."""
    return str(CASSETTES / request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="module")
def vcr_config(target: Target) -> dict[str, Any]:
    """The one shared VCR configuration: secrets filtered, personal data replaced, bodies pretty."""
    rewrite = Rewriter(target.rewrites)
    return {
        "filter_headers": [("authorization", "apikey REDACTED")],
        "filter_query_parameters": [("apikey", "REDACTED")],
        "before_record_request": before_record_request(rewrite),
        "before_record_response": before_record_response(rewrite),
        "decode_compressed_response": True,
        "match_on": ["method", "scheme", "host", "port", "path", "query", "body"],
    }


@pytest.fixture
def alma(target: Target, vcr: Any) -> Iterator[AlmaClient]:
    """A sync SDK client on the target (inside the test's cassette)."""
    with target.client() as client:
        yield client


@pytest.fixture
def writable(target: Target) -> Target:
    """The target, for a test that writes: skipped where it cannot (read-only, no user groups given)."""
    if target.read_only:
        pytest.skip("--alma-read-only")
    if target.groups is None:
        pytest.skip("set ALMA_TEST_USER_GROUPS to two legal user group codes to run the tests that write")
    return target


MakeUser = Callable[..., User]


def user_body(
    target: Target, suffix: str, *, first: str = "Ada", last: str = "Lovelace", **fields: Any
) -> dict[str, Any]:
    """A user the suite may create: fake personal data only, the run's prefix, legal codes."""
    assert {first, last} <= set(NAMES), "the suite's users are named from NAMES (cassettes keep those)"
    groups = target.groups or ("PUBLIC", "GRAD")
    primary_id = f"{target.prefix}{suffix}"
    body: dict[str, Any] = {
        "record_type": {"value": "PUBLIC"},
        "primary_id": primary_id,
        "first_name": first,
        "last_name": last,
        "user_group": {"value": groups[0]},
        "account_type": {"value": "INTERNAL"},
        "job_description": MARKER,
        "contact_info": {
            "email": [
                {"email_address": f"{suffix}@example.org", "email_type": [{"value": "personal"}], "preferred": True}
            ],
            "phone": [{"phone_number": "+1 555 0100", "phone_type": [{"value": "home"}], "preferred": True}],
            "address": [
                {
                    "line1": "1 Example Street",
                    "city": "Springfield",
                    "postal_code": "12345",
                    "address_type": [{"value": "home"}],
                    "preferred": True,
                }
            ],
        },
        "user_identifier": [{"id_type": {"value": target.id_type}, "value": f"{primary_id}-id"}],
        "user_note": [{"note_type": {"value": "OTHER"}, "note_text": "Made by the contract suite."}],
    }
    body.update(fields)
    return body


@pytest.fixture
def cleanup(alma: AlmaClient) -> Iterator[list[str]]:
    """Primary ids to delete after the test, whatever its outcome (already gone is fine)."""
    made: list[str] = []
    yield made
    for primary_id in reversed(made):
        with suppress(NotFoundError):
            alma.users.delete(primary_id)


@pytest.fixture
def make_user(writable: Target, alma: AlmaClient, cleanup: list[str]) -> MakeUser:
    """Create a user through the SDK (deleted after the test); keyword arguments change the body."""

    def make(suffix: str, **fields: Any) -> User:
        body = user_body(writable, suffix, **fields)
        cleanup.append(body["primary_id"])
        return alma.users.create(body)

    return make
