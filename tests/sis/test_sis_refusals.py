"""Bad input is refused before any file is made; a crash or a full disk never leaves a part-written zip."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alma_onelink.errors import InputError
from alma_onelink.models import Email, User, UserBlock, UserIdentifier, UserNote, UserRole
from alma_onelink.sis import SisFileError, read_sis_file, sis_record, write_sis_file


def good(primary_id: str = "P1", **fields: Any) -> User:
    return User(
        **{"primary_id": primary_id, "first_name": "Ada", "last_name": "Lovelace", "user_group": "ALUM", **fields}
    )


@pytest.fixture
def no_file_may_be_made(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails the test if the writer so much as creates its temporary file."""

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise AssertionError("a file was created before the input was refused")

    monkeypatch.setattr("alma_onelink.sis._write.tempfile.mkstemp", refuse)


BAD_USERS: list[tuple[str, list[User], str]] = [
    ("no primary id", [User(last_name="X")], r"user 1: primary_id is missing"),
    ("blank primary id", [good("   ")], r"primary_id is missing"),
    ("placeholder id", [good("no primary id (12345)")], r"Alma's placeholder"),
    ("spaces around the id", [good(" P1")], r"spaces at its ends"),
    ("the same primary id twice", [good("abc"), good("ABC")], r"user 2 \(ABC\): its primary id 'ABC' is already"),
    (
        "an identifier that is another user's primary id",
        [good("P1"), good("P2", user_identifier=[UserIdentifier(id_type="BARCODE", value="p1")])],
        r"user 2 \(P2\): its identifier 'p1' is already the primary id of user 1 \(P1\)",
    ),
    (
        "an identifier equal to the user's own primary id",
        [good("P1", user_identifier=[UserIdentifier(id_type="BARCODE", value="P1")])],
        r"even within one user",
    ),
    ("a password", [good(password="correct horse")], r"password cannot go in a SIS file: .*carry no password"),
    ("an empty password", [good(password="")], r"password cannot go in a SIS file"),
    ("roles", [good(user_role=[UserRole(role_type="200")])], r"user_role .*roles are NOT part of the SIS load"),
    ("a field Alma writes", [good(full_name="Ada Lovelace")], r"full_name cannot go in a SIS file: Alma writes it"),
    ("a field the schema lacks", [good(x_shoe_size="42")], r"x_shoe_size is not a field of Alma's user schema"),
    (
        "a nested field the schema lacks",
        [good(user_note=[UserNote(note_type="LIB", note_text="t", note_owner="X")])],
        r"user_note\[0\]\.note_owner is not a field",
    ),
    (
        "a block field for the API only",
        [good(user_block=[UserBlock(block_description="FINE", item_loan_id="9")])],
        r"user_block\[0\]\.item_loan_id cannot go in a SIS file: .*API only",
    ),
    (
        "an email without a type",
        [good(contact_info={"email": [Email(email_address="a@b.org")]})],
        r"contact_info\.email\[0\]\.email_type is missing; Alma requires it",
    ),
    (
        "a note without text",
        [good(user_note=[UserNote(note_type="LIB")])],
        r"user_note\[0\]\.note_text is missing",
    ),
    ("a name too long", [good(last_name="L" * 256)], r"last_name is 256 characters long; .* at most 255"),
    ("a control character", [good(first_name="A\x07da")], r"first_name holds the character U\+0007"),
    ("not a user", [{"primary_id": "P1"}], r"user 1: is a dict, not a User"),  # type: ignore[list-item]
]


@pytest.mark.usefixtures("no_file_may_be_made")
@pytest.mark.parametrize(("users", "message"), [case[1:] for case in BAD_USERS], ids=[case[0] for case in BAD_USERS])
def test_bad_users_are_refused_before_any_file_is_made(tmp_path: Path, users: list[User], message: str) -> None:
    with pytest.raises(InputError, match=r"No SIS file was written") as refused:
        write_sis_file(users, tmp_path / "out.zip")
    assert refused.match(message)
    assert list(tmp_path.iterdir()) == []


def test_sis_record_says_what_keeps_a_user_out() -> None:
    with pytest.raises(InputError, match=r"password cannot go in a SIS file"):
        sis_record(good(password="x"))
    note = sis_record(good(user_note=[UserNote(note_type="LIB", note_text="t")])).user_note[0]
    assert (note.user_viewable, note.popup_note) == (False, False)


@pytest.mark.usefixtures("no_file_may_be_made")
def test_every_problem_is_listed_at_once_and_a_long_list_is_counted(tmp_path: Path) -> None:
    users = [good(f"P{n}", password="x") for n in range(30)]
    with pytest.raises(InputError, match=r"30 user\(s\) cannot go in it") as refused:
        write_sis_file(users, tmp_path / "out.zip")
    assert refused.match(r"user 20 \(P19\)")
    assert refused.match(r"and 10 more problem\(s\)$")


@pytest.mark.usefixtures("no_file_may_be_made")
@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("out.txt", {}, r"does not end in \.zip"),
        ("missing/out.zip", {}, r"The folder .*missing does not exist"),
        ("out.zip", {"max_users_per_file": 0}, r"from 1 to 20,000, not 0"),
        ("out.zip", {"max_users_per_file": 20_001}, r"from 1 to 20,000, not 20001"),
        ("out.zip", {"max_users_per_file": True}, r"not True"),
    ],
)
def test_a_bad_path_or_limit_is_refused_before_any_file_is_made(
    tmp_path: Path, name: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        write_sis_file([good()], tmp_path / name, **options)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_never_replaced_unasked(tmp_path: Path) -> None:
    target = tmp_path / "out.zip"
    target.write_bytes(b"handed off yesterday")
    with pytest.raises(InputError, match=r"already exists; .*overwrite=True"):
        write_sis_file([good()], target)
    assert target.read_bytes() == b"handed off yesterday"
    assert [p.name for p in tmp_path.iterdir()] == ["out.zip"]


def test_no_users_make_no_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no users to write"):
        write_sis_file(iter([]), tmp_path / "out.zip")
    assert list(tmp_path.iterdir()) == []


def test_a_bad_user_late_in_a_generator_removes_what_was_written(tmp_path: Path) -> None:
    def users() -> Iterator[User]:
        yield from (good(f"P{n}") for n in range(5))
        yield good("P9", password="x")
        yield good("P1")  # a duplicate after the first problem is still reported

    with pytest.raises(InputError, match=r"2 user\(s\)") as refused:
        write_sis_file(users(), tmp_path / "out.zip", max_users_per_file=2)
    assert refused.match(r"user 6 \(P9\): password")
    assert refused.match(r"user 7 \(P1\): its primary id")
    assert list(tmp_path.iterdir()) == []


def test_an_error_mid_write_leaves_nothing_at_the_path(tmp_path: Path) -> None:
    def users() -> Iterator[User]:
        yield from (good(f"P{n}") for n in range(5))
        raise RuntimeError("the source broke")

    with pytest.raises(RuntimeError, match="the source broke"):
        write_sis_file(users(), tmp_path / "out.zip", max_users_per_file=2)
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_a_typed_error_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("alma_onelink.sis._write.os.fsync", full)
    with pytest.raises(SisFileError, match=r"No space left on device; nothing was written at .*out\.zip") as failed:
        write_sis_file([good()], tmp_path / "out.zip")
    assert failed.value.path == tmp_path / "out.zip"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL to kill the writer mid-write")
def test_a_process_killed_mid_write_leaves_no_file_at_the_path(tmp_path: Path) -> None:
    """The writer is killed (no cleanup can run) after its first member is full: the path stays empty."""
    script = textwrap.dedent(
        """
        import os, signal, sys
        from alma_onelink.models import User
        from alma_onelink.sis import write_sis_file

        def users():
            for number in range(10):
                if number == 5:
                    os.kill(os.getpid(), signal.SIGKILL)
                yield User(primary_id=f"P{number}", last_name="Test")

        write_sis_file(users(), sys.argv[1], max_users_per_file=2)
        """
    )
    target = tmp_path / "out.zip"
    run = subprocess.run([sys.executable, "-c", script, str(target)], check=False, capture_output=True, timeout=60)
    assert run.returncode == -signal.SIGKILL, run.stderr.decode()
    assert not target.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert all(name.startswith(".out.zip.") and name.endswith(".part") for name in leftovers), leftovers


def test_the_reader_refuses_what_is_not_a_sis_file(tmp_path: Path) -> None:
    import zipfile

    with pytest.raises(InputError, match=r"There is no SIS file at"):
        read_sis_file(tmp_path / "none.zip")
    (tmp_path / "plain.zip").write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"is not a zip file"):
        read_sis_file(tmp_path / "plain.zip")
    cases = {
        "doctype.zip": (
            b'<?xml version="1.0"?><!DOCTYPE users [<!ENTITY x "y">]><users/>',
            r"declares a document type",
        ),
        "broken.zip": (b"<users><user><primary_id>a</user></users>", r"not well-formed XML"),
        "other.zip": (b"<fees/>", r"holds <fees>, not <users>"),
        "baduser.zip": (b"<users><user><expiry_date>not a date</expiry_date></user></users>", r"users\.xml .*user 1"),
    }
    for name, (body, message) in cases.items():
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            archive.writestr("users.xml", body)
        with pytest.raises(InputError, match=message):
            read_sis_file(tmp_path / name)
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as archive:
        archive.writestr("readme.txt", b"hello")
    with pytest.raises(InputError, match=r"holds no \.xml file"):
        read_sis_file(tmp_path / "empty.zip")


def test_a_file_is_readable_only_when_complete(tmp_path: Path) -> None:
    """What a reader (or Alma's loader) finds at the path is always a whole file."""
    written = write_sis_file([good(f"P{n}") for n in range(3)], tmp_path / "out.zip")
    assert [u.primary_id for u in read_sis_file(written.path)] == ["P0", "P1", "P2"]
    assert os.listdir(tmp_path) == ["out.zip"]
