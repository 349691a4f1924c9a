"""Alma's Users API catalogue: which operations exist. Which of them the sandbox emulates is the
handler's routing table (``_handler.ROUTES``).

Paths and methods follow Ex Libris' OpenAPI for the Users area (plus ``GET …/attachments``, which the
documentation lists). Routing a request gives one of: an emulated operation, an operation of Alma's
API the sandbox does not emulate (``501 NOT_EMULATED``), a path Alma has with a method it does not
take (``405``), or a path Alma does not have (``404 ROUTING_ERROR``).
"""

from __future__ import annotations

from dataclasses import dataclass

from alma_onelink._constants import API_PATH

__all__ = ["ALMA_USERS_API", "Route", "match"]

API_SEGMENTS = API_PATH.strip("/").split("/")
"""``API_PATH`` as path segments (``["almaws", "v1"]``)."""

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
"""Every ``(path pattern, methods)`` of Alma's Users API, under ``API_PATH``."""


@dataclass(frozen=True)
class Route:
    """Where a request lands: its pattern, the methods Alma takes there, and the path's parameters."""

    pattern: str
    methods: frozenset[str]
    params: dict[str, str]


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
    """The route for the decoded path ``segments`` (the whole path), or ``None`` for a path Alma does not have.

    Among the patterns that fit, the first that takes ``method`` wins; if none does, the first that
    fits (so the caller answers ``405``).
    """
    if segments[: len(API_SEGMENTS)] != API_SEGMENTS:
        return None
    fitting = [
        Route(pattern, methods, params)
        for pattern, methods in ALMA_USERS_API
        if (params := _fit(pattern, segments[len(API_SEGMENTS) :])) is not None
    ]
    return next((route for route in fitting if method in route.methods), fitting[0] if fitting else None)
