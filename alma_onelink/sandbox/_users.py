"""The per-user operations: look up, create, update (swap all), delete, authenticate.

Each write runs in one store transaction, so the uniqueness check and the write cannot interleave
with another request's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import quote

from ._fields import Env, Json, code_value, is_unpaid_fee
from ._http import AlmaFailure
from ._records import build_user, check_password_rules, hash_password, parse_user, password_matches, render_view_brief
from ._store import PRIMARY, Entry, Store, make_entry

ALL_UNIQUE = "all_unique"


def user_link(base: str, primary_id: str) -> str:
    """The ``link`` Alma gives a user: the API URL of its record, the id percent-encoded."""
    return f"{base}/users/{quote(primary_id, safe='')}"


def is_active_loan(loan: Json) -> bool:
    """Whether the item is still out."""
    return str(loan.get("loan_status") or "").upper() == "ACTIVE"


def is_active_request(request: Json) -> bool:
    """Whether the request is still open (not in History)."""
    return str(request.get("request_status") or "").strip().casefold() != "history"


class UserService:
    """Alma's per-user rules over a store. ``env()`` gives the code tables and the current time."""

    def __init__(self, store: Store, env: Callable[[], Env]) -> None:
        self.store = store
        self.env = env

    # --- lookup ----------------------------------------------------------------------------------

    def find(self, user_id: str, id_type: str | None, *, typed_error: bool = False) -> tuple[int, Entry]:
        """The user ``user_id`` names (primary id or any identifier unless ``id_type`` narrows it).

        When there is none, raises 401890 "… of type Y was not found." if ``id_type`` is explicit or
        ``typed_error`` is set (PUT and DELETE), else 401861.
        """
        kind = (id_type or "").strip()
        if not kind or kind.lower() == ALL_UNIQUE:
            # An id that is one user's primary id wins over another's identifier.
            candidates = self.store.lookup(user_id, PRIMARY) or self.store.lookup(user_id)
        else:
            candidates = self.store.lookup(user_id, kind)
        uid = candidates[0] if candidates else None
        entry = self.store.get(uid) if uid is not None else None
        if uid is None or entry is None:
            explicit = bool(kind) and kind.lower() != ALL_UNIQUE
            if explicit or typed_error:
                shown = kind if explicit else ALL_UNIQUE
                raise AlmaFailure("401890", f"User with identifier {user_id} of type {shown} was not found.")
            raise AlmaFailure("401861", f"User with identifier {user_id} was not found.")
        return uid, entry

    def check_unique(self, record: Json, own_uid: int | None) -> None:
        """Raise 401851 if another user already has this primary id or one of these identifier values,
        or if the record repeats an identifier value (ignoring case, whatever the id types)."""
        values = [(str(record["primary_id"]), PRIMARY)] + [
            (str(ident["value"]), code_value(ident["id_type"])) for ident in record.get("user_identifier", [])
        ]
        seen: set[str] = set()
        for value, kind in values[1:]:
            if value.casefold() in seen:
                raise AlmaFailure("401851", f"User with identifier {value} of type {kind} already exists.")
            seen.add(value.casefold())
        for value, kind in values:
            if any(uid != own_uid for uid in self.store.lookup(value)):
                raise AlmaFailure("401851", f"User with identifier {value} of type {kind} already exists.")

    # --- operations ------------------------------------------------------------------------------

    def get(self, user_id: str, params: Mapping[str, str], base: str) -> Json:
        """``GET /users/{id}``: the full record, ``view=brief``, and ``expand=loans,requests,fees``."""
        uid, entry = self.find(user_id, params.get("user_id_type"))
        user: Json = dict(entry["user"])
        expand = {part.strip().lower() for part in params.get("expand", "").split(",") if part.strip()}
        link = user_link(base, user["primary_id"])
        if "loans" in expand:
            count = sum(1 for loan in self.store.items(uid, "loans") if is_active_loan(loan))
            user["loans"] = {"value": count, "link": f"{link}/loans"}
        if "requests" in expand:
            count = sum(1 for req in self.store.items(uid, "requests") if is_active_request(req))
            user["requests"] = {"value": count, "link": f"{link}/requests"}
        if "fees" in expand:
            total = sum(float(fee.get("balance") or 0) for fee in self.store.items(uid, "fees") if is_unpaid_fee(fee))
            user["fees"] = {"value": round(total, 2), "link": f"{link}/fees"}
        if params.get("view", "").lower() == "brief":
            user = render_view_brief(user)
        return user

    def create(self, body: bytes | Json) -> Json:
        """``POST /users``: validate, fill defaults, store; returns the record as Alma returns it."""
        data = parse_user(body)
        env = self.env()
        with self.store.transaction():
            record = build_user(env, data)
            password_hash = self._new_password(data, record)
            self.check_unique(record, None)
            self.store.save(None, make_entry(record, password_hash, env.today))
        return record

    def update(self, user_id: str, body: bytes | Json, params: Mapping[str, str]) -> Json:
        """``PUT /users/{id}``: swap all (§5.4).

        An empty password keeps the old one; an external user has none (a change to EXTERNAL drops it).
        A new primary id is carried over to the user's loans and requests.
        """
        data = parse_user(body)
        env = self.env()
        override = [name for name in params.get("override", "").split(",") if name.strip()]
        recalculate = params.get("recalculate_roles", "").lower() == "true"
        with self.store.transaction():
            uid, entry = self.find(user_id, params.get("user_id_type"), typed_error=True)
            record = build_user(env, data, existing=entry["user"], override=override, recalculate_roles=recalculate)
            password_hash = self._new_password(data, record) or entry.get("password")
            if code_value(record["account_type"]) != "INTERNAL":
                password_hash = None  # external users authenticate elsewhere
            self.check_unique(record, uid)
            self.store.save(uid, make_entry(record, password_hash, env.today))
            if record["primary_id"] != entry["user"].get("primary_id"):
                self._rename_items(uid, record["primary_id"])
        return record

    def delete(self, user_id: str, params: Mapping[str, str]) -> None:
        """``DELETE /users/{id}``: refused (401850) while loans, requests or unpaid fees remain."""
        with self.store.transaction():
            uid, _ = self.find(user_id, params.get("user_id_type"), typed_error=True)
            reasons = []
            if any(is_active_loan(loan) for loan in self.store.items(uid, "loans")):
                reasons.append("active loans")
            if any(is_active_request(req) for req in self.store.items(uid, "requests")):
                reasons.append("active requests")
            if any(is_unpaid_fee(fee) for fee in self.store.items(uid, "fees")):
                reasons.append("unpaid fees")
            if reasons:
                kind = params.get("user_id_type") or ALL_UNIQUE
                raise AlmaFailure(
                    "401850",
                    f"Failed to delete user with identifier {user_id} of type {kind}. "
                    f"The user has {', '.join(reasons)}.",
                )
            self.store.delete(uid)

    def authenticate(self, user_id: str, password: str) -> None:
        """``POST /users/{id}?op=auth``: returns if the password matches, else raises 401866."""
        try:
            _, entry = self.find(user_id, None)
        except AlmaFailure as exc:
            raise AlmaFailure("401890", "User was not found.") from exc
        if not password or not password_matches(password, entry.get("password")):
            raise AlmaFailure("401866", "User authentication failed")

    # --- helpers ---------------------------------------------------------------------------------

    def _rename_items(self, uid: int, primary_id: str) -> None:
        """Point the user's loans (``user_id``) and requests (``user_primary_id``) at a new primary id."""
        for kind, key in (("loans", "user_id"), ("requests", "user_primary_id")):
            items = self.store.items(uid, kind)
            if items:
                self.store.set_items(uid, kind, [{**item, key: primary_id} for item in items])

    @staticmethod
    def _new_password(data: Json, record: Json) -> str | None:
        password = data.get("password")
        if not isinstance(password, str) or not password or code_value(record["account_type"]) != "INTERNAL":
            return None  # external users authenticate elsewhere; Alma ignores a password for them
        check_password_rules(password, record["primary_id"])
        return hash_password(password)
