"""What the command takes from the SDK without importing it, so ``alma-onelink --help`` starts in a blink.

Building the typer app (for ``--help``, and for ``typer alma_onelink.cli utils docs``) must not load
httpx, pydantic, the client, the policies or the sandbox: each command imports what it needs when it
runs. Two things cannot wait until then:

* values the help shows (the regions, the former roles, the sandbox's limits…): written here, each
  checked equal to the SDK's own by tests/test_lazy_imports.py;
* SDK functions that tests replace on a command's module (``_register.register_patron``): a
  stand-in made by `on_first_call` imports the real one when first called.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Final

__all__ = [
    "BATCH_MAX_CONCURRENCY",
    "DEMO_DEFAULT_PATRONS",
    "DEMO_MAX_PATRONS",
    "FAULT_KINDS",
    "PRIOR_ROLES",
    "REGION_NAMES",
    "on_first_call",
]

REGION_NAMES: Final = ("na", "eu", "ap", "aps", "ca", "cn")
"""The keys of `alma_onelink.REGIONS`, in its order (``--region``)."""

PRIOR_ROLES: Final = ("faculty", "staff", "sponsored", "student")
"""`alma_onelink.policy.types.PRIOR_ROLES` (``--prior-role``)."""

DEMO_DEFAULT_PATRONS: Final = 40
"""`alma_onelink.demo.DEFAULT_PATRONS`: generated patrons in a new sandbox (``--patrons``)."""

DEMO_MAX_PATRONS: Final = 2000
"""`alma_onelink.demo.MAX_PATRONS`: the most ``demo --patrons`` takes."""

FAULT_KINDS: Final = ("429", "500", "503", "read_timeout", "connection_reset", "commit_then_fail")
"""`alma_onelink.sandbox.FAULT_KINDS` (``sandbox serve --faults``)."""

BATCH_MAX_CONCURRENCY: Final = 64
"""`alma_onelink.onelink.batch.MAX_CONCURRENCY` (``batch --concurrency``)."""


def on_first_call(module: str, name: str) -> Callable[..., Any]:
    """A stand-in for the function ``module.name``: the first call imports the module, every call goes through.

    For a command module's SDK functions, so the module imports nothing heavy and a test can still
    replace the function on it (``monkeypatch.setattr(_register, "register_patron", …)``). Declare
    the real function under ``if TYPE_CHECKING:`` so mypy checks each call against its signature.
    """

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"`{module}.{name}`, imported when first called."
    return call
