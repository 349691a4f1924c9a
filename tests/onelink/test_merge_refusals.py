"""Every reason `plan_merge` refuses, all listed at once and before any write; and the rules it carries by."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from alma_onelink import AlmaClient
from alma_onelink.engine import comparable
from alma_onelink.errors import InputError
from alma_onelink.merge import MergeRefused, apply_merge, plan_merge
from alma_onelink.models import ContactInfo, User, UserBlock, UserNote
from alma_onelink.onelink import Journal, register_patron
from alma_onelink.policy import Policy, PolicyError, hookimpl, load_policy
from alma_onelink.sandbox import DUKE_SCENARIOS, DUKE_UNIQUE_IDS, Sandbox
from tests.onelink.conftest import TODAY, netid_era_alumna, record, writes

JD123 = DUKE_SCENARIOS["netid_era_alumna"]
JANE = DUKE_UNIQUE_IDS["netid_era_alumna"]


def add_user(sandbox: Sandbox, primary_id: str, **fields: Any) -> None:
    """A PUBLIC, INTERNAL account in the sandbox (Jane Doe unless ``fields`` say otherwise)."""
    record: dict[str, Any] = {
        "record_type": "PUBLIC",
        "primary_id": primary_id,
        "first_name": "Jane",
        "last_name": "Doe",
        "user_group": "DUKE_ALUMNI",
        "account_type": "INTERNAL",
        **fields,
    }
    sandbox.users.create(record)


def refused(alma: AlmaClient, from_id: str, to_id: str, **options: Any) -> list[str]:
    with pytest.raises(MergeRefused) as caught:
        plan_merge(alma, from_id, to_id, today=TODAY, **options)
    assert str(caught.value).startswith(f"Cannot merge {from_id.strip()} into {to_id.strip()}:")
    for reason in caught.value.reasons:
        assert f"  - {reason}" in str(caught.value)
    return caught.value.reasons


def test_every_refusal_is_listed_at_once_before_any_write(alma: AlmaClient, sandbox: Sandbox, policy: Policy) -> None:
    add_user(sandbox, "staffer", first_name="Janet", last_name="Dough", birth_date="1980-01-01",
             user_role=[{"role_type": "200"}, {"role_type": "21", "scope": "PERKINS"}])  # fmt: skip
    add_user(sandbox, "notonelink", birth_date="1981-02-02")
    sandbox.clear_log()
    reasons = refused(alma, "staffer", "notonelink", policy=policy)
    assert len(reasons) == 3, reasons
    assert "holds roles besides Patron (role types 21)" in reasons[0]
    assert "To notonelink is not a OneLink account for the 'duke' policy: the OneLink ID must be 7 digits" in reasons[1]
    for field in ("last_name: From 'Dough', To 'Doe'", "first_name: From 'Janet', To 'Jane'", "birth_date"):
        assert field in reasons[2]
    assert '`alma-onelink merge plan staffer notonelink --force "WHY"` (Python: force="WHY")' in reasons[2]
    assert writes(sandbox) == []
    assert all(entry.method == "GET" for entry in sandbox.request_log)


def test_missing_accounts_are_both_named(alma: AlmaClient) -> None:
    assert refused(alma, "nobody1", "nobody2") == [
        "the From account nobody1 does not exist in Alma",
        "the To account nobody2 does not exist in Alma",
    ]


@pytest.mark.parametrize(("from_id", "to_id"), [(JD123, JD123), ("JD123", " jd123 ")])
def test_the_same_account_is_refused(alma: AlmaClient, from_id: str, to_id: str) -> None:
    [reason] = refused(alma, from_id, to_id)
    assert "the same account" in reason


def test_an_id_that_finds_an_account_through_an_identifier_is_not_a_primary_id(alma: AlmaClient) -> None:
    [reason] = refused(alma, "DK250000123456", "0123456")
    assert "is not the primary id of an account: it finds jd123 through an identifier" in reason


def test_without_a_policy_the_onelink_id_is_not_checked(alma: AlmaClient, sandbox: Sandbox) -> None:
    add_user(sandbox, "janedoe-new")
    plan = plan_merge(alma, JD123, "janedoe-new", today=TODAY)
    assert plan.policy is None
    assert plan.segments == ["identifiers", "addresses", "emails", "phones", "notes", "statistics"]


def test_names_ignore_case_accents_and_spacing(alma: AlmaClient, sandbox: Sandbox) -> None:
    add_user(sandbox, "0999999", first_name="  JANE  marie", last_name="Döe")
    plan = plan_merge(alma, JD123, "0999999", today=TODAY)
    assert plan.mismatches == []
    assert plan.force is None


def test_force_overrides_a_name_or_birth_date_mismatch_and_is_kept(
    alma: AlmaClient, sandbox: Sandbox, journal: Journal
) -> None:
    add_user(sandbox, "0999999", last_name="Smith", birth_date="1990-03-01")
    reasons = refused(alma, JD123, "0999999")
    assert "last_name: From 'Doe', To 'Smith'" in reasons[0]
    why = "married name; same Duke Unique ID on both, checked at the desk"
    plan = plan_merge(alma, JD123, "0999999", force=f"  {why} ", today=TODAY)
    assert plan.force == why
    assert plan.mismatches == ["last_name: From 'Doe', To 'Smith'"]
    assert any(why in note for note in plan.notes)
    assert "Forced:" in str(plan)
    result = apply_merge(alma, plan, confirm=plan.token, journal=journal, staff="jsmith", today=TODAY)
    note = alma.users.get(JD123).user_note[-1].note_text
    assert note == f"Merged into 0999999 on {TODAY.isoformat()} by jsmith; merged although last_name differ: {why}"
    assert all(why in (entry.reason or "") for entry in journal.entries(registration=result.merge_id))


def test_birth_dates_differing_where_both_have_one(alma: AlmaClient, sandbox: Sandbox) -> None:
    add_user(sandbox, "old1", birth_date="1990-03-01")
    add_user(sandbox, "new1", birth_date="1990-03-02")
    add_user(sandbox, "new2")  # no birth date: nothing to compare
    [reason] = refused(alma, "old1", "new1")
    assert "birth_date: From 1990-03-01, To 1990-03-02" in reason
    assert plan_merge(alma, "old1", "new2", today=TODAY).mismatches == []


@pytest.mark.parametrize("force", ["", "   ", 42])
def test_a_blank_force_is_an_input_error(alma: AlmaClient, sandbox: Sandbox, force: Any) -> None:
    sandbox.clear_log()
    with pytest.raises(InputError, match=r"--force \(Python: force=\) must say why"):
        plan_merge(alma, JD123, JANE, force=force)
    assert sandbox.request_log == []


def test_unknown_segments_are_an_input_error_listing_the_valid_ones(alma: AlmaClient, sandbox: Sandbox) -> None:
    sandbox.clear_log()
    with pytest.raises(InputError, match=r"'contacts'.*choose from: identifiers, addresses, emails, phones, notes"):
        plan_merge(alma, JD123, JANE, segments=["identifiers", "contacts"])
    assert sandbox.request_log == []


def test_a_differing_email_or_phone_is_a_note_not_a_refusal(alma: AlmaClient, sandbox: Sandbox) -> None:
    add_user(
        sandbox,
        "0999999",
        contact_info={
            "email": [{"email_address": "jane@example.org", "email_type": "personal", "preferred": True}],
            "phone": [{"phone_number": "+1 919 555 0100", "phone_type": "home", "preferred": True}],
        },
    )
    with alma.users.edit(JD123) as user:
        user.contact_info = ContactInfo.from_alma(
            {
                "email": [{"email_address": "jane.doe@alumni.duke.edu", "email_type": "school", "preferred": True}],
                "phone": [
                    {"phone_number": "(919) 555-0199", "phone_type": "mobile", "preferred": True},
                    {"phone_number": "1-919-555-0100", "phone_type": "home"},
                ],
            }
        )
    plan = plan_merge(alma, JD123, "0999999", today=TODAY)
    notes = "\n".join(plan.notes)
    assert "The email differs: From jane.doe@alumni.duke.edu, To jane@example.org" in notes
    assert "The phone differs: From (919) 555-0199, To +1 919 555 0100" in notes
    by_description = {item.description: item for item in [*plan.carried, *plan.skipped]}
    email = by_description["jane.doe@alumni.duke.edu (school)"]
    assert email in plan.carried
    assert email.item["preferred"] is False, "To keeps its one preferred email"
    assert "not preferred: To keeps its own" in email.reason
    assert by_description["1-919-555-0100 (home)"].reason == "To already has this phone number"


def test_segments_choose_like_the_ui_tick_boxes(alma: AlmaClient, sandbox: Sandbox) -> None:
    add_user(sandbox, "0999999", user_block=[{"block_description": "GENERAL", "block_note": "old"}])
    with alma.users.edit(JD123) as user:
        user.user_block = [UserBlock(block_description="FINES"), UserBlock(block_description="GENERAL")]
        user.user_note = [UserNote(note_type="LIBRARY", note_text="Prefers Perkins.")]
    plan = plan_merge(alma, JD123, "0999999", segments=["blocks"], today=TODAY)
    assert plan.segments == ["blocks"]
    assert [item.description for item in plan.carried] == ["GENERAL FINES (ACTIVE)"]
    reasons = {item.description: item.reason for item in plan.skipped}
    assert reasons["GENERAL GENERAL (ACTIVE)"] == "To already has a block of this type and description"
    assert reasons['LIBRARY: "Prefers Perkins."'] == "the notes segment was not chosen"
    assert reasons["BARCODE DK250000123456"] == "the identifiers segment was not chosen"
    assert plan_merge(alma, JD123, "0999999", segments="notes", today=TODAY).segments == ["notes"]


def test_proxies_are_left_to_the_ui_merge(alma: AlmaClient, sandbox: Sandbox) -> None:
    add_user(sandbox, "0999999")
    old = record(sandbox, JD123)
    sandbox.users.put({**old, "proxy_for_user": [{"primary_id": "kid1", "full_name": "Kid Doe"}]})  # read-only in Alma
    plan = plan_merge(alma, JD123, "0999999", segments=["proxies"], today=TODAY)
    [proxy] = [item for item in plan.skipped if item.segment == "proxies"]
    assert "cannot write proxy_for_user" in proxy.reason
    assert "tick only “Proxy for” (for kid1 (Kid Doe))" in "\n".join(plan.ui_steps)


# --- the policy's say ---------------------------------------------------------------------------------


class NoMergesOnFridays:
    @hookimpl
    def alma_onelink_merge_veto(self, from_user: User) -> str | None:
        return f"{from_user.primary_id} is on the do-not-merge list" if from_user.primary_id == JD123 else None

    @hookimpl
    def alma_onelink_merge_segments(self) -> list[str]:
        return ["notes"]

    @hookimpl
    def alma_onelink_merge_note(self, to_user: User, today: date, staff: str | None) -> str:
        return f"MERGED → {to_user.primary_id} ({today:%d/%m/%Y}, {staff or '?'})"


def test_a_policy_veto_is_a_refusal_force_cannot_override(alma: AlmaClient, sandbox: Sandbox) -> None:
    policy = load_policy("duke", plugins=[NoMergesOnFridays])
    add_user(sandbox, "0999999", last_name="Smith")
    reasons = refused(alma, JD123, "0999999", policy=policy, force="same person")
    assert reasons == ["the duke policy vetoes it: jd123 is on the do-not-merge list"]


def test_the_default_veto_refuses_a_linked_account(alma: AlmaClient, sandbox: Sandbox) -> None:
    add_user(sandbox, "0999999")
    sandbox.users.put({**record(sandbox, "0999999"), "source_institution_code": "01OTHER_INST"})  # set by Alma only
    [reason] = refused(alma, JD123, "0999999")
    assert "the default policy vetoes it: To 0999999 is a linked copy of a user of 01OTHER_INST" in reason


def test_the_policy_chooses_segments_and_words_the_note(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    mine = load_policy("default", plugins=[NoMergesOnFridays], addons=False)
    add_user(sandbox, "0999999")
    add_user(sandbox, "old2", user_note=[{"note_type": "LIBRARY", "note_text": "Prefers Perkins."}],
             user_identifier=[{"id_type": "BARCODE", "value": "B-old2"}])  # fmt: skip
    plan = plan_merge(alma, "old2", "0999999", policy=mine, today=TODAY)
    assert plan.segments == ["notes"]
    assert [item.segment for item in plan.carried] == ["notes"]
    assert plan.final_from["user_note"][-1]["note_text"] == f"MERGED → 0999999 ({TODAY:%d/%m/%Y}, ?)"
    plan = plan_merge(alma, "old2", "0999999", policy=mine, segments=["identifiers"], today=TODAY)
    assert [item.segment for item in plan.carried] == ["identifiers"], "segments= wins over the policy"
    result = apply_merge(alma, plan, confirm=plan.token, journal=journal, staff="ann", today=TODAY)
    assert alma.users.get("old2").user_note[-1].note_text == f"MERGED → 0999999 ({TODAY:%d/%m/%Y}, ann)"
    assert result.outcome == "merged"


def test_a_plan_from_a_file_loads_its_policy_by_name(alma: AlmaClient, policy: Policy, journal: Journal) -> None:
    from alma_onelink.merge import MergePlan

    register_patron(alma, policy, netid_era_alumna(), today=TODAY, journal=journal)
    plan = MergePlan.from_json(plan_merge(alma, JD123, JANE, policy=policy, today=TODAY).to_json())
    assert plan.policy == "duke"
    result = apply_merge(alma, plan, confirm=plan.token, journal=journal, today=TODAY)
    assert result.outcome == "merged"
    assert comparable(alma.users.get(JANE).to_alma()) == comparable(plan.final_to)


def test_a_plugin_answering_unknown_segments_is_named(alma: AlmaClient, sandbox: Sandbox) -> None:
    class Typo:
        @hookimpl
        def alma_onelink_merge_segments(self) -> list[str]:
            return ["identifiers", "contact"]

    add_user(sandbox, "0999999")
    with pytest.raises(PolicyError, match=r"Plugin 'Typo' answered alma_onelink_merge_segments with 'contact'"):
        plan_merge(alma, JD123, "0999999", policy=load_policy("default", plugins=[Typo]), today=TODAY)


@pytest.mark.parametrize(
    ("hook", "answer", "expected"),
    [
        ("alma_onelink_merge_segments", "notes", "a list of segment names"),
        ("alma_onelink_merge_veto", "", "a reason (a non-blank str)"),
        ("alma_onelink_merge_note", "x" * 2001, "at most 2000 characters"),
    ],
)
def test_wrong_answers_from_merge_hooks_name_the_plugin(hook: str, answer: object, expected: str) -> None:
    plugin = type("Wrong", (), {hook: hookimpl(lambda self: answer)})
    policy = load_policy("default", plugins=[plugin])
    user = User(primary_id="a")
    call: Callable[[], object] = {
        "alma_onelink_merge_segments": lambda: policy.merge_segments(user, user),
        "alma_onelink_merge_veto": lambda: policy.merge_vetoes(user, user),
        "alma_onelink_merge_note": lambda: policy.merge_note(user, user, today=TODAY),
    }[hook]
    pattern = rf"Plugin 'Wrong' returned .* from {hook}; it must return .*{re.escape(expected)}"
    with pytest.raises(PolicyError, match=pattern):
        call()


def test_the_duke_policy_carries_the_ui_defaults_and_the_defaults_answer_too() -> None:
    user = User(primary_id="a")
    expected = ["identifiers", "addresses", "emails", "phones", "notes", "statistics"]
    assert load_policy("duke").merge_segments(user, user) == expected
    assert load_policy("default").merge_segments(user, user) == expected
    assert "alma_onelink_merge_segments" in load_policy("duke").implemented_hooks("duke")
    assert load_policy("duke").merge_vetoes(user, user) == []
    assert load_policy("duke").merge_note(user, User(primary_id="b"), today=date(2026, 1, 2), staff="jo") == (
        "Merged into b on 2026-01-02 by jo"
    )
