"""The operations a procedure asks its driver for: Alma calls and journal lines, as plain data.

The procedures (registration, restore, merge) are generators that yield these and receive each
one's result (or have the SDK error thrown in). Each Alma operation knows how to call
``alma.users``; called on ``AsyncAlmaClient.users`` it returns an awaitable, which the async
driver awaits, so every call is written once for both clients.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from alma_onelink.models import User

from .journal import Action, JournalEntry, Settlement

__all__ = [
    "AlmaOp",
    "CompleteWrite",
    "CountActivity",
    "CreateUser",
    "DeleteUser",
    "FindEntries",
    "FindHalfDone",
    "FindMoves",
    "FindUnsettled",
    "NextWrite",
    "GetUser",
    "IntendWrite",
    "JournalOp",
    "Op",
    "SearchUsers",
    "SettleWrite",
    "UpdateUser",
]


@dataclass(frozen=True, slots=True)
class GetUser:
    """``GET /users/{user_id}`` (any unique identifier, as a login finds it) → `User`."""

    user_id: str
    method: Literal["GET"] = "GET"

    def invoke(self, users: Any) -> Any:
        return users.get(self.user_id)

    @property
    def path(self) -> str:
        return f"/users/{self.user_id}"


@dataclass(frozen=True, slots=True)
class SearchUsers:
    """``GET /users?q=…``: the first ``limit`` brief records matching ``filters`` → ``list[User]``.

    ``filters`` are ``field~value`` conditions joined with ``AND``. ``alternatives`` are more such
    groups, joined to the first with ``OR``: ``email~X OR last_name~B AND first_name~A`` (``AND``
    binds tighter; no parentheses), for an Alma that accepts ``OR`` in a user search. A value the
    query cannot carry raises `InputError` (thrown into the procedure), before any request.
    """

    filters: Mapping[str, str]
    limit: int = 20
    alternatives: tuple[Mapping[str, str], ...] = ()
    method: Literal["GET"] = "GET"

    def invoke(self, users: Any) -> Any:
        if not self.alternatives:
            return users.list(limit=self.limit, **dict(self.filters))
        # Loaded with the client that runs this (``alma_onelink.engine`` itself stays light to import).
        from alma_onelink.resources._query import build_query  # noqa: PLC0415

        groups = [build_query(None, group) for group in (self.filters, *self.alternatives)]
        return users.list(q=" OR ".join(group for group in groups if group), limit=self.limit)

    @property
    def path(self) -> str:
        groups = (self.filters, *self.alternatives)
        return "/users?q=" + " OR ".join(" AND ".join(f"{k}~{v}" for k, v in group.items()) for group in groups)


@dataclass(frozen=True, slots=True)
class CreateUser:
    """``POST /users`` → the created `User`."""

    user: User
    method: Literal["POST"] = "POST"

    def invoke(self, users: Any) -> Any:
        return users.create(self.user)

    @property
    def path(self) -> str:
        return "/users"


@dataclass(frozen=True, slots=True)
class UpdateUser:
    """``PUT /users/{user_id}`` with the whole record (Alma swaps all) → the saved `User`."""

    user_id: str
    user: User
    override: tuple[str, ...] = ()
    method: Literal["PUT"] = "PUT"

    def invoke(self, users: Any) -> Any:
        return users.update(self.user_id, self.user, override=list(self.override) or None)

    @property
    def path(self) -> str:
        return f"/users/{self.user_id}"


@dataclass(frozen=True, slots=True)
class DeleteUser:
    """``DELETE /users/{user_id}`` → ``None``."""

    user_id: str
    method: Literal["DELETE"] = "DELETE"

    def invoke(self, users: Any) -> Any:
        return users.delete(self.user_id)

    @property
    def path(self) -> str:
        return f"/users/{self.user_id}"


@dataclass(frozen=True, slots=True)
class CountActivity:
    """The user's active loans, requests and fees (first page of each) → ``(loans, requests, fees)``."""

    user_id: str
    kind: Literal["loans", "requests", "fees"] = "loans"
    method: Literal["GET"] = "GET"

    def invoke(self, users: Any) -> Any:
        if self.kind == "fees":
            return users.fees(self.user_id, status="ACTIVE")
        if self.kind == "requests":
            return users.requests(self.user_id, status="active")
        return users.loans(self.user_id, loan_status="Active")

    @property
    def path(self) -> str:
        return f"/users/{self.user_id}/{self.kind}"


AlmaOp = GetUser | SearchUsers | CreateUser | UpdateUser | DeleteUser | CountActivity
"""An Alma call. Its result is what ``alma.users`` returns, pages reduced to their first page's items."""


@dataclass(frozen=True, slots=True)
class FindMoves:
    """Ask the journal which old accounts a registration took ``onelink_id`` off → ``list[str]`` (primary ids).

    A move is a ``register`` update that is done (completed, or settled by reading Alma) whose
    record before held the id as an identifier and whose record after does not; a move put back
    since (a later done write on that account holding the id again) or whose old account was merged
    since is left out. ``settled`` are entries settled in memory (a dry run settles without writing):
    they count as the journal's. Without a journal (or before its file exists): ``[]``.
    """

    onelink_id: str
    settled: tuple[JournalEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class FindUnsettled:
    """Ask the journal for the entries whose outcome is not known that concern ``onelink_id`` → ``list[JournalEntry]``.

    ``pending`` or ``unknown`` entries whose target is the id, or whose record before holds it as an
    identifier (a move off an old account), and the other unsettled entries of their registrations;
    oldest first. Without a journal (or before its file exists): ``[]``.
    """

    onelink_id: str


@dataclass(frozen=True, slots=True)
class NextWrite:
    """Ask the journal for the next write on the same account after ``entry`` → `JournalEntry` or ``None``.

    Its record before is the account as Alma held it once ``entry``'s write was over (read just
    before the next write): what settles ``entry`` when later writes changed the account again.
    """

    entry: JournalEntry


@dataclass(frozen=True, slots=True)
class SettleWrite:
    """Settle a pending or unknown entry by what Alma holds (`Journal.settle`) → the settled `JournalEntry`."""

    entry: JournalEntry
    result: Settlement
    note: str
    after: Mapping[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class FindEntries:
    """Ask the journal for its entries of one registration (merge, restore), of one kind → ``list[JournalEntry]``.

    ``registration`` is the id the entries were journaled under (a restore's is the id of the entry it
    restores); ``operation`` keeps one kind (``"restore"``…); oldest first. Without a journal: ``[]``.
    """

    registration: str
    operation: str | None = None


@dataclass(frozen=True, slots=True)
class FindHalfDone:
    """Ask the journal for registrations that took a OneLink ID off an old account but did not create its account.

    → ``list[tuple[JournalEntry, str, JournalEntry | None]]``: the move, the OneLink ID, the create if
    its intent was written (`alma_onelink.engine._moves.half_done`), among ``registrations`` and, with
    ``open_ones``, every registration whose create did not happen or is not known. Without a journal: ``[]``.
    """

    registrations: tuple[str, ...] = ()
    open_ones: bool = False


@dataclass(frozen=True, slots=True)
class IntendWrite:
    """Write the intent of a write to the journal, ahead of it → the pending `JournalEntry`.

    ``sending`` is the record an update is to send: journaled with the intent, it is what tells
    later whether the update took effect, should its end be lost.
    """

    action: Action
    target: str
    before: Mapping[str, Any] | None
    reason: str
    operation: str
    registration: str | None = None
    staff: str | None = None
    sending: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CompleteWrite:
    """Write the completion of a journaled write → the completed `JournalEntry`."""

    entry: JournalEntry
    result: Literal["done", "failed", "unknown"]
    after: Mapping[str, Any] | None = None
    error: str | None = None


JournalOp = (
    IntendWrite | CompleteWrite | SettleWrite | FindMoves | FindUnsettled | NextWrite | FindEntries | FindHalfDone
)
Op = AlmaOp | JournalOp


@dataclass(frozen=True, slots=True)
class ListActivity(CountActivity):
    """Every active loan, request or fee of the user, all pages walked → ``list[Loan | UserRequest | Fee]``.

    A `CountActivity` (so both drivers run it as any Alma call) that reads every page, not just the
    first: a merge plan lists each item, and the decision to delete needs all of them.
    """

    def invoke(self, users: Any) -> Any:
        page = CountActivity.invoke(self, users)
        if hasattr(page, "__await__"):  # AsyncUsers: the async driver awaits the walk of every page
            return _every_item(page)
        return page.to_list()


async def _every_item(page: Any) -> list[Any]:
    first = await page
    items: list[Any] = await first.to_list()
    return items


__all__ += ["ListActivity"]
