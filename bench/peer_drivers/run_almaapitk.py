"""almaapitk (sync, requests): one call after another, ``iter_paged`` for a search."""

# mypy: ignore-errors
from almaapitk import AlmaAPIClient, Users
from drivercommon import Run, describe, guard, id_found, report_ids

run = Run()


def scenario() -> None:
    config = run.config
    client = AlmaAPIClient("SANDBOX", api_key=run.key, host=run.base)
    users = Users(client)
    run.start()
    if run.scenario.startswith("get"):
        right = sum(users.get_user(user_id).data["primary_id"] == user_id for user_id in config["get_ids"])
        run.report(ok=right == len(config["get_ids"]), saw=f"{right} users", count=right)
    elif run.scenario.startswith("walk"):
        found = list(client.iter_paged("almaws/v1/users", params={"q": config["q"]}, page_size=100, record_key="user"))
        run.report(ok=len(found) == config["walk_expected"], saw=f"{len(found)} users", count=len(found))
    elif run.scenario == "create":
        try:
            response = users.create_user(config["create_body"])
        except Exception as exc:
            run.report(ok=False, saw="raised " + describe(exc), exc=exc)
            return
        run.report(ok=True, saw=f"returned {response.data.get('primary_id')}")
    elif run.scenario == "ids":
        report_ids(
            run,
            {
                user_id: id_found(lambda user_id: users.get_user(user_id).data["primary_id"], user_id)
                for user_id in config["special"]
            },
        )
    elif run.scenario == "key":
        try:
            users.get_user(config["missing_id"])
        except Exception as exc:
            run.report(ok=True, saw="raised " + describe(exc), exc=exc)
            return
        run.report(ok=False, saw="no error for a missing user")


guard(run, scenario)
