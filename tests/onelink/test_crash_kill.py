"""kill -9 at every write position: a real process dies, a new one recovers, and every answer is true.

A tiny wrapper script (written to ``tmp_path``, run with this interpreter) runs a registration with
an identifier move (Duke's former staff member, whose old account rm56 holds his OneLink ID), a
batch (``register_many``) and ``apply_merge`` against a sandbox kept in a SQLite file, so Alma's
state outlives the process. Each position is a moment before or after a journal append or an Alma
write; ``ALMA_ONELINK_KILL_AT=N`` makes the wrapper's hooks send SIGKILL to their own process at the
N-th. To keep the whole file to seconds, the wrapper starts once per scenario and forks a fresh
process per position: one that is killed, then one that recovers (reruns, or undoes the merge).
The assertions here read what the killed and the recovering processes left: the sandbox's file,
the journal and the recovering process's report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from alma_onelink.engine import Journal, comparable
from alma_onelink.policy import Patron
from alma_onelink.sandbox import DUKE_UNIQUE_IDS, Sandbox
from tests.onelink.conftest import NOW, TODAY, former_staff, new_registrant

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the wrapper forks a process per kill position")

RAFAEL = DUKE_UNIQUE_IDS["former_staff_with_loans"]
OLD = {RAFAEL: "rm56"}


def rafael() -> Patron:
    """The former staff member, with an email rm56 does not hold: once his OneLink ID is off rm56, only the
    journal can name rm56 as his old account (a search by name alone is never acted on)."""
    return former_staff(email="rafael.martinez@example.net")


ROOT = Path(__file__).resolve().parents[2]

WRAPPER = textwrap.dedent(
    '''
    """Test-only: run a scenario, SIGKILL this process at write position $ALMA_ONELINK_KILL_AT, recover in another."""
    import json, os, shutil, signal, sys
    from datetime import date, datetime
    from pathlib import Path

    from alma_onelink import AlmaClient, Patron
    from alma_onelink.engine import Journal, RestoreError, settle
    from alma_onelink.merge import MergePlan, apply_merge, plan_merge, undo_merge
    from alma_onelink.onelink import register_many, register_patron
    from alma_onelink.policy import load_policy
    from alma_onelink.sandbox import Sandbox

    scenario, work = sys.argv[1], Path(sys.argv[2])
    now, today = datetime.fromisoformat(sys.argv[3]), date.fromisoformat(sys.argv[4])
    patrons = [Patron.model_validate(p) for p in json.loads(sys.argv[5])]
    policy = load_policy("duke")
    os.fsync = lambda fd: None  # a killed process loses nothing the OS holds; only a power cut needs fsync
    positions = []  # what happened at each position, in the killed process (printed for a failing test)

    def sandbox(folder):
        db = folder / "alma.sqlite3"
        return Sandbox.demo(db_path=db, now=lambda: now, sleep=lambda s: None, per_second_limit=None)

    def kill_point(what):
        positions.append(what)
        if len(positions) - 1 == int(os.environ.get("ALMA_ONELINK_KILL_AT", "-1")):
            os.kill(os.getpid(), signal.SIGKILL)

    def install_hooks():
        append, handle = Journal._append, Sandbox.handle

        def counted_append(self, data):
            kill_point("before journal " + json.loads(data)["type"])
            append(self, data)
            kill_point("after journal " + json.loads(data)["type"])

        def counted_handle(self, request):
            if request.method not in ("POST", "PUT", "DELETE"):
                return handle(self, request)
            kill_point(f"before Alma {request.method} {request.path}")
            response = handle(self, request)
            kill_point(f"after Alma {request.method} {request.path}")
            return response

        Journal._append, Sandbox.handle = counted_append, counted_handle

    def run(folder):
        with sandbox(folder) as sb, AlmaClient.sandbox(sb, sleep=lambda s: None) as alma:
            journal = Journal(folder / "journal.jsonl")
            if scenario in ("register", "settle"):
                register_patron(alma, policy, patrons[0], today=today, journal=journal)
            elif scenario == "batch":
                list(register_many(alma, policy, patrons, concurrency=1, journal=journal, today=today))
            else:
                plan = MergePlan.from_json((work / "plan.json").read_text())
                apply_merge(alma, plan, confirm=plan.token, journal=journal, today=today)

    def recover(folder):
        with sandbox(folder) as sb, AlmaClient.sandbox(sb, sleep=lambda s: None) as alma:
            journal = Journal(folder / "journal.jsonl")
            report = {}
            if scenario == "settle":  # a colleague edits the old account, then the desk settles instead of rerunning
                old = sb.users.get("rm56")
                sb.users.put({**old, "job_description": "edited by a colleague after the crash"})
                settled = settle(alma, journal=journal)
                report["entries"] = [
                    {"action": e.action, "target": e.target, "result": e.result, "note": e.note}
                    for e in journal.entries()
                ]
                report["open"] = [o.entry.id for o in settled.open]
                report["unfinished"] = [
                    {"registration": u.registration, "onelink_id": u.onelink_id, "old": u.old_account,
                     "move": u.move, "finish": u.finish, "undo": u.undo}
                    for u in settled.unfinished
                ]
            elif scenario == "merge":
                merges = sorted({e.registration for e in journal.entries() if e.operation == "merge"})
                for merge_id in merges:
                    try:
                        report[merge_id] = [r.outcome.value for r in undo_merge(alma, merge_id, journal=journal)]
                    except RestoreError as exc:
                        report[merge_id] = str(exc)
            else:
                for r in register_many(alma, policy, patrons, concurrency=1, journal=journal, today=today):
                    said = {"outcome": r.outcome.value, "merge_from": r.merge_from, "reason": r.reason}
                    report[r.patron.onelink_id] = said
            (folder / "recovery.json").write_text(json.dumps(report))

    def in_child(job, folder):
        pid = os.fork()
        if pid == 0:
            try:
                job(folder)
            except BaseException:
                import traceback
                traceback.print_exc()
                os._exit(1)
            (folder / f"{job.__name__}-positions.json").write_text(json.dumps(positions))
            os._exit(0)
        return os.waitpid(pid, 0)[1]

    pristine = work / "pristine"
    pristine.mkdir()
    def prepare(folder):
        with sandbox(folder) as sb, AlmaClient.sandbox(sb, sleep=lambda s: None) as alma:
            Journal(folder / "journal.jsonl").path.touch()
            if scenario == "merge":  # the registration that left rm56 to merge, then the plan
                register_patron(alma, policy, patrons[0], today=today, journal=Journal(folder / "journal.jsonl"))
                plan = plan_merge(alma, "rm56", patrons[0].onelink_id, policy=policy, today=today)
                (work / "plan.json").write_text(plan.to_json())
    warm = work / "warm"  # once in this process, so each forked one starts with every cache filled
    warm.mkdir()
    prepare(warm)
    run(warm)
    recover(warm)
    assert in_child(prepare, pristine) == 0
    install_hooks()
    killed = 0
    for position in range(200):
        folder = work / str(position)
        shutil.copytree(pristine, folder)
        os.environ["ALMA_ONELINK_KILL_AT"] = str(position)
        status = in_child(run, folder)
        del os.environ["ALMA_ONELINK_KILL_AT"]
        assert in_child(recover, folder) == 0, f"the recovery after position {position} failed"
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            killed += 1
            continue
        assert status == 0, f"the run for position {position} failed"
        break  # the run finished before reaching this position: every position was tried
    print(json.dumps({"killed": killed, "positions": json.loads((folder / "run-positions.json").read_text())}))
    '''
)


def run_wrapper(tmp_path: Path, scenario: str, patrons: list[Patron]) -> tuple[int, list[str], list[Path]]:
    """Run the wrapper for one scenario; returns how many kills, the positions' names, and each position's folder."""
    script = tmp_path / "kill_wrapper.py"
    script.write_text(WRAPPER, encoding="utf-8")
    work = tmp_path / scenario
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ALMA_ONELINK_JOURNAL": str(tmp_path / "default.jsonl")}
    env.pop("ALMA_ONELINK_DUKE_CONFIG", None)
    env.pop("ALMA_ONELINK_KILL_AT", None)
    data = json.dumps([p.model_dump(mode="json") for p in patrons])
    done = subprocess.run(
        [sys.executable, str(script), scenario, str(work), NOW.isoformat(), TODAY.isoformat(), data],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    killed, names = report["killed"], report["positions"]
    folders = [work / str(position) for position in range(killed + 1)]
    return killed, names, folders


@contextmanager
def opened(folder: Path) -> Iterator[tuple[Sandbox, Journal, Any]]:
    """The sandbox's file, the journal and the recovery's report that one position left."""
    with Sandbox(db_path=folder / "alma.sqlite3", now=lambda: NOW, per_second_limit=None) as sandbox:
        yield sandbox, Journal(folder / "journal.jsonl"), json.loads((folder / "recovery.json").read_text())


def holders(sandbox: Sandbox, onelink_id: str) -> list[str]:
    """Every account holding ``onelink_id``, as primary id or as an identifier."""
    wanted = onelink_id.casefold()
    return [
        str(user.get("primary_id"))
        for user in sandbox.users
        if str(user.get("primary_id", "")).casefold() == wanted
        or any(str(i.get("value", "")).casefold() == wanted for i in user.get("user_identifier") or [])
    ]


def check_registered(sandbox: Sandbox, journal: Journal, report: dict[str, Any], patron: Patron, where: str) -> None:
    onelink_id = patron.onelink_id
    assert holders(sandbox, onelink_id) == [onelink_id], f"{where}: {onelink_id} held by {holders(sandbox, onelink_id)}"
    outcome = report[onelink_id]
    if onelink_id in OLD:
        assert (outcome["outcome"], outcome["merge_from"]) == ("needs_merge", OLD[onelink_id]), f"{where}: {outcome}"
    else:
        assert outcome["outcome"] in ("created", "already_registered"), f"{where}: {outcome}"
    assert journal.pending() == [], f"{where}: {[str(e) for e in journal.pending()]}"


def test_a_registration_with_an_identifier_move_killed_anywhere_reruns_true(tmp_path: Path) -> None:
    killed, names, folders = run_wrapper(tmp_path, "register", [rafael()])
    assert killed == len(names) == 12, names  # 4 journal lines and 2 Alma writes, before and after each
    for position, folder in enumerate(folders):
        where = f"killed {names[position]}" if position < killed else "not killed"
        with opened(folder) as (sandbox, journal, report):
            check_registered(sandbox, journal, report, rafael(), where)


def test_a_batch_killed_anywhere_reruns_true(tmp_path: Path) -> None:
    patrons = [new_registrant(), rafael()]
    killed, names, folders = run_wrapper(tmp_path, "batch", patrons)
    assert killed == len(names) == 18, names  # 2 + 4 journal lines, 1 + 2 Alma writes
    for position, folder in enumerate(folders):
        where = f"killed {names[position]}" if position < killed else "not killed"
        with opened(folder) as (sandbox, journal, report):
            for patron in patrons:
                check_registered(sandbox, journal, report, patron, where)


def test_a_merge_killed_anywhere_is_undone_with_both_records_back(tmp_path: Path) -> None:
    killed, names, folders = run_wrapper(tmp_path, "merge", [rafael()])
    assert killed == len(names) == 18, names  # 3 writes: 6 journal lines, 3 Alma writes
    plan = json.loads((tmp_path / "merge" / "plan.json").read_text())
    for position, folder in enumerate(folders):
        where = f"killed {names[position]}" if position < killed else "not killed"
        with opened(folder) as (sandbox, journal, report):
            assert comparable(sandbox.users.get("rm56")) == comparable(plan["from_record"]), where
            assert comparable(sandbox.users.get(RAFAEL)) == comparable(plan["to_record"]), where
            assert journal.pending() == [], f"{where}: {[str(e) for e in journal.pending()]}"
            assert holders(sandbox, RAFAEL) == [RAFAEL], where
            for outcome in report.values():  # each merge the journal holds was undone, or had nothing to undo
                assert isinstance(outcome, list) or "nothing to undo" in outcome, f"{where}: {outcome}"


def test_settling_after_a_kill_and_a_colleagues_edit_claims_no_unsent_write_and_names_a_half_done_registration(
    tmp_path: Path,
) -> None:
    """Killed anywhere, then a colleague edits the old account, then `settle`: the move is done exactly when its PUT
    reached Alma, the create exactly when its POST did; the OneLink ID left on no account names the registration."""
    killed, names, folders = run_wrapper(tmp_path, "settle", [rafael()])
    assert killed == len(names) == 12, names
    put = next(n for n, name in enumerate(names) if name.startswith("before Alma PUT"))
    post = next(n for n, name in enumerate(names) if name.startswith("before Alma POST"))
    for position, folder in enumerate(folders):
        where = f"killed {names[position]}" if position < killed else "not killed"
        with opened(folder) as (sandbox, journal, report):
            assert journal.pending() == [], f"{where}: {[str(e) for e in journal.pending()]}"
            assert report["open"] == [], where
            by_target = {(e["action"], e["target"]): e for e in report["entries"]}
            move, create = by_target.get(("update", "rm56")), by_target.get(("create", RAFAEL))
            if move is not None:
                assert (move["result"] == "done") == (position > put), f"{where}: {move}"
            if create is not None:
                assert (create["result"] == "done") == (position > post), f"{where}: {create}"
            on_no_account = not holders(sandbox, RAFAEL)
            assert on_no_account == (put < position <= post), f"{where}: held by {holders(sandbox, RAFAEL)}"
            if on_no_account:
                [half] = report["unfinished"]
                assert (half["onelink_id"], half["old"]) == (RAFAEL, "rm56"), where
                assert half["move"] == journal.entries(target="rm56")[0].id, where
                assert half["finish"].startswith(f"alma-onelink register --onelink-id {RAFAEL}"), where
                assert half["undo"] == f"alma-onelink journal restore {half['move']}", where
            else:
                assert report["unfinished"] == [], f"{where}: {report['unfinished']}"
            assert (sandbox.users.get("rm56") or {})["job_description"] == "edited by a colleague after the crash", (
                where
            )
