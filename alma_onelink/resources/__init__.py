"""API resources: ``alma.users`` and its async twin."""

from .users import AsyncUserEdit, AsyncUsers, UserEdit, Users

__all__ = ["AsyncUserEdit", "AsyncUsers", "UserEdit", "Users"]
