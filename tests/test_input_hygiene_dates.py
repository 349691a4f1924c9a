"""Dates past the calendar, paths past the file system's limits, and the words staff read for them.

A policy's date arithmetic that runs past 9999-12-31 (a purge date a year after an expiry Alma holds
as 9999-12-31) is a clear `InputError` about the dates, never a crash or "plugin failed"; Duke's own
purge date stops at 9999-12-31. A sandbox path longer than SQLite or the file system takes is a
usage error naming its length and the limit. The messages staff read are in the command's words.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alma_onelink import Patron
from alma_onelink.cli import app
from alma_onelink.cli._words import staff_words
from alma_onelink.errors import SEARCH_HINT, InputError, RateLimitError, error_for_response
from alma_onelink.policy import PolicyError, PostalAddress, hookimpl, load_policy

TODAY = date(2026, 11, 30)
PYTHON_WORDS = ("rate_limit", "SEARCH_FIELDS", "user_id_type", "users.get", "remaining_daily_calls", "modify_date_from")


def community() -> Patron:
    return Patron(
        onelink_id="4000401",
        first_name="Ann",
        last_name="Lee",
        affiliation="community",
        address=PostalAddress(line1="1 Main St", city="Durham"),
    )


class PurgeAYearOn:
    """A plugin whose purge date is a year after expiry, by plain date arithmetic."""

    @hookimpl(tryfirst=True)
    def alma_onelink_purge_date(self, patron: Patron, expiry: date) -> date:
        return expiry + timedelta(days=365)


class PurgeNextYear:
    """The same by ``date.replace``, which raises ``ValueError: year 10000 is out of range``."""

    @hookimpl(tryfirst=True)
    def alma_onelink_purge_date(self, patron: Patron, expiry: date) -> date:
        return expiry.replace(year=expiry.year + 1)


class Broken:
    """A plugin with a real bug: still a PolicyError naming it."""

    @hookimpl(tryfirst=True)
    def alma_onelink_purge_date(self, patron: Patron, expiry: date) -> date:
        raise KeyError("oops")


@pytest.mark.parametrize("plugin", [PurgeAYearOn, PurgeNextYear], ids=["overflow-error", "value-error"])
def test_a_plugin_s_date_past_the_calendar_is_a_clear_input_error(plugin: type) -> None:
    policy = load_policy("default", plugins=[plugin()], addons=False)
    with pytest.raises(InputError) as info:
        policy.purge_date(community(), expiry=date(9999, 12, 31))
    message = staff_words(str(info.value))
    assert "cannot work out the purge date from the dates given (9999-12-31)" in message
    assert "past 9999-12-31" in message
    assert "alma-onelink user edit ID --set expiry_date=" in message
    assert "Error" not in message  # the Python error only in the aside the command leaves out
    assert policy.purge_date(community(), expiry=date(2027, 1, 1)) is not None  # ordinary dates as before


def test_a_plugin_that_is_simply_broken_is_still_named() -> None:
    policy = load_policy("default", plugins=[Broken()], addons=False)
    with pytest.raises(PolicyError, match="failed in alma_onelink_purge_date: KeyError"):
        policy.purge_date(community(), expiry=date(2027, 1, 1))


@pytest.mark.parametrize(
    ("expiry", "purge"),
    [
        (date(9999, 12, 31), date(9999, 12, 31)),
        (date(9999, 1, 1), date(9999, 12, 31)),
        (date(9998, 12, 31), date(9999, 12, 31)),
        (date(9998, 6, 30), date(9999, 6, 30)),
        (date(2027, 1, 31), date(2028, 1, 31)),
    ],
)
def test_duke_s_purge_date_stops_at_the_last_day_there_is(
    expiry: date, purge: date, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALMA_ONELINK_DUKE_CONFIG", raising=False)
    assert load_policy("duke").purge_date(community(), expiry=expiry) == purge


# --- the sandbox's path ------------------------------------------------------------------------------------


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    for name in ("ALMA_API_KEY", "ALMA_BASE_URL", "ALMA_REGION", "ALMA_ONELINK_JOURNAL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.mark.parametrize("length", [505, 600, 5000])
def test_a_db_path_longer_than_sqlite_takes_is_a_usage_error_however_long(
    runner: CliRunner, tmp_path: Path, length: int
) -> None:
    # One name longer than any file system takes (the 600 a person typed), not only a deep folder.
    db = tmp_path / ("d" * (length - len(str(tmp_path)) - 1))
    assert len(str(db).encode()) == length
    for args in (["--db", str(db), "user", "show", "jd123"], ["sandbox", "seed", "--db", str(db)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.stderr)
        errors = [line for line in result.stderr.splitlines() if line.startswith(("error: ", "hint: "))]
        assert f"its path is {length} bytes long" in errors[0]
        assert "longer than 504 bytes" in errors[0]
        assert errors[1] == "hint: give a shorter path with --db (for example --db ~/sandbox.sqlite3)"
        assert "unexpected" not in result.stderr
        assert "Traceback" not in result.stderr


def test_a_journal_path_with_a_name_too_long_names_the_limit(runner: CliRunner, tmp_path: Path) -> None:
    journal = tmp_path / ("j" * 600)
    result = runner.invoke(app, ["--journal", str(journal), "journal", "pending"])
    assert result.exit_code == 2, result.stderr
    assert "a name in it is 600 bytes long" in result.stderr
    assert "unexpected" not in result.stderr


# --- the words staff read ----------------------------------------------------------------------------------


def test_alma_s_hints_are_in_the_command_s_words_once_the_python_asides_are_left_out() -> None:
    per_second = error_for_response(
        status_code=429,
        method="GET",
        path="/almaws/v1/users/x",
        content=b'{"errorsExist":true,"errorList":{"error":[{"errorCode":"PER_SECOND_THRESHOLD",'
        b'"errorMessage":"HTTP requests are more than allowed per second"}]}}',
    )
    assert isinstance(per_second, RateLimitError)
    for text in (str(per_second), SEARCH_HINT):
        shown = staff_words(text)
        assert [word for word in PYTHON_WORDS if word in shown] == [], shown
        assert any(word in text for word in PYTHON_WORDS)  # a Python caller still reads them
    assert "rate_limit" in str(per_second)


def test_a_registration_that_meets_alma_s_per_second_limit_reads_in_the_command_s_words(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alma_onelink import AlmaClient
    from alma_onelink.cli import _state
    from alma_onelink.sandbox import Faults, Sandbox

    sandbox = Sandbox.demo(faults=Faults(script=["429"] * 20), sleep=lambda _: None)

    def faulty(self: _state.State) -> AlmaClient:
        self._alma = AlmaClient.sandbox(sandbox, sleep=lambda _: None)
        return self._alma

    monkeypatch.setattr(_state.State, "alma", faulty)
    args = ["--onelink-id", "4000402", "--first-name", "Ann", "--last-name", "Lee", "--affiliation", "community"]
    args += ["--address-line1", "1 Main St", "--city", "Durham", "--today", TODAY.isoformat(), "--yes"]
    result = runner.invoke(app, ["register", *args])
    assert result.exit_code == 3, result.stdout + result.stderr
    shown = result.stdout + result.stderr
    assert "per-second quota" in shown
    assert [word for word in PYTHON_WORDS if word in shown] == [], shown
    sandbox.close()
