"""alma-onelink's ``AsyncAlmaClient``: ``asyncio.gather`` for many gets, ``async for`` over a search."""

import asyncio
from typing import Any

from drivercommon import Run, describe, guard, id_found_async, report_ids  # type: ignore[import-not-found]  # beside this script

from alma_onelink import AsyncAlmaClient

run = Run()


async def scenario() -> None:
    config: dict[str, Any] = run.config
    async with AsyncAlmaClient(api_key=run.key, base_url=run.base) as alma:
        run.start()
        if run.scenario.startswith("get"):
            users = await asyncio.gather(*(alma.users.get(user_id) for user_id in config["get_ids"]))
            right = sum(user.primary_id == user_id for user, user_id in zip(users, config["get_ids"], strict=True))
            run.report(ok=right == len(users), saw=f"{right} users", count=right)
        elif run.scenario.startswith("walk"):
            count = 0
            async for _ in await alma.users.list(q=config["q"], limit=100):
                count += 1
            run.report(ok=count == config["walk_expected"], saw=f"{count} users", count=count)
        elif run.scenario == "create":
            try:
                user = await alma.users.create(config["create_body"])
            except Exception as exc:
                run.report(ok=False, saw="raised " + describe(exc), exc=exc)
                return
            run.report(ok=True, saw=f"returned {user.primary_id}")
        elif run.scenario == "ids":

            async def primary_id(user_id: str) -> object:
                return (await alma.users.get(user_id)).primary_id

            report_ids(run, {user_id: await id_found_async(primary_id, user_id) for user_id in config["special"]})
        elif run.scenario == "key":
            try:
                await alma.users.get(config["missing_id"])
            except Exception as exc:
                run.report(ok=True, saw="raised " + describe(exc), exc=exc)
                return
            run.report(ok=False, saw="no error for a missing user")


guard(run, lambda: asyncio.run(scenario()))
