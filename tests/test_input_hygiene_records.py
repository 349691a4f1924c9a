"""Registration results as rows refuse what is not registration results, in words, before pandas is touched."""

from __future__ import annotations

from typing import Any

import pytest

from alma_onelink.errors import InputError
from alma_onelink.onelink import to_dataframe, to_records


@pytest.mark.parametrize("results", [None, 12, "created", {"outcome": "created"}, [{"outcome": "created"}]])
def test_rows_of_something_else_are_an_input_error(results: Any) -> None:
    with pytest.raises(InputError, match="registration result"):
        to_records(results)
    with pytest.raises(InputError, match="registration result"):
        to_dataframe(results)


def test_no_results_is_no_rows() -> None:
    assert to_records([]) == []
