"""Whose account is it: two names are one person only when one first name is the other's leading words."""

from __future__ import annotations

import pytest

from alma_onelink.engine._compare import same_name
from alma_onelink.models import User


def _user(first: str, last: str) -> User:
    return User(primary_id="x1", first_name=first, last_name=last)


@pytest.mark.parametrize(
    ("on_record", "given"),
    [
        (("María José", "Ibáñez"), ("Maria Jose", "Ibanez")),
        (("María José", "Ibáñez"), ("María", "Ibáñez")),
        (("Maria", "Ibanez"), ("María José", "IBÁÑEZ")),
        (("Anne-Marie", "Dupont"), ("Anne Marie", "Dupont")),
        (("  Jane ", "Doe"), ("jane", "doe")),
    ],
)
def test_the_same_person_written_differently(on_record: tuple[str, str], given: tuple[str, str]) -> None:
    assert same_name(_user(*on_record), *given)


@pytest.mark.parametrize(
    ("on_record", "given"),
    [
        (("Anne-Marie", "Dupont"), ("Anne-Sophie", "Dupont")),
        (("Mary Ann", "Smith"), ("Mary Beth", "Smith")),
        (("Mario", "Ibáñez"), ("María", "Ibáñez")),
        (("Jane", "Doe"), ("Jane", "Dow")),
        (("Jean Paul", "Martin"), ("Paul", "Martin")),
        (("", "Doe"), ("Jane", "Doe")),
    ],
)
def test_two_people_whose_names_only_begin_alike_are_not_one(
    on_record: tuple[str, str], given: tuple[str, str]
) -> None:
    assert not same_name(_user(*on_record), *given)
