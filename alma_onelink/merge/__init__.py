"""Merging a patron's old Alma account into their OneLink account: plan, review, apply, undo.

Alma has no merge API. Its UI job (Admin > User Management > Merge Users) moves loans, requests,
fees and history, copies the segments ticked and deletes the old account, irreversibly. This does
everything the API can, safely, and lists what only the UI can so exactly that it cannot go wrong:

```python
plan = plan_merge(alma, "jd123", "0456789", policy=load_policy("duke"))   # reads only
print(plan)                                                                # review
result = apply_merge(alma, plan, confirm=plan.token, staff="jsmith")       # journaled
undo_merge(alma, result)                                                   # if need be
```

The procedure is written once (``_plan``, ``_apply``: generators, no I/O) and run by the
engine's sync or async driver (`alma_onelink.engine`), beside registration, never inside it.
"""

from typing import TYPE_CHECKING

from alma_onelink._lazy import lazy_names

if TYPE_CHECKING:
    from ._api import aapply_merge, aplan_merge, apply_merge, aundo_merge, plan_merge, undo_merge
    from ._types import ActivityItem, MergeItem, MergeOutcome, MergePlan, MergeRefused, MergeResult
else:
    __getattr__, __dir__ = lazy_names(
        __name__,
        {
            "._api": ("aapply_merge", "aplan_merge", "apply_merge", "aundo_merge", "plan_merge", "undo_merge"),
            "._types": ("ActivityItem", "MergeItem", "MergeOutcome", "MergePlan", "MergeRefused", "MergeResult"),
        },
    )

__all__ = [
    "ActivityItem",
    "MergeItem",
    "MergeOutcome",
    "MergePlan",
    "MergeRefused",
    "MergeResult",
    "aapply_merge",
    "aplan_merge",
    "apply_merge",
    "aundo_merge",
    "plan_merge",
    "undo_merge",
]
