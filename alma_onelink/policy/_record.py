"""The rules every record ``Policy.build_user`` returns follows, whatever plugins do, and its contact details."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, NamedTuple

from alma_onelink.models import Address, Code, ContactInfo, Email, Phone, User, UserStatistic

from .types import Patron

__all__ = ["RECORD_CODES", "RECORD_RULES", "RecordRule", "contact_info"]


RECORD_CODES: Final = {"record_type": "PUBLIC", "account_type": "INTERNAL", "status": "ACTIVE"}
"""The codes of every record ``build_user`` returns: a public record of an internal, active account."""


class RecordRule(NamedTuple):
    """A rule the record ``build_user`` returns follows, whatever plugins do."""

    holds: Callable[[User, Patron, UserStatistic], bool]  # (record, patron, the Patron type decided)
    broken: str  # "A plugin …", formatted with user, patron and patron_type; names the field
    fix: str  # "…; {fix} there."


def _has_code(field: str) -> Callable[[User, Patron, UserStatistic], bool]:
    def holds(user: User, patron: Patron, patron_type: UserStatistic) -> bool:
        code = getattr(user, field)
        return isinstance(code, Code) and code.matches(RECORD_CODES[field])

    return holds


def _keeps_patron_type(user: User, patron: Patron, patron_type: UserStatistic) -> bool:
    kept = user.statistic(str(patron_type.category_type))
    return (
        kept is not None
        and kept.statistic_category is not None
        and kept.statistic_category.matches(str(patron_type.statistic_category))
    )


RECORD_RULES: Final = (
    RecordRule(
        lambda user, patron, patron_type: not user.password,
        "set a password on the new record for {patron.full_name}; OneLink accounts never have an Alma password "
        "(the patron signs in with OneLink)",
        "remove the password",
    ),
    RecordRule(
        lambda user, patron, patron_type: user.primary_id == patron.onelink_id,
        "changed the new record's primary id to {user.primary_id!r}; it must be {patron.full_name}'s OneLink ID "
        "{patron.onelink_id!r}, which they sign in with",
        "leave primary_id alone",
    ),
    *(
        RecordRule(
            _has_code(field),
            f"changed the new record's {field} to {{user.{field}}}; a OneLink account's {field} is {value}",
            f"leave {field} alone",
        )
        for field, value in RECORD_CODES.items()
    ),
    RecordRule(
        _keeps_patron_type,
        "removed or changed the Patron type in the new record's user_statistic; the policy decided "
        "{patron_type.category_type} {patron_type.statistic_category}",
        "keep that statistic (add others beside it)",
    ),
)


def contact_info(patron: Patron) -> ContactInfo | None:
    emails = (
        [Email(email_address=patron.email, email_type=[Code(value="personal")], preferred=True)] if patron.email else []
    )
    phones = [Phone(phone_number=patron.phone, phone_type=[Code(value="home")], preferred=True)] if patron.phone else []
    addresses = []
    if patron.address is not None:
        given = patron.address.model_dump(exclude_none=True)
        # Only the fields given: a None written out would reach Alma as an explicit null.
        addresses.append(Address(**given, address_type=[Code(value="home")], preferred=True))
    # Only the segments given, for the same reason.
    given = {"email": emails, "phone": phones, "address": addresses}
    present = {key: value for key, value in given.items() if value}
    return ContactInfo(**present) if present else None
