"""The facts of an application in staff's words: what each `Patron` field is, and the flag that gives it.

Messages staff read (eligibility issues, a policy's refusals) name a fact the way the command
does, never by its Python name: ``fact_label("donation.given_on")`` is ``"the gift date
(--donation-date)"``, readable by a Python user too (the fact first, the flag in parentheses).
The flags are those of ``alma-onelink register``; a test keeps the two tables in step.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

__all__ = ["FACTS", "fact_label", "facts_label"]

FACTS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "onelink_id": ("the OneLink ID", ("--onelink-id",)),
    "first_name": ("the first name", ("--first-name",)),
    "last_name": ("the last name", ("--last-name",)),
    "email": ("the email address", ("--email",)),
    "phone": ("the phone number", ("--phone",)),
    "address": ("the address", ("--address-line1", "--city")),
    "affiliation": ("the affiliation", ("--affiliation",)),
    "home_institution": ("the home institution", ("--home-institution",)),
    "graduated_on": ("the graduation date", ("--graduated-on",)),
    "left_on": ("the date they left", ("--left-on",)),
    "prior_role": ("the former role", ("--prior-role",)),
    "donation": ("the gift", ("--donation-amount", "--donation-date")),
    "donation.amount": ("the gift amount", ("--donation-amount",)),
    "donation.given_on": ("the gift date", ("--donation-date",)),
    "has_active_netid": ("the active-NetID mark", ("--has-active-netid",)),
    "notes": ("the notes", ("--notes",)),
}
"""`Patron` field (``donation.given_on`` for a nested one) → (the fact in words, the command's flags)."""


def fact_label(name: str) -> str:
    """A `Patron` field in staff's words: ``"graduated_on"`` → ``"the graduation date (--graduated-on)"``.

    A name the table does not know (a plugin's ``extra`` fact) comes back with ``_`` read as spaces.
    """
    what, flags = FACTS.get(name, (name.replace("_", " ").replace(".", " "), ()))
    return f"{what} ({', '.join(flags)})" if flags else what


def facts_label(names: Iterable[str]) -> str:
    """Several facts in staff's words, joined with commas and a final "and"."""
    labels = [fact_label(name) for name in names]
    if len(labels) <= 1:
        return "".join(labels)
    return f"{', '.join(labels[:-1])} and {labels[-1]}"
