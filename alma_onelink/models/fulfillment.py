"""Loans, requests and fees of a user, and the list envelopes Alma wraps them in."""

from __future__ import annotations

from pydantic import Field

from ._base import AlmaBool, AlmaDate, AlmaDateTime, AlmaFloat, AlmaInt, AlmaModel, Code, ListOf
from .user import User

__all__ = [
    "Fee",
    "FeeList",
    "FeeTransaction",
    "ItemPolicy",
    "LinkedId",
    "Loan",
    "LoanList",
    "LocationCode",
    "RequestList",
    "ResourceSharingInfo",
    "UserList",
    "UserRequest",
]


class LinkedId(AlmaModel):
    """An identifier with a link to its record: ``{"value": "123", "link": "https://…"}``."""

    value: str | None = None
    link: str | None = None


class LocationCode(AlmaModel):
    """A shelving location: ``{"value": "k00475", "name": "UREAL Samling 42"}``."""

    value: str | None = None
    name: str | None = None


class ItemPolicy(AlmaModel):
    """An item policy: ``{"value": …, "description": …}``."""

    value: str | None = None
    description: str | None = None


class Loan(AlmaModel):
    """An item loan (``item_loan``)."""

    loan_id: str | None = None
    user_id: str | None = None
    item_barcode: str | None = None
    item_id: str | None = None
    mms_id: str | None = None
    holding_id: str | None = None
    request_id: LinkedId | None = None
    circ_desk: Code | None = None
    library: Code | None = None
    return_circ_desk: Code | None = None
    location_code: LocationCode | None = None
    loan_status: str | None = None
    process_status: str | None = None
    renewable: AlmaBool | None = None
    loan_date: AlmaDateTime | None = None
    due_date: AlmaDateTime | None = None
    return_date: AlmaDateTime | None = None
    last_renew_date: AlmaDateTime | None = None
    last_renew_status: Code | None = None
    title: str | None = None
    author: str | None = None
    description: str | None = None
    publication_year: str | None = None
    call_number: str | None = None
    item_policy: ItemPolicy | None = None
    loan_fine: AlmaFloat | None = None

    @property
    def is_active(self) -> bool:
        """Whether the item is still out (``loan_status`` ACTIVE)."""
        return (self.loan_status or "").upper() == "ACTIVE"


class ResourceSharingInfo(AlmaModel):
    """The resource-sharing request behind a user request."""

    id: str | None = None
    status: Code | None = None


class UserRequest(AlmaModel):
    """A hold, booking or digitization request (``user_request``)."""

    request_id: str | None = None
    user_primary_id: str | None = None
    mms_id: str | None = None
    item_id: str | None = None
    barcode: str | None = None
    request_type: str | None = None
    request_sub_type: Code | None = None
    title: str | None = None
    author: str | None = None
    description: str | None = None
    material_type: Code | None = None
    pickup_location: str | None = None
    pickup_location_type: str | None = None
    pickup_location_library: str | None = None
    pickup_location_circulation_desk: str | None = None
    request_status: str | None = None
    place_in_queue: AlmaInt | None = None
    request_date: AlmaDate | None = None
    request_time: AlmaDateTime | None = None
    expiry_date: AlmaDate | None = None
    last_interest_date: AlmaDate | None = None
    booking_start_date: AlmaDateTime | None = None
    booking_end_date: AlmaDateTime | None = None
    partial_digitization: AlmaBool | None = None
    chapter_or_article_title: str | None = None
    chapter_or_article_author: str | None = None
    comment: str | None = None
    resource_sharing: ResourceSharingInfo | None = None

    @property
    def is_active(self) -> bool:
        """Whether the request is still open (not in History)."""
        return (self.request_status or "").strip().casefold() != "history"


class FeeTransaction(AlmaModel):
    """A payment, waiver or other transaction on a fee."""

    transaction_id: str | None = None
    type: Code | None = None
    amount: AlmaFloat | None = None
    vat_amount: AlmaFloat | None = None
    reason: Code | None = None
    comment: str | None = None
    created_by: str | None = None
    external_transaction_id: str | None = None
    transaction_time: AlmaDateTime | None = None
    received_by: Code | None = None
    payment_method: Code | None = None


class Fee(AlmaModel):
    """A fine or fee (``fee``). ``type``, ``owner`` and ``original_amount`` are required on create."""

    id: str | None = None
    link: str | None = None
    user_primary_id: LinkedId | None = None
    bursar_transaction_id: str | None = None
    type: Code | None = None
    status: Code | None = None
    owner: Code | None = None
    balance: AlmaFloat | None = None
    remaining_vat_amount: AlmaFloat | None = None
    original_amount: AlmaFloat | None = None
    original_vat_amount: AlmaFloat | None = None
    creation_time: AlmaDateTime | None = None
    status_time: AlmaDateTime | None = None
    title: str | None = None
    barcode: LinkedId | None = None
    comment: str | None = None
    transaction: ListOf[FeeTransaction] = Field(default_factory=list)

    @property
    def is_unpaid(self) -> bool:
        """Whether money is still owed on this fee."""
        return (self.balance or 0) > 0 and (self.status is None or not self.status.matches("CLOSED"))


class UserList(AlmaModel):
    """The ``GET /users`` envelope: ``{"user": [...], "total_record_count": N}``."""

    user: ListOf[User] = Field(default_factory=list)
    total_record_count: AlmaInt | None = None


class LoanList(AlmaModel):
    """The ``GET /users/{id}/loans`` envelope."""

    item_loan: ListOf[Loan] = Field(default_factory=list)
    total_record_count: AlmaInt | None = None


class RequestList(AlmaModel):
    """The ``GET /users/{id}/requests`` envelope."""

    user_request: ListOf[UserRequest] = Field(default_factory=list)
    total_record_count: AlmaInt | None = None


class FeeList(AlmaModel):
    """The ``GET /users/{id}/fees`` envelope, with the balance of all listed fees."""

    fee: ListOf[Fee] = Field(default_factory=list)
    total_record_count: AlmaInt | None = None
    total_sum: AlmaFloat | None = None
    currency: str | None = None
