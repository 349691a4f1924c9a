"""``sandbox.users``: direct access to the sandbox's records for tests, bypassing the HTTP API."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from alma_onelink.models import AlmaModel

from ._fields import Json
from ._http import AlmaFailure
from ._records import hash_password, password_matches
from ._seed import make_fee, make_loan, make_request
from ._store import PRIMARY, Entry, Store, make_entry
from ._users import UserService

Record = Mapping[str, Any] | AlmaModel


def _as_dict(record: Record | None) -> dict[str, Any]:
    if record is None:
        return {}
    return record.to_alma() if isinstance(record, AlmaModel) else dict(record)


class SandboxUsers:
    """The sandbox's users, straight from its store: set up states and check outcomes in tests.

    Lookups take any id Alma would accept (primary id or identifier value, ignoring case).
    Nothing here counts against the thresholds or appears in the request log.
    """

    def __init__(self, service: UserService) -> None:
        self._service = service

    @property
    def _store(self) -> Store:
        return self._service.store

    def _find(self, user_id: str, id_type: str | None = None) -> tuple[int, Entry] | None:
        try:
            return self._service.find(user_id, id_type)
        except AlmaFailure:
            return None

    def _require(self, user_id: str) -> tuple[int, Entry]:
        found = self._find(user_id)
        if found is None:
            raise KeyError(f"no user {user_id!r} in the sandbox")
        return found

    def get(self, user_id: str) -> dict[str, Any] | None:
        """The record as ``GET /users/{id}`` returns it, or ``None`` if there is no such user."""
        found = self._find(user_id)
        return None if found is None else dict(found[1]["user"])

    def create(self, user: Record, *, password: str | None = None) -> dict[str, Any]:
        """Add a user through Alma's create rules (like ``POST /users``); raises `AlmaFailure`."""
        body = _as_dict(user)
        if password is not None:
            body["password"] = password
        return self._service.create(body)

    def put(self, user: Record, *, password: str | None = None) -> str:
        """Store ``user`` exactly as given (no rules, no defaults), replacing any user with its primary id.

        Use it to set up states the API would refuse. Raises ``ValueError`` without a primary id.
        """
        record = _as_dict(user)
        primary_id = record.get("primary_id")
        if not isinstance(primary_id, str) or not primary_id:
            raise ValueError("a user needs a primary_id")
        with self._store.transaction():
            uid, old = self._find(primary_id, PRIMARY) or (None, {})
            password_hash = hash_password(password) if password else old.get("password")
            self._store.save(uid, make_entry(record, password_hash, self._service.env().today))
        return primary_id

    def delete(self, user_id: str) -> bool:
        """Remove the user and its loans, requests and fees, whatever they hold; ``False`` if absent."""
        with self._store.transaction():
            found = self._find(user_id)
            if found is None:
                return False
            self._store.delete(found[0])
            return True

    def ids(self) -> list[str]:
        """Every primary id, in the order the users were added."""
        return [str(entry["user"].get("primary_id")) for _, entry in self._store.entries()]

    def password_matches(self, user_id: str, password: str) -> bool:
        """Whether ``password`` is the user's Alma password (the API never returns it)."""
        _, entry = self._require(user_id)
        return password_matches(password, entry.get("password"))

    # --- loans, requests, fees -------------------------------------------------------------------

    def _add(self, user_id: str, kind: str, item: Record | None, fields: Mapping[str, Any]) -> dict[str, Any]:
        with self._store.transaction():
            uid, entry = self._require(user_id)
            primary_id = str(entry["user"].get("primary_id"))
            maker = {"loans": make_loan, "requests": make_request, "fees": make_fee}[kind]
            built = maker(self._store, self._service.env(), primary_id, {**_as_dict(item), **fields})
            self._store.add_item(uid, kind, built)
            return built

    def add_loan(self, user_id: str, loan: Record | None = None, **fields: Any) -> dict[str, Any]:
        """Give the user a loan (active unless ``loan_status="COMPLETE"``); raises ``KeyError`` if no user."""
        return self._add(user_id, "loans", loan, fields)

    def add_request(self, user_id: str, request: Record | None = None, **fields: Any) -> dict[str, Any]:
        """Give the user a hold request (open unless ``request_status="History"``); ``KeyError`` if no user."""
        return self._add(user_id, "requests", request, fields)

    def add_fee(self, user_id: str, fee: Record | None = None, **fields: Any) -> dict[str, Any]:
        """Give the user a fee (active, 12.50 unless overridden); raises ``KeyError`` if no user."""
        return self._add(user_id, "fees", fee, fields)

    def loans(self, user_id: str) -> list[dict[str, Any]]:
        """Every loan of the user, active and complete; raises ``KeyError`` if no user."""
        return self._store.items(self._require(user_id)[0], "loans")

    def requests(self, user_id: str) -> list[dict[str, Any]]:
        """Every request of the user; raises ``KeyError`` if no user."""
        return self._store.items(self._require(user_id)[0], "requests")

    def fees(self, user_id: str) -> list[dict[str, Any]]:
        """Every fee of the user, whatever its status; raises ``KeyError`` if no user."""
        return self._store.items(self._require(user_id)[0], "fees")

    def set_items(self, user_id: str, kind: str, items: list[Json]) -> None:
        """Replace the user's ``loans``, ``requests`` or ``fees`` list as given."""
        self._store.set_items(self._require(user_id)[0], kind, items)

    # --- container protocol ----------------------------------------------------------------------

    def __len__(self) -> int:
        return self._store.count()

    def __contains__(self, user_id: object) -> bool:
        return isinstance(user_id, str) and self._find(user_id) is not None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter([entry["user"] for _, entry in self._store.entries()])

    def __repr__(self) -> str:
        return f"SandboxUsers({len(self)} users)"
