"""Typed Alma objects. Lenient on read, canonical on write, lossless in between.

Models never import the HTTP layer: they parse and dump JSON, nothing more.
"""

from typing import TYPE_CHECKING

from alma_onelink._lazy import lazy_names

if TYPE_CHECKING:
    from ._base import AlmaBool, AlmaDate, AlmaDateTime, AlmaFloat, AlmaInt, AlmaModel, Code, KeptNumber, ListOf
    from .fulfillment import (
        Fee,
        FeeList,
        FeeTransaction,
        ItemPolicy,
        LinkedId,
        Loan,
        LoanList,
        LocationCode,
        RequestList,
        ResourceSharingInfo,
        UserList,
        UserRequest,
    )
    from .user import (
        Address,
        ContactInfo,
        Email,
        LibraryNotice,
        LinkedCount,
        Phone,
        ProxyForUser,
        RoleParameter,
        RsLibrary,
        User,
        UserBlock,
        UserIdentifier,
        UserNote,
        UserRole,
        UserStatistic,
    )
else:
    __getattr__, __dir__ = lazy_names(
        __name__,
        {
            "._base": (
                "AlmaBool", "AlmaDate", "AlmaDateTime", "AlmaFloat", "AlmaInt", "AlmaModel", "Code", "KeptNumber",
                "ListOf",
            ),
            ".fulfillment": (
                "Fee", "FeeList", "FeeTransaction", "ItemPolicy", "LinkedId", "Loan", "LoanList", "LocationCode",
                "RequestList", "ResourceSharingInfo", "UserList", "UserRequest",
            ),
            ".user": (
                "Address", "ContactInfo", "Email", "LibraryNotice", "LinkedCount", "Phone", "ProxyForUser",
                "RoleParameter", "RsLibrary", "User", "UserBlock", "UserIdentifier", "UserNote", "UserRole",
                "UserStatistic",
            ),
        },
    )  # fmt: skip

__all__ = [
    "Address",
    "AlmaBool",
    "AlmaDate",
    "AlmaDateTime",
    "AlmaFloat",
    "AlmaInt",
    "AlmaModel",
    "Code",
    "ContactInfo",
    "Email",
    "Fee",
    "FeeList",
    "FeeTransaction",
    "ItemPolicy",
    "KeptNumber",
    "LibraryNotice",
    "LinkedCount",
    "LinkedId",
    "ListOf",
    "Loan",
    "LoanList",
    "LocationCode",
    "Phone",
    "ProxyForUser",
    "RequestList",
    "ResourceSharingInfo",
    "RoleParameter",
    "RsLibrary",
    "User",
    "UserBlock",
    "UserIdentifier",
    "UserList",
    "UserNote",
    "UserRequest",
    "UserRole",
    "UserStatistic",
]
