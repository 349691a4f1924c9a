"""alma-onelink: a typed SDK for the Ex Libris Alma Users API, with institution policies.

```python
from alma_onelink import AlmaClient

with AlmaClient.sandbox() as alma:          # or AlmaClient(api_key=..., region="na")
    for user in alma.users.list(last_name="Smith"):
        print(user.primary_id, user.full_name)
```
"""

from typing import TYPE_CHECKING

from ._lazy import lazy_names
from ._version import __version__

# Each name is imported on first use (PEP 562): ``import alma_onelink`` loads none of httpx, pydantic or rich,
# and a script that uses only the client never loads the registration, the merge or the journal.
if TYPE_CHECKING:
    from ._client import AlmaClient, AsyncAlmaClient
    from ._config import REGIONS
    from ._ratelimit import RateLimiter, TokenBucket
    from ._response import RawResponse
    from .engine import Journal, JournalEntry, arestore, asettle, restore, settle
    from .errors import (
        AlmaError,
        AlreadyExistsError,
        APIConnectionError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        DailyThresholdExceeded,
        EditNotTakenError,
        InputError,
        InternalServerError,
        NoNextPageError,
        NotFoundError,
        OutcomeUnknownError,
        PermissionDeniedError,
        QueryNotUnderstoodError,
        RateLimitError,
        ResponseTooLargeError,
    )
    from .merge import (
        MergePlan,
        MergeRefused,
        MergeResult,
        aapply_merge,
        aplan_merge,
        apply_merge,
        aundo_merge,
        plan_merge,
        undo_merge,
    )
    from .onelink import Outcome, RegistrationResult, aregister_many, aregister_patron, register_many, register_patron
    from .pagination import AsyncOffsetPage, SyncOffsetPage
    from .policy import Donation, Patron
else:
    __getattr__, __dir__ = lazy_names(
        __name__,
        {
            "._client": ("AlmaClient", "AsyncAlmaClient"),
            "._config": ("REGIONS",),
            "._ratelimit": ("RateLimiter", "TokenBucket"),
            "._response": ("RawResponse",),
            ".engine": ("Journal", "JournalEntry", "arestore", "asettle", "restore", "settle"),
            ".errors": (
                "AlmaError", "AlreadyExistsError", "APIConnectionError", "APIResponseValidationError",
                "APIStatusError", "APITimeoutError", "AuthenticationError", "BadRequestError",
                "DailyThresholdExceeded", "EditNotTakenError", "InputError", "InternalServerError", "NoNextPageError",
                "NotFoundError", "OutcomeUnknownError", "PermissionDeniedError", "QueryNotUnderstoodError",
                "RateLimitError", "ResponseTooLargeError",
            ),
            ".merge": (
                "MergePlan", "MergeRefused", "MergeResult", "aapply_merge", "aplan_merge", "apply_merge", "aundo_merge",
                "plan_merge", "undo_merge",
            ),
            ".onelink": (
                "Outcome", "RegistrationResult", "aregister_many", "aregister_patron", "register_many",
                "register_patron",
            ),
            ".pagination": ("AsyncOffsetPage", "SyncOffsetPage"),
            ".policy": ("Donation", "Patron"),
        },
    )  # fmt: skip

__all__ = [
    "REGIONS",
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AlmaClient",
    "AlmaError",
    "AlreadyExistsError",
    "AsyncAlmaClient",
    "AsyncOffsetPage",
    "AuthenticationError",
    "BadRequestError",
    "DailyThresholdExceeded",
    "Donation",
    "EditNotTakenError",
    "InputError",
    "InternalServerError",
    "Journal",
    "JournalEntry",
    "MergePlan",
    "MergeRefused",
    "MergeResult",
    "NoNextPageError",
    "NotFoundError",
    "Outcome",
    "OutcomeUnknownError",
    "Patron",
    "PermissionDeniedError",
    "QueryNotUnderstoodError",
    "RateLimitError",
    "RateLimiter",
    "RawResponse",
    "ResponseTooLargeError",
    "RegistrationResult",
    "SyncOffsetPage",
    "TokenBucket",
    "__version__",
    "aapply_merge",
    "aplan_merge",
    "apply_merge",
    "aundo_merge",
    "aregister_many",
    "aregister_patron",
    "arestore",
    "asettle",
    "plan_merge",
    "register_many",
    "register_patron",
    "restore",
    "settle",
    "undo_merge",
]
