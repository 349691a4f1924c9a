"""The Duke settings: shipped defaults, the ALMA_ONELINK_DUKE_CONFIG override, and clear errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from alma_onelink_duke import CONFIG_ENV, DukeConfigError, DukePolicy, load_config
from alma_onelink_duke.config import _merge_settings

from alma_onelink.policy import Patron, PolicyError, load_policy

TODAY = date(2025, 7, 1)


def applicant(affiliation: str, **facts: object) -> Patron:
    return Patron(onelink_id="0123456", first_name="Pat", last_name="Devil", affiliation=affiliation, **facts)


def alum() -> Patron:
    return applicant("alumni", graduated_on="2015-05-10")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text)
    return path


def test_the_shipped_codes_are_the_documented_placeholders() -> None:
    config = load_config(environ={})
    assert {code: a.user_group for code, a in config.affiliations.items()} == {
        "alumni": "DUKE_ALUMNI",
        "trln": "DUKE_TRLN",
        "borrowdirect": "DUKE_BORROWDIRECT",
        "friends": "DUKE_FRIENDS",
        "former_affiliate": "DUKE_FORMER_AFFILIATE",
        "community": "DUKE_COMMUNITY",
    }
    assert config.affiliations["former_affiliate"].patron_type_by_role == {
        "faculty": "PT_FORMER_FACULTY",
        "staff": "PT_FORMER_STAFF",
        "sponsored": "PT_FORMER_SPONSORED",
    }
    assert config.codes.patron_type_category == "PATRON_TYPE"
    assert config.links["my_account"] == ""


def test_a_site_file_overrides_only_what_it_sets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = write(
        tmp_path,
        """
        [codes]
        patron_type_category = "Patron type"

        [affiliations.alumni]
        user_group = "ALUMNI"

        [links]
        my_account = "https://duke.example/account"
        """,
    )
    monkeypatch.setenv(CONFIG_ENV, str(site))
    policy = load_policy("duke")  # the file is read when the policy loads, not at import
    assert policy.patron_group(alum()).value == "ALUMNI"
    assert str(policy.patron_type(alum()).category_type) == "Patron type"
    assert str(policy.patron_type(alum()).statistic_category) == "PT_ALUMNI"  # untouched: shipped value
    assert policy.links()["my_account"] == "https://duke.example/account"
    assert policy.links()["onelink_sign_in"] == "https://accounts.oit.duke.edu/onelink/sign_in"


def test_a_site_file_can_add_an_affiliation(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
            [affiliations.visiting_scholar]
            label = "Visiting scholar"
            requires = ["home_institution"]
            user_group = "DUKE_VISITOR"
            patron_type = "PT_VISITOR"
            expiry_months = 6
            purge_after_months = false
            """,
        )
    )
    policy = load_policy("default", plugins=[DukePolicy(config)], addons=False)
    scholar = applicant("visiting_scholar", home_institution="Oxford")
    assert policy.affiliations()[-1].code == "visiting_scholar"
    assert policy.patron_group(scholar).value == "DUKE_VISITOR"
    assert policy.expiry_date(scholar, today=TODAY) == date(2026, 1, 1)
    assert policy.purge_date(scholar, expiry=date(2026, 1, 1)) is None
    assert "purge_date" not in policy.build_user(scholar, today=TODAY).to_alma()
    assert policy.eligibility(scholar, today=TODAY) == []


def test_a_site_expiry_on_replaces_the_shipped_expiry_months(tmp_path: Path) -> None:
    # The shipped friends sets expiry_months = 12; a site file that sets expiry_on means "instead".
    config = load_config(write(tmp_path, '[affiliations.friends]\nexpiry_on = "12-31"\n'))
    friends = config.affiliations["friends"]
    assert (friends.expiry_on, friends.expiry_months) == ("12-31", None)
    assert friends.expiry_on is not None
    assert (friends.expiry_on.month, friends.expiry_on.day) == (12, 31)  # read once, when the settings load
    policy = load_policy("default", plugins=[DukePolicy(config)], addons=False)
    gift = applicant("friends", donation={"amount": "100", "given_on": "2025-06-15"})
    assert policy.expiry_date(gift, today=TODAY) == date(2025, 12, 31)  # the next 31 December after the gift


@pytest.mark.parametrize(
    ("below", "above", "merged"),
    [
        ({"expiry_months": 12, "label": "F"}, {"expiry_on": "06-30"}, {"expiry_on": "06-30", "label": "F"}),
        ({"expiry_on": "06-30", "label": "F"}, {"expiry_months": 3}, {"expiry_months": 3, "label": "F"}),
        ({"expiry_months": 12}, {"label": "G"}, {"expiry_months": 12, "label": "G"}),
        # Both in one file stays both, so validation reports it.
        ({"expiry_months": 12}, {"expiry_on": "06-30", "expiry_months": 3}, {"expiry_on": "06-30", "expiry_months": 3}),
    ],
)
def test_expiry_on_and_expiry_months_replace_each_other_across_files(
    below: dict[str, object], above: dict[str, object], merged: dict[str, object]
) -> None:
    result = _merge_settings({"affiliations": {"friends": below}}, {"affiliations": {"friends": above}})
    assert result["affiliations"]["friends"] == merged


def test_enabled_false_drops_a_shipped_affiliation(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[affiliations.borrowdirect]\nenabled = false\n"))
    assert "borrowdirect" not in config.affiliations
    policy = load_policy("default", plugins=[DukePolicy(config)], addons=False)
    assert [a.code for a in policy.affiliations()] == ["alumni", "trln", "friends", "former_affiliate", "community"]
    [issue] = policy.eligibility(applicant("trln", home_institution="Yale"), today=TODAY)
    assert (
        issue.hint == "TRLN borrowers come from UNC-Chapel Hill, NC State, NC Central."
    )  # no longer "choose borrowdirect"
    kept = load_config(write(tmp_path, "[affiliations.borrowdirect]\nenabled = true\n"))
    assert "borrowdirect" in kept.affiliations


def test_expiry_on_a_month_day(tmp_path: Path) -> None:
    duke = DukePolicy(load_config(write(tmp_path, '[affiliations.trln]\nexpiry_on = "06-30"\n')))
    policy = load_policy("default", plugins=[duke], addons=False)
    unc = applicant("trln", home_institution="UNC")
    assert policy.expiry_date(unc, today=date(2025, 7, 1)) == date(2026, 6, 30)
    assert policy.expiry_date(unc, today=date(2025, 6, 29)) == date(2025, 6, 30)
    assert policy.expiry_date(unc, today=date(2025, 6, 30)) == date(2026, 6, 30)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[affiliations.alumni]\nuser_groop = 'X'\n", "affiliations.alumni.user_groop: Extra inputs are not permitted"),
        ("[affiliations.alumni]\nuser_group = ' '\n", "affiliations.alumni.user_group: must not be blank"),
        ("[affiliations.trln]\nexpiry_on = '02-30'\n", "must be a month and day written MM-DD, like 06-30"),
        ("[affiliations.trln]\nexpiry_on = '06-30'\nexpiry_months = 3\n", "set expiry_months or expiry_on, not both"),
        ("[affiliations.friends]\nexpiry_on = '06-30'\nexpiry_months = 3\n", "expiry_months or expiry_on, not both"),
        ("[affiliations.alumni]\nenabled = 'no'\n", "affiliations.alumni.enabled: must be true or false; got 'no'"),
        # Links: only the documented keys, and absolute https URLs (blank: not configured).
        ("[links]\nmy_acount = 'https://duke.example/account'\n", "links: unknown link(s) my_acount; the links are "
         "onelink_registration, onelink_sign_in, self_service, my_account"),
        ("[links]\nmy_account = 'http://duke.example/account'\n", "links.my_account: must be an absolute https URL"),
        ("[links]\nmy_account = '/discovery/account'\n", "links.my_account: must be an absolute https URL"),
        ("[links]\nonelink_sign_in = 'accounts.oit.duke.edu/onelink/sign_in'\n", "links.onelink_sign_in: must be"),
        ("[links]\nself_service = 'https:///nohost'\n", "links.self_service: must be an absolute https URL"),
        # Blank codes anywhere.
        ("[codes]\npatron_type_category = ' '\n", "codes.patron_type_category: must not be blank"),
        ("[codes]\nunique_id_type = ''\n", "codes.unique_id_type: must not be blank"),
        ("[codes]\nnote_type = ''\n", "codes.note_type: must not be blank"),
        ("[affiliations.alumni]\npatron_type = ''\n", "affiliations.alumni.patron_type: must not be blank"),
        ("[affiliations.alumni]\nlabel = ''\n", "affiliations.alumni.label: must not be blank"),
        ("[affiliations.former_affiliate.patron_type_by_role]\nstaff = ' '\n",
         "affiliations.former_affiliate.patron_type_by_role.staff: must not be blank"),
        ("[affiliations.community]\nresidence_city = ''\n", "affiliations.community.residence_city: must not be blank"),
        ("[affiliations.borrowdirect]\ninstitutions = [{ name = '' }]\n",
         "affiliations.borrowdirect.institutions.0.name: must not be blank"),
        ("[affiliations.x]\nlabel = 'X'\nuser_group = 'X'\npatron_type = 'PT_X'\n[affiliations.'Visiting Scholar']\n"
         "label = 'V'\nuser_group = 'V'\npatron_type = 'PT_V'\n", "write it as 'visiting_scholar'"),
        ("[affiliations.x]\nlabel = 'X'\nuser_group = 'X'\n", "needs patron_type, or patron_type_by_role"),
        ("[affiliations.alumni]\nrequires = ['netid']\n", "unknown Patron field(s) netid"),
        ("[rules]\npurge_after_months = true\n", "rules.purge_after_months: must be a number of months"),
        ("[affiliations.alumni]\npurge_after_months = -1\n",
         "affiliations.alumni.purge_after_months: must be a number of months"),
        ("[affiliations.friends]\nminimum_gift = -1\n", "affiliations.friends.minimum_gift"),
        ("[affiliations.former_affiliate.patron_type_by_role]\ndean = 'PT_DEAN'\n", "patron_type_by_role.dean"),
        ("[alma]\nsearch_with_or = 'yes'\n", "alma.search_with_or: Input should be a valid boolean"),
        ("[alma]\nsearch_with_ors = true\n", "alma.search_with_ors: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_bad_settings_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DukeConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"The Duke policy settings in {path} (merged over duke.toml) are invalid: ")
    assert message in str(caught.value)


def test_searching_with_or_is_off_as_shipped_and_a_site_file_turns_it_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_config().alma.search_with_or is False
    assert load_policy("duke").search_with_or is False
    monkeypatch.setenv(CONFIG_ENV, str(write(tmp_path, "[alma]\nsearch_with_or = true\n")))
    assert load_policy("duke").search_with_or is True


def test_a_blank_link_means_not_configured(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[links]\nmy_account = ''\nself_service = ' https://x.example/ '\n"))
    assert config.links["my_account"] == ""
    assert config.links["self_service"] == "https://x.example/"


def test_a_file_that_is_not_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "[affiliations.alumni\n")
    with pytest.raises(DukeConfigError, match=f"^{path} is not valid TOML: "):
        load_config(path)


def test_a_missing_file_names_the_variable_and_the_way_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope.toml"
    monkeypatch.setenv(CONFIG_ENV, str(missing))
    with pytest.raises(PolicyError) as caught:
        load_policy("duke")
    assert str(caught.value) == (
        f"ALMA_ONELINK_DUKE_CONFIG points to '{missing}', which cannot be read (No such file or directory); "
        "fix the path or unset the variable to use the shipped duke.toml."
    )
    assert caught.value.plugin == "duke"
