"""Bad input to a public call of registration or the merge: a typed `InputError` naming the argument, first.

Only the SDK's typed errors (`AlmaError` subclasses) leave a public call: an argument of the wrong type
(``None`` for the patrons, a number for the segments, a client of the other kind) is an `InputError`
saying which argument and what it takes, never a ``TypeError`` or ``AttributeError`` from deep inside.
Text that must not reach Alma (control characters, direction controls) is refused the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from alma_onelink import AlmaClient, AsyncAlmaClient, Patron, register_many, register_patron
from alma_onelink.errors import AlmaError, InputError
from alma_onelink.merge import MergePlan, aplan_merge, apply_merge, plan_merge, undo_merge
from alma_onelink.onelink import aregister_many, aregister_patron
from alma_onelink.policy import PostalAddress, load_policy
from alma_onelink.sandbox import DUKE_SCENARIOS, DUKE_UNIQUE_IDS, Sandbox
from tests.onelink.conftest import TODAY, async_client, make_sandbox, netid_era_alumna, sync_client

WRONG = [None, 123, 1.5, b"bytes", object(), {"a": 1}, True]
"""Values of the wrong type for any argument."""


@pytest.fixture(autouse=True)
def _shipped_duke_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALMA_ONELINK_DUKE_CONFIG", raising=False)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with make_sandbox() as made:
        yield made


@pytest.fixture
def alma(sandbox: Sandbox) -> Iterator[AlmaClient]:
    with sync_client(sandbox) as client:
        yield client


@pytest.fixture
async def aalma(sandbox: Sandbox) -> AsyncIterator[AsyncAlmaClient]:
    async with async_client(sandbox) as client:
        yield client


def community(**changes: Any) -> Patron:
    values: dict[str, Any] = {
        "onelink_id": "4000101",
        "first_name": "Ann",
        "last_name": "Lee",
        "affiliation": "community",
        "address": PostalAddress(line1="1 Main St", city="Durham"),
        **changes,
    }
    return Patron(**values)


def writes(sandbox: Sandbox) -> int:
    return sum(1 for entry in sandbox.request_log if entry.method in ("POST", "PUT", "DELETE"))


# --- register_many: the patrons ---------------------------------------------------------------------


@pytest.mark.parametrize("patrons", [*WRONG, "0123456", community()], ids=repr)
def test_register_many_takes_only_an_iterable_of_patrons(alma: AlmaClient, sandbox: Sandbox, patrons: Any) -> None:
    with pytest.raises(InputError, match="patrons must be an iterable of Patron") as info:
        list(register_many(alma, load_policy("duke"), patrons, today=TODAY, journal=None, dry_run=True))
    assert type(patrons).__name__ in str(info.value)
    assert sandbox.request_log == []  # before any request


async def test_aregister_many_takes_only_an_iterable_of_patrons(aalma: AsyncAlmaClient, sandbox: Sandbox) -> None:
    async def stream() -> AsyncIterator[Patron]:
        yield community()

    for patrons in (None, 5, stream()):
        with pytest.raises(InputError, match="patrons must be an iterable of Patron"):
            [r async for r in aregister_many(aalma, load_policy("duke"), patrons, today=TODAY, dry_run=True)]  # type: ignore[arg-type]
    assert sandbox.request_log == []


def test_an_item_that_is_not_a_patron_is_named_by_its_place(alma: AlmaClient) -> None:
    with pytest.raises(InputError, match=r"patrons\[1\] is a dict, not a Patron"):
        list(register_many(alma, load_policy("duke"), [community(), {"onelink_id": "1"}], today=TODAY, dry_run=True))  # type: ignore[list-item]


# --- the client ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("client", [*WRONG, "https://api-na.hosted.exlibrisgroup.com"], ids=repr)
def test_every_public_call_refuses_what_is_not_a_client(client: Any, tmp_path: Path) -> None:
    duke = load_policy("duke")
    calls: list[Callable[[], Any]] = [
        lambda: register_patron(client, duke, community(), today=TODAY, dry_run=True),
        lambda: list(register_many(client, duke, [community()], today=TODAY, dry_run=True)),
        lambda: plan_merge(client, "jd123", "0456789"),
        lambda: undo_merge(client, "abcdef12", journal=tmp_path / "j.jsonl"),
        lambda: asyncio.run(aregister_patron(client, duke, community(), today=TODAY, dry_run=True)),
        lambda: asyncio.run(aplan_merge(client, "jd123", "0456789")),
    ]
    for call in calls:
        with pytest.raises(InputError, match=r"alma must be an (Async)?AlmaClient"):
            call()


def test_a_client_of_the_other_kind_is_told_the_twin_to_use(alma: AlmaClient, aalma: AsyncAlmaClient) -> None:
    duke = load_policy("duke")
    with pytest.raises(InputError, match="for an AsyncAlmaClient use aregister_patron"):
        register_patron(aalma, duke, community(), today=TODAY, dry_run=True)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="for an AlmaClient use plan_merge"):
        asyncio.run(aplan_merge(alma, "jd123", "0456789"))  # type: ignore[arg-type]


# --- the merge's arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize("segments", [123, 1.5, object(), True, b"notes", {"notes": True}], ids=repr)
def test_plan_merge_segments_of_the_wrong_type_are_an_input_error(
    alma: AlmaClient, sandbox: Sandbox, segments: Any
) -> None:
    with pytest.raises(InputError, match=r"segments .*must be segment names") as info:
        plan_merge(alma, "jd123", "0456789", segments=segments)
    assert "identifiers" in str(info.value)  # and says which names it takes
    assert sandbox.request_log == []


def test_plan_merge_segments_that_are_not_text_are_named(alma: AlmaClient) -> None:
    with pytest.raises(InputError, match=r"Each segment to carry is a name.*got int"):
        plan_merge(alma, "jd123", "0456789", segments=["notes", 5])  # type: ignore[list-item]


@pytest.fixture
def plan(alma: AlmaClient, tmp_path: Path) -> MergePlan:
    duke = load_policy("duke")
    register_patron(alma, duke, netid_era_alumna(), today=TODAY, journal=tmp_path / "j.jsonl")
    scenario = "netid_era_alumna"
    return plan_merge(alma, DUKE_SCENARIOS[scenario], DUKE_UNIQUE_IDS[scenario], policy=duke, today=TODAY)


@pytest.mark.parametrize("delete_source", ["no", "yes", 0, 1, None], ids=repr)
def test_delete_source_is_true_or_false_and_nothing_else(
    alma: AlmaClient, sandbox: Sandbox, plan: MergePlan, delete_source: Any, tmp_path: Path
) -> None:
    before = writes(sandbox)
    with pytest.raises(InputError, match="delete_source=True or False"):
        apply_merge(alma, plan, confirm=plan.token, journal=tmp_path / "j.jsonl", delete_source=delete_source)
    assert writes(sandbox) == before


@pytest.mark.parametrize("text", [None, 123, [], "{}", "[]", "null", '{"from_id": 5}', b"\xff"], ids=repr)
def test_a_plan_file_that_is_not_one_says_so_in_a_few_words(text: Any) -> None:
    with pytest.raises(InputError) as info:
        MergePlan.from_json(text)
    message = str(info.value)
    assert "validation error" not in message
    assert "errors.pydantic.dev" not in message
    assert len(message) < 300


# --- text that must not reach Alma ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"address": PostalAddress(line1="1 Main\x1b[2J", city="Durham")}, "address.line1"),
        ({"address": PostalAddress(line1="1 Main", city="Dur\u202eham")}, "address.city"),
        ({"notes": "hi\x1b]0;title\x07"}, "notes"),
        ({"email": "a\x1b[5m@b.org"}, "email"),
        ({"extra": {"school": "UNC\x9b"}}, "extra['school']"),
    ],
    ids=["escape-in-address", "bidi-override-in-city", "osc-in-notes", "escape-in-email", "c1-in-extra"],
)
def test_a_control_character_in_any_text_of_the_application_is_refused_before_any_request(
    alma: AlmaClient, sandbox: Sandbox, changes: dict[str, Any], field: str, tmp_path: Path
) -> None:
    patron = community(**changes)
    with pytest.raises(InputError, match="Type plain text only") as info:
        register_patron(alma, load_policy("duke"), patron, today=TODAY, journal=tmp_path / "j.jsonl")
    assert field in str(info.value)
    assert sandbox.request_log == []
    [result] = register_many(alma, load_policy("duke"), [patron], today=TODAY, journal=tmp_path / "j.jsonl")
    assert result.outcome == "blocked"
    assert [issue.code for issue in result.issues] == ["invalid_application"]
    assert writes(sandbox) == 0


def test_a_note_may_hold_line_breaks_and_tabs(alma: AlmaClient, tmp_path: Path) -> None:
    patron = community(notes="first line\n\tsecond line")
    result = register_patron(alma, load_policy("duke"), patron, today=TODAY, journal=tmp_path / "j.jsonl")
    assert result.outcome == "created", result.reason


@pytest.mark.parametrize("journal", ["j\x1b[31m.jsonl", "", 5, b"j.jsonl"], ids=repr)
def test_a_journal_path_that_is_not_plain_is_refused(
    alma: AlmaClient, sandbox: Sandbox, journal: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="journal"):
        register_patron(alma, load_policy("duke"), community(), today=TODAY, journal=journal)
    assert sandbox.request_log == []
    assert list(tmp_path.iterdir()) == []  # no file made where the path pointed


def test_only_typed_errors_leave_the_public_calls_for_any_wrong_argument(alma: AlmaClient, tmp_path: Path) -> None:
    duke = load_policy("duke")
    calls: dict[str, Callable[[Any], Any]] = {
        "register_patron patron": lambda v: register_patron(alma, duke, v, today=TODAY, dry_run=True),
        "register_patron policy": lambda v: register_patron(alma, v, community(), today=TODAY, dry_run=True),
        "register_patron today": lambda v: register_patron(alma, duke, community(), today=v, dry_run=True),
        "register_patron staff": lambda v: register_patron(alma, duke, community(), staff=v, dry_run=True),
        "register_many concurrency": lambda v: list(register_many(alma, duke, [], concurrency=v)),
        "register_many reserve": lambda v: list(register_many(alma, duke, [community()], reserve=v, dry_run=True)),
        "plan_merge from_id": lambda v: plan_merge(alma, v, "0456789"),
        "plan_merge policy": lambda v: plan_merge(alma, "jd123", "0456789", policy=v),
        "plan_merge force": lambda v: plan_merge(alma, "jd123", "0456789", force=v),
        "apply_merge plan": lambda v: apply_merge(alma, v, confirm="x", journal=tmp_path / "j.jsonl"),
        "undo_merge merge": lambda v: undo_merge(alma, v, journal=tmp_path / "j.jsonl"),
    }
    escaped = []
    for name, call in calls.items():
        for value in WRONG:
            try:
                call(value)
            except AlmaError:
                pass
            except Exception as exc:
                escaped.append(f"{name}={value!r}: {type(exc).__name__}: {exc}")
    assert escaped == []


def test_a_force_reason_holding_a_control_character_is_refused_before_any_request(
    alma: AlmaClient, sandbox: Sandbox
) -> None:
    with pytest.raises(InputError, match=r"force.*holds \\x1b"):
        plan_merge(alma, "jd123", "0456789", force="same person\x1b]0;x\x07")
    assert sandbox.request_log == []
