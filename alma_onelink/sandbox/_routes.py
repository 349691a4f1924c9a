"""Alma's Users API catalogue: which operations exist, and which of them the sandbox emulates.

Paths and methods follow Ex Libris' OpenAPI for the Users area (plus ``GET …/attachments``, which the
documentation lists). Routing a request gives one of: an emulated operation, an operation of Alma's
API the sandbox does not emulate (``501 NOT_EMULATED``), a path Alma has with a method it does not
take (``405``), or a path Alma does not have (``404 ROUTING_ERROR``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ALMA_USERS_API", "EMULATED", "Route", "match"]

API_PREFIX = "/almaws/v1"

ALMA_USERS_API: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (pattern, frozenset(methods.split()))
    for pattern, methods in (
        # Literal paths first: they win over a {user_id} in the same place.
        ("/users", "GET POST"),
        ("/users/ME", "GET"),
        ("/users/operation/test", "GET POST"),
        ("/users/staff-login-report", "GET"),
        ("/users/{user_id}", "GET PUT DELETE POST"),
        ("/users/{user_id}/personal-data", "GET"),
        ("/users/{user_id}/attachments", "GET POST"),
        ("/users/{user_id}/attachments/{attachment_id}", "GET"),
        ("/users/{user_id}/loans", "GET POST"),
        ("/users/{user_id}/loans/{loan_id}", "GET POST PUT"),
        ("/users/{user_id}/requests", "GET POST"),
        ("/users/{user_id}/requests/{request_id}", "GET PUT DELETE POST"),
        ("/users/{user_id}/resource-sharing-requests", "POST"),
        ("/users/{user_id}/resource-sharing-requests/{request_id}", "GET POST DELETE"),
        ("/users/{user_id}/fees", "GET POST"),
        ("/users/{user_id}/fees/all", "POST"),
        ("/users/{user_id}/fees/{fee_id}", "GET POST"),
        ("/users/{user_id}/deposits", "GET POST"),
        ("/users/{user_id}/deposits/{deposit_id}", "GET POST"),
        ("/users/{user_id}/purchase-requests", "GET POST"),
        ("/users/{user_id}/purchase-requests/{purchase_request_id}", "GET POST"),
        ("/users/{user_name}/leganto-notifications", "GET"),
    )
)
"""Every ``(path pattern, methods)`` of Alma's Users API, under ``/almaws/v1``."""

EMULATED = frozenset(
    {
        ("GET", "/users"),
        ("POST", "/users"),
        ("GET", "/users/operation/test"),
        ("POST", "/users/operation/test"),
        ("GET", "/users/{user_id}"),
        ("PUT", "/users/{user_id}"),
        ("DELETE", "/users/{user_id}"),
        ("POST", "/users/{user_id}"),  # op=auth; op=refresh is not emulated
        ("GET", "/users/{user_id}/loans"),
        ("GET", "/users/{user_id}/requests"),
        ("GET", "/users/{user_id}/fees"),
    }
)
"""The ``(method, path pattern)`` operations the sandbox emulates."""


@dataclass(frozen=True)
class Route:
    """Where a request lands: its pattern, the methods Alma takes there, and the path's parameters."""

    pattern: str
    methods: frozenset[str]
    params: dict[str, str]

    def emulated(self, method: str) -> bool:
        """Whether the sandbox emulates ``method`` on this path."""
        return (method, self.pattern) in EMULATED

    def not_emulated_message(self, method: str, suffix: str = "") -> str:
        """The ``NOT_EMULATED`` error message for ``method`` here (``suffix`` such as ``?op=refresh``)."""
        return f"{method} {API_PREFIX}{self.pattern}{suffix} is part of Alma's API but not emulated by the sandbox."


def _fit(pattern: str, segments: list[str]) -> dict[str, str] | None:
    parts = pattern.strip("/").split("/")
    if len(parts) != len(segments):
        return None
    params: dict[str, str] = {}
    for part, segment in zip(parts, segments, strict=True):
        if part.startswith("{"):
            if not segment:
                return None
            params[part[1:-1]] = segment
        elif part != segment:
            return None
    return params


def match(segments: list[str], method: str) -> Route | None:
    """The route for the decoded path ``segments`` (after ``almaws/v1``), or ``None`` for an unknown path.

    Among the patterns that fit, the first that takes ``method`` wins; if none does, the first that
    fits (so the caller answers ``405``).
    """
    fitting = [
        Route(pattern, methods, params)
        for pattern, methods in ALMA_USERS_API
        if (params := _fit(pattern, segments)) is not None
    ]
    return next((route for route in fitting if method in route.methods), fitting[0] if fitting else None)
