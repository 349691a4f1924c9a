"""almapipy (sync, requests): ``users.get`` per id and ``get(query=…, all_records=True)`` for a search.

Users are read-only in almapipy; a create goes through its generic ``Client.create`` with the key put
in the parameters by hand, as its own sub-clients do.
"""

# mypy: ignore-errors
from almapipy import AlmaCnxn
from almapipy.users import SubClientUsers
from drivercommon import Run, describe, guard, id_found, report_ids

run = Run()


def scenario() -> None:
    config = run.config
    alma = AlmaCnxn(run.key, data_format="json")
    alma.cnxn_params["base_uri"] = run.base
    alma.users = SubClientUsers(alma.cnxn_params)
    run.start()
    if run.scenario.startswith("get"):
        right = sum(alma.users.get(user_id=user_id)["primary_id"] == user_id for user_id in config["get_ids"])
        run.report(ok=right == len(config["get_ids"]), saw=f"{right} users", count=right)
    elif run.scenario.startswith("walk"):
        field, value = config["q"].split("~", 1)
        found = alma.users.get(query={field: value}, limit=100, all_records=True).get("user") or []
        run.report(ok=len(found) == config["walk_expected"], saw=f"{len(found)} users", count=len(found))
    elif run.scenario == "create":
        url = alma.users.cnxn_params["api_uri_full"]
        try:
            user = alma.users.create(url, config["create_body"], {"apikey": run.key}, "user")
        except Exception as exc:
            run.report(ok=False, saw="raised " + describe(exc), exc=exc)
            return
        run.report(ok=True, saw=f"returned {user.get('primary_id')}")
    elif run.scenario == "ids":
        report_ids(
            run,
            {
                user_id: id_found(lambda user_id: alma.users.get(user_id=user_id)["primary_id"], user_id)
                for user_id in config["special"]
            },
        )
    elif run.scenario == "key":
        try:
            alma.users.get(user_id=config["missing_id"])
        except Exception as exc:
            run.report(ok=True, saw="raised " + describe(exc), exc=exc)
            return
        run.report(ok=False, saw="no error for a missing user")


guard(run, scenario)
