"""The application a staff member fills in: `Patron`, its `Donation` and `PostalAddress`.

Plain data with validation, no I/O. ``Patron`` checks only what is true everywhere (names present,
a plausible email, dates in the past); institution rules such as "the OneLink ID is 7 digits"
belong to a policy's ``alma_onelink_validate_onelink_id``. Construction errors read like a form's:
``InputError`` with one line per field.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from alma_onelink.errors import InputError
from alma_onelink.models._base import parse_date

__all__ = [
    "MAX_DONATION",
    "MAX_NAME_LENGTH",
    "PRIOR_ROLES",
    "Donation",
    "Patron",
    "PostalAddress",
    "PriorRole",
    "affiliation_code",
]

PriorRole = Literal["faculty", "staff", "sponsored", "student"]
"""A former affiliate's role at the institution (``Patron.prior_role``)."""
PRIOR_ROLES: Final[tuple[str, ...]] = get_args(PriorRole)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_EARLIEST = date(1900, 1, 1)


def affiliation_code(text: str) -> str:
    """The affiliation code staff mean by ``text``: ``"Former affiliate"`` is ``"former_affiliate"``.

    ``Patron`` reads what staff type this way, so an ``Affiliation``'s code must already be in this form.
    """
    return re.sub(r"[\s\-]+", "_", text.strip().casefold())


# --- validation helpers --------------------------------------------------------------------------


class _FormError(InputError):
    """An ``InputError`` that keeps its problems apart, so an enclosing form can prefix their fields."""

    def __init__(self, model: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{model}: {'; '.join(problems)}")


def _problems(exc: ValidationError) -> list[str]:
    """One line per problem, phrased for the person who filled in the form."""
    lines: list[str] = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "value"
        inner = error.get("ctx", {}).get("error")
        if isinstance(inner, _FormError):  # a nested form (an address, a donation) already explained itself
            lines.extend(f"{where}.{problem}" for problem in inner.problems)
        elif error["type"] == "missing":
            lines.append(f"{where} is required")
        elif error["type"] == "extra_forbidden":
            lines.append(f"{where} is not a known field; put institution-specific facts in extra={{...}}")
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(message if message.startswith(where) else f"{where}: {message}")
    return lines


def _as_date(value: Any, what: str) -> date | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise ValueError(f"{what} must be a date written YYYY-MM-DD, like 2024-05-12; got {value!r}") from exc


def _not_blank(value: str, info: ValidationInfo) -> str:
    if not value:
        raise ValueError(f"{info.field_name} must not be blank")
    return value


_Text = Annotated[str, AfterValidator(_not_blank)]
"""Required text: surrounding spaces dropped (``_Form`` strips), blank refused."""


def _in_the_past(value: date | None, what: str) -> date | None:
    # Graduation, leaving and gifts are facts about the past; a future date is a typing slip.
    if value is None:
        return None
    # A day of slack: the institution's today (Policy.today) may be ahead of this machine's; the
    # policy's eligibility checks the date against the registration day itself.
    if value > date.today() + timedelta(days=1):
        raise ValueError(f"{what} {value.isoformat()} is in the future; enter the date it happened")
    if value < _EARLIEST:
        raise ValueError(f"{what} {value.isoformat()} is implausibly early; check the year")
    return value


class _Form(BaseModel):
    """A model whose construction errors read like a form's: ``InputError`` with one line per field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_assignment=True)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _FormError(type(self).__name__, _problems(exc)) from exc


MAX_DONATION: Final = Decimal("1000000")
"""The largest gift amount taken as typed (dollars); a larger one is a typing slip until shown otherwise."""
_AMOUNT = re.compile(r"-?\d{1,16}(?:\.\d{1,4})?")
MAX_NAME_LENGTH: Final = 100
"""Names longer than this (Alma allows 255) are a paste gone wrong, not a person's name."""
_UNPRINTABLE_NAME = frozenset({"Cc", "Zl", "Zp", "Cs", "Co", "Cn"})
# Direction overrides and isolates reorder what staff see; joiners (ZWJ, ZWNJ) are part of real names.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _plain_name(value: str, what: str) -> str:
    """``value`` if it reads as a name: no control characters and of plausible length."""
    if any(unicodedata.category(ch) in _UNPRINTABLE_NAME or ch in _BIDI_CONTROLS for ch in value):
        raise ValueError(
            f"{what} holds control characters (a line break, a tab, a direction mark…); type the name only"
        )
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"{what} is {len(value)} characters long; a name has at most {MAX_NAME_LENGTH}")
    return value


class Donation(_Form):
    """A gift to the library (Friends of the Library): how much and when.

    Raises ``InputError`` for a negative or non-numeric amount or a date in the future.
    """

    amount: Decimal
    given_on: date

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value: Any) -> Decimal:
        # str() first so 100.1 stays 100.1 instead of a binary-float expansion.
        text = str(value).replace("$", "").replace(",", "").strip()
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        if not _AMOUNT.fullmatch(text):
            # Digits only: "1e7000000" is a number, but no gift is written so (and it would fill a note).
            raise ValueError(f"amount must be a number of dollars written in digits, like 100 or 250.00; got {shown}")
        amount = Decimal(text)
        if amount.is_signed():
            raise ValueError(f"amount must be zero or more; got {shown}")  # -0 too: a sign is a slip
        if amount > MAX_DONATION:
            raise ValueError(f"amount must be at most {MAX_DONATION:,} dollars; got {shown}: check the digits")
        return amount

    @field_validator("given_on", mode="before")
    @classmethod
    def _given_on(cls, value: Any) -> date:
        given = _as_date(value, "given_on")
        if given is None:
            raise ValueError("given_on is required: the date of the gift, like 2024-05-12")
        return given

    @field_validator("given_on")
    @classmethod
    def _given_on_past(cls, value: date) -> date | None:
        return _in_the_past(value, "given_on")


class PostalAddress(_Form):
    """A postal address as staff write it down; ``line1`` and ``city`` are required by Alma."""

    line1: _Text
    line2: str | None = None
    city: _Text
    state_province: str | None = None
    postal_code: str | None = None
    country: str | None = None


class Patron(_Form):
    """The application a staff member fills in for someone without an active NetID.

    Construction raises ``InputError`` (a ``ValueError``) with one line per problem, such as
    ``"first_name must not be blank"``. Only generic checks live here; whether the OneLink ID has
    the institution's format is the policy's ``validate_onelink_id``.
    """

    onelink_id: str
    first_name: _Text
    last_name: _Text
    email: str | None = None
    phone: str | None = None
    address: PostalAddress | None = None
    affiliation: _Text
    home_institution: str | None = None
    graduated_on: date | None = None
    left_on: date | None = None
    prior_role: PriorRole | None = None
    donation: Donation | None = None
    has_active_netid: bool = False
    notes: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("onelink_id", mode="before")
    @classmethod
    def _onelink_id_text(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            # A number has already lost any leading zeros, which are part of the id, so do not echo it
            # back as the value to type: "123456" may really be "0123456".
            raise ValueError(
                f"onelink_id must be text, not the number {value!r}: type the ID exactly as OneLink shows it "
                '(at Duke, the 7-digit ID), leading zeros included, in quotes, like "0123456"'
            )
        return value

    @field_validator("onelink_id")
    @classmethod
    def _onelink_id(cls, value: str) -> str:
        if not value:
            raise ValueError("onelink_id must not be blank: it is the unique ID shown after OneLink sign-in")
        if any(ch.isspace() for ch in value):
            raise ValueError(f"onelink_id must not contain spaces; got {value!r}")
        return value

    @field_validator("first_name", "last_name")
    @classmethod
    def _names(cls, value: str, info: ValidationInfo) -> str:
        return _plain_name(value, str(info.field_name))

    @field_validator("affiliation")
    @classmethod
    def _affiliation_code(cls, value: str) -> str:
        # Staff type "Former affiliate" or "former-affiliate"; policies publish snake_case codes.
        return affiliation_code(value)

    @field_validator("email", "phone", "home_institution", "notes", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError(f"email {value!r} does not look like an address; expected name@example.org")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if sum(ch.isdigit() for ch in value) < 7 or not re.fullmatch(r"[\d\s+().\-/x]+", value):
            raise ValueError(f"phone {value!r} must be a number with at least 7 digits, like +1 919 555 0100")
        return value

    @field_validator("graduated_on", "left_on", mode="before")
    @classmethod
    def _dates(cls, value: Any, info: ValidationInfo) -> date | None:
        return _as_date(value, str(info.field_name))

    @field_validator("graduated_on", "left_on")
    @classmethod
    def _dates_past(cls, value: date | None, info: ValidationInfo) -> date | None:
        return _in_the_past(value, str(info.field_name))

    @field_validator("prior_role", mode="before")
    @classmethod
    def _prior_role(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = str(value).strip().casefold()
        aliases = {"sponsored researcher": "sponsored", "sponsored guest": "sponsored", "employee": "staff"}
        text = aliases.get(text, text)
        if text not in PRIOR_ROLES:
            raise ValueError(f"prior_role must be one of {', '.join(PRIOR_ROLES)} (or left empty); got {value!r}")
        return text

    @property
    def full_name(self) -> str:
        """First and last name, for messages."""
        return f"{self.first_name} {self.last_name}"
