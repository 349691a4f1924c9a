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

Run: ``make bench`` or ``.venv/bin/python bench/overhead.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import copy
import json
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


def _time(fn: Callable[[], object], rounds: int, inner: int) -> float:
    fn()  # warm up caches (pydantic validators, httpx URL parsing)
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - start) / inner)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per case (median is reported)")
    args = parser.parse_args()

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
    print(f"{'case':36} {'raw':>9} {'typed floor':>12} {'SDK':>9} {'SDK/raw':>8} {'SDK/floor':>10}")
    for name, raw_fn, floor_fn, sdk_fn, inner in cases:
        raw_s = _time(raw_fn, args.rounds, inner)
        floor_s = _time(floor_fn, args.rounds, inner)
        sdk_s = _time(sdk_fn, args.rounds, inner)
        print(
            f"{name:36} {raw_s * 1e6:6.0f} µs {floor_s * 1e6:9.0f} µs {sdk_s * 1e6:6.0f} µs "
            f"{sdk_s / raw_s:7.2f}x {sdk_s / floor_s:9.2f}x"
        )
    print("target: SDK/raw ≤ 1.5x for a single user; SDK/floor ≈ 1x shows what the SDK adds beyond typed models")
    alma.close()
    raw.close()


if __name__ == "__main__":
    main()
