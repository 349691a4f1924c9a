"""Loaded codes reach every way into the sandbox: a served one (even already running), XML errors, restarts.

Also Alma's wording for a code the sandbox lacks: Alma's message first, word for word, then which
table lacks which code and the command that adds it; an unknown external system gets the words Alma
documents for that rule, not "External Id must be given" when one was given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from alma_onelink import AlmaClient
from alma_onelink.errors import BadRequestError, parse_error_details
from alma_onelink.models import User
from alma_onelink.sandbox import MemoryStore, Sandbox, SqliteStore

JSON = {"Accept": "application/json"}


def body(primary_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "primary_id": primary_id,
        "last_name": "Lee",
        "record_type": "PUBLIC",
        "account_type": "INTERNAL",
        "user_group": "ALUM",
        **fields,
    }


def client(sandbox: Sandbox, origin: str | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=(origin or sandbox.base_url) + "/almaws/v1",
        headers={"Authorization": f"apikey {sandbox.api_key}"},
        transport=None if origin else sandbox.transport(),
    )


def message(response: httpx.Response) -> tuple[str, str]:
    [detail] = parse_error_details(response.content)
    return detail.code, detail.message


def test_a_running_served_sandbox_takes_codes_another_process_loads(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.sqlite3"
    with Sandbox(db_path=db) as sandbox, sandbox.serve_in_thread() as served, client(sandbox, served.origin) as http:
        refused = http.post("/users", json=body("s01", user_group="EX_GUEST"), headers=JSON)
        assert refused.status_code == 400
        assert message(refused) == (
            "401852",
            "Given user group is not legal. Sandbox: the UserGroups table has no code EX_GUEST; "
            "add it with: alma-onelink sandbox codes load FILE",
        )
        other = SqliteStore(db)  # what `alma-onelink sandbox codes load` does, from its own process
        other.add_codes({"UserGroups": {"EX_GUEST": "Guest"}})
        other.close()
        created = http.post("/users", json=body("s01", user_group="EX_GUEST"), headers=JSON)
        assert created.status_code == 200, created.text
        assert created.json()["user_group"] == {"value": "EX_GUEST", "desc": "Guest"}
    with Sandbox(db_path=db) as restarted, AlmaClient.sandbox(restarted, rate_limit=None) as alma:
        assert alma.users.get("s01").user_group is not None
        assert restarted.code_tables.desc("UserGroups", "ex_guest") == "Guest"


def test_the_refusal_in_xml_carries_the_same_words() -> None:
    with Sandbox() as sandbox, client(sandbox) as http:
        refused = http.post("/users", json=body("x01", user_identifier=[{"id_type": "EX_CARD", "value": "1"}]))
        assert refused.headers["content-type"].startswith("application/xml")
        assert message(refused) == (
            "401864",
            "Given identifier type (EX_CARD) is invalid. Sandbox: the UserIdentifierTypes table has no code "
            "EX_CARD; add it with: alma-onelink sandbox codes load FILE",
        )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "External Id must be given for external user."),
        ({"external_id": " "}, "External Id must be given for external user."),
        (
            {"external_id": "EX_SIS"},
            "External Id must match a valid SIS external system profile. Sandbox: the ExternalSystems table "
            "has no code EX_SIS; add it with: alma-onelink sandbox codes load FILE",
        ),
    ],
)
def test_an_external_user_without_a_known_system_gets_alma_words(fields: dict[str, str], expected: str) -> None:
    with Sandbox() as sandbox, client(sandbox) as http:
        response = http.post("/users", json=body("e01", account_type="EXTERNAL", **fields), headers=JSON)
        assert (response.status_code, *message(response)) == (400, "401854", expected)
        sandbox.load_codes({"ExternalSystems": {"EX_SIS": "Our SIS"}})
        if fields.get("external_id") == "EX_SIS":
            created = http.post("/users", json=body("e01", account_type="EXTERNAL", **fields), headers=JSON)
            assert created.json()["external_id"] == "EX_SIS"


def test_a_fixed_table_names_the_code_but_no_command() -> None:
    with Sandbox() as sandbox, client(sandbox) as http:
        response = http.post("/users", json=body("r01", record_type="ROBOT"), headers=JSON)
        assert message(response) == (
            "401864",
            "Given record type (ROBOT) is invalid. Sandbox: the RecordTypes table has no code ROBOT",
        )


def test_the_sdk_sees_alma_message_first() -> None:
    with Sandbox() as sandbox, AlmaClient.sandbox(sandbox, rate_limit=None) as alma:
        with pytest.raises(BadRequestError) as refused:
            alma.users.create(User.model_validate(body("k01", user_group="EX_NONE")))
        assert refused.value.code == "401852"
        assert refused.value.message.startswith("Given user group is not legal.")
        assert "UserGroups table has no code EX_NONE" in str(refused.value)


def test_load_codes_checks_everything_before_storing() -> None:
    store = MemoryStore()
    with Sandbox(store=store) as sandbox:
        with pytest.raises(ValueError, match="unknown code table UserGroup"):
            sandbox.load_codes({"NoteTypes": {"GOOD": "Good"}, "UserGroup": {"X": "Y"}})
        assert store.codes() == {}
        assert not sandbox.code_tables.has("NoteTypes", "GOOD")
        assert sandbox.load_codes({"NoteTypes": {"GOOD": "Good"}, "UserGroups": {"X": "Y"}}) == {
            "NoteTypes": 1,
            "UserGroups": 1,
        }
        sandbox.reset()
        assert store.codes() == {"NoteTypes": {"GOOD": "Good"}, "UserGroups": {"X": "Y"}}
        assert sandbox.code_tables.desc("UserGroups", "x") == "Y"
