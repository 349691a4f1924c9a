"""The code tables as one bulk operation reads them: every answer remembered, no lock taken twice."""

from __future__ import annotations

from ._codes import CodeTables

__all__ = ["CodeSnapshot"]


class CodeSnapshot(CodeTables):
    """``source``'s code tables, each answer read once and remembered (seeding asks the same few codes
    100,000 times). The rules see the same codes as through ``source``, as they stood when first asked:
    a code another thread adds while a seed runs counts from the next seed on. Writes go to ``source``
    and drop what was remembered.
    """

    def __init__(self, source: CodeTables) -> None:
        super().__init__({}, category_types={})
        self._source = source
        self._found: dict[tuple[str, str], tuple[str, str] | None] = {}
        self._types: dict[str | None, str | None] = {}

    def lookup(self, table: str, code: str) -> tuple[str, str] | None:
        """What ``source.lookup`` answered for this table and code."""
        key = (table, code)
        try:
            return self._found[key]
        except KeyError:
            found = self._found[key] = self._source.lookup(table, code)
            return found

    def category_type(self, category: str | None) -> str | None:
        """What ``source.category_type`` answered for this category."""
        try:
            return self._types[category]
        except KeyError:
            found = self._types[category] = self._source.category_type(category)
            return found

    def codes(self, table: str) -> list[str]:
        """Every code of ``table`` in ``source``."""
        return self._source.codes(table)

    def add(self, table: str, code: str, desc: str, *, category_type: str | None = None) -> None:
        """Add the code to ``source`` (see `CodeTables.add`)."""
        self._source.add(table, code, desc, category_type=category_type)
        self._found.clear()
        self._types.clear()

    def remove(self, table: str, code: str) -> None:
        """Remove the code from ``source`` (see `CodeTables.remove`)."""
        self._source.remove(table, code)
        self._found.clear()
        self._types.clear()

    def __repr__(self) -> str:
        return f"CodeSnapshot({self._source!r})"
