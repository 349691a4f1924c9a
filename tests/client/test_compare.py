"""The comparison behind every write check and ``edit``: is the record Alma has the one that was sent?"""

from __future__ import annotations

from typing import Any

import pytest

from alma_onelink.models import User
from alma_onelink.resources._compare import changed_protected, differences
from tests.client.conftest import user_json


def user(**fields: Any) -> User:
    return User.from_alma(user_json("jdoe", **fields))


def test_what_alma_fills_in_or_normalises_is_not_a_difference() -> None:
    sent = user(
        user_group={"value": "alum"},
        job_description=" Scholar ",
        contact_info={
            "email": [
                {"email_address": "a@example.org", "preferred": True, "email_type": ["personal"]},
                {"email_address": "b@example.org", "preferred": True, "email_type": ["work"]},
            ]
        },
        user_statistic=[{"statistic_category": "RC_60", "category_type": "GUESS", "segment_type": "External"}],
        user_note=[{"note_type": "OTHER", "note_text": "n"}],
    )
    found = user(
        user_group={"value": "ALUM", "desc": "Alumni"},
        job_description="Scholar",
        full_name="Ada Lovelace",
        link="https://x/users/jdoe",
        status_date="2024-01-01Z",
        contact_info={
            "email": [
                {"email_address": "b@example.org", "preferred": False, "email_type": [{"value": "WORK"}]},
                {"email_address": "a@example.org", "preferred": True, "email_type": [{"value": "personal"}]},
            ]
        },
        user_statistic=[{"statistic_category": {"value": "RC_60"}, "category_type": {"value": "RESPONSIBILITY"}}],
        user_note=[
            {"note_type": {"value": "OTHER"}, "note_text": "n", "created_by": "API", "created_date": "2024-01-01Z"}
        ],
        user_role=[{"role_type": {"value": "200"}}],
    )
    assert differences(sent, found, mode="create") == []
    assert differences(sent, found, mode="update") == []


def test_the_primary_id_is_compared_exactly_names_in_their_case() -> None:
    assert differences(user(), User.from_alma(user_json("JDOE")), mode="create") == ["primary_id"]
    assert differences(user(), User.from_alma(user_json("jdoe", "ADA")), mode="create") == ["first_name"]


def test_a_create_asks_nothing_of_what_it_left_empty_an_update_asks_it_empty() -> None:
    found = user(job_description="set by someone", user_note=[{"note_type": "OTHER", "note_text": "n"}])
    assert differences(user(), found, mode="create") == []
    assert differences(user(), found, mode="update") == ["job_description", "user_note"]


def test_an_update_leaves_to_alma_what_a_put_without_it_keeps() -> None:
    found = user(user_role=[{"role_type": {"value": "200"}}], status={"value": "INACTIVE"})
    sent = User.from_alma({k: v for k, v in user_json("jdoe").items() if k != "status"})
    assert differences(sent, found, mode="update") == []


@pytest.mark.parametrize(
    ("found", "path"),
    [
        ({"contact_info": {"email": []}}, "contact_info.email"),
        (
            {"contact_info": {"email": [{"email_address": "x@example.org"}, {"email_address": "y@example.org"}]}},
            "contact_info.email",
        ),
        ({"contact_info": {"email": [{"email_address": "z@example.org"}]}}, "contact_info.email"),
    ],
)
def test_lists_hold_the_same_items(found: dict[str, Any], path: str) -> None:
    sent = user(contact_info={"email": [{"email_address": "x@example.org"}]})
    assert differences(sent, user(**found), mode="create") == [path]


def test_a_cleared_sub_field_counts_on_update() -> None:
    sent = user(contact_info={"email": [{"email_address": "x@example.org"}]})
    found = user(contact_info={"email": [{"email_address": "x@example.org", "description": "old"}]})
    assert differences(sent, found, mode="create") == []
    assert differences(sent, found, mode="update") == ["contact_info.email"]


def test_skipped_fields_are_not_compared() -> None:
    assert differences(user(user_group={"value": "STAFF"}), user(), mode="update", skip=["user_group"]) == []


def test_changed_protected_names_alma_override_names() -> None:
    before = user(user_group={"value": "GRAD", "desc": "Graduate"}, rs_library=[{"code": {"value": "A"}}])
    after = user(user_group={"value": "grad"}, rs_library=[{"code": {"value": "B"}}], pref_first_name="Ady")
    assert changed_protected(before, after) == ["rs_libraries", "pref_first_name"]
