"""`restore` and `arestore`: undo one journaled write of a registration, refusing when that would lose data."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from alma_onelink import AlmaClient, AsyncAlmaClient, Patron
from alma_onelink.errors import InputError
from alma_onelink.models import Code, User
from alma_onelink.onelink import (
    Journal,
    JournalEntry,
    RegistrationResult,
    Restored,
    RestoreError,
    arestore,
    register_patron,
    restore,
)
from alma_onelink.policy import Policy, hookimpl, load_policy
from alma_onelink.sandbox import DUKE_SCENARIOS, DUKE_UNIQUE_IDS, Sandbox
from tests.onelink.conftest import (
    TODAY,
    accounts_with_primary_id,
    former_staff,
    identifier_values,
    netid_era_alumna,
    new_registrant,
    record,
    trln_borrower_as_alumna,
    without,
    writes,
)

RM56 = DUKE_SCENARIOS["former_staff_with_loans"]
JD123 = DUKE_SCENARIOS["netid_era_alumna"]
TRLN = DUKE_UNIQUE_IDS["trln_borrower"]


class IllegalGroup:
    """A policy plugin that gives the new record a user group the institution does not have."""

    @hookimpl
    def alma_onelink_prepare_user(self, patron: Patron, user: User, today: date) -> None:
        user.user_group = Code(value="NO_SUCH_GROUP")


def register(alma: AlmaClient, policy: Policy, patron: Patron, journal: Journal) -> RegistrationResult:
    return register_patron(alma, policy, patron, today=TODAY, journal=journal)


def entry_of(journal: Journal, result: RegistrationResult, action: str, target: str) -> JournalEntry:
    [found] = [
        e for e in journal.entries(registration=result.registration_id) if (e.action, e.target) == (action, target)
    ]
    return found


def test_restoring_a_renewal_puts_the_record_back(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    before = record(sandbox, TRLN)
    result = register(alma, policy, trln_borrower_as_alumna(), journal)
    assert result.outcome == "renewed"
    renewal = entry_of(journal, result, "update", TRLN)

    restored = restore(alma, renewal, journal=journal, staff="jsmith")

    assert restored.outcome is Restored.PUT_BACK
    assert without(record(sandbox, TRLN)) == without(before)
    assert restored.user is not None
    assert restored.user.user_group is not None
    assert restored.user.user_group.value == "DUKE_TRLN"
    [undo] = [journal.get(entry_id) for entry_id in restored.journal_entries]
    assert (undo.action, undo.target, undo.result, undo.operation) == ("update", TRLN, "done", "restore")
    assert undo.staff == "jsmith"
    assert undo.registration == renewal.id
    assert journal.pending() == []
    assert "put_back" in str(restored)

    again = restore(alma, renewal, journal=journal)
    assert again.outcome is Restored.NOTHING_TO_DO


def test_restoring_a_create_deletes_the_untouched_account(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    patron = new_registrant()
    result = register(alma, policy, patron, journal)
    create = entry_of(journal, result, "create", patron.onelink_id)

    restored = restore(alma, create, journal=journal)

    assert restored.outcome is Restored.DELETED
    assert accounts_with_primary_id(sandbox, patron.onelink_id) == []
    [undo] = [journal.get(entry_id) for entry_id in restored.journal_entries]
    assert (undo.action, undo.target, undo.result) == ("delete", patron.onelink_id, "done")
    assert undo.before is not None
    assert undo.before["primary_id"] == patron.onelink_id

    assert restore(alma, create, journal=journal).outcome is Restored.NOTHING_TO_DO


def test_a_renewal_changed_since_is_not_put_back_unless_forced(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    before = record(sandbox, TRLN)
    result = register(alma, policy, trln_borrower_as_alumna(), journal)
    renewal = entry_of(journal, result, "update", TRLN)
    with alma.users.edit(TRLN) as user:
        user.job_description = "Visiting scholar"
    changed = record(sandbox, TRLN)
    sandbox.clear_log()

    with pytest.raises(RestoreError, match="changed since"):
        restore(alma, renewal, journal=journal)

    assert writes(sandbox) == []
    assert record(sandbox, TRLN) == changed
    forced = restore(alma, renewal, journal=journal, force=True)
    assert forced.outcome is Restored.PUT_BACK
    assert without(record(sandbox, TRLN)) == without(before)


def test_a_created_account_changed_since_is_not_deleted(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    patron = new_registrant()
    result = register(alma, policy, patron, journal)
    create = entry_of(journal, result, "create", patron.onelink_id)
    with alma.users.edit(patron.onelink_id) as user:
        user.job_description = "Emeritus"
    sandbox.clear_log()

    with pytest.raises(RestoreError, match="changed since"):
        restore(alma, create, journal=journal)

    assert writes(sandbox) == []
    assert len(accounts_with_primary_id(sandbox, patron.onelink_id)) == 1


@pytest.mark.parametrize("activity", ["loans", "requests", "fees"])
def test_a_created_account_with_activity_is_not_deleted(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal, activity: str
) -> None:
    patron = new_registrant()
    result = register(alma, policy, patron, journal)
    create = entry_of(journal, result, "create", patron.onelink_id)
    {"loans": sandbox.users.add_loan, "requests": sandbox.users.add_request, "fees": sandbox.users.add_fee}[activity](
        patron.onelink_id
    )
    sandbox.clear_log()

    with pytest.raises(RestoreError, match=activity):
        restore(alma, create, journal=journal)

    assert writes(sandbox) == []
    assert len(accounts_with_primary_id(sandbox, patron.onelink_id)) == 1


def test_former_staff_with_loans_the_move_is_undone_after_the_new_account_is(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    patron = former_staff()
    before = record(sandbox, RM56)
    loans = sandbox.users.loans(RM56)
    result = register(alma, policy, patron, journal)
    assert result.outcome == "needs_merge"
    move = entry_of(journal, result, "update", RM56)
    create = entry_of(journal, result, "create", patron.onelink_id)

    # While the new account holds the OneLink ID as primary id, Alma cannot give it back to rm56.
    sandbox.clear_log()
    try:
        refused = restore(alma, move, journal=journal)
    except RestoreError:
        pass
    else:
        assert refused.outcome is Restored.FAILED
        assert refused.error is not None
    assert patron.onelink_id not in identifier_values(record(sandbox, RM56))
    assert len(accounts_with_primary_id(sandbox, patron.onelink_id)) == 1
    assert journal.pending() == []

    # Undo in reverse order: delete the new account, then put the identifier back on rm56.
    assert restore(alma, create, journal=journal).outcome is Restored.DELETED
    back = restore(alma, move, journal=journal)

    assert back.outcome is Restored.PUT_BACK
    assert without(record(sandbox, RM56)) == without(before)
    assert patron.onelink_id in identifier_values(record(sandbox, RM56))
    assert sandbox.users.loans(RM56) == loans
    assert accounts_with_primary_id(sandbox, patron.onelink_id) == []
    assert journal.pending() == []


def test_a_new_account_that_got_loans_is_never_deleted_by_a_restore(
    alma: AlmaClient, sandbox: Sandbox, journal: Journal
) -> None:
    # The new account of a returning patron got loans (say, once rm56 was merged into it).
    patron = former_staff(onelink_id="0999990")
    result = register(alma, load_policy("duke"), patron, journal)
    assert result.outcome == "needs_merge"
    create = entry_of(journal, result, "create", "0999990")
    sandbox.users.add_loan("0999990")

    with pytest.raises(RestoreError, match="loans"):
        restore(alma, create, journal=journal)
    assert len(accounts_with_primary_id(sandbox, "0999990")) == 1


def test_an_entry_is_found_by_a_prefix_of_its_id(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    before = record(sandbox, TRLN)
    result = register(alma, policy, trln_borrower_as_alumna(), journal)
    [entry_id] = result.journal_entries

    restored = restore(alma, entry_id[:8], journal=journal)

    assert restored.outcome is Restored.PUT_BACK
    assert restored.entry.id == entry_id
    assert without(record(sandbox, TRLN)) == without(before)


@pytest.mark.parametrize("entry_id", ["abc", "0" * 32, "ffffff"])
def test_an_unknown_or_too_short_id_is_an_input_error(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal, entry_id: str
) -> None:
    register(alma, policy, trln_borrower_as_alumna(), journal)
    sandbox.clear_log()
    with pytest.raises(InputError):
        restore(alma, entry_id, journal=journal)
    assert sandbox.request_log == []


def test_a_failed_create_has_nothing_to_undo(alma: AlmaClient, sandbox: Sandbox, journal: Journal) -> None:
    result = register(alma, load_policy("duke", plugins=[IllegalGroup()]), new_registrant(), journal)
    assert result.outcome == "failed"
    [failed] = journal.entries()
    sandbox.clear_log()

    with pytest.raises(RestoreError, match="did not happen"):
        restore(alma, failed, journal=journal)
    assert sandbox.request_log == []


def test_the_put_back_after_a_failed_create_needs_no_restore(
    alma: AlmaClient, sandbox: Sandbox, journal: Journal
) -> None:
    before = record(sandbox, JD123)
    result = register(alma, load_policy("duke", plugins=[IllegalGroup()]), netid_era_alumna(), journal)
    assert result.outcome == "failed"
    move = journal.entries()[0]

    # The workflow already put the identifier back: restoring the move finds nothing to do.
    assert restore(alma, move, journal=journal).outcome is Restored.NOTHING_TO_DO
    assert without(record(sandbox, JD123)) == without(before)


def test_restore_reads_the_default_journal_when_none_is_given(
    alma: AlmaClient, sandbox: Sandbox, policy: Policy, alma_journal: Journal
) -> None:
    before = record(sandbox, TRLN)
    result = register_patron(alma, policy, trln_borrower_as_alumna(), today=TODAY)
    [entry_id] = result.journal_entries

    restored = restore(alma, entry_id)

    assert restored.outcome is Restored.PUT_BACK
    assert without(record(sandbox, TRLN)) == without(before)
    assert [e.operation for e in alma_journal.entries()] == ["register", "restore"]


async def test_arestore_puts_a_renewal_back_and_deletes_a_create(
    aalma: AsyncAlmaClient, alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    before = record(sandbox, TRLN)
    renewed = register(alma, policy, trln_borrower_as_alumna(), journal)
    created = register(alma, policy, new_registrant(), journal)

    put_back = await arestore(aalma, renewed.journal_entries[0], journal=journal)
    deleted = await arestore(aalma, entry_of(journal, created, "create", created.patron.onelink_id), journal=journal)

    assert put_back.outcome is Restored.PUT_BACK
    assert without(record(sandbox, TRLN)) == without(before)
    assert deleted.outcome is Restored.DELETED
    assert accounts_with_primary_id(sandbox, created.patron.onelink_id) == []
    assert journal.pending() == []


async def test_arestore_refuses_a_changed_record(
    aalma: AsyncAlmaClient, alma: AlmaClient, sandbox: Sandbox, policy: Policy, journal: Journal
) -> None:
    result = register(alma, policy, trln_borrower_as_alumna(), journal)
    user = record(sandbox, TRLN)
    user["expiry_date"] = f"{(TODAY + timedelta(days=5)).isoformat()}Z"
    sandbox.users.put(user)

    with pytest.raises(RestoreError):
        await arestore(aalma, result.journal_entries[0], journal=journal)
    assert record(sandbox, TRLN)["expiry_date"] == user["expiry_date"]
