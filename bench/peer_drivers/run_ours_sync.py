"""alma-onelink's ``AlmaClient``: ``thread_map`` (8 threads) for many gets, ``for`` over a search."""

from typing import Any

from drivercommon import Run, describe, guard, id_found, report_ids  # type: ignore[import-not-found]  # beside this script

from alma_onelink import AlmaClient
from alma_onelink.concurrent import thread_map

run = Run()


def scenario() -> None:
    config: dict[str, Any] = run.config
    with AlmaClient(api_key=run.key, base_url=run.base) as alma:
        run.start()
        if run.scenario.startswith("get"):
            users = list(thread_map(alma.users.get, config["get_ids"], concurrency=8))
            right = sum(user.primary_id == user_id for user, user_id in zip(users, config["get_ids"], strict=True))
            run.report(ok=right == len(users), saw=f"{right} users", count=right)
        elif run.scenario.startswith("walk"):
            count = sum(1 for _ in alma.users.list(q=config["q"], limit=100))
            run.report(ok=count == config["walk_expected"], saw=f"{count} users", count=count)
        elif run.scenario == "create":
            try:
                user = alma.users.create(config["create_body"])
            except Exception as exc:
                run.report(ok=False, saw="raised " + describe(exc), exc=exc)
                return
            run.report(ok=True, saw=f"returned {user.primary_id}")
        elif run.scenario == "ids":
            report_ids(
                run,
                {
                    user_id: id_found(lambda user_id: alma.users.get(user_id).primary_id, user_id)
                    for user_id in config["special"]
                },
            )
        elif run.scenario == "key":
            try:
                alma.users.get(config["missing_id"])
            except Exception as exc:
                run.report(ok=True, saw="raised " + describe(exc), exc=exc)
                return
            run.report(ok=False, saw="no error for a missing user")


guard(run, scenario)
