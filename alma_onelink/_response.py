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
        text = (value or "").strip()
        return int(text) if text.isascii() and text.isdigit() else None

    @property
    def elapsed(self) -> float:
        """Seconds between sending the request and reading the response (``0.0`` if never measured)."""
        try:
            return self.http_response.elapsed.total_seconds()
        except RuntimeError:  # in-process transports never set it: the client's own measure stands in
            measured = self.http_response.extensions.get("alma_onelink.elapsed")
            return float(measured) if isinstance(measured, int | float) else 0.0

    @property
    def text(self) -> str:
        """The body as text, in its declared charset; bytes that do not fit it read as ``\ufffd``."""
        response = self.http_response
        try:
            return response.text
        except Exception:
            return response.content.decode("utf-8", "replace")

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
