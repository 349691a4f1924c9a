"""The async twins run the same procedure: the same plan (token and all), the same writes, the same result."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from alma_onelink import merge
from alma_onelink.engine import comparable
from alma_onelink.merge import MergePlan, aapply_merge, aplan_merge, apply_merge, aundo_merge, plan_merge, undo_merge
from alma_onelink.onelink import Journal, aregister_patron, register_patron
from alma_onelink.policy import Policy
from alma_onelink.sandbox import Sandbox
from tests.onelink.conftest import TODAY, async_client, former_staff, make_sandbox, sync_client, writes

RM56, RAFAEL = "rm56", "0567890"


def sync_run(sandbox: Sandbox, policy: Policy, journal: Journal) -> tuple[MergePlan, Any, list[Any]]:
    with sync_client(sandbox) as alma:
        register_patron(alma, policy, former_staff(), today=TODAY, journal=journal)
        plan = plan_merge(alma, RM56, RAFAEL, policy=policy, today=TODAY)
        result = apply_merge(alma, plan, confirm=plan.token, journal=journal, delete_source=True, today=TODAY)
        after = [comparable(alma.users.get(uid).to_alma()) for uid in (RM56, RAFAEL)]
        return plan, result, after


async def async_run(sandbox: Sandbox, policy: Policy, journal: Journal) -> tuple[MergePlan, Any, list[Any]]:
    async with async_client(sandbox) as alma:
        await aregister_patron(alma, policy, former_staff(), today=TODAY, journal=journal)
        plan = await aplan_merge(alma, RM56, RAFAEL, policy=policy, today=TODAY)
        result = await aapply_merge(alma, plan, confirm=plan.token, journal=journal, delete_source=True, today=TODAY)
        after = [comparable((await alma.users.get(uid)).to_alma()) for uid in (RM56, RAFAEL)]
        return plan, result, after


async def test_sync_and_async_merges_agree(policy: Policy, tmp_path: Path) -> None:
    with make_sandbox() as one, make_sandbox() as two:
        plan, result, after = sync_run(one, policy, Journal(tmp_path / "sync.jsonl"))
        aplan, aresult, aafter = await async_run(two, policy, Journal(tmp_path / "async.jsonl"))
        assert aplan.model_dump() == plan.model_dump()
        assert aplan.token == plan.token
        assert (aresult.outcome, aresult.deleted, aresult.reason) == (result.outcome, result.deleted, result.reason)
        steps = [(s.name, s.status, s.summary) for s in result.steps]
        assert [(s.name, s.status, s.summary) for s in aresult.steps] == steps
        assert aafter == after
        assert writes(two) == writes(one)


async def test_async_undo_restores_both_records(policy: Policy, journal: Journal) -> None:
    with make_sandbox() as sandbox:
        async with async_client(sandbox) as alma:
            await aregister_patron(alma, policy, former_staff(), today=TODAY, journal=journal)
            plan = await aplan_merge(alma, RM56, RAFAEL, policy=policy, today=TODAY)
            result = await aapply_merge(alma, plan, confirm=plan.token, journal=journal, today=TODAY)
            undone = await aundo_merge(alma, result.merge_id, journal=journal)
            assert [r.outcome.value for r in undone] == ["put_back"] * 3
            assert comparable((await alma.users.get(RM56)).to_alma()) == comparable(plan.from_record)
            assert comparable((await alma.users.get(RAFAEL)).to_alma()) == comparable(plan.to_record)


@pytest.mark.parametrize(
    ("sync", "async_"),
    [(plan_merge, aplan_merge), (apply_merge, aapply_merge), (undo_merge, aundo_merge)],
    ids=["plan", "apply", "undo"],
)
def test_the_twins_take_the_same_arguments(sync: Any, async_: Any) -> None:
    ours, theirs = inspect.signature(sync), inspect.signature(async_)
    assert list(ours.parameters) == list(theirs.parameters)
    assert [p.default for p in ours.parameters.values()] == [p.default for p in theirs.parameters.values()]
    assert inspect.iscoroutinefunction(async_)
    assert sync.__name__ in merge.__all__
    assert async_.__name__ in merge.__all__
