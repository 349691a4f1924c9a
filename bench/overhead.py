"""SDK overhead against raw httpx + json.loads, on the same in-process transport.

Both sides send the same request through an ``httpx.Client`` on one ``MockTransport`` that hands
back prebuilt bytes, so the only difference is what the SDK adds: building the request, checking
the response, retries bookkeeping, and parsing into typed models. The rate limiter is off on the
SDK side (it would only add the deliberate 40 ms spacing, which is not overhead).

Two baselines per case, measured in the same run:

* **raw** — raw httpx + ``json.loads``: untyped dicts, nothing checked;
* **typed floor** — raw httpx + ``Model.model_validate_json`` of the same bytes: the least any
  client that hands back typed, validated models can do. ``SDK / floor`` is what the SDK itself adds
  (request building, error checks, retry and rate-limit bookkeeping, pages).

Timing is interleaved call by call: each round calls raw, floor and SDK in turn (the order rotating),
``inner`` times each, timing every call on its own with the garbage collector paused; a round's value
for a variant is its median call, and the ratios are taken per round, so drifts of the machine
(frequency, other load) hit every variant alike. Reported: the median ratio over the rounds with a
95 % confidence interval for that median (the distribution-free interval from the binomial order
statistics) and the spread (the middle half of the rounds). A target counts as met when the whole
interval is within it.

Run: ``make bench`` or ``.venv/bin/python bench/overhead.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from alma_onelink import AlmaClient
from alma_onelink.models import User, UserList

EXAMPLES = Path(__file__).resolve().parents[1] / "tests" / "data" / "alma-examples"
BASE = "https://bench.invalid"
KEY = "bench-key"
# Per case: which baseline the target is against, and the most the SDK may take relative to it.
TARGETS = [("raw", 1.2), ("floor", 1.1), ("floor", 1.1)]


def _full_user() -> dict[str, object]:
    data: dict[str, object] = json.loads((EXAMPLES / "user_full_external_pulibrary_bbird.json").read_text())
    return data


def _brief_user(i: int) -> dict[str, object]:
    return {
        "primary_id": f"{1000000 + i:07d}",
        "first_name": f"Firstname{i}",
        "last_name": f"Lastname{i}",
        "full_name": f"Firstname{i} Lastname{i}",
        "gender": {"value": "", "desc": ""},
        "status": {"value": "ACTIVE", "desc": "Active"},
        "password": "",
        "link": f"{BASE}/almaws/v1/users/{1000000 + i:07d}",
        "loans": None,
        "requests": None,
        "fees": None,
    }


def _bodies() -> dict[str, bytes]:
    full = _full_user()
    full_page = {"user": [dict(copy.deepcopy(full), primary_id=f"u{i}") for i in range(100)], "total_record_count": 100}
    return {
        "user": json.dumps(full).encode(),
        "page": json.dumps({"user": [_brief_user(i) for i in range(100)], "total_record_count": 100}).encode(),
        "full_page": json.dumps(full_page).encode(),
    }


def _transport(bodies: dict[str, bytes]) -> httpx.MockTransport:
    headers = {"content-type": "application/json", "x-exl-api-remaining": "99999"}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/almaws/v1/users":
            body = bodies["full_page"] if request.url.params.get("expand") == "full" else bodies["page"]
        else:
            body = bodies["user"]
        return httpx.Response(200, content=body, headers=headers)

    return httpx.MockTransport(handler)


def _rounds(variants: list[Callable[[], object]], rounds: int, inner: int) -> list[list[float]]:
    """Per round, the median seconds per call of each variant.

    Calls are interleaved one by one (raw, floor, SDK, then rotated), each timed on its own, with the
    garbage collector paused during the round: a drift of the machine hits every variant alike.
    """
    for fn in variants:
        for _ in range(max(3, inner // 10)):  # warm caches (pydantic validators, httpx URL parsing)
            fn()
    clock = time.perf_counter
    samples = []
    for _ in range(rounds):
        times: list[list[float]] = [[] for _ in variants]
        gc.collect()
        gc.disable()
        try:
            for call in range(inner):
                for k in range(len(variants)):
                    index = (call + k) % len(variants)
                    begin = clock()
                    variants[index]()
                    times[index].append(clock() - begin)
        finally:
            gc.enable()
        samples.append([statistics.median(column) for column in times])
    return samples


def _median_ci(values: list[float]) -> tuple[float, float, float]:
    """The median and a distribution-free 95 % confidence interval for it (binomial order statistics)."""
    ordered = sorted(values)
    n = len(ordered)
    half_width = 1.96 * math.sqrt(n) / 2
    low = max(0, math.floor(n / 2 - half_width))
    high = min(n - 1, math.ceil(n / 2 + half_width) - 1)
    return statistics.median(ordered), ordered[low], ordered[high]


def _spread(values: list[float]) -> tuple[float, float]:
    quartiles = statistics.quantiles(values, n=4)
    return quartiles[0], quartiles[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="interleaved rounds per case (default 40)")
    args = parser.parse_args()

    print(
        f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}"
    )
    bodies = _bodies()
    raw = httpx.Client(transport=_transport(bodies), base_url=f"{BASE}/almaws/v1")
    headers = {"Authorization": f"apikey {KEY}", "Accept": "application/json"}
    alma = AlmaClient(api_key=KEY, base_url=BASE, transport=_transport(bodies), rate_limit=None)

    def get_raw() -> httpx.Response:
        return raw.get("/users/100000000", headers=headers)

    def list_raw(expand: str | None) -> httpx.Response:
        params = {"limit": "100", "offset": "0"} | ({"expand": expand} if expand else {})
        return raw.get("/users", params=params, headers=headers)

    cases: list[tuple[str, Callable[[], object], Callable[[], object], Callable[[], object], int]] = [
        (
            "users.get (full user)",
            lambda: json.loads(get_raw().content),
            lambda: User.model_validate_json(get_raw().content),
            lambda: alma.users.get("100000000"),
            200,
        ),
        (
            "users.list page (100 brief users)",
            lambda: json.loads(list_raw(None).content),
            lambda: UserList.model_validate_json(list_raw(None).content).user,
            lambda: alma.users.list(limit=100).items,
            50,
        ),
        (
            "users.list page (100 full users)",
            lambda: json.loads(list_raw("full").content),
            lambda: UserList.model_validate_json(list_raw("full").content).user,
            lambda: alma.users.list(limit=100, expand="full").items,
            10,
        ),
    ]
    print(f"{args.rounds} interleaved rounds per case; ratio = median [95 % CI] (middle half of the rounds)")
    print(f"{'case':36} {'raw':>8} {'floor':>8} {'SDK':>8}  {'SDK / raw':>27}  {'SDK / typed floor':>27}  target")
    for (name, raw_fn, floor_fn, sdk_fn, inner), (target_name, limit) in zip(cases, TARGETS, strict=True):
        samples = _rounds([raw_fn, floor_fn, sdk_fn], args.rounds, inner)
        raw_s, floor_s, sdk_s = (statistics.median(column) for column in zip(*samples, strict=True))
        cells = []
        for base in (0, 1):
            ratios = [sample[2] / sample[base] for sample in samples]
            median, low, high = _median_ci(ratios)
            q1, q3 = _spread(ratios)
            cells.append((median, low, high, f"{median:5.2f}x [{low:.2f}-{high:.2f}] ({q1:.2f}-{q3:.2f})"))
        ratio_high = cells[0][2] if target_name == "raw" else cells[1][2]
        verdict = "PASS" if ratio_high <= limit else "MISS"
        print(
            f"{name:36} {raw_s * 1e6:5.0f} µs {floor_s * 1e6:5.0f} µs {sdk_s * 1e6:5.0f} µs  "
            f"{cells[0][3]:>27}  {cells[1][3]:>27}  SDK/{target_name} ≤ {limit}x {verdict}"
        )
    print("raw = httpx + json.loads (untyped dicts); typed floor = httpx + Model.model_validate_json of the same bytes")
    alma.close()
    raw.close()


if __name__ == "__main__":
    main()
