"""The procedure's cases agree on every run, and each outcome shows staff only what concerns it.

A recent graduate is blocked on the first run and the next, with or without an Alma account; a
policy answer that makes no sense today (an expiry date not after it) is a block, never an
exception; the renderings of every outcome leave out the warnings about other outcomes, say the
outcome once, put the patron's lines under "Tell the patron", and show Alma calls only when verbose.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from alma_onelink import AlmaClient, Donation, Patron
from alma_onelink.cli._patron_opts import FIELDS
from alma_onelink.engine import ApiCall, Step
from alma_onelink.errors import NotFoundError
from alma_onelink.models import Code, User, UserIdentifier
from alma_onelink.onelink import Outcome, RegistrationResult, register_many, register_patron
from alma_onelink.policy import (
    EXPIRY_NOT_AFTER_TODAY,
    REGISTRATION_OUTCOMES,
    Affiliation,
    EligibilityIssue,
    Policy,
    fact_label,
    hookimpl,
    load_policy,
)
from alma_onelink.policy._facts import FACTS
from alma_onelink.sandbox import Sandbox

NOW = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)
TODAY: date = NOW.date()


def no_sleep(seconds: float) -> None:
    """Nothing in these tests waits."""


def rendered(renderable: Any) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined, no-any-return]


@pytest.fixture(autouse=True)
def _shipped_duke_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALMA_ONELINK_DUKE_CONFIG", raising=False)


@pytest.fixture
def alma() -> Iterator[AlmaClient]:
    with (
        Sandbox.demo(now=lambda: NOW, per_second_limit=None, sleep=no_sleep) as sandbox,
        AlmaClient.sandbox(sandbox, rate_limit=None, sleep=no_sleep) as client,
    ):
        yield client


@pytest.fixture
def duke() -> Policy:
    return load_policy("duke")


def graduate(onelink_id: str, first: str, last: str, **facts: Any) -> Patron:
    return Patron(onelink_id=onelink_id, first_name=first, last_name=last, affiliation="alumni", **facts)


WRITES = ("POST", "PUT", "DELETE")


# --- 1. a recent graduate waits for the NetID, account or not, on every run -----------------------


@pytest.mark.parametrize(
    ("patron", "account"),
    [
        (graduate("0777001", "Ann", "Newgrad", graduated_on=TODAY - timedelta(days=150)), None),
        # Léa's NetID-era account holds her Duke Unique ID; she graduated 120 days before the sandbox was seeded.
        (graduate("1045678", "Léa", "Kowalczyk", graduated_on=TODAY - timedelta(days=120)), "kl234"),
    ],
    ids=["no-account", "with-an-old-account"],
)
def test_a_recent_graduate_is_blocked_on_every_run_whether_or_not_an_account_exists(
    alma: AlmaClient, duke: Policy, tmp_path: Path, patron: Patron, account: str | None
) -> None:
    journal = tmp_path / "journal.jsonl"
    runs = [register_patron(alma, duke, patron, today=TODAY, journal=journal, staff="t") for _ in range(3)]
    come_back = (patron.graduated_on or TODAY).replace(year=(patron.graduated_on or TODAY).year + 1).isoformat()
    for result in runs:
        assert result.outcome is Outcome.BLOCKED
        assert [issue.code for issue in result.blocking] == ["recent_alum"]
        assert not [call for call in result.calls if call.method in WRITES]  # nothing written, ever
        assert f"register on or after {come_back}" in result.reason
        assert f"come back on or after {come_back}" in (result.blocking[0].hint or "")
    assert {r.headline() for r in runs} == {runs[0].headline()}
    assert {r.blocking[0].hint for r in runs} == {runs[0].blocking[0].hint}
    assert [c.primary_id for c in runs[0].candidates] == ([account] if account else [])
    with pytest.raises(NotFoundError):  # no OneLink account was created on any run
        alma.users.get(patron.onelink_id, user_id_type="primary_id")


def test_the_recent_graduate_message_does_not_depend_on_the_accounts_found(duke: Policy) -> None:
    patron = graduate("0777001", "Ann", "Newgrad", graduated_on=date(2026, 1, 15))
    old = User(
        primary_id="an99",
        first_name="Ann",
        last_name="Newgrad",
        user_identifier=[UserIdentifier(id_type=Code(value="DUKE_UNIQUE_ID"), value="0777001")],
    )
    alone = duke.eligibility(patron, existing=[], today=TODAY).blocking
    found = duke.eligibility(patron, existing=[old], today=TODAY).blocking
    assert alone == found
    assert [(i.code, i.severity) for i in alone] == [("recent_alum", "block")]


# --- 2. a policy answer that makes no sense today is a block, in the policy's words ----------------


def lapsed_friend() -> Patron:
    return Patron(
        onelink_id="0777002",
        first_name="Fred",
        last_name="Friend",
        affiliation="friends",
        donation=Donation(amount=Decimal("200"), given_on=date(2024, 1, 1)),
    )


def test_a_lapsed_gift_is_dukes_membership_lapsed_block_and_nothing_else(duke: Policy) -> None:
    issues = duke.eligibility(lapsed_friend(), today=TODAY)
    assert [(i.code, i.severity, i.source) for i in issues] == [("membership_lapsed", "block", "duke")]
    [lapsed] = issues
    assert "covered Friends of the Library membership until 2025-01-01, which has passed" in lapsed.message
    assert "A new gift renews the membership" in (lapsed.hint or "")
    assert "--donation-amount" in (lapsed.hint or "")
    assert "--donation-date" in (lapsed.hint or "")


def test_registering_a_lapsed_gift_is_blocked_not_an_input_error(
    alma: AlmaClient, duke: Policy, tmp_path: Path
) -> None:
    result = register_patron(alma, duke, lapsed_friend(), today=TODAY, journal=tmp_path / "j.jsonl", staff="t")
    assert result.outcome is Outcome.BLOCKED
    assert [issue.code for issue in result.blocking] == ["membership_lapsed"]
    assert not [call for call in result.calls if call.method in WRITES]
    check = result.steps[0]
    assert (check.name, check.summary) == (
        "check",
        "OneLink ID 0777002 is valid for the 'duke' policy; friends → group DUKE_FRIENDS",
    )
    assert "A new gift renews the membership" in result.instructions[0]


def test_a_lapsed_gift_in_a_batch_is_blocked_and_the_batch_goes_on(
    alma: AlmaClient, duke: Policy, tmp_path: Path
) -> None:
    fresh = lapsed_friend().model_copy(
        update={"onelink_id": "0777003", "donation": Donation(amount=Decimal("200"), given_on=TODAY)}
    )
    results = list(register_many(alma, duke, [lapsed_friend(), fresh], today=TODAY, journal=tmp_path / "j.jsonl"))
    by_id = {result.patron.onelink_id: result for result in results}
    assert by_id["0777002"].outcome is Outcome.BLOCKED
    assert [issue.code for issue in by_id["0777002"].blocking] == ["membership_lapsed"]
    assert by_id["0777003"].outcome is Outcome.CREATED


class Backdated:
    """A plugin whose expiry date is always yesterday: an answer that makes no sense today."""

    @hookimpl(tryfirst=True)
    def alma_onelink_expiry_date(self, today: date) -> date:
        return today - timedelta(days=1)


@pytest.mark.parametrize("name", ["default", "duke"])
def test_any_expiry_not_after_today_blocks_for_every_affiliation_naming_the_plugin(name: str) -> None:
    policy = load_policy(name, plugins=[Backdated()])
    facts: dict[str, Any] = {
        "graduated_on": date(2015, 5, 10),
        "home_institution": "Yale" if name == "duke" else "Elsewhere",
        "prior_role": "staff",
        "donation": Donation(amount=Decimal("100"), given_on=TODAY),
        "address": {"line1": "1 Main St", "city": "Durham"},
    }
    for affiliation in policy.affiliations():
        if affiliation.code == "trln":
            facts["home_institution"] = "UNC"
        patron = Patron(
            onelink_id="0123456",
            first_name="Pat",
            last_name="Devil",
            affiliation=affiliation.code,
            **{fact: facts[fact] for fact in affiliation.requires},
        )
        issues = policy.eligibility(patron, today=TODAY)
        assert [(i.code, i.severity, i.source) for i in issues.blocking] == [
            (EXPIRY_NOT_AFTER_TODAY, "block", "Backdated")
        ], affiliation.code
        assert f"would expire on {(TODAY - timedelta(days=1)).isoformat()}" in issues.blocking[0].message
        facts["home_institution"] = "Yale" if name == "duke" else "Elsewhere"


def test_the_policys_own_block_comes_first_so_the_words_are_its_own() -> None:
    class Backdating:
        @hookimpl(tryfirst=True)
        def alma_onelink_expiry_date(self, today: date) -> date:
            return today

        @hookimpl
        def alma_onelink_eligibility(self) -> list[EligibilityIssue]:
            return [EligibilityIssue.block("season_over", "Cards are issued from September.")]

    policy = load_policy("default", plugins=[Backdating()])
    patron = Patron(onelink_id="x1", first_name="A", last_name="B", affiliation="community")
    assert [i.code for i in policy.eligibility(patron, today=TODAY)] == ["season_over"]


# --- 3. outcomes show only what concerns them --------------------------------------------------------

ACCOUNT_EXISTS = EligibilityIssue.warn("account_exists", "An Alma account already exists.", applies_to=("renewed",))
ID_IN_USE = EligibilityIssue.warn(
    "identifier_in_use", "The workflow takes the identifier off jd123.", applies_to=("needs_merge", "failed")
)
EVERYWHERE = EligibilityIssue.warn("outside_durham", "The address is in Chapel Hill.", "Check proof of residence.")
RECENT = EligibilityIssue.block("recent_alum", "Graduated on 2026-01-15; register on or after 2027-01-15.", "Wait.")

SHOWN: dict[Outcome, set[str]] = {
    Outcome.CREATED: {"outside_durham"},
    Outcome.NEEDS_MERGE: {"outside_durham", "identifier_in_use"},
    Outcome.RENEWED: {"outside_durham", "account_exists"},
    Outcome.ALREADY_REGISTERED: {"outside_durham"},
    Outcome.BLOCKED: {"outside_durham", "recent_alum"},
    Outcome.FAILED: {"outside_durham", "identifier_in_use"},
    Outcome.DEFERRED: {"outside_durham"},  # not started: only what concerns every outcome
}


def result_of(outcome: Outcome, **fields: Any) -> RegistrationResult:
    patron = Patron(onelink_id="0456789", first_name="Jane", last_name="Doe", affiliation="community")
    issues = [ACCOUNT_EXISTS, ID_IN_USE, EVERYWHERE] + ([RECENT] if outcome is Outcome.BLOCKED else [])
    step = Step("find", "Search Alma first.", "found jd123", calls=[ApiCall("GET", "/users/0456789", "ok", 0.0123)])
    step.seconds = 0.0134
    defaults: dict[str, Any] = {
        "reason": outcome.value.replace("_", " "),
        "issues": issues,
        "steps": [step],
        "instructions": ["Sign in to My Account with your OneLink account."],
        "staff_notes": ["Check whether jd9 is hers."],
    }
    return RegistrationResult(outcome=outcome, patron=patron, **{**defaults, **fields})


def every_rendering(result: RegistrationResult) -> dict[str, str]:
    return {
        "str": str(result),
        "rich": rendered(result),
        "html": result._repr_html_(),
        "record": str(result.to_record()["issues"]),
    }


@pytest.mark.parametrize("outcome", list(Outcome), ids=[o.value for o in Outcome])
def test_every_rendering_of_every_outcome_shows_only_the_issues_that_concern_it(outcome: Outcome) -> None:
    result = result_of(outcome)
    assert {i.code for i in [*result.blocking, *result.warnings]} == SHOWN[outcome]
    assert {i.code for i in result.issues} >= SHOWN[outcome]  # every issue is kept
    for name, text in every_rendering(result).items():
        for code in ("account_exists", "identifier_in_use", "outside_durham", "recent_alum"):
            assert (code in text) == (code in SHOWN[outcome]), (name, code)
    shown = {i["code"]: i["concerns_outcome"] for i in result.to_dict()["issues"]}
    assert {code for code, concerns in shown.items() if concerns} == SHOWN[outcome]


def test_an_already_registered_patron_is_not_warned_that_the_account_exists(
    alma: AlmaClient, duke: Policy, tmp_path: Path
) -> None:
    ada = Patron(onelink_id="0345678", first_name="Ada", last_name="Byron", affiliation="trln", home_institution="UNC")
    journal = tmp_path / "journal.jsonl"
    register_patron(alma, duke, ada, today=TODAY, journal=journal, staff="t")
    again = register_patron(alma, duke, ada, today=TODAY, journal=journal, staff="t")
    assert again.outcome is Outcome.ALREADY_REGISTERED
    assert "account_exists" in [i.code for i in again.issues]
    assert again.warnings == []
    for text in every_rendering(again).values():
        assert "already exists" not in text


def test_a_blocked_patron_is_not_told_what_the_workflow_would_write(
    alma: AlmaClient, duke: Policy, tmp_path: Path
) -> None:
    lea = graduate("1045678", "Léa", "Kowalczyk", graduated_on=TODAY - timedelta(days=120))
    result = register_patron(alma, duke, lea, today=TODAY, journal=tmp_path / "j.jsonl", staff="t")
    assert result.outcome is Outcome.BLOCKED
    assert "identifier_in_use" in [i.code for i in result.issues]
    for text in every_rendering(result).values():
        assert "takes the identifier" not in text
        assert "identifier_in_use" not in text


def test_applies_to_names_outcomes_only() -> None:
    assert set(REGISTRATION_OUTCOMES) == {o.value for o in Outcome}
    with pytest.raises(ValueError, match="'merged', not an outcome"):
        EligibilityIssue.warn("x", "y", applies_to=("merged",))
    with pytest.raises(ValueError, match="tuple of outcomes"):
        EligibilityIssue("x", "y", "warn", applies_to="created")  # type: ignore[arg-type]
    issue = EligibilityIssue.warn("x", "y", applies_to=["created"])
    assert issue.applies_to == ("created",)
    assert issue.concerns(Outcome.CREATED)
    assert not issue.concerns("blocked")
    assert EligibilityIssue.warn("x", "y").concerns("failed")


# --- 6. the renderings: the outcome said once, a "Tell the patron" heading, calls only when verbose ----


@pytest.mark.parametrize(
    ("outcome", "reason", "headline_end"),
    [
        (Outcome.CREATED, "created", ": CREATED"),
        (Outcome.RENEWED, "renewed: expired 2026-01-01", ": RENEWED — expired 2026-01-01"),
        (Outcome.ALREADY_REGISTERED, "Already registered.", ": ALREADY REGISTERED"),
        (Outcome.NEEDS_MERGE, "created; merge jd123 into it", ": NEEDS MERGE — created; merge jd123 into it"),
        (Outcome.FAILED, "the create was refused", ": FAILED — the create was refused"),
        (Outcome.CREATED, "createdness", ": CREATED — createdness"),  # a longer word is not the outcome
    ],
)
def test_the_headline_says_the_outcome_once(outcome: Outcome, reason: str, headline_end: str) -> None:
    result = result_of(outcome, reason=reason)
    assert result.headline().endswith(headline_end)
    assert str(result).splitlines()[0] == result.headline()
    assert result.headline() in rendered(result)


def test_the_patrons_lines_come_under_tell_the_patron_and_staff_lines_apart() -> None:
    result = result_of(Outcome.CREATED)
    text = str(result)
    tell = text.index("Tell the patron:")
    assert text.index("  - Sign in to My Account with your OneLink account.") > tell
    assert text.index("For staff:\n  - Check whether jd9 is hers.") > text.index("  - Sign in to My Account")
    rich_text = rendered(result)
    assert rich_text.index("Tell the patron:") < rich_text.index("Sign in to My Account")
    assert rich_text.index("Sign in to My Account") < rich_text.index("For staff:") < rich_text.index("Check whether")
    page = result._repr_html_()
    assert page.index("Tell the patron:") < page.index("For staff:") < page.index("Check whether jd9 is hers.")
    data = result.to_dict()
    assert data["instructions"] == ["Sign in to My Account with your OneLink account."]
    assert data["staff_notes"] == ["Check whether jd9 is hers."]
    assert "Next:" in str(result_of(Outcome.BLOCKED, instructions=["Come back later."]))


def test_alma_calls_and_milliseconds_only_when_verbose() -> None:
    result = result_of(Outcome.CREATED)
    for quiet in (str(result), rendered(result), result.to_text(), rendered(result.render())):
        assert "GET /users/0456789" not in quiet
        assert " ms" not in quiet
        assert "✓ find: found jd123" in quiet or "found jd123" in quiet
    verbose_text = result.to_text(verbose=True)
    assert "✓ find: found jd123 [GET /users/0456789 → ok (12 ms)] 13 ms" in verbose_text
    verbose_rich = rendered(result.render(verbose=True))
    assert "GET /users/0456789" in verbose_rich
    assert "13" in verbose_rich


def test_a_blocking_message_in_the_headline_is_not_repeated_below_it() -> None:
    result = result_of(Outcome.BLOCKED, reason=RECENT.message, instructions=["Wait."])
    text = str(result)
    assert text.count(RECENT.message) == 1
    assert "  - recent_alum\n    What to do: Wait." in text
    assert "Next:" not in text  # the hint is the next step, shown once under its issue


def test_a_journal_that_could_not_be_written_is_in_every_rendering() -> None:
    trouble = "the journal line of the create could not be written (No space left on device)"
    result = result_of(Outcome.CREATED, journal_error=trouble)
    for name in ("str", "rich", "html"):
        assert trouble in every_rendering(result)[name], name
    assert result.to_dict()["journal_error"] == trouble
    assert "could not be written" not in str(result_of(Outcome.CREATED))


# --- 4. what `policies` shows: limits and unset links ---------------------------------------------------


def test_duke_affiliations_carry_their_limits(duke: Policy) -> None:
    limits = {a.code: dict(a.limits) for a in duke.affiliations()}
    assert limits["friends"] == {"minimum gift": "$100.00", "membership term": "a year from the gift date"}
    assert limits["alumni"] == {
        "wait after graduation": "a year, until the NetID is deactivated",
        "account term": "a year from registration",
    }
    assert limits["trln"]["home institutions"] == "UNC-Chapel Hill, NC State, NC Central"
    assert limits["former_affiliate"]["former roles"] == "faculty, staff, sponsored"
    assert limits["community"]["residence"] == "Durham (staff check proof of residence)"


def test_limits_follow_the_site_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[affiliations.friends]\nminimum_gift = "250"\nexpiry_months = 24\n')
    monkeypatch.setenv("ALMA_ONELINK_DUKE_CONFIG", str(site))
    friends = load_policy("duke").affiliation("friends")
    assert dict(friends.limits) == {"minimum gift": "$250.00", "membership term": "2 years from the gift date"}


def test_limits_are_read_only_text() -> None:
    affiliation = Affiliation("friends", "Friends", limits={"minimum gift": "$100"})
    assert dict(affiliation.limits) == {"minimum gift": "$100"}
    with pytest.raises(TypeError):
        affiliation.limits["minimum gift"] = "$1"  # type: ignore[index]
    with pytest.raises(ValueError, match="each limit is a label and a text"):
        Affiliation("friends", "Friends", limits={"minimum gift": " "})
    assert hash(affiliation) == hash(Affiliation("friends", "Friends", limits={"other": "x"}))
    assert dict(Affiliation("x", "X").limits) == {}


def test_dukes_my_account_link_is_unset_until_configured_and_says_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, duke: Policy
) -> None:
    assert "my_account" not in duke.links()
    unset = duke.unset_links()
    assert list(unset) == ["my_account"]
    assert "My Account" in unset["my_account"]
    assert "[insert link to My accounts]" in unset["my_account"]
    assert "[links]" in unset["my_account"]
    assert "ALMA_ONELINK_DUKE_CONFIG" in unset["my_account"]

    site = tmp_path / "site.toml"
    site.write_text("[affiliations.friends]\nminimum_gift = '150'\n")
    monkeypatch.setenv("ALMA_ONELINK_DUKE_CONFIG", str(site))
    assert str(site) in load_policy("duke").unset_links()["my_account"]  # the file to add it to

    site.write_text('[links]\nmy_account = "https://duke.example/account"\n')
    configured = load_policy("duke")
    assert configured.links()["my_account"] == "https://duke.example/account"
    assert configured.unset_links() == {}


def test_an_unset_my_account_link_is_a_note_for_staff_never_a_line_for_the_patron(
    alma: AlmaClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, duke: Policy
) -> None:
    patron = Patron(onelink_id="0777004", first_name="Una", last_name="Set", affiliation="trln", home_institution="UNC")
    result = register_patron(alma, duke, patron, today=TODAY, journal=tmp_path / "j.jsonl", staff="t")
    assert result.outcome is Outcome.CREATED
    assert result.staff_notes == [duke.unset_links()["my_account"]]
    assert not any("[insert link" in line or "not set" in line for line in result.instructions)
    assert result.instructions[0].startswith("Sign in to the library's My Account with your OneLink account")
    text = str(result)
    assert text.index("Tell the patron:") < text.index("For staff:") < text.index("[insert link to My accounts]")

    site = tmp_path / "site.toml"
    site.write_text('[links]\nmy_account = "https://duke.example/account"\n')
    monkeypatch.setenv("ALMA_ONELINK_DUKE_CONFIG", str(site))
    again = register_patron(alma, load_policy("duke"), patron, today=TODAY, journal=tmp_path / "j.jsonl", staff="t")
    assert again.outcome is Outcome.ALREADY_REGISTERED
    assert again.staff_notes == []
    assert "My Account at https://duke.example/account" in again.instructions[0]


def test_the_default_policy_leaves_every_well_known_link_unset() -> None:
    unset = load_policy("default").unset_links()
    assert list(unset) == ["onelink_registration", "onelink_sign_in", "self_service", "my_account"]
    assert all("not set" in sentence for sentence in unset.values())


def test_a_plugin_that_gives_a_link_wins_over_one_that_says_it_is_unset() -> None:
    class Site:
        @hookimpl
        def alma_onelink_links(self) -> dict[str, str]:
            return {"my_account": "https://library.example.edu/account", "self_service": " "}

    policy = load_policy("duke", plugins=[Site()])
    assert policy.links()["my_account"] == "https://library.example.edu/account"
    assert "my_account" not in policy.unset_links()
    assert policy.links()["self_service"] == "https://idms-web-selfservice.oit.duke.edu/"  # blank is not given


# --- 5. staff read the command's words ---------------------------------------------------------------


def test_every_fact_names_a_flag_the_command_has() -> None:
    flags = {field.flag for field in FIELDS}
    for name, (_, named) in FACTS.items():
        assert set(named) <= flags, name
    assert fact_label("donation.given_on") == "the gift date (--donation-date)"
    assert fact_label("home_institution") == "the home institution (--home-institution)"
