"""``alma.users``: get, search, create, update, edit, delete, and a user's loans, requests and fees.

Every method checks its input and builds its request in ``_users_spec``; the classes here only
send. ``Users`` and ``AsyncUsers`` have the same methods with the same signatures.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

import httpx

from .._base import RequestSpec, raw_response_mode
from .._response import RawResponse
from .._retry import backoff_seconds
from ..errors import AlmaError, APIConnectionError, APIStatusError, NotFoundError
from ..models import AlmaModel, Fee, Loan, User, UserRequest
from ..pagination import SyncOffsetPage
from . import _users_spec as spec
from ._async_users import AsyncUserEdit, AsyncUsers
from ._users_spec import Timeout, as_parsed, not_ours, outcome_unknown, same_person

if TYPE_CHECKING:
    from .._client import AlmaClient

__all__ = ["AsyncUserEdit", "AsyncUsers", "UserEdit", "Users", "UsersWithRawResponse"]

log = logging.getLogger("alma_onelink")

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
E = TypeVar("E", bound=AlmaModel)


# --- sync -----------------------------------------------------------------------------------------


class Users:
    """The Users API, synchronously: ``alma.users``."""

    def __init__(self, client: AlmaClient) -> None:
        self._client = client

    @functools.cached_property
    def with_raw_response(self) -> UsersWithRawResponse:
        """The same methods, returning a `RawResponse` (status, headers, ``retries_taken``, ``.parse()``)."""
        return UsersWithRawResponse(self)

    def _page(self, plan: spec.ListPlan[T, E]) -> SyncOffsetPage[T]:
        def page_spec(offset: int) -> RequestSpec[SyncOffsetPage[T]]:
            base = plan.spec_for(offset)

            def parse(response: httpx.Response) -> SyncOffsetPage[T]:
                envelope = base.parse(response)
                return SyncOffsetPage(
                    fetch=lambda next_offset: self._client._request(page_spec(next_offset), raw=False),
                    **plan.page_fields(offset, envelope),
                )

            return base.with_parse(parse)

        return self._client._request(page_spec(plan.offset))

    def get(
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
        return self._client._request(
            spec.get_user(
                user_id,
                user_id_type=user_id_type,
                view=view,
                expand=expand,
                max_retries=max_retries,
                timeout=timeout,
            )
        )

    def list(
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
    ) -> SyncOffsetPage[User]:
        """Search users; iterate the page to walk every result.

        ``q`` is a raw Alma query (``"last_name~Smith"``); keyword filters are joined to it with
        AND: ``list(last_name="Smith", email="a@b.org")``. Records are brief unless ``expand="full"``.

        Raises:
            InputError: an unknown search field, a page size over 100, or q with modify_date_from.
        """
        return self._page(
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

    def create(
        self,
        user: User | Mapping[str, Any],
        *,
        send_pin_number_letter: bool = False,
        source_institution_code: str | None = None,
        max_retries: int | None = None,
        timeout: Timeout = None,
    ) -> User:
        """Create a user; Alma answers with the full record.

        A create whose answer is lost (timeout, broken connection, 5xx) is never replayed blindly:
        the client first looks the primary id up and returns the user if the create took effect.

        Raises:
            InputError: primary_id, record_type or account_type missing, or a short password.
            AlreadyExistsError: the primary id or an identifier is taken (401851).
        """
        record, request = spec.create_user(
            user,
            send_pin_number_letter=send_pin_number_letter,
            source_institution_code=source_institution_code,
            max_retries=max_retries,
            timeout=timeout,
        )
        retries = self._client._retries_for(request)
        for attempt in range(retries + 1):
            try:
                return self._client._request(request)
            except (APIConnectionError, APIStatusError) as exc:
                if not outcome_unknown(exc) or attempt == retries:
                    raise
                lookup = spec.get_user(cast(str, record.primary_id), user_id_type=None, view=None, expand=None)
                try:
                    found = self._client._request(lookup)
                except NotFoundError:
                    log.warning("Create of %s was not applied (%s); sending it again", record.primary_id, exc)
                    self._client._sleep(backoff_seconds(attempt + 1))
                    continue
                except AlmaError as check_exc:
                    raise spec.create_outcome_unknown(record, exc, check_exc) from exc
                if not same_person(as_parsed(found), record):
                    raise not_ours(record, exc) from exc
                log.info("Create of %s took effect although its answer was lost", record.primary_id)
                return found
        raise AssertionError("unreachable")  # pragma: no cover

    def update(
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
        """Replace a user with ``user`` (Alma's PUT swaps everything; prefer `edit`).

        Raises:
            InputError: a required field is missing or ``override`` names a field Alma does not protect.
            NotFoundError: no user has that id.
        """
        return self._client._request(
            spec.update_user(
                user_id,
                user,
                user_id_type=user_id_type,
                override=override,
                send_pin_number_letter=send_pin_number_letter,
                recalculate_roles=recalculate_roles,
                max_retries=max_retries,
                timeout=timeout,
            )
        )

    def edit(
        self,
        user_id: str,
        *,
        user_id_type: str | None = None,
        override: str | Iterable[str] | None = None,
        journal: spec.EditJournal | None = None,
        staff: str | None = None,
        reason: str | None = None,
    ) -> UserEdit:
        """``with alma.users.edit(id) as user:`` — GET, change ``user``, PUT on exit if anything changed.

        Nothing Alma sent is lost; an exception inside the block sends nothing. With ``journal=``
        (an ``alma_onelink.onelink.Journal``), the PUT is journaled ahead with the record before,
        ``staff`` and ``reason``, and completed after, so ``restore`` can undo it.
        """
        return UserEdit(
            self, user_id, user_id_type=user_id_type, override=override, journal=journal, staff=staff, reason=reason
        )

    def delete(
        self,
        user_id: str,
        *,
        user_id_type: str | None = None,
        max_retries: int | None = None,
        timeout: Timeout = None,
    ) -> None:
        """Delete a user.

        Raises:
            NotFoundError: no user has that id.
            BadRequestError: Alma refused (for example active loans or unpaid fees).
        """
        return self._client._request(
            spec.delete_user(user_id, user_id_type=user_id_type, max_retries=max_retries, timeout=timeout)
        )

    def loans(
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
    ) -> SyncOffsetPage[Loan]:
        """A user's loans, page by page (``loan_status`` Active or Complete)."""
        return self._page(
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

    def requests(
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
    ) -> SyncOffsetPage[UserRequest]:
        """A user's requests (holds, bookings, digitization), page by page."""
        return self._page(
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

    def fees(
        self,
        user_id: str,
        *,
        user_id_type: str | None = None,
        status: str | None = None,
        max_retries: int | None = None,
        timeout: Timeout = None,
    ) -> SyncOffsetPage[Fee]:
        """A user's fines and fees (one page: Alma does not page them); ``.envelope.total_sum`` is the balance."""
        return self._page(
            spec.list_fees(user_id, user_id_type=user_id_type, status=status, max_retries=max_retries, timeout=timeout)
        )

    def test(self, *, write: bool = False, max_retries: int | None = None) -> None:
        """Check that the key works for the Users API (``write=True``: that it may write).

        Raises:
            AuthenticationError: the key is unknown or not set up for this API.
            PermissionDeniedError: a read-only key, with ``write=True``.
        """
        return self._client._request(spec.check_key(write=write, max_retries=max_retries))


class UserEdit:
    """Context manager behind `edit`. After the block, ``saved`` is Alma's answer (or None)."""

    def __init__(
        self,
        users: Users,
        user_id: str,
        *,
        user_id_type: str | None,
        override: str | Iterable[str] | None,
        journal: spec.EditJournal | None = None,
        staff: str | None = None,
        reason: str | None = None,
    ) -> None:
        self._users = users
        self._user_id = user_id
        self._user_id_type = user_id_type
        self._override = override
        self._journal = journal
        self._staff = staff
        self._reason = reason
        self._before: dict[str, Any] = {}
        self.user: User | None = None
        self.saved: User | None = None
        self.changed = False

    def __enter__(self) -> User:
        original = self._users.get(self._user_id, user_id_type=self._user_id_type)
        self._before = original.to_alma()
        self.user = original.model_copy(deep=True)
        return self.user

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None or self.user is None:
            return
        self.changed = self.user.to_alma() != self._before
        if not self.changed:
            return
        if self._journal is None:
            self.saved = self._put()
            return
        entry = spec.journal_edit_intent(self._journal, self._before, staff=self._staff, reason=self._reason)
        try:
            self.saved = self._put()
        except AlmaError as exc:
            spec.journal_edit_done(self._journal, entry, None, exc)
            raise
        spec.journal_edit_done(self._journal, entry, self.saved, None)

    def _put(self) -> User:
        assert self.user is not None
        return self._users.update(self._user_id, self.user, user_id_type=self._user_id_type, override=self._override)


def _raw(func: Callable[P, R]) -> Callable[P, RawResponse[R]]:
    @functools.wraps(func)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> RawResponse[R]:
        token = raw_response_mode.set(True)
        try:
            return cast(RawResponse[R], func(*args, **kwargs))
        finally:
            raw_response_mode.reset(token)

    return wrapped


class UsersWithRawResponse:
    """``alma.users.with_raw_response``: each method returns a `RawResponse`."""

    def __init__(self, users: Users) -> None:
        self.get = _raw(users.get)
        self.list = _raw(users.list)
        self.create = _raw(users.create)
        self.update = _raw(users.update)
        self.delete = _raw(users.delete)
        self.loans = _raw(users.loans)
        self.requests = _raw(users.requests)
        self.fees = _raw(users.fees)
        self.test = _raw(users.test)
