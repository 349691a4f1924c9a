"""``AsyncUsers``: the Users API for ``AsyncAlmaClient`` — the same methods as ``Users``, awaited."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

import httpx

from .._base import RequestSpec, raw_response_mode
from .._response import RawResponse
from ..errors import AlmaError
from ..models import AlmaModel, Loan, User, UserRequest
from ..pagination import AsyncFeePage, AsyncOffsetPage
from . import _edit
from . import _users_spec as spec
from ._users_spec import Timeout
from ._writes import DELETED, Pause, Step, check_create, check_delete, check_update, deleted_response, run_write

if TYPE_CHECKING:
    from .._client import AsyncAlmaClient

__all__ = ["AsyncUserEdit", "AsyncUsers", "AsyncUsersWithRawResponse"]

log = logging.getLogger("alma_onelink")

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
E = TypeVar("E", bound=AlmaModel)


class AsyncUsers:
    """The Users API, asynchronously: ``alma.users`` on an ``AsyncAlmaClient``."""

    def __init__(self, client: AsyncAlmaClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<AsyncUsers: the Alma Users API through {self._client!r}>"

    async def _run(self, procedure: Generator[Step, Any, T]) -> T:
        """Drive a write procedure: send each request it yields, sleep each pause, hand back each outcome."""
        value: Any = None
        error: AlmaError | None = None
        while True:
            try:
                step = procedure.send(value) if error is None else procedure.throw(error)
            except StopIteration as stop:
                return cast(T, stop.value)
            value, error = None, None
            if isinstance(step, Pause):
                await self._client._sleep(step.seconds)
                continue
            try:
                value = await self._client._request(step)
            except AlmaError as exc:
                error = exc

    @functools.cached_property
    def with_raw_response(self) -> AsyncUsersWithRawResponse:
        """The same methods, returning a `RawResponse` (status, headers, ``retries_taken``, ``.parse()``)."""
        return AsyncUsersWithRawResponse(self)

    async def _page(
        self, plan: spec.ListPlan[T, E], page: type[AsyncOffsetPage[Any]] = AsyncOffsetPage
    ) -> AsyncOffsetPage[T]:
        def page_spec(offset: int) -> RequestSpec[AsyncOffsetPage[T]]:
            base = plan.spec_for(offset)

            def parse(response: httpx.Response) -> AsyncOffsetPage[T]:
                envelope = base.parse(response)
                return page(
                    fetch=lambda next_offset: self._client._request(page_spec(next_offset), raw=False),
                    **plan.page_fields(offset, envelope),
                )

            return base.with_parse(parse)

        return await self._client._request(page_spec(plan.offset))

    async def get(
        self,
        user_id: str,
        *,
        user_id_type: str | None = None,
        view: str | None = None,
        expand: str | Iterable[str] | None = None,
        max_retries: int | None = None,
        timeout: Timeout = None,
    ) -> User:
        """Get one user by primary id or any unique identifier.

        Raises:
            NotFoundError: no user has that id (Alma code 401861/401890).
        """
        return await self._client._request(
            spec.get_user(
                user_id,
                user_id_type=user_id_type,
                view=view,
                expand=expand,
                max_retries=max_retries,
                timeout=timeout,
            )
        )

    async def list(
        self,
        *,
        q: str | None = None,
        limit: int = 100,
        offset: int = 0,
        order_by: str | None = None,
        expand: str | None = None,
        modify_date_from: date | str | None = None,
        source_institution_code: str | None = None,
        source_user_id: str | None = None,
        max_retries: int | None = None,
        timeout: Timeout = None,
        **filters: Any,
    ) -> AsyncOffsetPage[User]:
        """Search users; iterate the page to walk every result.

        ``q`` is a raw Alma query (``"last_name~Smith"``); keyword filters are joined to it with
        AND: ``list(last_name="Smith", email="a@b.org")``. Records are brief unless ``expand="full"``.

        Raises:
            InputError: an unknown search field, a page size over 100, or q with modify_date_from.
        """
        return await self._page(
            spec.list_users(
                q=q,
                limit=limit,
                offset=offset,
                order_by=order_by,
                expand=expand,
                modify_date_from=modify_date_from,
                source_institution_code=source_institution_code,
                source_user_id=source_user_id,
                filters=filters,
                max_retries=max_retries,
                timeout=timeout,
            )
        )

    async def create(
        self,
        user: User | Mapping[str, Any],
        *,
        send_pin_number_letter: bool = False,
        source_institution_code: str | None = None,
        max_retries: int | None = None,
        timeout: Timeout = None,
    ) -> User:
        """Create a user; Alma answers with the full record (see `Users.create`: a lost answer is read back)."""
        record, request = spec.create_user(
            user,
            send_pin_number_letter=send_pin_number_letter,
            source_institution_code=source_institution_code,
            max_retries=max_retries,
            timeout=timeout,
        )
        check = check_create(record, spec.read_back(str(record.primary_id), max_retries=max_retries, timeout=timeout))
        return cast(User, await self._run(run_write(request, check, retries=self._client._retries_for(request))))

    async def update(
        self,
        user_id: str,
        user: User | Mapping[str, Any],
        *,
        user_id_type: str | None = None,
        override: str | Iterable[str] | None = None,
        send_pin_number_letter: bool = False,
        recalculate_roles: bool = False,
        max_retries: int | None = None,
        timeout: Timeout = None,
    ) -> User:
        """Replace a user with ``user`` (see `Users.update`: a lost answer is read back before anything else)."""
        record, fields, request = spec.update_user(
            user_id,
            user,
            user_id_type=user_id_type,
            override=override,
            send_pin_number_letter=send_pin_number_letter,
            recalculate_roles=recalculate_roles,
            max_retries=max_retries,
            timeout=timeout,
        )
        read = spec.read_back(str(record.primary_id), max_retries=max_retries, timeout=timeout)
        check = check_update(record, fields, read)
        return cast(User, await self._run(run_write(request, check, retries=self._client._retries_for(request))))

    def edit(
        self,
        user_id: str,
        *,
        user_id_type: str | None = None,
        override: str | Iterable[str] | None = None,
        journal: spec.EditJournal | None = None,
        staff: str | None = None,
        reason: str | None = None,
        strict: bool = False,
    ) -> AsyncUserEdit:
        """``async with alma.users.edit(id) as user:`` — GET, change ``user``, PUT on exit if anything changed.

        The same as `Users.edit`: protected fields you change are overridden, ``edit.not_taken`` lists
        what Alma did not take (``strict=True`` raises `EditNotTakenError`), ``journal=`` journals the PUT.
        """
        return AsyncUserEdit(
            self,
            user_id,
            user_id_type=user_id_type,
            override=override,
            journal=journal,
            staff=staff,
            reason=reason,
            strict=strict,
        )

    async def delete(
        self,
        user_id: str,
        *,
        user_id_type: str | None = None,
        max_retries: int | None = None,
        timeout: Timeout = None,
    ) -> None:
        """Delete a user (see `Users.delete`: a lost answer is read back; gone means deleted)."""
        request = spec.delete_user(user_id, user_id_type=user_id_type, max_retries=max_retries, timeout=timeout)
        read = spec.read_back(user_id, user_id_type=user_id_type, max_retries=max_retries, timeout=timeout)
        check = check_delete(user_id, read)
        result = await self._run(run_write(request, check, retries=self._client._retries_for(request)))
        if result is DELETED:
            # In raw mode the caller gets a response object, as `with_raw_response` promises.
            return cast(None, deleted_response(self._client.base_url, request) if raw_response_mode.get() else None)
        return cast(None, result)

    async def loans(
        self,
        user_id: str,
        *,
        user_id_type: str | None = None,
        limit: int = 100,
        offset: int = 0,
        loan_status: str | None = None,
        order_by: str | None = None,
        direction: str | None = None,
        expand: str | None = None,
        max_retries: int | None = None,
        timeout: Timeout = None,
    ) -> AsyncOffsetPage[Loan]:
        """A user's loans, page by page (``loan_status`` Active or Complete)."""
        return await self._page(
            spec.list_loans(
                user_id,
                user_id_type=user_id_type,
                limit=limit,
                offset=offset,
                loan_status=loan_status,
                order_by=order_by,
                direction=direction,
                expand=expand,
                max_retries=max_retries,
                timeout=timeout,
            )
        )

    async def requests(
        self,
        user_id: str,
        *,
        user_id_type: str | None = None,
        limit: int = 100,
        offset: int = 0,
        request_type: str | None = None,
        status: str | None = None,
        max_retries: int | None = None,
        timeout: Timeout = None,
    ) -> AsyncOffsetPage[UserRequest]:
        """A user's requests (holds, bookings, digitization), page by page."""
        return await self._page(
            spec.list_requests(
                user_id,
                user_id_type=user_id_type,
                limit=limit,
                offset=offset,
                request_type=request_type,
                status=status,
                max_retries=max_retries,
                timeout=timeout,
            )
        )

    async def fees(
        self,
        user_id: str,
        *,
        user_id_type: str | None = None,
        status: str | None = None,
        max_retries: int | None = None,
        timeout: Timeout = None,
    ) -> AsyncFeePage:
        """A user's fines and fees (one page: Alma does not page them); ``.envelope.total_sum`` is the balance."""
        plan = spec.list_fees(
            user_id, user_id_type=user_id_type, status=status, max_retries=max_retries, timeout=timeout
        )
        return cast(AsyncFeePage, await self._page(plan, AsyncFeePage))

    async def test(self, *, write: bool = False, max_retries: int | None = None) -> None:
        """Check that the key works for the Users API (``write=True``: that it may write).

        Raises:
            AuthenticationError: the key is unknown or not set up for this API.
            PermissionDeniedError: a read-only key, with ``write=True``.
        """
        return await self._client._request(spec.check_key(write=write, max_retries=max_retries))


class AsyncUserEdit:
    """Async context manager behind `edit`; after the block the same state as `UserEdit`."""

    def __init__(
        self,
        users: AsyncUsers,
        user_id: str,
        *,
        user_id_type: str | None,
        override: str | Iterable[str] | None,
        journal: spec.EditJournal | None = None,
        staff: str | None = None,
        reason: str | None = None,
        strict: bool = False,
    ) -> None:
        self._users = users
        self._user_id = user_id
        self._user_id_type = user_id_type
        self._given_override = spec.override_fields(override)
        self._journal = journal
        self._staff = staff
        self._reason = reason
        self._strict = strict
        self._before: dict[str, Any] = {}
        self._original: User | None = None
        self.user: User | None = None
        self.saved: User | None = None
        self.changed = False
        self.override: list[str] = []
        self.not_taken: list[str] = []

    async def __aenter__(self) -> User:
        original = await self._users.get(self._user_id, user_id_type=self._user_id_type)
        self._original = original
        self._before = original.to_alma()
        self.user = original.model_copy(deep=True)
        return self.user

    async def __aexit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None or self.user is None or self._original is None:
            return
        self.changed = self.user.to_alma() != self._before
        if not self.changed:
            return
        self.override = _edit.edit_override(self._original, self.user, self._given_override)
        if self._journal is None:
            self.saved = await self._put()
        else:
            # The journal's file lock may wait on another process: never block the event loop on it.
            try:
                entry = await asyncio.to_thread(
                    spec.journal_edit_intent,
                    self._journal,
                    self._before,
                    sending=self.user.to_alma(),
                    staff=self._staff,
                    reason=self._reason,
                )
            except AlmaError as trouble:
                raise _edit.journal_trouble(trouble, self._user_id, saved=None, put_error=None) from None
            try:
                self.saved = await self._put()
            except AlmaError as exc:
                try:
                    await asyncio.to_thread(spec.journal_edit_done, self._journal, entry, None, exc)
                except AlmaError as trouble:
                    raise _edit.journal_trouble(trouble, self._user_id, saved=None, put_error=exc) from exc
                raise
            try:
                await asyncio.to_thread(spec.journal_edit_done, self._journal, entry, self.saved, None)
            except AlmaError as trouble:
                raise _edit.journal_trouble(trouble, self._user_id, saved=self.saved, put_error=None) from None
        self.not_taken = _edit.not_taken(self.user, self.saved)
        _edit.report_not_taken(self._user_id, self.not_taken, self.saved, strict=self._strict)

    async def _put(self) -> User:
        assert self.user is not None
        return await self._users.update(
            self._user_id, self.user, user_id_type=self._user_id_type, override=self.override
        )


def _raw(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[RawResponse[R]]]:
    @functools.wraps(func)
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> RawResponse[R]:
        token = raw_response_mode.set(True)
        try:
            return cast(RawResponse[R], await func(*args, **kwargs))
        finally:
            raw_response_mode.reset(token)

    return wrapped


class AsyncUsersWithRawResponse:
    """``alma.users.with_raw_response`` on the async client: each method returns a `RawResponse`."""

    def __init__(self, users: AsyncUsers) -> None:
        self.get = _raw(users.get)
        self.list = _raw(users.list)
        self.create = _raw(users.create)
        self.update = _raw(users.update)
        self.delete = _raw(users.delete)
        self.loans = _raw(users.loans)
        self.requests = _raw(users.requests)
        self.fees = _raw(users.fees)
        self.test = _raw(users.test)
