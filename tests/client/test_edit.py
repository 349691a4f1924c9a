"""``users.edit`` loses nothing: protected fields are overridden, and what Alma did not take is reported.

On the sandbox, which keeps an external user's protected fields unless the PUT names them in
``override`` (as Alma does), and with a scripted Alma where the answer has to be exact.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from alma_onelink import AlmaClient, AsyncAlmaClient, EditNotTakenError, InputError
from alma_onelink.models import Code, User
from alma_onelink.sandbox import Sandbox
from tests.client.conftest import Script, body_of, make_client, ok, params_of, user_json

EXTERNAL = {
    "primary_id": "ext01",
    "first_name": "Erin",
    "last_name": "External",
    "record_type": {"value": "PUBLIC"},
    "account_type": {"value": "EXTERNAL"},
    "external_id": "SIS",
    "user_group": {"value": "GRAD"},
    "job_category": {"value": ""},
}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=3, per_second_limit=None) as sandbox:
        sandbox.users.create(EXTERNAL)
        sandbox.users.create(
            {**EXTERNAL, "primary_id": "int01", "account_type": {"value": "INTERNAL"}, "external_id": ""}
        )
        yield sandbox


def client(sandbox: Sandbox) -> AlmaClient:
    return AlmaClient.sandbox(sandbox, rate_limit=None, sleep=lambda seconds: None)


def test_an_external_users_group_change_is_kept_because_edit_overrides_it(sandbox: Sandbox) -> None:
    # Before: a GET and a PUT, both 200, and the change silently gone.
    with client(sandbox) as alma:
        editing = alma.users.edit("ext01")
        with editing as user:
            user.user_group = Code(value="STAFF")
    assert (sandbox.users.get("ext01") or {})["user_group"]["value"] == "STAFF"
    assert editing.override == ["user_group"]
    assert editing.not_taken == []
    put = [entry for entry in sandbox.request_log if entry.method == "PUT"][-1]
    assert put.query.get("override") == "user_group"


def test_override_names_exactly_the_protected_fields_changed(sandbox: Sandbox) -> None:
    with client(sandbox) as alma:
        editing = alma.users.edit("ext01")
        with editing as user:
            user.job_description = "not protected"
            user.pref_first_name = "Ez"
            user.user_group = Code(value="STAFF", desc="what the caller thinks it is called")
    assert editing.override == ["pref_first_name", "user_group"]
    stored = sandbox.users.get("ext01") or {}
    assert (stored["pref_first_name"], stored["job_description"]) == ("Ez", "not protected")


def test_an_unchanged_protected_field_is_not_overridden(sandbox: Sandbox) -> None:
    with client(sandbox) as alma:
        editing = alma.users.edit("ext01")
        with editing as user:
            user.job_description = "only this"
            user.user_group = Code(value="grad")  # the same code, in another case
    assert editing.override == []
    put = [entry for entry in sandbox.request_log if entry.method == "PUT"][-1]
    assert "override" not in put.query


def test_an_internal_user_needs_no_override(sandbox: Sandbox) -> None:
    with client(sandbox) as alma:
        editing = alma.users.edit("int01")
        with editing as user:
            user.user_group = Code(value="STAFF")
    assert editing.override == []
    assert (sandbox.users.get("int01") or {})["user_group"]["value"] == "STAFF"


def test_an_override_the_caller_gave_is_kept(sandbox: Sandbox) -> None:
    with client(sandbox) as alma:
        editing = alma.users.edit("ext01", override="campus_code")
        with editing as user:
            user.user_group = Code(value="STAFF")
    assert editing.override == ["campus_code", "user_group"]


async def test_async_edit_overrides_and_reports_too(sandbox: Sandbox) -> None:
    async with AsyncAlmaClient.sandbox(sandbox, rate_limit=None) as alma:
        editing = alma.users.edit("ext01")
        async with editing as user:
            user.user_group = Code(value="STAFF")
    assert editing.override == ["user_group"]
    assert editing.not_taken == []
    assert (sandbox.users.get("ext01") or {})["user_group"]["value"] == "STAFF"


# --- what Alma did not take -------------------------------------------------------------------------------


def echo_without(*keys: str) -> Any:
    """A PUT handler answering with the body it got, minus ``keys`` (as if Alma had not stored them)."""

    def answer(request: Any) -> Any:
        body = body_of(request)
        for key in keys:
            body.pop(key, None)
        return ok(body)

    return answer


def test_a_field_alma_did_not_take_is_reported_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "alma_onelink")
    script = Script(ok(user_json("jdoe")), echo_without("job_description"))
    editing = make_client(script).users.edit("jdoe")
    with editing as user:
        user.job_description = "Visiting scholar"
    assert editing.not_taken == ["job_description"]
    assert editing.saved is not None
    assert any("job_description" in record.getMessage() for record in caplog.records)


def test_strict_raises_naming_the_fields_and_keeping_the_saved_record() -> None:
    script = Script(ok(user_json("jdoe")), echo_without("job_description", "birth_date"))
    editing = make_client(script).users.edit("jdoe", strict=True)

    def change() -> None:
        with editing as user:
            user.job_description = "Visiting scholar"
            user.birth_date = "1990-01-01"  # type: ignore[assignment]

    with pytest.raises(EditNotTakenError) as caught:
        change()
    assert sorted(caught.value.fields) == ["birth_date", "job_description"]
    assert caught.value.user_id == "jdoe"
    assert isinstance(caught.value.user, User)
    assert "did not take" in str(caught.value)


def test_normalised_values_are_taken() -> None:
    # Alma trims, fills desc and spells codes as its tables do: none of that is "not taken".
    def normalised(request: Any) -> Any:
        body = body_of(request)
        body["job_description"] = body["job_description"].strip()
        body["user_group"] = {"value": "STAFF", "desc": "Staff"}
        body["link"] = None
        return ok(body)

    script = Script(ok(user_json("jdoe")), normalised)
    editing = make_client(script).users.edit("jdoe", strict=True)
    with editing as user:
        user.job_description = "  Visiting scholar "
        user.user_group = Code(value="staff")
    assert editing.not_taken == []


def test_an_edit_without_changes_reports_nothing() -> None:
    script = Script(ok(user_json("jdoe")))
    editing = make_client(script).users.edit("jdoe", strict=True)
    with editing:
        pass
    assert (editing.changed, editing.not_taken, editing.override) == (False, [], [])


def test_a_bad_override_is_refused_before_any_request() -> None:
    script = Script()
    with pytest.raises(InputError, match="override"):
        make_client(script).users.edit("jdoe", override=["job_description"])
    assert script.requests == []


def test_the_put_of_an_external_edit_names_the_override() -> None:
    external = user_json("jdoe", account_type={"value": "EXTERNAL"}, external_id="SIS")
    script = Script(ok(external), echo_without())
    with make_client(script).users.edit("jdoe") as user:
        user.user_group = Code(value="STAFF")
    assert params_of(script.last) == {"override": "user_group"}


# --- brief search records -----------------------------------------------------------------------------


def test_a_brief_search_record_is_refused_where_a_full_one_is_needed(sandbox: Sandbox) -> None:
    with client(sandbox) as alma:
        brief = next(iter(alma.users.list(last_name="External")))
        assert brief.is_brief
        sent = len(sandbox.request_log)
        brief.job_description = "x"
        with pytest.raises(InputError, match=r"brief search record.*alma\.users\.get"):
            alma.users.update(brief.primary_id or "", brief)
        with pytest.raises(InputError, match="brief search record"):
            alma.users.create(brief)
        assert len(sandbox.request_log) == sent  # refused before any request
        full = next(iter(alma.users.list(last_name="External", expand="full")))
        assert not full.is_brief
        assert not alma.users.get("ext01").is_brief
