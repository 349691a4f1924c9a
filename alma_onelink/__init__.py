"""alma-onelink: a typed SDK for the Ex Libris Alma Users API, with institution policies.

```python
from alma_onelink import AlmaClient

with AlmaClient.sandbox() as alma:          # or AlmaClient(api_key=..., region="na")
    for user in alma.users.list(last_name="Smith"):
        print(user.primary_id, user.full_name)
```
"""

from ._client import AlmaClient, AsyncAlmaClient
from ._config import REGIONS
from ._ratelimit import RateLimiter, TokenBucket
from ._response import RawResponse
from ._version import __version__
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
