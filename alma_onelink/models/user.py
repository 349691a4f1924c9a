"""The Alma user object (``rest_user.xsd``) and its sub-objects."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from rich.console import RenderableType

from ._base import AlmaBool, AlmaDate, AlmaDateTime, AlmaFloat, AlmaModel, Code, ListOf, is_placeholder_id
from ._render import user_html, user_record, user_rich

__all__ = [
    "Address",
    "ContactInfo",
    "Email",
    "LibraryNotice",
    "LinkedCount",
    "Phone",
    "ProxyForUser",
    "RoleParameter",
    "RsLibrary",
    "User",
    "UserBlock",
    "UserIdentifier",
    "UserNote",
    "UserRole",
    "UserStatistic",
]


class Address(AlmaModel):
    """A postal address in ``contact_info.address``. Alma requires ``line1``, ``city`` and a type."""

    line1: str | None = None
    line2: str | None = None
    line3: str | None = None
    line4: str | None = None
    line5: str | None = None
    city: str | None = None
    state_province: str | None = None
    postal_code: str | None = None
    country: Code | None = None
    address_note: str | None = None
    start_date: AlmaDate | None = None
    end_date: AlmaDate | None = None
    address_type: ListOf[Code] = Field(default_factory=list)
    preferred: AlmaBool | None = None
    segment_type: str | None = None


class Email(AlmaModel):
    """An email address in ``contact_info.email``. Alma requires the address and a type."""

    email_address: str | None = None
    description: str | None = None
    email_type: ListOf[Code] = Field(default_factory=list)
    preferred: AlmaBool | None = None
    segment_type: str | None = None


class Phone(AlmaModel):
    """A phone number in ``contact_info.phone``. Alma requires the number and a type."""

    phone_number: str | None = None
    phone_type: ListOf[Code] = Field(default_factory=list)
    preferred: AlmaBool | None = None
    preferred_sms: AlmaBool | None = None
    segment_type: str | None = None


class ContactInfo(AlmaModel):
    """Addresses, emails and phones of a user."""

    address: ListOf[Address] = Field(default_factory=list)
    email: ListOf[Email] = Field(default_factory=list)
    phone: ListOf[Phone] = Field(default_factory=list)


class UserIdentifier(AlmaModel):
    """An additional identifier (barcode, university id…). Values are unique across users."""

    id_type: Code | None = None
    value: str | None = None
    note: str | None = None
    status: str | None = None
    segment_type: str | None = None


class RoleParameter(AlmaModel):
    """A parameter of a role, such as the circulation desk it applies to."""

    type: Code | None = None
    scope: Code | None = None
    value: Code | None = None


class UserRole(AlmaModel):
    """A role; ``role_type`` 200 is Patron."""

    status: Code | None = None
    scope: Code | None = None
    role_type: Code | None = None
    expiry_date: AlmaDate | None = None
    parameter: ListOf[RoleParameter] = Field(default_factory=list)


class UserBlock(AlmaModel):
    """A block on the account; ``block_description`` is required by Alma."""

    block_type: Code | None = None
    block_description: Code | None = None
    block_status: str | None = None
    block_note: str | None = None
    created_by: str | None = None
    created_date: AlmaDateTime | None = None
    expiry_date: AlmaDateTime | None = None
    item_loan_id: str | None = None
    segment_type: str | None = None


class UserNote(AlmaModel):
    """A note on the account; ``note_type`` and ``note_text`` are required by Alma."""

    note_type: Code | None = None
    note_text: str | None = None
    user_viewable: AlmaBool | None = None
    popup_note: AlmaBool | None = None
    created_by: str | None = None
    created_date: AlmaDateTime | None = None
    note_owner: str | None = None
    segment_type: str | None = None


class UserStatistic(AlmaModel):
    """A statistical category (for example the "Patron type" an institution reports on)."""

    statistic_category: Code | None = None
    category_type: Code | None = None
    statistic_note: str | None = None
    statistic_owner: str | None = None
    segment_type: str | None = None


class ProxyForUser(AlmaModel):
    """A user this user may act for (read-only in Alma)."""

    primary_id: str | None = None
    full_name: str | None = None
    link: str | None = None


class RsLibrary(AlmaModel):
    """A resource-sharing library of the user."""

    code: Code | None = None


class LibraryNotice(AlmaModel):
    """A notice the user opted in to or out of (``LibraryNoticesOptInDisplay``)."""

    code: Code | None = None
    value: AlmaBool | None = None


class LinkedCount(AlmaModel):
    """What ``expand=loans,requests,fees`` adds: a number and a link to the list."""

    value: AlmaFloat | None = None
    link: str | None = None


class User(AlmaModel):
    """An Alma user, as returned by ``GET /users/{id}`` and sent to ``POST``/``PUT``.

    Every field of ``rest_user.xsd`` is typed; anything newer that Alma sends is kept as an extra
    field and written back unchanged. ``password`` is write-only in Alma and hidden from ``repr``.
    """

    record_type: Code | None = None
    primary_id: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    pin_number: str | None = Field(default=None, repr=False)
    user_title: Code | None = None
    job_category: Code | None = None
    job_description: str | None = None
    gender: Code | None = None
    user_group: Code | None = None
    campus_code: Code | None = None
    web_site_url: str | None = None
    cataloger_level: Code | None = None
    preferred_language: Code | None = None
    birth_date: AlmaDate | None = None
    expiry_date: AlmaDate | None = None
    purge_date: AlmaDate | None = None
    account_type: Code | None = None
    external_id: str | None = None
    password: str | None = Field(default=None, repr=False)
    force_password_change: str | None = None
    status: Code | None = None
    status_date: AlmaDate | None = None
    last_patron_activity_date: AlmaDate | None = None
    requests: LinkedCount | None = None
    loans: LinkedCount | None = None
    fees: LinkedCount | None = None
    contact_info: ContactInfo | None = None
    pref_first_name: str | None = None
    pref_middle_name: str | None = None
    pref_last_name: str | None = None
    pref_name_suffix: str | None = None
    is_researcher: AlmaBool | None = None
    researcher: dict[str, Any] | None = None
    link: str | None = None
    user_identifier: ListOf[UserIdentifier] = Field(default_factory=list)
    user_role: ListOf[UserRole] = Field(default_factory=list)
    user_block: ListOf[UserBlock] = Field(default_factory=list)
    user_note: ListOf[UserNote] = Field(default_factory=list)
    user_statistic: ListOf[UserStatistic] = Field(default_factory=list)
    proxy_for_user: ListOf[ProxyForUser] = Field(default_factory=list)
    rs_library: ListOf[RsLibrary] = Field(default_factory=list)
    library_notice: ListOf[LibraryNotice] = Field(default_factory=list)
    source_link_id: str | None = None
    source_institution_code: str | None = None
    linking_id: str | None = None
    # Seen in some clients, absent from the XSD; kept as text since their format is unconfirmed.
    created_by: str | None = None
    created_date: str | None = None
    last_modified_by: str | None = None
    last_modified_date: str | None = None

    # --- conveniences for notebooks and policies -------------------------------------------------

    @property
    def display_name(self) -> str:
        """``full_name``, else first and last name (search results are brief and carry no full name)."""
        return self.full_name or " ".join(p for p in (self.first_name, self.last_name) if p)

    @property
    def preferred_email(self) -> str | None:
        """The preferred email address, else the first one, else ``None``."""
        emails = self.contact_info.email if self.contact_info else []
        for email in emails:
            if email.preferred:
                return email.email_address
        return emails[0].email_address if emails else None

    def identifier_values(self, id_type: str | None = None) -> list[str]:
        """Values of the user's identifiers, optionally only those of ``id_type`` (case-insensitive)."""
        return [
            ident.value
            for ident in self.user_identifier
            if ident.value is not None
            and (id_type is None or (ident.id_type is not None and ident.id_type.matches(id_type)))
        ]

    def statistic(self, category_type: str) -> UserStatistic | None:
        """The first statistic whose ``category_type`` is ``category_type`` (case-insensitive)."""
        for stat in self.user_statistic:
            if stat.category_type is not None and stat.category_type.matches(category_type):
                return stat
        return None

    @property
    def is_patron_only(self) -> bool:
        """Whether the user holds no role but Patron (role type 200), as Alma requires of a user merged away."""
        return all(role.role_type is not None and role.role_type.value == "200" for role in self.user_role)

    @property
    def has_primary_id(self) -> bool:
        """Whether the user has a primary id a request can name: not blank, and not the placeholder
        ``"no primary id (…)"`` Alma writes for contacts that have none (look those up by an identifier)."""
        return bool(self.primary_id and self.primary_id.strip()) and not is_placeholder_id(self.primary_id)

    @property
    def is_brief(self) -> bool:
        """Whether this is a brief record from a search (no ``expand="full"``): it has a link but none of the
        record's own fields (record and account type, identifiers, contacts, notes). Get the full one with
        ``alma.users.get(user.primary_id)`` before judging or writing it."""
        return bool(self.link) and self.record_type is None and self.account_type is None

    def __str__(self) -> str:
        return f"{self.display_name or '(no name)'} <{self.primary_id or 'no primary id'}>"

    def __repr__(self) -> str:
        # One short line (the whole record is in to_alma()): who, in which group, in which state.
        parts = [f"primary_id={self.primary_id!r}", f"name={self.display_name!r}"]
        parts += [
            f"{name}={str(code)!r}" for name, code in (("group", self.user_group), ("status", self.status)) if code
        ]
        text = f"User({', '.join(parts)}{', brief' if self.is_brief else ''})"
        return text if len(text) <= 120 else text[:116] + "…)"

    # --- renderings ------------------------------------------------------------------------------

    def to_record(self) -> dict[str, str | int | float | bool | None]:
        """The user as one flat dict of JSON values, for a table or a DataFrame.

        Keys: ``primary_id``, ``name``, ``first_name``, ``last_name``, ``user_group``,
        ``user_group_desc``, ``status``, ``account_type``, ``expiry_date``, ``purge_date`` (ISO
        dates), ``email`` (the preferred one), ``emails``, ``identifiers`` (``"TYPE value"``),
        ``statistics`` (lists joined with ``"; "``) and ``notes`` (how many). ``to_alma()`` is the
        whole record.
        """
        return user_record(self)

    def _repr_html_(self) -> str:
        """A short table for notebooks: name, primary id, group, status, expiry, identifiers, emails."""
        return user_html(self)

    def __rich__(self) -> RenderableType:
        """The same short table for a terminal: ``rich.print(user)``."""
        return user_rich(self)
