"""Offset pages: walking every page, stopping in time, no duplicates, filters, and async concurrency."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import httpx
import pytest

from alma_onelink import AsyncOffsetPage, BadRequestError, InputError, SyncOffsetPage
from alma_onelink.models import Fee, Loan, User
from alma_onelink.pagination import DEFAULT_MAX_CONCURRENCY
from tests.client.conftest import (
    Directory,
    Script,
    alma_error,
    example,
    ids_of,
    make_async_client,
    make_client,
    ok,
    params_of,
)

# --- walking ------------------------------------------------------------------------------------------


def test_iterating_walks_every_page_of_100() -> None:
    directory = Directory(250)
    script = Script(default=directory)
    users = list(make_client(script).users.list())
    assert ids_of(users) == directory.ids
    assert directory.offsets == [0, 100, 200]
    assert directory.limits == [100, 100, 100]
    assert all(isinstance(u, User) for u in users)


def test_exact_multiple_with_a_true_total_needs_no_extra_request() -> None:
    directory = Directory(200)
    users = list(make_client(Script(default=directory)).users.list())
    assert len(users) == 200
    assert directory.offsets == [0, 100]


def test_stops_on_an_empty_page_when_the_total_is_missing() -> None:
    directory = Directory(200, total=False)
    users = list(make_client(Script(default=directory)).users.list())
    assert len(users) == 200
    assert directory.offsets == [0, 100, 200]


def test_stops_on_a_short_page_when_the_total_is_missing() -> None:
    directory = Directory(150, total=False)
    users = list(make_client(Script(default=directory)).users.list())
    assert len(users) == 150
    assert directory.offsets == [0, 100]


@pytest.mark.parametrize(("real", "requests"), [(250, 3), (200, 3), (100, 2), (0, 1)])
def test_overstated_total_costs_at_most_one_extra_request(real: int, requests: int) -> None:
    directory = Directory(real, total=1000)
    users = list(make_client(Script(default=directory)).users.list())
    assert ids_of(users) == directory.ids
    needed = max(1, -(-real // 100))
    assert len(directory.offsets) <= needed + 1
    assert len(directory.offsets) == requests


def test_smaller_page_size() -> None:
    directory = Directory(25)
    users = list(make_client(Script(default=directory)).users.list(limit=10))
    assert len(users) == 25
    assert directory.offsets == [0, 10, 20]
    assert directory.limits == [10, 10, 10]


def test_starting_offset() -> None:
    directory = Directory(250)
    users = list(make_client(Script(default=directory)).users.list(offset=120))
    assert ids_of(users) == directory.ids[120:]
    assert directory.offsets == [120, 220]


def test_records_shifting_between_pages_are_not_yielded_twice() -> None:
    def insert_after_first_page(d: Directory, page_number: int) -> None:
        if page_number == 1:
            d.ids.insert(0, "a-new-user")

    directory = Directory(250, before_page=insert_after_first_page)
    users = ids_of(make_client(Script(default=directory)).users.list())
    assert len(users) == len(set(users))
    assert users[:100] == [f"u{i:04d}" for i in range(100)]
    assert set(users) == {f"u{i:04d}" for i in range(250)}


def test_ids_differing_only_in_case_are_one_user() -> None:
    first = ok(
        {"user": [{"primary_id": f"u{i}"} for i in range(99)] + [{"primary_id": "JDOE"}], "total_record_count": 101}
    )
    second = ok({"user": [{"primary_id": "jdoe"}], "total_record_count": 101})
    users = ids_of(make_client(Script(first, second)).users.list())
    assert users.count("JDOE") + users.count("jdoe") == 1


def test_empty_result() -> None:
    script = Script(ok({"total_record_count": 0}))
    page = make_client(script).users.list(last_name="Nobody")
    assert page.items == []
    assert page.total_record_count == 0
    assert not page.has_next_page()
    assert list(page) == []
    assert len(script.requests) == 1


def test_empty_result_with_null_user() -> None:
    script = Script(ok({"total_record_count": 0, "user": None}))
    assert list(make_client(script).users.list()) == []


def test_real_alma_search_envelope() -> None:
    script = Script(ok(example("scriptotek_users_response.json")))
    page = make_client(script).users.list(q="last_name~Banan")
    assert page.total_record_count == 1
    assert ids_of(page) == ["1234567"]
    assert page.items[0].status is not None
    assert page.items[0].status.value == "ACTIVE"


# --- the page API ------------------------------------------------------------------------------------


def test_page_attributes_and_navigation() -> None:
    directory = Directory(250)
    page = make_client(Script(default=directory)).users.list()
    assert isinstance(page, SyncOffsetPage)
    assert len(page.items) == 100
    assert page.total_record_count == 250
    assert page.has_next_page()
    assert directory.offsets == [0]  # nothing fetched ahead

    second = page.get_next_page()
    assert ids_of(second.items) == directory.ids[100:200]
    third = second.get_next_page()
    assert len(third.items) == 50
    assert not third.has_next_page()
    with pytest.raises(StopIteration):
        third.get_next_page()
    assert directory.offsets == [0, 100, 200]


def test_iter_pages() -> None:
    directory = Directory(250)
    pages = list(make_client(Script(default=directory)).users.list().iter_pages())
    assert [len(p.items) for p in pages] == [100, 100, 50]
    assert [p.total_record_count for p in pages] == [250, 250, 250]


def test_to_list() -> None:
    directory = Directory(130)
    assert ids_of(make_client(Script(default=directory)).users.list().to_list()) == directory.ids


def test_iterating_a_page_twice_fetches_again_but_yields_the_same() -> None:
    directory = Directory(150)
    page = make_client(Script(default=directory)).users.list()
    assert ids_of(page) == ids_of(page) == directory.ids


def test_later_page_errors_surface_as_typed_errors() -> None:
    directory = Directory(250)
    script = Script(
        directory,
        httpx.Response(400, json={"errorList": {"error": {"errorCode": "402119", "errorMessage": "General error."}}}),
    )
    page = make_client(script).users.list()
    with pytest.raises(BadRequestError, match="402119"):
        list(page)


# --- arguments ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [101, 1000, -1, 2.5, True])
def test_bad_limit_is_rejected_before_any_request(limit: Any) -> None:
    script = Script()
    with pytest.raises(InputError, match="limit"):
        make_client(script).users.list(limit=limit)
    assert script.requests == []


def test_bad_offset_is_rejected_before_any_request() -> None:
    script = Script()
    with pytest.raises(InputError, match="offset"):
        make_client(script).users.list(offset=-1)
    assert script.requests == []


def test_keyword_filters_build_q() -> None:
    script = Script(ok({"total_record_count": 0}))
    make_client(script).users.list(last_name="Smith", email="a@b.org")
    assert params_of(script.last)["q"] == "last_name~Smith AND email~a@b.org"


def test_filters_are_joined_to_a_raw_q() -> None:
    script = Script(ok({"total_record_count": 0}))
    make_client(script).users.list(q="first_name~John", last_name="Smith")
    assert params_of(script.last)["q"] == "first_name~John AND last_name~Smith"


def test_date_filters_are_iso() -> None:
    script = Script(ok({"total_record_count": 0}))
    make_client(script).users.list(birth_date=date(1990, 3, 1))
    assert params_of(script.last)["q"] == "birth_date~1990-03-01"


def test_unknown_filter_lists_the_valid_fields() -> None:
    script = Script()
    with pytest.raises(InputError) as info:
        make_client(script).users.list(surname="Smith")
    message = str(info.value)
    assert "surname" in message
    for field in ("last_name", "email", "primary_id", "identifiers", "user_group"):
        assert field in message
    assert script.requests == []


def test_empty_filter_value_is_rejected() -> None:
    script = Script()
    with pytest.raises(InputError):
        make_client(script).users.list(last_name="  ")
    assert script.requests == []


@pytest.mark.parametrize("search", [{"q": "last_name~Smith"}, {"last_name": "Smith"}])
def test_search_with_modify_date_from_is_rejected(search: dict[str, Any]) -> None:
    script = Script()
    with pytest.raises(InputError, match="modify_date_from"):
        make_client(script).users.list(modify_date_from=date(2024, 1, 31), **search)
    assert script.requests == []


def test_modify_date_from_alone() -> None:
    script = Script(ok({"total_record_count": 0}))
    make_client(script).users.list(modify_date_from=date(2024, 1, 31))
    assert params_of(script.last) == {"modify_date_from": "2024-01-31", "limit": "100", "offset": "0"}


@pytest.mark.parametrize(("option", "value"), [("order_by", "birth_date"), ("expand", "loans")])
def test_bad_list_options_are_rejected(option: str, value: str) -> None:
    script = Script()
    options: dict[str, Any] = {option: value}
    with pytest.raises(InputError, match=option):
        make_client(script).users.list(**options)
    assert script.requests == []


def test_later_pages_keep_the_query() -> None:
    directory = Directory(150)
    script = Script(default=directory)
    list(make_client(script).users.list(last_name="Smith", order_by="first_name", expand="full"))
    assert [params_of(r) for r in script.requests] == [
        {"q": "last_name~Smith", "order_by": "first_name", "expand": "full", "limit": "100", "offset": o}
        for o in ("0", "100")
    ]


# --- loans, requests, fees -------------------------------------------------------------------------------


def loan_pages(count: int) -> Script:
    def answer(request: httpx.Request) -> httpx.Response:
        params = params_of(request)
        offset, limit = int(params["offset"]), int(params["limit"])
        loans = [{"loan_id": str(i), "title": f"Book {i}"} for i in range(offset, min(offset + limit, count))]
        return ok({"item_loan": loans, "total_record_count": count})

    return Script(default=answer)


def test_loans_walk_every_page() -> None:
    script = loan_pages(150)
    loans = list(make_client(script).users.loans("jdoe"))
    assert [loan.loan_id for loan in loans] == [str(i) for i in range(150)]
    assert all(isinstance(loan, Loan) for loan in loans)
    assert [params_of(r)["offset"] for r in script.requests] == ["0", "100"]
    assert {r.url.path for r in script.requests} == {"/almaws/v1/users/jdoe/loans"}


def test_fees_are_one_request() -> None:
    fees = [{"id": str(i), "balance": 1, "status": {"value": "ACTIVE"}} for i in range(150)]
    script = Script(ok({"fee": fees, "total_record_count": 300, "total_sum": 150, "currency": "USD"}))
    page = make_client(script).users.fees("jdoe")
    assert len(list(page)) == 150
    assert not page.has_next_page()
    assert len(script.requests) == 1
    assert page.envelope.total_sum == 150
    assert all(isinstance(f, Fee) for f in page.items)


def test_real_fees_envelope() -> None:
    script = Script(ok(example("scriptotek_fees_response.json")))
    page = make_client(script).users.fees("12345")
    assert page.envelope.total_sum == 750
    assert page.envelope.currency == "NOK"
    assert [f.id for f in page] == ["9854064491211104"]


# --- async ------------------------------------------------------------------------------------------------


async def test_async_for_walks_every_page() -> None:
    directory = Directory(250)
    alma = make_async_client(Script(default=directory))
    page = await alma.users.list()
    assert isinstance(page, AsyncOffsetPage)
    assert ids_of([u async for u in page]) == directory.ids
    assert sorted(directory.offsets) == [0, 100, 200]
    await alma.close()


async def test_async_to_list() -> None:
    directory = Directory(250)
    alma = make_async_client(Script(default=directory))
    page = await alma.users.list()
    assert ids_of(await page.to_list()) == directory.ids
    await alma.close()


async def test_async_page_navigation() -> None:
    directory = Directory(250)
    alma = make_async_client(Script(default=directory))
    page = await alma.users.list()
    assert page.total_record_count == 250
    assert page.has_next_page()
    second = await page.get_next_page()
    assert ids_of(second.items) == directory.ids[100:200]
    pages = [p async for p in page.iter_pages()]
    assert [len(p.items) for p in pages] == [100, 100, 50]
    with pytest.raises(StopAsyncIteration):
        await pages[-1].get_next_page()
    await alma.close()


class Concurrency:
    """An async Alma directory that counts how many requests are in flight at once."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.in_flight = 0
        self.peak = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            for _ in range(5):  # let the other tasks run
                await asyncio.sleep(0)
            return self.directory(request)
        finally:
            self.in_flight -= 1


@pytest.mark.parametrize("max_concurrency", [None, 1, 2, 4, 6])
async def test_async_pages_are_fetched_concurrently_within_the_limit(max_concurrency: int | None) -> None:
    directory = Directory(2000)  # 19 pages after the first: more than the default in flight
    handler = Concurrency(directory)
    alma = make_async_client(Script(default=handler))
    page = await alma.users.list()
    users = await page.to_list(max_concurrency=max_concurrency)
    limit = DEFAULT_MAX_CONCURRENCY if max_concurrency is None else max_concurrency
    assert ids_of(users) == directory.ids  # in order, no duplicates, nothing missing
    assert handler.peak <= limit
    assert handler.peak == limit  # it did overlap
    assert sorted(directory.offsets) == list(range(0, 2000, 100))
    await alma.close()


async def test_async_concurrent_walk_never_yields_duplicates_when_records_shift() -> None:
    def insert_early(d: Directory, page_number: int) -> None:
        if page_number in (1, 3):
            d.ids.insert(0, f"new-{page_number}")

    directory = Directory(500, before_page=insert_early)
    alma = make_async_client(Script(default=Concurrency(directory)))
    users = ids_of([u async for u in await alma.users.list()])
    assert len(users) == len(set(users))
    assert set(users) >= {f"u{i:04d}" for i in range(400)}
    await alma.close()


async def test_async_overstated_total_yields_each_real_record_once() -> None:
    directory = Directory(250, total=1000)
    alma = make_async_client(Script(default=Concurrency(directory)))
    page = await alma.users.list()
    assert ids_of(await page.to_list()) == directory.ids
    await alma.close()


async def test_async_concurrent_walk_raises_a_failed_page_as_a_typed_error() -> None:
    directory = Directory(1000)
    handler = Concurrency(directory)

    def fail_at_300(request: httpx.Request) -> Any:
        if params_of(request)["offset"] == "300":
            return alma_error(400, "402119", "General error.")
        return handler(request)

    alma = make_async_client(Script(default=fail_at_300))
    page = await alma.users.list()
    seen: list[str] = []

    async def walk() -> None:
        async for user in page:
            seen.append(user.primary_id or "")

    with pytest.raises(BadRequestError, match="402119"):
        await walk()
    assert seen == directory.ids[:300]  # everything before the failed page, in order
    await alma.close()


async def test_async_walk_without_a_total_is_sequential() -> None:
    directory = Directory(250, total=False)
    handler = Concurrency(directory)
    alma = make_async_client(Script(default=handler))
    users = await (await alma.users.list()).to_list()
    assert ids_of(users) == directory.ids
    assert directory.offsets == [0, 100, 200]
    assert handler.peak == 1
    await alma.close()


async def test_async_bad_max_concurrency_is_rejected() -> None:
    alma = make_async_client(Script(default=Directory(250)))
    page = await alma.users.list()
    with pytest.raises(ValueError, match="max_concurrency"):
        await page.to_list(max_concurrency=0)
    await alma.close()


async def test_async_fees_one_request_with_total_sum() -> None:
    script = Script(ok(example("scriptotek_fees_response.json")))
    alma = make_async_client(script)
    page = await alma.users.fees("12345")
    assert [f.id async for f in page] == ["9854064491211104"]
    assert page.envelope.total_sum == 750
    assert len(script.requests) == 1
    await alma.close()


async def test_async_empty_result() -> None:
    script = Script(ok({"total_record_count": 0}))
    alma = make_async_client(script)
    page = await alma.users.list(email="nobody@example.org")
    assert await page.to_list() == []
    assert len(script.requests) == 1
    await alma.close()


async def test_async_bad_filter_is_rejected_before_any_request() -> None:
    script = Script()
    alma = make_async_client(script)
    with pytest.raises(InputError, match="last_name"):
        await alma.users.list(nickname="x")
    with pytest.raises(InputError, match="limit"):
        await alma.users.list(limit=101)
    assert script.requests == []
    await alma.close()
