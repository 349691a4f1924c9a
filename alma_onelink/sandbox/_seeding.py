"""Seeding many generated patrons at once: a batch at a time in memory, all in one `Store.loading` block.

Each patron is drawn, checked by the rules of ``POST /users`` (`build_user`) and numbered exactly as if
it were created alone, and the store writes them as the one-by-one path would (a test holds the two
equal, records, ids and search index alike); only the work is grouped, so its time grows linearly.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from ._codesnap import CodeSnapshot
from ._fields import Env, Json
from ._records import build_user
from ._seed import at_midnight, patron_activity, patron_body
from ._store import Entry, Store, index_keys, make_entry

__all__ = ["seed_patrons"]

_BATCH = 500  # patrons generated, then handed to the store, at a time (more only holds more in memory)


def _unused(store: Store | None, taken: set[str], make: Callable[[], object]) -> str:
    """A new id from ``make`` that no user holds, in ``store`` (``None``: an empty one) or in ``taken``
    (casefolded: the ids written since the store was last read)."""
    for _ in range(1000):
        candidate = str(make())
        if candidate.casefold() not in taken and (store is None or not store.lookup(candidate)):
            return candidate
    raise RuntimeError("could not find an unused id; the store is unusually full")


def seed_patrons(store: Store, env: Env, n: int, seed: int) -> list[str]:
    """Add ``n`` generated patrons (some with loans, requests, fees; some expired); returns their primary ids.

    Timestamps are offsets from midnight UTC of ``env``'s date, so only the date of ``env.now`` matters.
    Patrons are generated `_BATCH` at a time and written in one `Store.loading` block (one transaction,
    indexed at its end), exactly as if each were created alone; memory holds one batch of them.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    env = at_midnight(env)
    rules = replace(env, codes=CodeSnapshot(env.codes))  # the same code tables, read without a lock
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    times = random.Random(f"{seed}:times")  # noqa: S311 - a stream of its own: the patrons stay the same
    created: list[str] = []
    with _collecting_later(), store.loading():
        # Every id this call writes is in taken: the store is asked only about the users it held before.
        held: Store | None = store if store.count() else None
        taken: set[str] = set()
        while len(created) < n:
            batch: list[tuple[Entry, dict[str, list[Json]]]] = []
            numbers = _Counted(store)
            for _ in range(min(_BATCH, n - len(created))):
                prefix = rng.choice("abcdefghjkmnprstwz") + rng.choice("abcdefghjkmnprstwz")
                primary_id = _unused(held, taken, lambda: f"{prefix}{rng.randrange(100, 99_999)}")  # noqa: B023 - called at once
                barcode = _unused(held, taken, lambda: f"D{rng.randrange(10**11, 10**12)}")
                record = build_user(rules, patron_body(rng, env, primary_id, barcode, times))
                entry = make_entry(record, None, env.today)
                taken.update(key for key, _ in index_keys(entry))
                batch.append((entry, patron_activity(numbers, rules, rng, primary_id, times=times)))
                created.append(primary_id)
            numbers.settle()
            store.add_users(batch)
    return created


@contextmanager
def _collecting_later() -> Iterator[None]:
    """Python's cycle collector paused for the block: seeding makes millions of objects and no cycles,
    so the collector would only walk them again and again. Restored as it was, whatever happens."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class _Counted:
    """The store's counters for one batch, in one transaction: each counter's first number comes from
    the store, the rest are counted here, and `settle` moves the store's counters past them at once."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._last: dict[str, int] = {}
        self._used: dict[str, int] = {}

    def next_number(self, name: str) -> int:
        if name in self._last:
            self._last[name] += 1
            self._used[name] += 1
        else:
            self._last[name] = self._store.next_number(name)
            self._used[name] = 1
        return self._last[name]

    def settle(self) -> None:
        for name, used in self._used.items():
            if used > 1:
                self._store.next_numbers(name, used - 1)
