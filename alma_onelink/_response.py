"""``RawResponse``: what ``with_raw_response`` returns — status, headers, retries, and a parser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import httpx

__all__ = ["RawResponse"]

T = TypeVar("T")


class RawResponse(Generic[T]):
    """An Alma response before parsing. ``.parse()`` gives what the plain method would return."""

    def __init__(self, http_response: httpx.Response, *, retries_taken: int, parser: Callable[[httpx.Response], T]):
        self.http_response = http_response
        self.retries_taken = retries_taken
        self._parser = parser
        self._parsed: list[T] = []

    @property
    def status_code(self) -> int:
        """The HTTP status Alma answered with."""
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The response headers (``X-Exl-Api-Remaining`` among them)."""
        return self.http_response.headers

    @property
    def remaining_daily_calls(self) -> int | None:
        """This response's ``X-Exl-Api-Remaining``, if Alma sent one."""
        value = self.headers.get("x-exl-api-remaining")
        return int(value) if value and value.strip().isdigit() else None

    @property
    def elapsed(self) -> float:
        """Seconds between sending the request and reading the response."""
        return self.http_response.elapsed.total_seconds()

    @property
    def text(self) -> str:
        """The body as text."""
        return self.http_response.text

    def parse(self) -> T:
        """The typed object (parsed once, then cached). Raises ``APIResponseValidationError`` if it does not fit."""
        if not self._parsed:
            self._parsed.append(self._parser(self.http_response))
        return self._parsed[0]

    def __repr__(self) -> str:
        request = self.http_response.request
        return (
            f"<RawResponse {request.method} {request.url.path} -> {self.status_code}, "
            f"retries_taken={self.retries_taken}>"
        )
