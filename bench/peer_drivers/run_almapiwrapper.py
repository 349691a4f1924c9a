"""almapiwrapper (sync, requests): a ``User`` object per id, ``fetch_users`` for a search.

Its key comes from a JSON file named by ``alma_api_keys``, set before the import; it writes ``log/``
and ``records/`` folders in the working directory (the bench runs it in a temporary one).
"""

# mypy: ignore-errors
import json
import os
import sys

from drivercommon import Run, guard, report_ids

run = Run()
_KEYS = {
    "apikeys": {"IZ": [{"API_Key": run.key, "Supported_APIs": [{"Area": "Users", "Permissions": "RW", "Env": "P"}]}]},
    "zones": {},
}
with open("alma_api_keys.json", "w", encoding="utf-8") as handle:
    json.dump(_KEYS, handle)
os.environ["alma_api_keys"] = os.path.abspath("alma_api_keys.json")  # noqa: SIM112 (its name)

from almapiwrapper.users import NewUser, User, fee, fetch_users, loan, request  # noqa: E402

User.api_base_url = run.base + "/almaws/v1/users"
loan.Loan.api_base_url_users = run.base + "/almaws/v1/users"
fee.Fee.api_base_url_users = run.base + "/almaws/v1/users"
request.Request.api_base_url = run.base + "/almaws/v1"


def fetched(user_id):
    user = User(user_id, "IZ", "P")
    data = user.data  # a dict for JSON records (older versions: a JsonData with .content)
    if user.error or data is None:
        return "error"
    return getattr(data, "content", data).get("primary_id")


def scenario() -> None:
    config = run.config
    run.start()
    if run.scenario.startswith("get"):
        right = sum(fetched(user_id) == user_id for user_id in config["get_ids"])
        run.report(ok=right == len(config["get_ids"]), saw=f"{right} users", count=right)
    elif run.scenario.startswith("walk"):
        found = fetch_users(config["q"], "IZ", "P")
        run.report(ok=len(found) == config["walk_expected"], saw=f"{len(found)} users", count=len(found))
    elif run.scenario == "create":
        created = NewUser("IZ", "P", config["create_body"]).create()
        if created.error:
            run.report(ok=False, saw="error flag set (no exception)")
        else:
            run.report(ok=True, saw=f"returned {created.primary_id}")
    elif run.scenario == "ids":
        report_ids(run, {user_id: str(fetched(user_id)) for user_id in config["special"]})
    elif run.scenario == "key":
        user = User(config["missing_id"], "IZ", "P")
        data = user.data
        run.report(ok=user.error, saw="error flag set (no exception)" if user.error else f"returned {data}")


guard(run, scenario)
sys.stdout.flush()
