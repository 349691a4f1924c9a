"""A package's public names imported on first use (PEP 562), so importing it loads only what is used.

A package lists where each of its names lives and hands the table to `lazy_names`; the names are
also imported under ``if TYPE_CHECKING:`` so mypy and IDEs see them (tests/test_lazy_imports.py
checks that the two lists agree)::

    if TYPE_CHECKING:
        from .journal import Journal, JournalEntry
    else:
        __getattr__, __dir__ = lazy_names(__name__, {".journal": ("Journal", "JournalEntry")})

``__getattr__`` stays out of mypy's sight on purpose: a module with one types every unknown name as
``Any``, and a misspelt import would pass the type check.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, table: Mapping[str, Iterable[str]], *, fallback: Callable[[str], Any] | None = None
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, whose names ``table`` places (relative module → names).

    A name is imported from its module on first use and kept in the package, so later uses cost a
    dictionary lookup. A submodule of the package that is not imported yet is imported on first use
    too (``alma_onelink.policy`` after ``import alma_onelink``), as it was when the package imported
    everything up front. ``fallback(name)`` is asked last (``AttributeError`` when it has no answer).

    A name spelt like the module it comes from (``restore`` from ``.restore``) is imported at once:
    the import system sets the package's attribute to the submodule whenever that submodule is first
    imported, which would hide a name imported later.
    """
    home = sys.modules[package].__dict__
    where = {name: module for module, names in table.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is not None:
            value = getattr(importlib.import_module(module, package), name)
            home[name] = value
            return value
        if not name.startswith("__"):
            try:
                return importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{package}.{name}":
                    raise
        if fallback is not None:
            return fallback(name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*home, *where})

    home["__getattr__"], home["__dir__"] = __getattr__, __dir__  # before the imports below, which may need them
    for name, module in where.items():
        if module.rpartition(".")[2] == name:
            home[name] = getattr(importlib.import_module(module, package), name)
    return __getattr__, __dir__
