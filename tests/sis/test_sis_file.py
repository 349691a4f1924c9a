"""A SIS import file as Alma's loader takes it: a deflated zip of valid ``<users>`` XML, read back as written."""

from __future__ import annotations

import hashlib
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from alma_onelink import Donation, Patron
from alma_onelink.models import Address, Code, ContactInfo, Email, User, UserIdentifier, UserNote
from alma_onelink.policy import load_policy
from alma_onelink.sis import MAX_USERS_PER_FILE, read_sis_file, sis_record, write_sis_file

TODAY = date(2026, 3, 2)
MemberCheck = Callable[[Path], dict[str, int]]  # the conftest fixture schema_valid_members


def duke_users() -> list[User]:
    """New accounts as the Duke policy builds them, one per affiliation, with every kind of contact."""
    policy = load_policy("duke")
    patrons = [
        Patron(
            onelink_id="0100001",
            first_name="Ada",
            last_name="Lovelace",
            email="ada@example.org",
            phone="+1 919 555 0100",
            affiliation="alumni",
            graduated_on=date(2023, 5, 14),
        ),
        Patron(onelink_id="0100002", first_name="Zoë", last_name="Ñúñez", affiliation="trln", home_institution="UNC"),
        Patron(
            onelink_id="0100003",
            first_name="Chen",
            last_name="北京",
            email="chen@example.org",
            affiliation="friends",
            donation=Donation(amount=Decimal("250"), given_on=date(2026, 2, 1)),
        ),
        Patron(
            onelink_id="0100004",
            first_name="Dana",
            last_name="O'Brien & Sons",
            affiliation="community",
            address={"line1": "1 Main St <rear>", "city": "Durham", "state_province": "NC", "postal_code": "27701"},
        ),
        Patron(
            onelink_id="0100005",
            first_name="Eli",
            last_name="Former",
            affiliation="former_affiliate",
            prior_role="staff",
            left_on=date(2020, 1, 31),
        ),
    ]
    return [policy.build_user(patron, today=TODAY) for patron in patrons]


def test_duke_users_are_written_and_read_back_as_the_file_carries_them(
    tmp_path: Path, schema_valid_members: MemberCheck
) -> None:
    users = duke_users()
    written = write_sis_file(users, tmp_path / "onelink.zip")

    assert written.path == tmp_path / "onelink.zip"
    assert written.member_names == ("users-0001.xml",)
    assert written.primary_ids == tuple(user.primary_id for user in users)
    assert schema_valid_members(written.path) == {"users-0001.xml": len(users)}
    back = read_sis_file(written.path)
    assert [user.to_alma() for user in back] == [sis_record(user).to_alma() for user in users]


def test_the_file_differs_from_the_policy_s_record_only_by_alma_s_note_defaults(tmp_path: Path) -> None:
    """The schema requires a note's two flags; Alma defaults both to false, and the file says so."""
    users = duke_users()
    back = read_sis_file(write_sis_file(users, tmp_path / "onelink.zip").path)
    for built, loaded in zip(users, back, strict=True):
        expected = built.to_alma()
        for note in expected.get("user_note", []):
            note.setdefault("user_viewable", False)
            note.setdefault("popup_note", False)
        assert loaded.to_alma() == expected


def test_a_user_with_everything_a_sis_file_carries_round_trips(
    tmp_path: Path, schema_valid_members: MemberCheck
) -> None:
    user = User(
        record_type="PUBLIC",
        primary_id="full-1",
        first_name="Ada",
        middle_name="King",
        last_name="Lovelace",
        pref_first_name="Ada",
        user_group=Code(value="ALUM", desc="Alumni"),
        campus_code="MAIN",
        preferred_language="en",
        birth_date=date(1815, 12, 10),
        expiry_date=date(2027, 3, 2),
        purge_date=date(2028, 3, 2),
        account_type="EXTERNAL",
        external_id="ONELINK_SIS",
        status="ACTIVE",
        pin_number="1234",
        contact_info=ContactInfo(
            address=[
                Address(line1="1 Main", city="Durham", address_type=["home"], preferred=True, segment_type="External")
            ],
            email=[Email(email_address="ada@example.org", email_type=["personal"], preferred=False)],
        ),
        user_identifier=[UserIdentifier(id_type="BARCODE", value="D0001", status="ACTIVE", segment_type="External")],
        user_note=[UserNote(note_type="LIBRARY", note_text="line 1\r\nline 2", user_viewable=True, popup_note=True)],
        rs_library=[{"code": {"value": "MAIN"}}],
        library_notice=[{"code": {"value": "FulUserBorrowingActivityLetter"}, "value": True}],
    )
    written = write_sis_file([user], tmp_path / "full.zip")
    schema_valid_members(written.path)
    assert [u.to_alma() for u in read_sis_file(written.path)] == [user.to_alma()]


def test_the_zip_opens_with_the_standard_library_and_its_members_are_deflated_utf8_xml(tmp_path: Path) -> None:
    written = write_sis_file(duke_users(), tmp_path / "onelink.zip")
    with zipfile.ZipFile(written.path) as archive:
        assert archive.testzip() is None
        infos = archive.infolist()
        assert [info.filename for info in infos] == ["users-0001.xml"]
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in infos)
        body = archive.read("users-0001.xml")
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<users>\n<user>')
    assert "Zoë".encode() in body  # UTF-8, not character references
    assert b"xmlns" not in body
    assert written.size == written.path.stat().st_size


def test_only_the_owner_can_read_the_file(tmp_path: Path) -> None:
    written = write_sis_file(duke_users(), tmp_path / "onelink.zip")
    assert written.path.stat().st_mode & 0o077 == 0


def cheap_users(count: int) -> list[User]:
    return [User(primary_id=f"P{number:06d}", last_name="Test", user_group="G") for number in range(count)]


def test_twenty_thousand_and_one_users_make_two_members_of_20000_and_1(
    tmp_path: Path, schema_valid_members: MemberCheck
) -> None:
    users = cheap_users(MAX_USERS_PER_FILE + 1)
    started = time.perf_counter()
    written = write_sis_file(users, tmp_path / "big.zip")
    elapsed = time.perf_counter() - started

    assert [(m.name, m.user_count) for m in written.members] == [("users-0001.xml", 20_000), ("users-0002.xml", 1)]
    assert written.members[1].primary_ids == ("P020000",)
    assert written.primary_ids == tuple(user.primary_id for user in users)
    assert schema_valid_members(written.path) == {"users-0001.xml": 20_000, "users-0002.xml": 1}
    print(f"wrote {len(users):,} users in {elapsed:.2f} s")  # reported, never asserted (no wall-time asserts)


def test_a_smaller_limit_splits_members_in_order(tmp_path: Path) -> None:
    users = duke_users()
    written = write_sis_file(users, tmp_path / "split.zip", max_users_per_file=2)
    assert [m.primary_ids for m in written.members] == [("0100001", "0100002"), ("0100003", "0100004"), ("0100005",)]
    assert written.member_names == ("users-0001.xml", "users-0002.xml", "users-0003.xml")
    assert [u.primary_id for u in read_sis_file(written.path)] == list(written.primary_ids)


def test_a_generator_is_written_as_it_comes(tmp_path: Path) -> None:
    """Users are streamed: the writer never needs them all at once."""
    produced = []

    def users() -> Iterator[User]:
        for user in cheap_users(5):
            produced.append(user.primary_id)
            yield user

    written = write_sis_file(users(), tmp_path / "gen.zip", max_users_per_file=2)
    assert written.primary_ids == tuple(produced)
    assert [m.user_count for m in written.members] == [2, 2, 1]


def test_overwrite_replaces_an_existing_file_only_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "onelink.zip"
    write_sis_file(cheap_users(1), target)
    second = write_sis_file(cheap_users(3), target, overwrite=True)
    assert second.user_count == 3
    assert len(read_sis_file(target)) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["onelink.zip"]


def test_the_digest_is_the_file_s(tmp_path: Path) -> None:
    written = write_sis_file(cheap_users(3), tmp_path / "d.zip")
    assert written.sha256 == hashlib.sha256(written.path.read_bytes()).hexdigest()


@pytest.mark.parametrize("member", ["users.xml", "patrons/USERS.XML"])
def test_the_reader_reads_a_sis_zip_written_by_other_tools(tmp_path: Path, member: str) -> None:
    """Any zip of ``<users>`` XML (as institutions' own scripts write them, with whitespace and empty wrappers)."""
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<users>
    <user>
        <record_type desc="Public">PUBLIC</record_type>
        <primary_id>ext-1</primary_id>
        <account_type desc="External">EXTERNAL</account_type>
        <contact_info><emails/><phones/></contact_info>
        <user_statistics/>
    </user>
</users>
"""
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, body)
    [user] = read_sis_file(path)
    assert (user.primary_id, str(user.record_type), str(user.account_type)) == ("ext-1", "PUBLIC", "EXTERNAL")
    assert user.contact_info is not None
    assert user.contact_info.email == []
    assert user.user_statistic == []
