"""One rule for every write whose answer was lost: read back, compare with what was sent, then decide.

Transport-level tests with a scripted Alma: what each write sends, what it reads back, and what the
caller is told. The same rule under random faults of every kind is proved in ``tests/test_truth.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from alma_onelink import (
    AlreadyExistsError,
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    OutcomeUnknownError,
    RawResponse,
)
from alma_onelink.resources._users_spec import outcome_unknown
from tests.client.conftest import (
    Script,
    alma_error,
    body_of,
    make_async_client,
    make_client,
    not_found,
    ok,
    params_of,
    user_json,
)

USER = user_json("jdoe", "Jane", "Doe")
RENAMED = user_json("jane.doe", "Jane", "Doe")


def read_timeout() -> httpx.ReadTimeout:
    return httpx.ReadTimeout("The read operation timed out")


LOST: dict[str, Callable[[], Any]] = {
    "read timeout": read_timeout,
    "disconnected": lambda: httpx.RemoteProtocolError("Server disconnected without sending a response."),
    "500": lambda: httpx.Response(500),
    "503 html": lambda: httpx.Response(503, content=b"<html>Service Unavailable</html>"),
    "408": lambda: httpx.Response(408),
    "200 truncated": lambda: httpx.Response(200, content=b'{"primary_id": "jd'),
    "200 empty": lambda: httpx.Response(200, content=b""),
    "201 html": lambda: httpx.Response(
        201, content=b"<html><body>OK</body></html>", headers={"content-type": "text/html"}
    ),
}


# --- create -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("lost", list(LOST.values()), ids=list(LOST))
def test_a_create_whose_answer_was_lost_and_that_took_effect_is_returned(lost: Callable[[], Any]) -> None:
    script = Script(lost(), ok(USER))
    user = make_client(script).users.create(USER)
    assert script.calls == [("POST", "/users"), ("GET", "/users/jdoe")]
    assert user.primary_id == "jdoe"


@pytest.mark.parametrize("lost", list(LOST.values()), ids=list(LOST))
def test_a_create_whose_answer_was_lost_and_that_did_not_happen_is_sent_again(lost: Callable[[], Any]) -> None:
    script = Script(lost(), not_found(), ok(USER))
    assert make_client(script).users.create(USER).primary_id == "jdoe"
    assert script.methods == ["POST", "GET", "POST"]


def test_a_create_that_never_happened_raises_its_own_error_only_after_the_last_check() -> None:
    script = Script(httpx.Response(200, content=b"<html>Request Rejected</html>"), not_found())
    with pytest.raises(APIResponseValidationError, match="HTML page"):
        make_client(script, max_retries=0).users.create(USER)
    assert script.methods == ["POST", "GET"]


def test_a_retried_create_answered_already_exists_is_read_back_and_is_ours() -> None:
    # Try 1 lost and not found; try 2 applied but answered 401851 by a gateway replaying it: the
    # record under the id is the one sent, so the create succeeded.
    script = Script(httpx.Response(503), not_found(), alma_error(400, "401851", "Exists."), ok(USER))
    assert make_client(script).users.create(USER).primary_id == "jdoe"
    assert script.methods == ["POST", "GET", "POST", "GET"]


def test_a_first_create_answered_already_exists_is_not_looked_up() -> None:
    script = Script(alma_error(400, "401851", "User with identifier jdoe of type X already exists."))
    with pytest.raises(AlreadyExistsError):
        make_client(script).users.create(USER)
    assert script.methods == ["POST"]


def test_someone_else_under_the_primary_id_is_never_returned_and_never_echoed() -> None:
    other = user_json("jdoe", "Grace", "Hopper", contact_info={"email": [{"email_address": "grace@example.org"}]})
    script = Script(read_timeout(), ok(other))
    with pytest.raises(AlreadyExistsError) as caught:
        make_client(script).users.create(USER)
    assert caught.value.code == "401851"
    assert "first_name" in str(caught.value)  # which fields differ...
    assert "Grace" not in str(caught.value)  # ...but nothing of the other person's record
    assert script.methods == ["POST", "GET"]


def test_a_record_differing_only_in_an_email_is_someone_elses() -> None:
    sent = user_json("jdoe", contact_info={"email": [{"email_address": "ada@example.org", "email_type": ["personal"]}]})
    found = user_json("jdoe", contact_info={"email": [{"email_address": "ada@other.org", "email_type": ["work"]}]})
    script = Script(httpx.Response(500), ok(found))
    with pytest.raises(AlreadyExistsError, match=r"contact_info\.email"):
        make_client(script).users.create(sent)


def test_fields_alma_fills_in_or_never_returns_do_not_count() -> None:
    sent = {
        **USER,
        "password": "s3cret-pass",
        "pin_number": "1234",
        "user_note": [{"note_type": "X", "note_text": "n"}],
    }
    found = {
        **USER,
        "password": "",
        "full_name": "Jane Doe",
        "link": None,
        "status_date": "2024-01-01Z",
        "user_role": [{"role_type": {"value": "200"}}],
        "user_note": [
            {"note_type": {"value": "x", "desc": "X"}, "note_text": " n ", "created_date": "2024-01-01T00:00Z"}
        ],
    }
    script = Script(httpx.Response(500), ok(found))
    assert make_client(script).users.create(sent).full_name == "Jane Doe"


@pytest.mark.parametrize(
    "check",
    [httpx.Response(503), read_timeout(), httpx.Response(200, content=b"<html/>"), httpx.ConnectError("refused")],
    ids=["503", "timeout", "unreadable", "connect"],
)
def test_a_create_whose_check_fails_too_is_outcome_unknown(check: Any) -> None:
    script = Script(read_timeout(), default=check)
    with pytest.raises(OutcomeUnknownError) as caught:
        make_client(script, max_retries=1).users.create(USER)
    err = caught.value
    assert (err.write, err.target) == ("create", "jdoe")
    assert "may or may not have taken effect" in str(err)
    assert "alma.users.get('jdoe')" in str(err)
    assert isinstance(err, APIConnectionError)
    assert outcome_unknown(err)  # the workflow reads it back too
    assert "POST" not in script.methods[1:]


# --- update -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lost", list(LOST.values()), ids=list(LOST))
def test_an_update_whose_answer_was_lost_and_that_took_effect_is_returned(lost: Callable[[], Any]) -> None:
    script = Script(lost(), ok(USER))
    assert make_client(script).users.update("jdoe", USER).primary_id == "jdoe"
    assert script.methods == ["PUT", "GET"]


def test_an_update_not_applied_is_sent_again_after_the_check() -> None:
    before = user_json("jdoe", "Jane", "Doe", job_description="old")
    wanted = user_json("jdoe", "Jane", "Doe", job_description="new")
    script = Script(httpx.Response(503), ok(before), ok(wanted))
    assert make_client(script).users.update("jdoe", wanted).job_description == "new"
    assert script.methods == ["PUT", "GET", "PUT"]
    assert body_of(script.requests[2]) == body_of(script.requests[0])


def test_a_renaming_update_whose_answer_was_lost_is_found_under_the_new_id_not_reported_not_found() -> None:
    # Before: a retried PUT /users/jdoe answered "not found" although the rename had happened.
    script = Script(read_timeout(), ok(RENAMED))
    assert make_client(script).users.update("jdoe", RENAMED).primary_id == "jane.doe"
    assert script.calls == [("PUT", "/users/jdoe"), ("GET", "/users/jane.doe")]


def test_a_retried_update_answered_not_found_is_read_back() -> None:
    script = Script(httpx.Response(500), not_found("jane.doe"), not_found(), ok(RENAMED))
    assert make_client(script).users.update("jdoe", RENAMED).primary_id == "jane.doe"
    assert script.methods == ["PUT", "GET", "PUT", "GET"]


def test_a_first_update_answered_not_found_is_not_found() -> None:
    script = Script(not_found())
    with pytest.raises(NotFoundError):
        make_client(script).users.update("jdoe", USER)
    assert script.methods == ["PUT"]


def test_an_update_that_emptied_a_field_is_not_done_while_alma_still_has_it() -> None:
    before = user_json("jdoe", job_description="old", user_note=[{"note_type": "X", "note_text": "n"}])
    script = Script(httpx.Response(500), ok(before), ok(USER))
    make_client(script).users.update("jdoe", USER)  # the PUT clears the note and the description
    assert script.methods == ["PUT", "GET", "PUT"]


def test_protected_fields_of_an_external_user_do_not_count_unless_overridden() -> None:
    external: dict[str, Any] = {"account_type": {"value": "EXTERNAL"}, "external_id": "SIS"}
    sent = {**user_json("jdoe", user_group={"value": "STAFF"}), **external}
    kept = {**user_json("jdoe", user_group={"value": "ALUM"}), **external}  # Alma kept its group: as asked
    script = Script(httpx.Response(500), ok(kept))
    make_client(script).users.update("jdoe", sent)
    assert script.methods == ["PUT", "GET"]
    script = Script(httpx.Response(500), ok(kept), ok(sent))  # with override, the group must be there
    make_client(script).users.update("jdoe", sent, override=["user_group"])
    assert script.methods == ["PUT", "GET", "PUT"]


def test_an_update_whose_check_fails_is_outcome_unknown() -> None:
    script = Script(httpx.Response(502), default=httpx.Response(503))
    with pytest.raises(OutcomeUnknownError) as caught:
        make_client(script, max_retries=0).users.update("jdoe", USER)
    assert (caught.value.write, caught.value.target) == ("update", "jdoe")
    assert script.methods == ["PUT", "GET"]


# --- delete -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lost", [read_timeout, lambda: httpx.Response(500), lambda: httpx.Response(408)])
def test_a_delete_whose_answer_was_lost_and_that_took_effect_succeeds(lost: Callable[[], Any]) -> None:
    script = Script(lost(), not_found())
    make_client(script).users.delete("jdoe")
    assert script.methods == ["DELETE", "GET"]


def test_a_retried_delete_that_finds_nothing_after_an_unknown_first_try_is_success() -> None:
    # Before: NotFoundError, although the user is gone as asked.
    script = Script(httpx.Response(503), ok(USER), alma_error(400, "401890", "Not found."), not_found())
    make_client(script).users.delete("jdoe")  # no NotFoundError
    assert script.methods == ["DELETE", "GET", "DELETE", "GET"]


def test_a_delete_not_applied_is_sent_again_and_a_refusal_is_the_real_error() -> None:
    refused = alma_error(400, "401850", "Failed to delete user. The user has active loans.")
    script = Script(httpx.Response(500), ok(USER), refused)
    with pytest.raises(BadRequestError, match="active loans"):
        make_client(script).users.delete("jdoe")
    assert script.methods == ["DELETE", "GET", "DELETE"]


def test_a_delete_whose_check_fails_is_outcome_unknown_and_says_how_to_check() -> None:
    script = Script(read_timeout(), default=read_timeout())
    with pytest.raises(OutcomeUnknownError) as caught:
        make_client(script, max_retries=0).users.delete("jdoe", user_id_type="BARCODE")
    assert (caught.value.write, caught.value.target) == ("delete", "jdoe")
    assert "NotFoundError means it was deleted" in str(caught.value)
    assert params_of(script.requests[1]) == {"user_id_type": "BARCODE"}  # read back the way it was named


def test_a_raw_delete_known_only_from_its_read_back_is_still_a_raw_response() -> None:
    script = Script(httpx.Response(500), not_found())
    raw = make_client(script).users.with_raw_response.delete("jdoe")
    assert isinstance(raw, RawResponse)
    assert raw.status_code == 204
    assert raw.parse() is None


# --- the last try, and the errors the caller gets --------------------------------------------------


def test_the_last_try_is_read_back_too() -> None:
    # Every POST lost, every check "not there": the caller gets the create's own error, never a GET's.
    script = Script(read_timeout(), not_found(), read_timeout(), not_found(), read_timeout(), not_found())
    with pytest.raises(APITimeoutError) as caught:
        make_client(script, max_retries=2).users.create(USER)
    assert caught.value.method == "POST"
    assert script.methods == ["POST", "GET"] * 3


def test_a_create_that_happened_on_the_last_try_is_returned_not_a_timeout() -> None:
    script = Script(read_timeout(), not_found(), read_timeout(), ok(USER))
    assert make_client(script, max_retries=1).users.create(USER).primary_id == "jdoe"


def test_a_5xx_on_every_try_of_an_update_known_not_applied_is_the_5xx() -> None:
    script = Script(*[httpx.Response(500), not_found()] * 2)
    with pytest.raises(InternalServerError):
        make_client(script, max_retries=1).users.update("jdoe", USER)
    assert script.methods == ["PUT", "GET", "PUT", "GET"]


def test_outcome_unknown_names_the_write_and_the_id_read_back() -> None:
    script = Script(read_timeout(), default=httpx.Response(503))
    with pytest.raises(OutcomeUnknownError, match=r"The update of jane\.doe may or may not"):
        make_client(script, max_retries=0).users.update("jdoe", RENAMED)


# --- async: the same procedure, awaited ---------------------------------------------------------------


async def test_async_create_reads_back_and_never_returns_someone_else() -> None:
    script = Script(read_timeout(), ok(user_json("jdoe", "Grace", "Hopper")))
    async with make_async_client(script) as alma:
        with pytest.raises(AlreadyExistsError):
            await alma.users.create(USER)
    assert script.methods == ["POST", "GET"]


async def test_async_update_and_delete_read_back() -> None:
    script = Script(read_timeout(), ok(RENAMED), httpx.Response(503), not_found())
    async with make_async_client(script) as alma:
        assert (await alma.users.update("jdoe", RENAMED)).primary_id == "jane.doe"
        await alma.users.delete("jane.doe")
    assert script.methods == ["PUT", "GET", "DELETE", "GET"]


async def test_async_outcome_unknown() -> None:
    script = Script(read_timeout(), default=httpx.Response(503))
    async with make_async_client(script, max_retries=0) as alma:
        with pytest.raises(OutcomeUnknownError) as caught:
            await alma.users.delete("jdoe")
    assert caught.value.write == "delete"
