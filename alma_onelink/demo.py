"""``alma-onelink demo``: a guided tour of the SDK on the embedded Alma sandbox.

Every step prints what it does and what came back: seed data, a search walked page by page, a
lookup, a create, an edit, a typed error, and a per-second 429 that the client retries by itself.
No Alma key and no network are needed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, timedelta

from . import AlmaClient, NotFoundError
from .models import Code, ContactInfo, Email, User, UserStatistic
from .sandbox import DUKE_SCENARIOS, Faults, Sandbox

__all__ = ["run"]

Print = Callable[[str], None]


class _ShowRetries(logging.Handler):
    """Echo the client's retry log lines into the tour."""

    def __init__(self, out: Print) -> None:
        super().__init__(logging.WARNING)
        self._out = out

    def emit(self, record: logging.LogRecord) -> None:
        self._out(f"      log: {record.getMessage()}")


def _step(out: Print, number: int, title: str) -> None:
    out("")
    out(f"{number}. {title}")


def run(out: Print = print, *, patrons: int = 120, sleep: Callable[[float], None] = time.sleep) -> int:
    """Run the tour, printing each step with ``out``; return 0 when every step behaved as shown."""
    sandbox = Sandbox.demo(patrons=patrons, seed=7)
    waits: list[float] = []

    def timed_sleep(seconds: float) -> None:
        waits.append(seconds)
        sleep(seconds)

    out("alma-onelink — a tour of the Alma Users SDK on the embedded sandbox (no Alma key, no network)")
    out(f"Sandbox: {sandbox.base_url}, seeded with {len(sandbox.users)} patrons and the Duke scenarios.")

    with AlmaClient.sandbox(sandbox, sleep=timed_sleep) as alma:
        _step(out, 1, "Search with paging: every patron, walked 50 at a time")
        sandbox.clear_log()
        page = alma.users.list(limit=50)
        ids = [user.primary_id for user in page]
        out(f"   alma.users.list(limit=50): total_record_count={page.total_record_count}")
        requests, unique = len(sandbox.request_log), len(set(ids)) == len(ids)
        out(f"   walked {len(ids)} users in {requests} request(s), no duplicates: {unique}")
        smiths = alma.users.list(last_name=page.items[0].last_name or "")
        out(f"   a keyword filter, last_name={page.items[0].last_name!r}: {smiths.total_record_count} match(es)")

        _step(out, 2, "Get one user (an old NetID-era account) — typed fields, nothing lost")
        netid = DUKE_SCENARIOS["netid_era_alumna"]
        user = alma.users.get(netid)
        out(f"   alma.users.get({netid!r}) -> {user}")
        out(f"   user_group={user.user_group.value if user.user_group else None}, expiry_date={user.expiry_date!r}")
        out(f"   identifiers: {', '.join(f'{i.id_type}={i.value}' for i in user.user_identifier)}")

        _step(out, 3, "Create a OneLink patron")
        onelink_id = DUKE_SCENARIOS["new_registrant"]
        created = alma.users.create(
            User(
                primary_id=onelink_id,
                first_name="Zoë",
                last_name="Okonkwo-Lindqvist",
                record_type=Code(value="PUBLIC"),
                account_type=Code(value="INTERNAL"),
                status=Code(value="ACTIVE"),
                user_group=Code(value="DUKE_COMMUNITY"),
                expiry_date=date.today() + timedelta(days=365),
                contact_info=ContactInfo(
                    email=[Email(email_address="zoe@example.org", preferred=True, email_type=[Code(value="personal")])]
                ),
                user_statistic=[
                    UserStatistic(
                        category_type=Code(value="PATRON_TYPE"), statistic_category=Code(value="PT_COMMUNITY")
                    )
                ],
            )
        )
        group = created.user_group or Code()
        out(f"   alma.users.create(...) -> {created}, group {group.value} ({group.desc})")

        _step(out, 4, "Edit: GET, change one field, PUT — only if something changed")
        with alma.users.edit(onelink_id) as record:
            record.expiry_date = date.today() + timedelta(days=730)
        out(f"   expiry_date is now {alma.users.get(onelink_id).expiry_date}")

        _step(out, 5, "A typed error: Alma's 400 + 401861 becomes NotFoundError")
        try:
            alma.users.get("no-such-patron")
        except NotFoundError as err:
            out(f"   {type(err).__name__}: code={err.code}, tracking_id={err.tracking_id}")
            out(f"   hint: {err.hint}")
        else:  # pragma: no cover - the sandbox always answers 401861 here
            out("   unexpected: the lookup succeeded")
            return 1

        _step(out, 6, "A per-second 429, retried by the client")
        sandbox.knobs.faults = Faults(script=["429"])  # the next request is refused as if Alma were over its threshold
        retry_log = logging.getLogger("alma_onelink")
        handler = _ShowRetries(out)
        retry_log.addHandler(handler)
        try:
            raw = alma.users.with_raw_response.get(netid)
        finally:
            retry_log.removeHandler(handler)
        out(f"   status {raw.status_code} after retries_taken={raw.retries_taken}")
        out(f"   waited {sum(waits):.2f}s in all (the backoff, then the slowed-down rate limiter)")
        limiter = alma.rate_limiter
        if limiter is not None:
            out(f"   the rate limiter slowed down: {limiter.current_rate():.1f} requests/s (recovers in ~10 s)")
        out(f"   X-Exl-Api-Remaining: {alma.remaining_daily_calls} calls left today")

    out("")
    out("Done. Next: `make test`, the docs (`make docs-serve`), or `alma-onelink sandbox serve` for real HTTP.")
    return 0
