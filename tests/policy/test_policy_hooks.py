"""Hook semantics: firstresult, collection, ordering, wrappers, and a plugin's contract enforced."""

from __future__ import annotations

import types
from collections.abc import Callable, Generator, Iterator
from datetime import date
from typing import Any

import pytest

from alma_onelink.errors import InputError
from alma_onelink.models import Code, User, UserIdentifier, UserStatistic
from alma_onelink.policy import (
    NO_PURGE_DATE,
    Affiliation,
    EligibilityIssue,
    Patron,
    Policy,
    PolicyError,
    hookimpl,
    load_policy,
)

TODAY = date(2025, 7, 1)


def alum(**change: Any) -> Patron:
    facts: dict[str, Any] = {
        "onelink_id": "0123456",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "affiliation": "alumni",
        "graduated_on": date(2010, 5, 9),
    }
    return Patron(**{**facts, **change})


def policy_with(*plugins: object) -> Policy:
    return load_policy("default", plugins=plugins, addons=False)


class Group:
    def __init__(self, group: str | None, *, name: str = "group") -> None:
        self.group = group
        self.name = name

    @hookimpl
    def alma_onelink_patron_group(self) -> Code | None:
        return Code(value=self.group) if self.group else None


# --- firstresult --------------------------------------------------------------------------------


def test_firstresult_the_plugin_answer_wins_over_the_default() -> None:
    assert policy_with(Group("GRADS")).patron_group(alum()).value == "GRADS"


def test_firstresult_none_defers_to_the_next_plugin() -> None:
    assert policy_with(Group(None)).patron_group(alum()).value == "ALUM"  # the default's mapping


def test_the_plugin_registered_last_is_asked_first() -> None:
    policy = policy_with(Group("FIRST"), Group("SECOND"))
    assert policy.patron_group(alum()).value == "SECOND"
    assert policy.plugin_names == ["Group#2", "Group", "default"]


def test_tryfirst_overrides_registration_order() -> None:
    class Early:
        @hookimpl(tryfirst=True)
        def alma_onelink_patron_group(self) -> Code:
            return Code(value="EARLY")

    assert policy_with(Early(), Group("LATE")).patron_group(alum()).value == "EARLY"


def test_purge_no_purge_date_is_an_answer_not_a_deferral() -> None:
    class Keep:
        @hookimpl
        def alma_onelink_purge_date(self) -> bool:
            return NO_PURGE_DATE

    policy = policy_with(Keep())
    assert policy.purge_date(alum(), expiry=date(2026, 7, 1)) is None
    assert "purge_date" not in policy.build_user(alum(), today=TODAY).to_alma()
    assert policy_with().purge_date(alum(), expiry=date(2026, 7, 1)) == date(2027, 7, 1)


# --- collected hooks ----------------------------------------------------------------------------


class Checks:
    @hookimpl
    def alma_onelink_eligibility(self, patron: Patron, today: date) -> Iterator[EligibilityIssue]:
        # A generator works too: the answer is read into a list once.
        yield EligibilityIssue.warn("check_id", f"Check {patron.first_name}'s photo ID on {today}.")
        yield EligibilityIssue.warn("check_id", "Check the address too.")
        if patron.has_active_netid:
            yield EligibilityIssue.warn("active_netid", "NetID still active: fine here.")


def test_eligibility_is_collected_from_every_plugin() -> None:
    issues = policy_with(Checks()).eligibility(alum(affiliation="nowhere"), today=TODAY)
    assert [i.code for i in issues] == ["unknown_affiliation", "check_id", "check_id"]
    assert issues[1].message == "Check Ada's photo ID on 2025-07-01."
    assert {i.source for i in issues} == {"default", "Checks"}


def test_a_code_reported_by_several_plugins_comes_from_the_first_asked() -> None:
    issues = policy_with(Checks()).eligibility(alum(has_active_netid=True), today=TODAY)
    netid = [i for i in issues if i.code == "active_netid"]
    assert len(netid) == 1
    assert netid[0].severity == "warn"  # the plugin's refinement replaced the default's block
    assert issues.ok


def test_blocking_issues_come_first() -> None:
    class Late:
        @hookimpl
        def alma_onelink_eligibility(self) -> list[EligibilityIssue]:
            return [EligibilityIssue.warn("w", "W"), EligibilityIssue.block("b", "B")]

    assert [i.code for i in policy_with(Late()).eligibility(alum(), today=TODAY)] == ["b", "w"]


def test_an_institution_list_of_affiliations_replaces_the_generic_one() -> None:
    class Offers:
        @hookimpl
        def alma_onelink_affiliations(self) -> list[Affiliation]:
            return [Affiliation("visitor", "Visitor"), Affiliation("alumni", "Our alumni")]

    class AddOn:
        @hookimpl
        def alma_onelink_affiliations(self) -> list[Affiliation]:
            return [Affiliation("alumni", "Shadowed"), Affiliation("retiree", "Retiree")]

    assert [a.code for a in policy_with().affiliations()] == ["alumni", "reciprocal", "former_affiliate", "community"]
    offered = policy_with(AddOn(), Offers()).affiliations()
    assert [(a.code, a.label) for a in offered] == [
        ("visitor", "Visitor"),
        ("alumni", "Our alumni"),
        ("retiree", "Retiree"),
    ]


class CountsAffiliationCalls:
    calls = 0

    @hookimpl
    def alma_onelink_affiliations(self) -> None:
        self.calls += 1


def _not_offered(policy: Policy) -> None:
    with pytest.raises(InputError):
        policy.affiliation("nowhere")


@pytest.mark.parametrize(
    "operation",
    [
        lambda policy: policy.build_user(alum(), today=TODAY),
        lambda policy: policy.eligibility(alum(), today=TODAY),
        lambda policy: policy.patron_type(alum()),
        lambda policy: policy.affiliation("alumni"),
        _not_offered,
    ],
    ids=["build_user", "eligibility", "patron_type", "affiliation", "affiliation-not-offered"],
)
def test_the_affiliations_are_asked_for_once_per_operation(operation: Callable[[Policy], object]) -> None:
    counter = CountsAffiliationCalls()
    policy = policy_with(counter)
    operation(policy)
    assert counter.calls == 1
    operation(policy)
    assert counter.calls == 2  # not cached: plugins may be registered on policy.manager later


def test_links_are_merged_and_the_first_asked_wins() -> None:
    class A:
        @hookimpl
        def alma_onelink_links(self) -> dict[str, str]:
            return {"my_account": "https://a.example/account", "help": "https://a.example/help"}

    class B:
        @hookimpl
        def alma_onelink_links(self) -> dict[str, str]:
            return {"my_account": "https://b.example/account"}

    assert policy_with(A(), B()).links() == {
        "my_account": "https://b.example/account",
        "help": "https://a.example/help",
    }


# --- the last look ------------------------------------------------------------------------------


class Barcode:
    @hookimpl
    def alma_onelink_prepare_user(self, user: User) -> None:
        user.user_identifier = [*user.user_identifier, UserIdentifier(id_type=Code(value="BARCODE"), value="B1")]


class Audit:
    seen: list[str]

    def __init__(self) -> None:
        self.seen = []

    @hookimpl(wrapper=True)
    def alma_onelink_prepare_user(self, user: User) -> Generator[None, list[None], list[None]]:
        self.seen.append(f"before: {user.identifier_values()}")
        result = yield
        self.seen.append(f"after: {user.identifier_values()}")
        return result


def test_every_plugin_has_a_last_look_and_a_wrapper_sees_the_result() -> None:
    audit = Audit()
    user = policy_with(audit, Barcode()).build_user(alum(notes="Met at the desk."), today=TODAY)
    assert user.identifier_values("BARCODE") == ["B1"]
    assert [n.note_text for n in user.user_note] == ["Met at the desk."]  # the default's last look
    assert audit.seen == ["before: []", "after: ['B1']"]


# --- what build_user guarantees whatever plugins do ----------------------------------------------


def _sets_password(user: User) -> None:
    user.password = "hunter22"


def _moves_primary_id(user: User) -> None:
    user.primary_id = "pdevil"


def _staff_record(user: User) -> None:
    user.record_type = Code(value="STAFF")


def _external_account(user: User) -> None:
    user.account_type = Code(value="EXTERNAL")


def _inactive(user: User) -> None:
    user.status = None


def _no_patron_type(user: User) -> None:
    user.user_statistic = []


def _other_patron_type(user: User) -> None:
    user.user_statistic[0].statistic_category = Code(value="PT_OTHER")  # changed in place


class PlainLastLook:
    def __init__(self, change: Callable[[User], None]) -> None:
        self.change = change

    @hookimpl
    def alma_onelink_prepare_user(self, user: User) -> None:
        self.change(user)


class OutermostWrapper(PlainLastLook):
    """New-style wrapper, tryfirst and registered last: it runs outside every other wrapper."""

    @hookimpl(wrapper=True, tryfirst=True)
    def alma_onelink_prepare_user(self, user: User) -> Generator[None, list[None], list[None]]:  # type: ignore[override]
        results = yield
        self.change(user)
        return results


class OldStyleWrapper(PlainLastLook):
    """Old-style hookwrapper, tryfirst: its code after ``yield`` runs after everything else."""

    @hookimpl(hookwrapper=True, tryfirst=True)
    def alma_onelink_prepare_user(self, user: User) -> Generator[None, object, None]:  # type: ignore[override]
        yield
        self.change(user)


@pytest.mark.parametrize("policy_name", ["default", "duke"])
@pytest.mark.parametrize("kind", [PlainLastLook, OutermostWrapper, OldStyleWrapper])
@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        (_sets_password, "password", "A plugin set a password on the new record for Ada Lovelace; OneLink "
                                     "accounts never have an Alma password"),
        (_moves_primary_id, "primary_id", "A plugin changed the new record's primary id to 'pdevil'; it must be "
                                          "Ada Lovelace's OneLink ID '0123456'"),
        (_staff_record, "record_type", "A plugin changed the new record's record_type to STAFF; a OneLink "
                                       "account's record_type is PUBLIC."),
        (_external_account, "account_type", "A plugin changed the new record's account_type to EXTERNAL; a "
                                            "OneLink account's account_type is INTERNAL."),
        (_inactive, "status", "A plugin changed the new record's status to None; a OneLink account's status is "
                              "ACTIVE."),
        (_no_patron_type, "user_statistic", "A plugin removed or changed the Patron type in the new record's "
                                            "user_statistic; the policy decided PATRON_TYPE PT_ALUMNI."),
        (_other_patron_type, "user_statistic", "A plugin removed or changed the Patron type"),
    ],
)  # fmt: skip
def test_the_record_rules_hold_whatever_plugins_do(
    policy_name: str, kind: type[PlainLastLook], change: Callable[[User], None], field: str, says: str
) -> None:
    policy = load_policy(policy_name, plugins=[kind(change)], addons=False)
    with pytest.raises(PolicyError) as caught:
        policy.build_user(alum(), today=TODAY)
    message = str(caught.value)
    assert message.startswith(says)
    assert field in message
    suspects = message.split("Plugins that implement alma_onelink_prepare_user: ")[1]
    assert kind.__name__ in suspects  # the plugins that could have done it are named
    assert caught.value.hook == "alma_onelink_prepare_user"


def test_a_record_that_keeps_the_rules_may_gain_more() -> None:
    class Adds:
        @hookimpl
        def alma_onelink_prepare_user(self, user: User) -> None:
            extra = UserStatistic(category_type=Code(value="SCHOOL"), statistic_category=Code(value="LAW"))
            user.user_statistic = [extra, *user.user_statistic]

    user = policy_with(Adds()).build_user(alum(), today=TODAY)
    assert [str(s.statistic_category) for s in user.user_statistic] == ["LAW", "PT_ALUMNI"]


def test_a_blank_password_is_left_out_of_the_record() -> None:
    class Blank:
        @hookimpl
        def alma_onelink_prepare_user(self, user: User) -> None:
            user.password = ""

    body = policy_with(Blank()).build_user(alum(), today=TODAY).to_alma()
    assert "password" not in body


# --- a plugin that breaks its contract ----------------------------------------------------------


class Wrong:
    """Answers ``hook`` with ``answer``, whatever the hook promises."""

    def __init__(self, hook: str, answer: object) -> None:
        def impl() -> object:
            return answer

        setattr(self, hook, hookimpl(impl))


@pytest.mark.parametrize(
    ("hook", "answer", "expected", "call"),
    [
        ("alma_onelink_patron_group", "ALUM", 'a Code with a value, like Code(value="ALUM")', "patron_group"),
        ("alma_onelink_patron_group", Code(value=" "), "a Code with a value", "patron_group"),
        ("alma_onelink_patron_type", UserStatistic(), "category_type and statistic_category", "patron_type"),
        ("alma_onelink_expiry_date", "2026-07-01", "a datetime.date", "expiry_date"),
        ("alma_onelink_purge_date", "2027-07-01", "a datetime.date, NO_PURGE_DATE, or None", "purge_date"),
        ("alma_onelink_affiliations", Affiliation("a", "A"), "a list of Affiliation", "affiliations"),
        ("alma_onelink_affiliations", ["alumni"], "a list of Affiliation", "affiliations"),
        ("alma_onelink_eligibility", ["blocked!"], "a list of EligibilityIssue", "eligibility"),
        ("alma_onelink_validate_onelink_id", False, "a message (a non-blank str)", "validate_onelink_id"),
        ("alma_onelink_links", {"my_account": 42}, "a dict of str keys to str URLs", "links"),
        ("alma_onelink_prepare_user", User(), "None (change `user` in place)", "build_user"),
    ],
)
def test_a_wrong_answer_names_the_plugin_and_the_hook(hook: str, answer: object, expected: str, call: str) -> None:
    policy = policy_with(Wrong(hook, answer))
    calls: dict[str, Callable[[], object]] = {
        "patron_group": lambda: policy.patron_group(alum()),
        "patron_type": lambda: policy.patron_type(alum()),
        "expiry_date": lambda: policy.expiry_date(alum(), today=TODAY),
        "purge_date": lambda: policy.purge_date(alum(), expiry=date(2026, 7, 1)),
        "affiliations": policy.affiliations,
        "eligibility": lambda: policy.eligibility(alum(), today=TODAY),
        "validate_onelink_id": lambda: policy.validate_onelink_id("0123456"),
        "links": policy.links,
        "build_user": lambda: policy.build_user(alum(), today=TODAY),
    }
    with pytest.raises(PolicyError) as caught:
        calls[call]()
    assert caught.value.plugin == "Wrong"
    assert caught.value.hook == hook
    assert str(caught.value).startswith(f"Plugin 'Wrong' returned {repr(answer)[:40]}")
    assert f"({type(answer).__name__}) from {hook}; it must return " in str(caught.value)
    assert expected in str(caught.value)


def test_a_purge_date_before_expiry_names_the_plugin() -> None:
    class Hasty:
        @hookimpl
        def alma_onelink_purge_date(self) -> date:
            return date(2026, 1, 1)

    with pytest.raises(PolicyError, match="Plugin 'Hasty' answered alma_onelink_purge_date with 2026-01-01") as caught:
        policy_with(Group(None), Hasty()).purge_date(alum(), expiry=date(2026, 7, 1))
    assert (caught.value.plugin, caught.value.hook) == ("Hasty", "alma_onelink_purge_date")


def test_a_plugin_that_raises_is_named() -> None:
    class Broken:
        @hookimpl
        def alma_onelink_expiry_date(self, patron: Patron) -> date:
            raise KeyError(patron.affiliation)

    with pytest.raises(PolicyError, match=r"^Plugin 'Broken' failed in alma_onelink_expiry_date: KeyError: 'alumni'$"):
        policy_with(Broken()).expiry_date(alum(), today=TODAY)


def test_input_error_from_a_plugin_reaches_the_caller_unchanged() -> None:
    class Picky:
        @hookimpl
        def alma_onelink_patron_group(self) -> Code:
            raise InputError("Former affiliates need prior_role.")

    with pytest.raises(InputError, match=r"^Former affiliates need prior_role\.$"):
        policy_with(Picky()).patron_group(alum())


def test_a_wrapper_that_raises_is_named_and_inner_errors_pass_through() -> None:
    class Boom:
        @hookimpl(wrapper=True)
        def alma_onelink_patron_group(self) -> Generator[None, Code, Code]:
            yield
            raise RuntimeError("audit log full")

    with pytest.raises(PolicyError, match="Plugin 'Boom' failed in alma_onelink_patron_group: RuntimeError"):
        policy_with(Boom()).patron_group(alum())

    class Inner:
        @hookimpl
        def alma_onelink_patron_group(self) -> Code:
            raise ValueError("bad table")

    with pytest.raises(PolicyError, match="Plugin 'Inner' failed") as caught:
        policy_with(Inner(), Boom()).patron_group(alum())
    assert caught.value.plugin == "Inner"


def test_a_wrapper_must_be_a_generator() -> None:
    class NotAGenerator:
        @hookimpl(wrapper=True)
        def alma_onelink_prepare_user(self, user: User) -> None:
            user.first_name = "X"

    with pytest.raises(PolicyError, match="must be a generator function that yields exactly once"):
        policy_with(NotAGenerator())


def test_every_hook_has_an_answer_check() -> None:
    from alma_onelink.policy import _guard, hookspecs

    specs = {name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "alma_onelink_spec")}
    assert set(_guard._CHECKS) == specs


def test_a_wrapper_answer_is_checked_too() -> None:
    class Rewrites:
        @hookimpl(wrapper=True)
        def alma_onelink_patron_group(self) -> Generator[None, Code, str]:
            yield
            return "ALUM"

    with pytest.raises(PolicyError, match="Plugin 'Rewrites' returned 'ALUM'"):
        policy_with(Rewrites()).patron_group(alum())


# --- loading plugin objects ---------------------------------------------------------------------


def test_a_misspelled_hook_fails_loudly_at_load_time() -> None:
    class Typo:
        @hookimpl
        def alma_onelink_patron_grup(self) -> Code:
            return Code(value="X")

    with pytest.raises(PolicyError) as caught:
        policy_with(Typo())
    assert "Plugin 'Typo' implements 'alma_onelink_patron_grup', which is not an alma_onelink hook." in str(
        caught.value
    )
    assert "Did you mean 'alma_onelink_patron_group'?" in str(caught.value)


def test_an_argument_the_spec_does_not_offer_fails_at_load_time() -> None:
    class Greedy:
        @hookimpl
        def alma_onelink_patron_group(self, patron: Patron, alma: object) -> Code:
            return Code(value="X")

    with pytest.raises(PolicyError, match=r"Plugin 'Greedy' cannot be used: .*alma"):
        policy_with(Greedy())


def test_modules_classes_and_instances_are_all_plugins() -> None:
    module = types.ModuleType("site_rules")

    @hookimpl
    def alma_onelink_patron_group() -> Code:
        return Code(value="MODULE")

    module.alma_onelink_patron_group = alma_onelink_patron_group  # type: ignore[attr-defined]

    class Made:
        made = 0

        def __init__(self) -> None:
            Made.made += 1

        @hookimpl
        def alma_onelink_links(self) -> dict[str, str]:
            return {"help": "https://example.org/help"}

    policy = policy_with(Made, module)
    assert Made.made == 1
    assert policy.patron_group(alum()).value == "MODULE"
    assert policy.links() == {"help": "https://example.org/help"}
    assert policy.implemented_hooks("site_rules") == {"alma_onelink_patron_group"}
    assert policy.plugin("site_rules") is module


def test_each_load_builds_its_own_plugin_manager() -> None:
    first, second = policy_with(Group("ONE")), policy_with()
    assert first.manager is not second.manager
    assert second.patron_group(alum()).value == "ALUM"


def test_answers_are_copies_a_caller_may_change() -> None:
    shared = UserStatistic(category_type=Code(value="PATRON_TYPE"), statistic_category=Code(value="PT_X"))

    class Constant:
        @hookimpl
        def alma_onelink_patron_type(self) -> UserStatistic:
            return shared

    policy = policy_with(Constant())
    policy.patron_type(alum()).statistic_category = Code(value="CHANGED")
    assert policy.patron_type(alum()).statistic_category == Code(value="PT_X")
