"""The limiter refuses arguments it cannot use with the SDK's InputError (still a ValueError), saying what it takes."""

from __future__ import annotations

from typing import Any

import pytest

from alma_onelink import InputError, RateLimiter, TokenBucket


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"rate": None}, "rate"),
        ({"rate": "25"}, "rate"),
        ({"rate": True}, "rate"),
        ({"rate": 0}, "rate"),
        ({"rate": 10**24}, "rate"),
        ({"rate": float("inf")}, "rate"),
        ({"rate": float("nan")}, "rate"),
        ({"burst": float("inf")}, "burst"),
        ({"burst": 0}, "burst"),
        ({"pause": -1}, "pause"),
        ({"recovery_seconds": 0}, "recovery_seconds"),
        ({"min_rate": 0}, "min_rate"),
        ({"edge_margin": 1}, "edge_margin"),
        ({"clock": 1}, "clock"),
    ],
)
def test_an_argument_it_cannot_use_is_an_input_error_naming_it(arguments: dict[str, Any], named: str) -> None:
    with pytest.raises(InputError, match=f"^{named} must be"):
        RateLimiter(**arguments)
    with pytest.raises(ValueError, match=named):  # code written against the earlier ValueError still catches it
        TokenBucket(**arguments)


def test_good_arguments_are_kept_as_numbers() -> None:
    limiter = RateLimiter(10, burst=5, pause=0.5, recovery_seconds=3, min_rate=2, edge_margin=0.01)
    assert (limiter.rate, limiter.burst, limiter.pause, limiter.min_rate, limiter.edge_margin) == (
        10.0,
        5,
        0.5,
        2.0,
        0.01,
    )
