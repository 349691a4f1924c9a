"""``batch`` and Alma's daily quota: the estimate first, ``--reserve`` kept, ``deferred`` rows, a rerun finishes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alma_onelink import AlmaClient
from alma_onelink.cli import _state
from alma_onelink.onelink.budget import registration_calls
from alma_onelink.policy import load_policy
from alma_onelink.sandbox import Sandbox
from tests.cli.conftest import NOW, TODAY, Cli, flat

RESERVE = 2_000
ROWS = 6
ROOM = 20


def patrons_file(tmp_path: Path, count: int = ROWS, name: str = "cohort.csv") -> Path:
    lines = ["OneLink ID,First name,Last name,E-mail,Affiliation,Graduated on"]
    lines += [f"20{i:05d},Ola{i},Quota,ola{i}@example.org,alumni,2014-05-11" for i in range(count)]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def alma(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Sandbox, AlmaClient]]:
    """The command's client, on a sandbox with `ROOM` calls above the default reserve (and its first read)."""
    with Sandbox.demo(now=lambda: NOW, daily_quota=RESERVE + 1 + ROOM, per_second_limit=None) as sandbox:
        client = AlmaClient.sandbox(sandbox, sleep=lambda seconds: None)
        monkeypatch.setattr(_state.State, "alma", lambda self: client)
        yield sandbox, client
        client.close()


def fitting(room: int) -> int:
    """How many new patrons a batch starts with ``room`` calls above the reserve (each holds the most it can make)."""
    calls = registration_calls(load_policy("duke"))
    started = 0
    while room - calls.most >= 0:
        room, started = room - calls.new_patron, started + 1
    return started


def test_the_estimate_is_said_before_the_batch_starts(cli: Cli, tmp_path: Path) -> None:
    per = registration_calls(load_policy("duke")).new_patron
    result = cli("batch", str(patrons_file(tmp_path, 3)), "--today", TODAY)
    assert result.exit_code == 0
    assert (
        f"Alma's daily quota: registering 3 patron(s) takes about {3 * per} calls ({per} for each new patron, 1 for "
        "one already registered); Alma says 99,999 are left today and 2,000 are kept in reserve (--reserve): it fits."
    ) in flat(result.stderr)


def test_patrons_past_the_reserve_are_deferred_and_a_rerun_after_the_reset_finishes(
    cli: Cli, tmp_path: Path, alma: tuple[Sandbox, AlmaClient]
) -> None:
    sandbox, _ = alma
    path = patrons_file(tmp_path)
    started = fitting(ROOM)
    assert 0 < started < ROWS
    records = cli.lines("batch", str(path), "--today", TODAY, code=1)
    rows, summary = records[:-1], records[-1]
    assert [row["outcome"] for row in rows] == ["created"] * started + ["deferred"] * (ROWS - started)
    assert rows[-1]["reason"] == "not started, to keep Alma's daily quota; run again after Alma's daily reset"
    assert summary["counts"] == {"created": started, "deferred": ROWS - started}
    assert summary["exit_code"] == 1
    assert sandbox.remaining_daily_calls >= RESERVE
    assert summary["quota"]["remaining_after"] == sandbox.remaining_daily_calls
    assert summary["quota"]["reserve"] == RESERVE

    sandbox.knobs.daily_quota += 10_000  # Alma's daily reset
    again = cli.lines("batch", str(path), "--today", TODAY)
    outcomes = [row["outcome"] for row in again[:-1]]
    assert outcomes == ["already_registered"] * started + ["created"] * (ROWS - started)


def test_deferred_rows_read_as_such_with_what_to_do(cli: Cli, tmp_path: Path, alma: tuple[Sandbox, AlmaClient]) -> None:
    result = cli("batch", str(patrons_file(tmp_path)), "--today", TODAY)
    assert result.exit_code == 1
    out = flat(result.stdout)
    assert "Ola5 Quota DEFERRED — not started, to keep Alma's daily quota; run again after Alma's daily reset" in out
    assert "deferred" in out.split("outcome rows")[1]
    err = flat(result.stderr)
    assert "new patrons fit today" in err
    assert "run the same file again after Alma's daily reset, or write their accounts for Alma's SIS load" in err
    assert "patron(s) deferred, to keep Alma's daily quota: run the same command again after Alma's daily reset" in err


def test_the_reserve_is_the_institutions_to_set(cli: Cli, tmp_path: Path, alma: tuple[Sandbox, AlmaClient]) -> None:
    records = cli.lines("batch", str(patrons_file(tmp_path)), "--today", TODAY, "--reserve", "0")
    assert {row["outcome"] for row in records[:-1]} == {"created"}, "the reserve's calls too: room for all 6"
    refused = cli("batch", str(patrons_file(tmp_path)), "--reserve", "-5")
    assert refused.exit_code == 2
    assert "--reserve" in refused.stderr


def test_without_alma_saying_what_is_left_the_batch_runs_and_says_so(
    cli: Cli, tmp_path: Path, alma: tuple[Sandbox, AlmaClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox, client = alma
    monkeypatch.setattr(type(client), "remaining_daily_calls", property(lambda self: None))
    sandbox.knobs.daily_quota = 100_000
    result = cli("batch", str(patrons_file(tmp_path)), "--today", TODAY)
    assert result.exit_code == 0
    assert "Alma did not say how many calls are left today (no X-Exl-Api-Remaining)" in flat(result.stderr)
    assert "without the daily budget" in flat(result.stderr)
