"""The async surface mirrors the sync one: same names, same parameters, awaitable where it does I/O."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from alma_onelink import AlmaClient, AsyncAlmaClient, AsyncOffsetPage, SyncOffsetPage
from alma_onelink.resources import AsyncUserEdit, AsyncUsers, UserEdit, Users
from tests.client.conftest import KEY, Script, make_async_client, make_client


def public_methods(cls: type) -> set[str]:
    return {
        name
        for name, value in inspect.getmembers(cls)
        if not name.startswith("_") and (inspect.isfunction(value) or inspect.ismethod(value))
    }


def public_attributes(obj: object) -> set[str]:
    return {name for name in dir(obj) if not name.startswith("_")}


def params(func: Callable[..., Any]) -> list[tuple[str, Any, Any]]:
    signature = inspect.signature(func)
    return [(p.name, p.kind, p.default) for p in signature.parameters.values() if p.name not in ("self", "cls")]


# --- Users ------------------------------------------------------------------------------------------------

USER_METHODS = {"get", "list", "create", "update", "edit", "delete", "loans", "requests", "fees", "test"}


def test_users_methods_are_the_public_surface() -> None:
    assert public_methods(Users) == USER_METHODS
    assert public_methods(AsyncUsers) == USER_METHODS
    assert "with_raw_response" in public_attributes(Users)
    assert "with_raw_response" in public_attributes(AsyncUsers)


@pytest.mark.parametrize("name", sorted(USER_METHODS))
def test_users_signatures_match(name: str) -> None:
    assert params(getattr(Users, name)) == params(getattr(AsyncUsers, name))


@pytest.mark.parametrize("name", sorted(USER_METHODS - {"edit"}))
def test_async_users_methods_are_coroutines(name: str) -> None:
    assert inspect.iscoroutinefunction(getattr(AsyncUsers, name))
    assert not inspect.iscoroutinefunction(getattr(Users, name))


def test_edit_is_a_plain_method_returning_a_context_manager_in_both() -> None:
    assert not inspect.iscoroutinefunction(AsyncUsers.edit)
    assert hasattr(UserEdit, "__enter__")
    assert hasattr(UserEdit, "__exit__")
    assert hasattr(AsyncUserEdit, "__aenter__")
    assert hasattr(AsyncUserEdit, "__aexit__")
    assert public_attributes(UserEdit) == public_attributes(AsyncUserEdit)


def test_edit_context_managers_expose_the_same_state() -> None:
    sync_edit = make_client(Script()).users.edit("jdoe")
    async_edit = make_async_client(Script()).users.edit("jdoe")
    assert public_attributes(sync_edit) == public_attributes(async_edit)
    assert {"user", "saved", "changed"} <= public_attributes(sync_edit)


# --- raw responses ----------------------------------------------------------------------------------------


def test_raw_response_classes_match() -> None:
    sync_raw = make_client(Script()).users.with_raw_response
    async_raw = make_async_client(Script()).users.with_raw_response
    names = public_attributes(sync_raw)
    assert names == public_attributes(async_raw)
    assert names == USER_METHODS - {"edit"}
    for name in sorted(names):
        sync_method, async_method = getattr(sync_raw, name), getattr(async_raw, name)
        assert params(sync_method) == params(async_method), name
        assert params(sync_method) == params(getattr(Users, name)), name
        assert inspect.iscoroutinefunction(async_method), name
        assert not inspect.iscoroutinefunction(sync_method), name


# --- clients ---------------------------------------------------------------------------------------------


def test_client_public_surface_matches() -> None:
    sync_names = public_attributes(AlmaClient)
    assert sync_names == public_attributes(AsyncAlmaClient)
    assert {"from_env", "sandbox", "with_options", "close", "base_url", "max_retries", "rate_limiter"} <= sync_names
    assert "remaining_daily_calls" in sync_names


def test_client_instances_expose_the_same_attributes() -> None:
    assert public_attributes(AlmaClient(api_key=KEY)) == public_attributes(AsyncAlmaClient(api_key=KEY))


@pytest.mark.parametrize("name", ["__init__", "with_options", "from_env", "sandbox"])
def test_client_signatures_match(name: str) -> None:
    assert params(getattr(AlmaClient, name)) == params(getattr(AsyncAlmaClient, name))


def test_async_client_closes_with_a_coroutine() -> None:
    assert inspect.iscoroutinefunction(AsyncAlmaClient.close)
    assert not inspect.iscoroutinefunction(AlmaClient.close)
    assert hasattr(AlmaClient, "__enter__")
    assert hasattr(AsyncAlmaClient, "__aenter__")


# --- pages ---------------------------------------------------------------------------------------------


def test_page_surface_matches() -> None:
    shared = {"items", "total_record_count", "has_next_page", "get_next_page", "iter_pages", "to_list", "envelope"}
    sync_names = public_attributes(SyncOffsetPage)
    async_names = public_attributes(AsyncOffsetPage)
    for name in ("has_next_page", "get_next_page", "iter_pages", "to_list"):
        assert name in sync_names
        assert name in async_names
    assert inspect.iscoroutinefunction(AsyncOffsetPage.get_next_page)
    assert inspect.iscoroutinefunction(AsyncOffsetPage.to_list)
    assert inspect.isasyncgenfunction(AsyncOffsetPage.iter_pages)
    assert shared - {"items", "total_record_count", "envelope"} <= sync_names & async_names
