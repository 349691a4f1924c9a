"""Offset pages that walk every page: ``for user in alma.users.list(...)``.

Page arithmetic lives here once. A page knows its items, Alma's ``total_record_count``, and how to
fetch the page after it. Walking stops on an empty page, a short page, or when the total is
reached, so an overstated total costs at most one extra request. Items are de-duplicated by their
identity (primary id, loan id…), so records that shift between pages are never yielded twice.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from .models import AlmaModel

__all__ = ["AsyncOffsetPage", "SyncOffsetPage"]

T = TypeVar("T")

DEFAULT_MAX_CONCURRENCY = 4


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


class SyncOffsetPage(_OffsetPage[T]):
    """One page of a list. Iterate it to walk every item of every page."""

    def __init__(self, *, fetch: Callable[[int], SyncOffsetPage[T]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fetch = fetch

    def get_next_page(self) -> SyncOffsetPage[T]:
        """Fetch the next page. Raises ``StopIteration`` when there is none (check ``has_next_page()``)."""
        if not self.has_next_page():
            raise StopIteration("This is the last page.")
        return self._fetch(self.next_offset)

    def iter_pages(self) -> Iterator[SyncOffsetPage[T]]:
        """This page, then each following page, fetched as needed."""
        page = self
        yield page
        while page.has_next_page():
            page = page._fetch(page.next_offset)
            yield page

    def __iter__(self) -> Iterator[T]:
        seen: set[Hashable] = set()
        for page in self.iter_pages():
            yield from self._unseen(page.items, seen)

    def to_list(self) -> list[T]:
        """Every item of every page, in order."""
        return list(self)


class AsyncOffsetPage(_OffsetPage[T]):
    """One page of a list. ``async for`` walks every item, fetching later pages concurrently."""

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
        """Fetch the next page. Raises ``StopAsyncIteration`` when there is none."""
        if not self.has_next_page():
            raise StopAsyncIteration("This is the last page.")
        return await self._fetch(self.next_offset)

    async def iter_pages(self) -> AsyncIterator[AsyncOffsetPage[T]]:
        """This page, then each following page, one after the other."""
        page = self
        yield page
        while page.has_next_page():
            page = await page._fetch(page.next_offset)
            yield page

    def __aiter__(self) -> AsyncIterator[T]:
        return self.iter_items()

    async def iter_items(self, *, max_concurrency: int | None = None) -> AsyncIterator[T]:
        """Every item of every page, in order.

        When Alma's total is known, up to ``max_concurrency`` later pages are fetched at once
        (each request still waits its turn at the client's rate limiter).
        """
        concurrency = self.max_concurrency if max_concurrency is None else max_concurrency
        if concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {concurrency}")
        seen: set[Hashable] = set()
        for item in self._unseen(self.items, seen):
            yield item
        last: AsyncOffsetPage[T] = self
        if concurrency > 1 and self.has_next_page() and self.total_record_count is not None:
            planned = deque(range(self.next_offset, self.total_record_count, self.limit))
            in_flight: deque[asyncio.Task[AsyncOffsetPage[T]]] = deque()
            try:
                while planned or in_flight:
                    while planned and len(in_flight) < concurrency:
                        in_flight.append(asyncio.ensure_future(self._fetch(planned.popleft())))
                    page = await in_flight.popleft()
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
        while page.has_next_page():
            page = await page._fetch(page.next_offset)
            for item in self._unseen(page.items, seen):
                yield item

    async def to_list(self, *, max_concurrency: int | None = None) -> list[T]:
        """Every item of every page, in order."""
        return [item async for item in self.iter_items(max_concurrency=max_concurrency)]
