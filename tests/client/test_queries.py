"""Queries mean what the caller wrote, counts are counts, and walking ends even when Alma ignores offset."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from alma_onelink import AlmaClient, InputError, QueryNotUnderstoodError
from alma_onelink.errors import BadRequestError
from alma_onelink.resources._query import search_value
from alma_onelink.sandbox import Sandbox
from tests.client.conftest import (
    Directory,
    Script,
    alma_error,
    brief_user,
    ids_of,
    make_async_client,
    make_client,
    ok,
    params_of,
)

# --- filter values --------------------------------------------------------------------------------------


def q_of(**filters: Any) -> str:
    script = Script(ok({"total_record_count": 0}))
    make_client(script).users.list(**filters)
    return params_of(script.last)["q"]


def test_a_value_with_the_word_and_stays_one_condition() -> None:
    # Before: "Smith AND Jones" searched last_name~Smith AND a condition "Jones".
    assert q_of(last_name="Smith AND Jones") == "last_name~Smith and Jones"
    assert q_of(last_name="Black OR White", first_name="Ann") == "last_name~Black or White AND first_name~Ann"


def test_a_value_cannot_add_a_clause() -> None:
    script = Script()
    with pytest.raises(InputError, match="'~'") as caught:
        make_client(script).users.list(last_name="Doe AND first_name~Jane")
    assert "last_name" in str(caught.value)
    assert script.requests == []


def test_none_is_refused_not_searched_as_the_text_none() -> None:
    script = Script()
    with pytest.raises(InputError, match=r"last_name=None cannot be searched: .*leave the keyword out"):
        make_client(script).users.list(last_name=None)
    assert script.requests == []


@pytest.mark.parametrize("value", ["", "   ", "a\nb", "tab\there", "\ud800", True, ["x"], {"a": 1}])
def test_values_that_cannot_be_written_are_refused_naming_the_field(value: Any) -> None:
    with pytest.raises(InputError, match="email"):
        search_value("email", value)


def test_numbers_and_dates_are_written_as_alma_reads_them() -> None:
    assert search_value("fines_fees_sum", 5) == "5"
    assert search_value("birth_date", date(1990, 3, 1)) == "1990-03-01"


def test_a_raw_q_is_the_callers_own_alma_query() -> None:
    assert q_of(q="last_name~Smith AND first_name~J*") == "last_name~Smith AND first_name~J*"


def test_a_name_with_and_in_it_is_found_on_the_sandbox() -> None:
    with Sandbox(seed=2, per_second_limit=None) as sandbox:
        for pid, last in (("sj", "Smith And Jones"), ("s", "Smith"), ("j", "Jones")):
            sandbox.users.create(
                {
                    "primary_id": pid,
                    "first_name": "Pat",
                    "last_name": last,
                    "record_type": {"value": "PUBLIC"},
                    "account_type": {"value": "INTERNAL"},
                    "user_group": {"value": "PUBLIC"},
                }
            )
        with AlmaClient.sandbox(sandbox, rate_limit=None) as alma:
            assert ids_of(alma.users.list(last_name="Smith AND Jones")) == ["sj"]
            assert ids_of(alma.users.list(last_name="Smith")) == ["s", "sj"]


# --- what Alma answers to a query it cannot run ----------------------------------------------------------


def test_a_negative_total_is_query_not_understood_never_a_count() -> None:
    # Field case b02: q=primary_id~a AND primary_id~b answered {"total_record_count": -1}.
    script = Script(ok({"total_record_count": -1}))
    with pytest.raises(QueryNotUnderstoodError) as caught:
        make_client(script).users.list(q="primary_id~abc AND primary_id~def", limit=5)
    assert isinstance(caught.value, BadRequestError)
    assert "-1" in str(caught.value)
    assert "no match would be 0" in str(caught.value)
    assert "same field twice" in (caught.value.hint or "")


def test_no_match_is_a_count_of_zero() -> None:
    page = make_client(Script(ok({"total_record_count": 0}))).users.list(last_name="Nobody")
    assert (page.items, page.total_record_count) == ([], 0)


def test_a_general_error_on_a_search_names_the_likely_causes() -> None:
    script = Script(alma_error(400, "402119", "General error."))
    with pytest.raises(BadRequestError) as caught:
        make_client(script).users.list(q="user_name~x")
    hint = caught.value.hint or ""
    assert "could not run this search" in hint
    assert "field Alma cannot search" in hint
    assert hint in str(caught.value)


def test_a_general_error_elsewhere_keeps_a_general_hint() -> None:
    script = Script(alma_error(400, "402119", "General error."))
    with pytest.raises(BadRequestError) as caught:
        make_client(script).users.fees("jdoe")
    assert "search" not in (caught.value.hint or "")


def test_the_sandbox_answering_minus_one_is_query_not_understood() -> None:
    with Sandbox(seed=2, per_second_limit=None) as sandbox:
        sandbox.knobs.unsupported_query = "-1"
        with AlmaClient.sandbox(sandbox, rate_limit=None) as alma, pytest.raises(QueryNotUnderstoodError):
            alma.users.list(q="user_name~a")  # a field Alma cannot search


# --- paging stops when a page brings nothing new ---------------------------------------------------------


class IgnoresOffset(Directory):
    """A directory (or a proxy in front of it) that answers every page with the first one."""

    def envelope(self, request: httpx.Request) -> dict[str, Any]:
        params = params_of(request)
        self.offsets.append(int(params.get("offset", "0")))
        limit = int(params.get("limit", "10"))
        body: dict[str, Any] = {"user": [brief_user(i) for i in self.ids[:limit]]}
        if self.total is not False:
            body["total_record_count"] = len(self.ids) if self.total is None else self.total
        return body


@pytest.mark.parametrize("total", [False, 10_000], ids=["no total", "a large total"])
def test_walking_stops_when_alma_ignores_offset(total: int | bool) -> None:
    directory = IgnoresOffset(250, total=total)
    page = make_client(Script(default=directory)).users.list(limit=100)
    assert ids_of(page) == directory.ids[:100]
    assert directory.offsets == [0, 100]  # the second page brought nothing new: the walk ends there
    assert len(list(page.iter_pages())) == 1


async def test_async_walking_stops_when_alma_ignores_offset() -> None:
    for total in (False, 1000):
        directory = IgnoresOffset(250, total=total)
        async with make_async_client(Script(default=directory)) as alma:
            page = await alma.users.list(limit=100)
            assert ids_of(await page.to_list(max_concurrency=4)) == directory.ids[:100]
            assert [p.offset async for p in page.iter_pages()] == [0]
        # A bounded number of requests (the first page, the pages in flight, iter_pages' one), not a loop.
        assert len(directory.offsets) <= 7, directory.offsets


def test_a_page_with_some_new_records_is_still_walked() -> None:
    def shift(directory: Directory, number: int) -> None:
        if number == 1:
            directory.ids.insert(0, "new-first")  # everything moves one place later

    directory = Directory(150, before_page=shift)
    page = make_client(Script(default=directory)).users.list(limit=100)
    walked = ids_of(page)
    assert len(walked) == len(set(walked)) == 150
