"""Seeding in bulk writes the same valid patrons as the rules would, whatever the batch size."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from alma_onelink.sandbox import Sandbox
from alma_onelink.sandbox import _seeding as seeding_module
from alma_onelink.sandbox._records import build_user, parse_user
from alma_onelink.sandbox._seed import at_midnight, patron_body

NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)


@pytest.mark.parametrize("seed", range(4))
def test_generated_bodies_are_what_post_users_would_read(seed: int) -> None:
    # Seeding builds each record from its body directly: the body must be what parse_user makes of it.
    env = at_midnight(Sandbox(seed=seed, now=lambda: NOW).env())
    rng, times = random.Random(seed), random.Random(f"{seed}:times")
    for number in range(300):
        body = patron_body(rng, env, f"p{number}", f"D{number:012d}", times)
        posted = parse_user(json.loads(json.dumps(body)))
        assert build_user(env, body) == build_user(env, posted)


def _everything(sandbox: Sandbox) -> str:
    store = sandbox.store
    users = [
        (uid, entry, [store.items(uid, kind) for kind in ("loans", "requests", "fees")])
        for uid, entry in store.entries()
    ]
    counters = [store.next_number(name) for name in ("user", "loan", "request", "fee")]
    return json.dumps([users, counters], sort_keys=True)


def test_batches_change_nothing_in_what_is_seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    def seeded() -> str:
        with Sandbox(seed=2, now=lambda: NOW) as sandbox:
            sandbox.users.create(
                {"primary_id": "kept01", "last_name": "Kept", "user_group": "PUBLIC", "account_type": "INTERNAL"}
            )
            sandbox.seed(40, seed=7)
            sandbox.seed(25, seed=8)
            return _everything(sandbox)

    whole = seeded()
    monkeypatch.setattr(seeding_module, "_BATCH", 3)  # ids drawn in one batch must be unused in the next too
    assert seeded() == whole


def test_both_stores_seed_the_same_patrons(tmp_path: object) -> None:
    with (
        Sandbox(seed=1, now=lambda: NOW) as memory,
        Sandbox(seed=1, now=lambda: NOW, db_path=f"{tmp_path}/s.db") as sql,
    ):
        assert memory.seed(30, seed=4) == sql.seed(30, seed=4)
        assert _everything(memory) == _everything(sql)
