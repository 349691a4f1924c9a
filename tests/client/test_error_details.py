"""Details Alma writes into the message text are taken out into their fields, in JSON and XML alike.

Alma sometimes sends no ``trackingId`` field and writes the id into ``errorMessage`` instead, after a
line break: ``"User with identifier j was not found.\\n(Tracking ID: E01-1609190759-CBB7C-AWAE151072507)"``
(seen in public Alma client code and write-ups). The error then carries the id in ``tracking_id`` and
Alma's sentence alone in ``message``.
"""

from __future__ import annotations

import json

import httpx
import pytest

from alma_onelink.errors import AlreadyExistsError, NotFoundError, parse_error_details
from tests.client.conftest import Script, example_bytes, make_async_client, make_client

TRACKING = "E01-1609190759-CBB7C-AWAE151072507"
SENTENCE = "User with identifier j was not found."


def json_body(message: str, tracking_id: str | None = None) -> bytes:
    error = {"errorCode": "401861", "errorMessage": message} | ({"trackingId": tracking_id} if tracking_id else {})
    return json.dumps({"errorsExist": True, "errorList": {"error": [error]}, "result": None}).encode()


def xml_body(message: str) -> bytes:
    """The real pulibrary XML error, with its tracking id moved into the message as Alma sometimes writes it."""
    text = example_bytes("error_400_pulibrary.xml").decode()
    start, end = text.index("<trackingId>"), text.index("</trackingId>") + len("</trackingId>")
    text = text[:start] + text[end:]
    return text.replace("402203", "401861").replace("Input parameters mmsId 1234 is not valid.", message).encode()


@pytest.mark.parametrize(
    "written",
    [
        f"{SENTENCE}\n(Tracking ID: {TRACKING})",
        f"{SENTENCE}\r\n(Tracking ID: {TRACKING})",
        f"{SENTENCE} (Tracking ID: {TRACKING})",
        f"{SENTENCE} Tracking ID: {TRACKING}",
        f"{SENTENCE}\n(tracking id: {TRACKING})",
        f"(Tracking ID: {TRACKING}) {SENTENCE}",
    ],
)
@pytest.mark.parametrize("shape", ["json", "xml"])
def test_a_tracking_id_in_the_message_goes_to_its_field(written: str, shape: str) -> None:
    body = json_body(written) if shape == "json" else xml_body(written)
    [detail] = parse_error_details(body)
    assert (detail.code, detail.message, detail.tracking_id) == ("401861", SENTENCE, TRACKING)
    assert dict(detail.extra) == {}


def test_the_field_wins_and_a_different_id_in_the_message_is_kept_beside_it() -> None:
    [same] = parse_error_details(json_body(f"{SENTENCE}\n(Tracking ID: {TRACKING})", TRACKING))
    assert (same.message, same.tracking_id, dict(same.extra)) == (SENTENCE, TRACKING, {})
    [other] = parse_error_details(json_body(f"{SENTENCE}\n(Tracking ID: E02-OTHER)", TRACKING))
    assert (other.message, other.tracking_id) == (SENTENCE, TRACKING)
    assert dict(other.extra) == {"message_tracking_id": "E02-OTHER"}


@pytest.mark.parametrize(
    "message",
    [
        SENTENCE,
        "Given user group is not legal. Sandbox: the UserGroups table has no code X; add it with: alma-onelink",
        "Tracking of loans is not available for this library.",
        "Mandatory field is missing: tracking_id",
    ],
)
def test_a_message_without_a_written_id_is_left_as_it_is(message: str) -> None:
    [detail] = parse_error_details(json_body(message))
    assert (detail.message, detail.tracking_id) == (message, None)


def test_the_raised_error_carries_the_id_once() -> None:
    script = Script(httpx.Response(400, content=json_body(f"{SENTENCE}\n(Tracking ID: {TRACKING})")))
    with pytest.raises(NotFoundError) as missing:
        make_client(script).users.get("j")
    error = missing.value
    assert (error.message, error.tracking_id) == (SENTENCE, TRACKING)
    assert str(error).count(TRACKING) == 1
    assert "Tracking ID:" not in str(error)


async def test_the_async_client_reads_xml_the_same_way() -> None:
    written = f"User with identifier alma0005@example.org of type Primary id already exists.\n(Tracking ID: {TRACKING})"
    response = httpx.Response(400, content=xml_body(written).replace(b"401861", b"401851"))
    async with make_async_client(Script(response), max_retries=0) as alma:
        with pytest.raises(AlreadyExistsError) as taken:
            await alma.users.get("alma0005@example.org")
    assert taken.value.tracking_id == TRACKING
    assert taken.value.message == "User with identifier alma0005@example.org of type Primary id already exists."
