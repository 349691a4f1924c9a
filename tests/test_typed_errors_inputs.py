"""SIS file paths and invisible characters: refused in clear words, as the SDK's own errors (issue 15)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from alma_onelink import AlmaClient, Patron, register_patron
from alma_onelink._text import describe, unsafe_characters, visible
from alma_onelink.errors import InputError
from alma_onelink.models import User
from alma_onelink.policy import load_policy
from alma_onelink.sandbox import Sandbox
from alma_onelink.sis import read_sis_file, write_sis_file

USER = User(primary_id="P1", first_name="Ada", last_name="Lovelace", user_group="ALUM")


@pytest.mark.parametrize("path", [1, None, b"users.zip", 1.5, ["users.zip"]])
def test_a_sis_path_that_is_not_a_path_is_refused(path: object) -> None:
    with pytest.raises(InputError, match=r"The SIS file's path must be text or a pathlib\.Path"):
        read_sis_file(path)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"The SIS file's path must be text or a pathlib\.Path"):
        write_sis_file([USER], path)  # type: ignore[arg-type]


def test_a_sis_file_name_too_long_for_a_file_system_is_refused(tmp_path: Path) -> None:
    name = "y" * 296 + ".zip"
    with pytest.raises(InputError, match=r"is 300 bytes long; it may be at most 255: choose a shorter name"):
        read_sis_file(tmp_path / name)
    with pytest.raises(InputError, match=r"is 300 bytes long; it may be at most 240 .*temporary name"):
        write_sis_file([USER], tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_the_longest_sis_file_name_taken_is_written_and_read(tmp_path: Path) -> None:
    written = write_sis_file([USER], tmp_path / ("y" * 236 + ".zip"))
    assert [user.primary_id for user in read_sis_file(written.path)] == ["P1"]


def test_a_blank_or_nul_sis_path_is_refused() -> None:
    with pytest.raises(InputError, match="blank"):
        read_sis_file(" ")
    with pytest.raises(InputError, match="NUL"):
        write_sis_file([USER], "a\x00b.zip")


INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]


@pytest.mark.parametrize("char", INVISIBLE)
def test_an_invisible_character_is_shown_and_found(char: str) -> None:
    text = f"Ann{char}Smith"
    code = f"\\u{ord(char):04x}"
    assert visible(text) == f"Ann{code}Smith"
    assert unsafe_characters(text) == [char]
    assert describe([char]).startswith(f"{code} (a ")
    assert "invisible" in describe([char])


def test_joiners_inside_the_scripts_that_write_with_them_are_kept() -> None:
    persian = "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627"  # Mohammad-Reza, with a zero-width non-joiner
    sinhala = "\u0dc1\u0dca\u200d\u0dbb\u0dd3"  # Sri, with a zero-width joiner
    for name in (persian, sinhala):
        assert unsafe_characters(name) == []
        assert visible(name) == name
    # At an edge, beside a Latin letter or inside an emoji sequence, a joiner is refused.
    for text in ("\u200c\u0645\u062d", "\u0645\u062d\u200c", "\u0645\u200dA", "\U0001f468\u200d\U0001f469"):
        assert unsafe_characters(text) != [], text


@pytest.mark.parametrize("char", INVISIBLE)
def test_a_name_with_an_invisible_character_is_refused_before_any_request(tmp_path: Path, char: str) -> None:
    sandbox = Sandbox(per_second_limit=None)
    sandbox.seed_duke()
    patron = Patron(
        onelink_id="0345678",
        first_name=f"Ada{char}",
        last_name="Byron",
        affiliation="trln",
        home_institution="UNC-Chapel Hill",
    )
    with pytest.raises(InputError, match=rf"first_name holds \\u{ord(char):04x}"):
        register_patron(
            AlmaClient.sandbox(sandbox, rate_limit=None),
            load_policy("duke"),
            patron,
            journal=tmp_path / "j.jsonl",
            today=dt.date(2026, 1, 5),
        )
    assert sandbox.request_log == []
