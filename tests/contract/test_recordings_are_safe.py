"""Every cassette is safe to publish: no key, no real email, no personal data (``_recording.problems``)."""

from __future__ import annotations

import pytest

from ._recording import fake_birth_date, fake_email, fake_name, fake_phone, problems, scrub
from .conftest import CASSETTES

pytestmark = pytest.mark.no_cassette


def test_every_cassette_is_safe_to_keep() -> None:
    cassettes = sorted(CASSETTES.rglob("*.yaml"))
    assert cassettes, "the contract suite needs its cassettes in cassettes/ (make cassettes)"
    unsafe = {str(path.relative_to(CASSETTES)): found for path in cassettes if (found := problems(path))}
    assert not unsafe, unsafe


def test_personal_data_is_replaced_stably_and_fake_data_kept() -> None:
    real = {
        "first_name": "María José",
        "last_name": "Ibáñez",
        "full_name": "María José Ibáñez",
        "birth_date": "1961-07-04Z",
        "contact_info": {
            "email": [{"email_address": "mj.ibanez@duke.edu"}],
            "phone": [{"phone_number": "+1 919 555 1234"}],
            "address": [{"line1": "12 Real Road", "city": "Durham", "postal_code": "27708", "address_note": "gate 2"}],
        },
        "user_note": [{"note_text": "Write to mj.ibanez@duke.edu first."}],
        "job_description": "Professor",
    }
    fake = scrub(real)
    assert fake == scrub(real)  # stable
    assert fake["first_name"] != real["first_name"]
    assert fake["full_name"].startswith(fake["first_name"])
    assert fake["contact_info"]["email"][0]["email_address"].endswith("@example.org")
    assert "duke.edu" not in str(fake)
    assert fake["contact_info"]["address"][0]["address_note"] == ""
    assert fake["birth_date"].endswith("Z")
    assert fake["birth_date"] != real["birth_date"]
    assert fake["job_description"] == "Professor"
    assert scrub(fake) == fake  # fake values are kept
    assert fake_name("Ada Lovelace") == "Ada Lovelace"
    assert fake_email("x@mail.example.com") == "x@mail.example.com"
    assert fake_phone("+1 555 0100") == "+1 555 0100"
    assert fake_birth_date("1970-01-01Z") == "1970-01-01Z"
