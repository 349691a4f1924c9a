"""almapy (async, niquests): an injected session on the served sandbox; ``asyncio.gather`` for many gets,
and for the pages of a search after the first (almapy has no pager)."""

# mypy: ignore-errors
import asyncio

import niquests
from almapy import AlmaClient
from drivercommon import Run, describe, guard, id_found_async, report_ids

run = Run()


async def scenario() -> None:
    config = run.config
    session = niquests.AsyncSession(base_url=run.base + "/almaws/v1", disable_http2=True, disable_http3=True)
    try:
        async with AlmaClient(run.key, client=session, rate_limit=25.0) as alma:
            await body(alma, config)
    finally:
        await session.close()


async def body(alma, config) -> None:
    run.start()
    if run.scenario.startswith("get"):
        users = await asyncio.gather(*(alma.users.get_user(user_id) for user_id in config["get_ids"]))
        right = sum(user["primary_id"] == user_id for user, user_id in zip(users, config["get_ids"], strict=True))
        run.report(ok=right == len(config["get_ids"]), saw=f"{right} users", count=right)
    elif run.scenario.startswith("walk"):
        first = await alma.users.get_users(limit=100, offset=0, q=config["q"])
        total = int(first["total_record_count"])
        rest = await asyncio.gather(
            *(alma.users.get_users(limit=100, offset=offset, q=config["q"]) for offset in range(100, total, 100))
        )
        count = sum(len(page.get("user") or []) for page in [first, *rest])
        run.report(ok=count == config["walk_expected"], saw=f"{count} users", count=count)
    elif run.scenario == "create":
        try:
            user = await alma.users.create_user(config["create_body"])
        except Exception as exc:
            run.report(ok=False, saw="raised " + describe(exc), exc=exc)
            return
        run.report(ok=True, saw=f"returned {user['primary_id']}")
    elif run.scenario == "ids":

        async def primary_id(user_id: str) -> object:
            return (await alma.users.get_user(user_id))["primary_id"]

        report_ids(run, {user_id: await id_found_async(primary_id, user_id) for user_id in config["special"]})
    elif run.scenario == "key":
        try:
            await alma.users.get_user(config["missing_id"])
        except Exception as exc:
            run.report(ok=True, saw="raised " + describe(exc), exc=exc)
            return
        run.report(ok=False, saw="no error for a missing user")


guard(run, lambda: asyncio.run(scenario()))
