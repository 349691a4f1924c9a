"""Registration results as rows: ``to_records(results)`` for JSON or a table, ``to_dataframe(results)`` for pandas.

```python
from alma_onelink.onelink import register_many, to_dataframe

results = list(register_many(alma, duke, patrons, journal=journal))
to_dataframe(results).groupby("outcome").size()
```
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from alma_onelink.errors import InputError
from alma_onelink.models._render import dataframe

from .result import RegistrationResult

__all__ = ["RESULT_COLUMNS", "to_dataframe", "to_records"]

RESULT_COLUMNS: tuple[str, ...] = (
    "index",
    "onelink_id",
    "name",
    "affiliation",
    "outcome",
    "ok",
    "dry_run",
    "primary_id",
    "user_group",
    "expiry_date",
    "merge_from",
    "reason",
    "issues",
    "candidates",
    "registration_id",
    "journal_error",
)
"""The keys of `RegistrationResult.to_record`, in order."""


def to_records(results: Iterable[RegistrationResult]) -> list[dict[str, str | int | bool | None]]:
    """`RegistrationResult.to_record` of each result, in the order given: JSON-ready flat dicts.

    ``register_many`` yields results as they finish; sort by ``index`` for the input's order.
    Raises `InputError` if ``results`` is not an iterable of `RegistrationResult` (naming the first
    item that is not one).
    """
    if isinstance(results, str | bytes | dict) or not isinstance(results, Iterable):
        raise InputError(
            f"results must be registration results (a list, or what register_many yields); got {type(results).__name__}"
        )
    records = []
    for index, result in enumerate(results):
        if not isinstance(result, RegistrationResult):
            raise InputError(
                f"results[{index}] is a {type(result).__name__}, not a registration result (RegistrationResult)"
            )
        records.append(result.to_record())
    return records


def to_dataframe(results: Iterable[RegistrationResult]) -> Any:
    """A pandas DataFrame of the results, one row each (columns: `RESULT_COLUMNS`).

    Needs pandas (``pip install 'alma-onelink[pandas]'``); without it, raises ``ModuleNotFoundError``
    saying so; `InputError` as `to_records` does. ``expiry_date`` is a datetime column.
    """
    return dataframe(to_records(results), columns=RESULT_COLUMNS)
