"""`make demo` runs `alma-onelink demo`: the tour must show each step behaving as it says."""

from __future__ import annotations

import pytest

from alma_onelink.cli import main
from alma_onelink.demo import run


def test_the_tour_shows_every_step_behaving_as_described() -> None:
    lines: list[str] = []
    waits: list[float] = []
    assert run(lines.append, patrons=70, sleep=waits.append) == 0
    text = "\n".join(lines)
    # 70 generated patrons + 5 Duke scenario accounts, walked 50 at a time: two pages.
    assert "walked 75 users in 2 request(s), no duplicates: True" in text
    assert "alma.users.get('jd123') -> Jane Doe <jd123>" in text
    assert "DUKE_UNIQUE_ID=0456789" in text
    assert "<0345678>, group DUKE_COMMUNITY (Community borrower)" in text
    assert "NotFoundError: code=401861" in text
    assert "HTTP 429 PER_SECOND_THRESHOLD" in text  # the client's own retry log line, shown in the tour
    assert "status 200 after retries_taken=1" in text
    assert waits, "the retry waited through the injected sleep, not the wall clock"


def test_the_cli_offers_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--help"])
    assert exit_info.value.code == 0
    assert "--patrons" in capsys.readouterr().out


def test_the_cli_rejects_a_bad_patron_count(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--patrons", "many"])
    assert exit_info.value.code == 2
    assert "expected a whole number" in capsys.readouterr().err
