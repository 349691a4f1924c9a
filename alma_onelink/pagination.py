"""Offset pages that walk every page: ``for user in alma.users.list(...)``.

Page arithmetic lives here once. A page knows its items, Alma's ``total_record_count``, and how to
fetch the page after it. Walking stops on an empty page, a short page, or when the total is
reached, so an overstated total costs at most one extra request. Items are de-duplicated by their
identity (primary id, loan id…), so records that shift between pages are never yielded twice.
"""

from __future__ import annotations

import asyncio
import html
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from rich.console import Group, RenderableType
from rich.text import Text

from .errors import InputError, NoNextPageError
from .models import AlmaModel, Fee, FeeList, User
from .models._render import (
    USER_COLUMNS,
    USER_TABLE_COLUMNS,
    Scalar,
    dataframe,
    html_table,
    records_of,
    rich_table,
)

__all__ = ["AsyncFeePage", "AsyncOffsetPage", "SyncFeePage", "SyncOffsetPage", "items_dataframe", "items_records"]

T = TypeVar("T")

# Ten pages in flight: a 1,000-record walk in two round trips, and enough to keep Alma's 25 calls a
# second busy even when a page takes 400 ms; the rate limiter still paces every request.
DEFAULT_MAX_CONCURRENCY = 10

_KINDS = {"User": "users", "Loan": "loans", "UserRequest": "requests", "Fee": "fees"}
# What a page shows in a notebook or a terminal; `to_records()` has every field.
_TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "User": USER_TABLE_COLUMNS,
    "Loan": ("loan_id", "title", "item_barcode", "loan_status", "due_date"),
    "UserRequest": ("request_id", "request_type", "title", "request_status", "request_date"),
    "Fee": ("id", "type", "status", "balance", "original_amount", "title"),
}
_MAX_TABLE_COLUMNS = 8
_ENVELOPE_ITEMS = {"UserList": "User", "LoanList": "Loan", "RequestList": "UserRequest", "FeeList": "Fee"}


def _all_users(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(item, User) for item in items)


def items_records(items: Iterable[Any]) -> list[dict[str, Scalar]]:
    """Flat records of any items (users, loans, requests, fees): what ``page.to_records()`` gives.

    For every item of an async list: ``items_records(await page.to_list())``.
    """
    return records_of(items)


def items_dataframe(items: Iterable[Any]) -> Any:
    """A pandas DataFrame of any items (needs ``pip install 'alma-onelink[pandas]'``).

    For every item of an async list: ``items_dataframe(await page.to_list())``.
    """
    listed = list(items)
    return dataframe(records_of(listed), columns=USER_COLUMNS if _all_users(listed) else None)


class _LastPage(NoNextPageError, StopIteration):
    """What a sync page's ``get_next_page()`` raises on the last page (a ``StopIteration`` as before)."""


class _AsyncLastPage(NoNextPageError, StopAsyncIteration):
    """What an async page's ``get_next_page()`` raises on the last page (a ``StopAsyncIteration`` as before)."""


class _OffsetPage(Generic[T]):
    def __init__(
        self,
        *,
        items: list[T],
        total_record_count: int | None,
        offset: int,
        limit: int,
        envelope: AlmaModel,
        key: Callable[[T], Hashable | None],
        final: bool = False,
    ) -> None:
        self.items = items
        self.final = final
        self.total_record_count = total_record_count
        self.offset = offset
        self.limit = limit
        self.envelope = envelope
        self._key = key

    @property
    def next_offset(self) -> int:
        """The offset of the page after this one."""
        return self.offset + len(self.items)

    def has_next_page(self) -> bool:
        """Whether another page may hold more items (not after an empty or short page, or the total)."""
        count = len(self.items)
        if self.final or count == 0 or self.limit == 0 or count < self.limit:
            return False
        return self.total_record_count is None or self.next_offset < self.total_record_count

    def _brings_nothing_new(self, seen: set[Hashable]) -> bool:
        """Whether every item of this page was on an earlier page; else remember its items in ``seen``.

        Alma, or a proxy in front of it, that ignores ``offset`` answers every page with the first one:
        walking stops there instead of looping forever.
        """
        keys = [self._key(item) for item in self.items]
        if keys and all(key is not None and key in seen for key in keys):
            return True
        seen.update(key for key in keys if key is not None)
        return False

    def _unseen(self, items: Iterable[T], seen: set[Hashable]) -> Iterator[T]:
        for item in items:
            key = self._key(item)
            if key is not None:
                if key in seen:
                    continue
                seen.add(key)
            yield item

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} offset={self.offset} items={len(self.items)} "
            f"total_record_count={self.total_record_count}>"
        )

    # --- renderings and records: this page's items ---------------------------------------------

    @property
    def page_number(self) -> int:
        """This page's number, counting from 1 (``offset // limit + 1``)."""
        return self.offset // self.limit + 1 if self.limit else 1

    def _item_kind(self) -> str | None:
        """The class name of the items (``User``, ``Loan``…), from the items or else the envelope."""
        kinds = {type(item).__name__ for item in self.items}
        if not kinds:
            return _ENVELOPE_ITEMS.get(type(self.envelope).__name__)
        return kinds.pop() if len(kinds) == 1 else None

    def caption(self) -> str:
        """``page 1 of 2: users 1-50 of 75``: where this page is in the list."""
        count, total = len(self.items), self.total_record_count
        kind = _KINDS.get(self._item_kind() or "", "items")
        pages = f" of {max(1, -(-total // self.limit))}" if total is not None and self.limit else ""
        span = f"{self.offset + 1}-{self.offset + count}" if count else "none"
        of = f" of {total}" if total is not None else ""
        return f"page {self.page_number}{pages}: {kind} {span}{of}"

    def _table_columns(self, records: list[dict[str, Scalar]]) -> list[str]:
        known = _TABLE_COLUMNS.get(self._item_kind() or "")
        if known:
            return list(known)
        names: dict[str, None] = {}
        for record in records:
            names.update(dict.fromkeys(record))
        return list(names)[:_MAX_TABLE_COLUMNS]

    _EVERY_PAGE = "iterate the page, or to_records(all_pages=True)"

    def _more(self) -> str | None:
        if not self.has_next_page():
            return None
        return f"This page only: {self._EVERY_PAGE}, for every page."

    def _repr_html_(self) -> str:
        """This page's items as an HTML table, captioned ``page k of m: users a-b of total``."""
        records = records_of(self.items)
        table = html_table(records, columns=self._table_columns(records), caption=self.caption())
        more = self._more()
        return table + (f"<p><small>{html.escape(more)}</small></p>" if more else "")

    def __rich__(self) -> RenderableType:
        """This page's items as a rich table, with the same caption."""
        records = records_of(self.items)
        table = rich_table(records, columns=self._table_columns(records), caption=self.caption())
        more = self._more()
        return Group(table, Text(more, style="dim")) if more else table

    def _page_records(self) -> list[dict[str, Scalar]]:
        return records_of(self.items)

    def _page_dataframe(self) -> Any:
        return dataframe(self._page_records(), columns=USER_COLUMNS if self._item_kind() == "User" else None)


class SyncOffsetPage(_OffsetPage[T]):
    """One page of a list. Iterate it to walk every item of every page."""

    def __init__(self, *, fetch: Callable[[int], SyncOffsetPage[T]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fetch = fetch

    def get_next_page(self) -> SyncOffsetPage[T]:
        """Fetch the next page. Raises `NoNextPageError` (a ``StopIteration``) when there is none (check
        ``has_next_page()``)."""
        if not self.has_next_page():
            raise _LastPage("This is the last page.")
        return self._fetch(self.next_offset)

    def iter_pages(self) -> Iterator[SyncOffsetPage[T]]:
        """This page, then each following page, fetched as needed (until one brings nothing new)."""
        page = self
        keys: set[Hashable] = set()
        page._brings_nothing_new(keys)
        yield page
        while page.has_next_page():
            page = page._fetch(page.next_offset)
            if page._brings_nothing_new(keys):
                return
            yield page

    def __iter__(self) -> Iterator[T]:
        seen: set[Hashable] = set()
        for page in self.iter_pages():
            yield from self._unseen(page.items, seen)

    def to_list(self) -> list[T]:
        """Every item of every page, in order."""
        return list(self)

    def to_records(self, *, all_pages: bool = False) -> list[dict[str, Scalar]]:
        """The items of **this page** as flat dicts (`User.to_record` for users), JSON-ready.

        ``all_pages=True`` walks every page (fetching the ones after this) and gives every item.
        """
        return items_records(self) if all_pages else self._page_records()

    def to_dataframe(self, *, all_pages: bool = False) -> Any:
        """The items of **this page** as a pandas DataFrame (``all_pages=True``: every page's).

        Needs pandas: ``pip install 'alma-onelink[pandas]'``; without it, raises ``ModuleNotFoundError``
        saying so. Columns ending in ``_date`` are datetimes.
        """
        return items_dataframe(self) if all_pages else self._page_dataframe()


class AsyncOffsetPage(_OffsetPage[T]):
    """One page of a list. ``async for`` walks every item, fetching later pages concurrently."""

    _EVERY_PAGE = "async for over the page, or items_records(await page.to_list())"

    def __init__(
        self,
        *,
        fetch: Callable[[int], Awaitable[AsyncOffsetPage[T]]],
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._fetch = fetch
        self.max_concurrency = max_concurrency

    async def get_next_page(self) -> AsyncOffsetPage[T]:
        """Fetch the next page. Raises `NoNextPageError` (a ``StopAsyncIteration``) when there is none."""
        if not self.has_next_page():
            raise _AsyncLastPage("This is the last page.")
        return await self._fetch(self.next_offset)

    async def iter_pages(self) -> AsyncIterator[AsyncOffsetPage[T]]:
        """This page, then each following page, one after the other (until one brings nothing new)."""
        page = self
        keys: set[Hashable] = set()
        page._brings_nothing_new(keys)
        yield page
        while page.has_next_page():
            page = await page._fetch(page.next_offset)
            if page._brings_nothing_new(keys):
                return
            yield page

    def __aiter__(self) -> AsyncIterator[T]:
        return self.iter_items()

    async def iter_items(self, *, max_concurrency: int | None = None) -> AsyncIterator[T]:
        """Every item of every page, in order.

        When Alma's total is known, up to ``max_concurrency`` later pages are fetched at once
        (each request still waits its turn at the client's rate limiter).
        """
        concurrency = self.max_concurrency if max_concurrency is None else max_concurrency
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise InputError(f"max_concurrency must be a whole number, at least 1, got {concurrency!r}")
        seen: set[Hashable] = set()
        for item in self._unseen(self.items, seen):
            yield item
        keys: set[Hashable] = set()
        self._brings_nothing_new(keys)
        stopped = False
        last: AsyncOffsetPage[T] = self
        if concurrency > 1 and self.has_next_page() and self.total_record_count is not None:
            planned = deque(range(self.next_offset, self.total_record_count, self.limit))
            in_flight: deque[asyncio.Task[AsyncOffsetPage[T]]] = deque()
            try:
                while planned or in_flight:
                    while planned and len(in_flight) < concurrency:
                        in_flight.append(asyncio.ensure_future(self._fetch(planned.popleft())))
                    page = await in_flight.popleft()
                    if page._brings_nothing_new(keys):  # offset ignored: no page after it is new either
                        planned.clear()
                        stopped = True
                        break
                    for item in self._unseen(page.items, seen):
                        yield item
                    last = page
                    if not page.has_next_page():  # empty or short: the total was overstated
                        planned.clear()
                        break
            finally:
                for task in in_flight:
                    task.cancel()
                if in_flight:
                    await asyncio.gather(*in_flight, return_exceptions=True)
        # Sequential walk: when concurrency is off or the total is unknown (after a concurrent walk
        # the last page already reached the total, so this loop does not run).
        page = last
        while page.has_next_page() and not stopped:
            page = await page._fetch(page.next_offset)
            if page._brings_nothing_new(keys):
                break
            for item in self._unseen(page.items, seen):
                yield item

    async def to_list(self, *, max_concurrency: int | None = None) -> list[T]:
        """Every item of every page, in order."""
        return [item async for item in self.iter_items(max_concurrency=max_concurrency)]

    def to_records(self) -> list[dict[str, Scalar]]:
        """The items of **this page** as flat dicts, JSON-ready.

        For every page: ``items_records(await page.to_list())``.
        """
        return self._page_records()

    def to_dataframe(self) -> Any:
        """The items of **this page** as a pandas DataFrame (needs ``pip install 'alma-onelink[pandas]'``).

        For every page: ``items_dataframe(await page.to_list())``.
        """
        return self._page_dataframe()


class SyncFeePage(SyncOffsetPage[Fee]):
    """A user's fees (Alma sends them all at once): the items, and the envelope with their balance."""

    envelope: FeeList

    @property
    def total_sum(self) -> float | None:
        """The balance of the listed fees (Alma's ``total_sum``)."""
        return self.envelope.total_sum

    @property
    def currency(self) -> str | None:
        """The currency of ``total_sum`` (``None`` when there are no fees)."""
        return self.envelope.currency


class AsyncFeePage(AsyncOffsetPage[Fee]):
    """A user's fees, for the async client; the same as `SyncFeePage`."""

    envelope: FeeList

    @property
    def total_sum(self) -> float | None:
        """The balance of the listed fees (Alma's ``total_sum``)."""
        return self.envelope.total_sum

    @property
    def currency(self) -> str | None:
        """The currency of ``total_sum`` (``None`` when there are no fees)."""
        return self.envelope.currency
