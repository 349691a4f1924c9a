"""alma-onelink: a typed SDK for the Ex Libris Alma Users API, with institution policies.

```python
from alma_onelink import AlmaClient

with AlmaClient.sandbox() as alma:          # or AlmaClient(api_key=..., region="na")
    for user in alma.users.list(last_name="Smith"):
        print(user.primary_id, user.full_name)
```
"""

from ._lazy import lazy_names
from ._version import __version__

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing (a Ctrl-C at start-up stays one line)

# Each name is imported on first use (PEP 562): ``import alma_onelink`` loads none of httpx, pydantic or rich,
# and a script that uses only the client never loads the registration, the merge or the journal.
if TYPE_CHECKING:
    from ._client import AlmaClient, AsyncAlmaClient
    from ._config import REGIONS
    from ._ratelimit import RateLimiter, TokenBucket
    from ._response import RawResponse
    from .engine import (
        Journal,
        JournalEntry,
        Settled,
        Unfinished,
        afind_unfinished,
        arestore,
        asettle,
        find_unfinished,
        restore,
        settle,
    )
    from .engine.journal import Archived
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
    from .onelink import (
        DEFAULT_RESERVE,
        DEFERRED_REASON,
        Outcome,
        QuotaEstimate,
        RegistrationResult,
        aestimate_quota,
        aregister_many,
        aregister_patron,
        estimate_quota,
        register_many,
        register_patron,
    )
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
            ".engine": (
                "Journal", "JournalEntry", "Settled", "Unfinished", "afind_unfinished", "arestore", "asettle",
                "find_unfinished", "restore", "settle",
            ),
            ".engine.journal": ("Archived",),
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
                "DEFAULT_RESERVE", "DEFERRED_REASON", "Outcome", "QuotaEstimate", "RegistrationResult",
                "aestimate_quota", "aregister_many", "aregister_patron", "estimate_quota", "register_many",
                "register_patron",
            ),
            ".pagination": ("AsyncOffsetPage", "SyncOffsetPage"),
            ".policy": ("Donation", "Patron"),
        },
    )  # fmt: skip

__all__ = [
    "DEFAULT_RESERVE",
    "DEFERRED_REASON",
    "REGIONS",
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AlmaClient",
    "AlmaError",
    "AlreadyExistsError",
    "Archived",
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
    "QuotaEstimate",
    "RateLimitError",
    "RateLimiter",
    "RawResponse",
    "ResponseTooLargeError",
    "RegistrationResult",
    "Settled",
    "SyncOffsetPage",
    "TokenBucket",
    "Unfinished",
    "__version__",
    "aapply_merge",
    "aestimate_quota",
    "afind_unfinished",
    "aplan_merge",
    "apply_merge",
    "aundo_merge",
    "aregister_many",
    "aregister_patron",
    "arestore",
    "asettle",
    "estimate_quota",
    "find_unfinished",
    "plan_merge",
    "register_many",
    "register_patron",
    "restore",
    "settle",
    "undo_merge",
]
