"""``merge apply --delete-source`` and ``merge undo`` killed (SIGKILL) at every write position, then run again.

The rerun of an apply whose run was killed after From was marked merged finishes the delete (only the
delete is sent, journaled under the merge's id) and says so; one killed after the delete reached Alma
says the plan was applied. The rerun of an undo killed after its last write says the merge is undone,
by which entries, sends nothing, and exits 0. A delete whose intent the journal could not take (a full
disk) is finished the same way.

A small wrapper script (run with this interpreter) forks one process per position from a warmed one:
the command, SIGKILLed at the position (before or after a journal append or an Alma write), then the
same command again, unhooked, its output and exit status kept. The sandbox is a SQLite file, so
Alma's state outlives the killed process.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from alma_onelink.cli import app
from alma_onelink.engine import Journal, comparable
from alma_onelink.resources.users import Users
from alma_onelink.sandbox import DUKE_UNIQUE_IDS, Sandbox
from tests.cli.conftest import NOW, TODAY, patron_args

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the wrapper forks a process per kill position")

ROOT = Path(__file__).resolve().parents[2]
TO = DUKE_UNIQUE_IDS["netid_era_alumna"]
FROM = "jd123"

WRAPPER = textwrap.dedent(
    '''
    """Test-only: run ARGS in a copy of the folder per position, SIGKILLed at the position; then run ARGS again."""
    import json, os, shutil, signal, sys
    from pathlib import Path

    from alma_onelink.cli import main
    from alma_onelink.engine import Journal
    from alma_onelink.sandbox import Sandbox

    pristine, work, args = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
    os.fsync = lambda fd: None  # a killed process loses nothing the OS holds
    positions = []

    def kill_point(what):
        positions.append(what)
        if len(positions) - 1 == int(os.environ.get("KILL_AT", "-1")):
            os.kill(os.getpid(), signal.SIGKILL)

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

    def command(folder, name, hooked):
        pid = os.fork()
        if pid == 0:
            os.chdir(folder)
            out = os.open(folder / f"{name}.out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(out, 1)
            os.dup2(out, 2)
            if hooked:
                Journal._append, Sandbox.handle = counted_append, counted_handle
            code = main(["--db", "alma.sqlite3", "--journal", "journal.jsonl", *args])
            sys.stdout.flush()
            sys.stderr.flush()
            (folder / f"{name}.json").write_text(json.dumps({"code": code, "positions": positions}))
            os._exit(0)
        return os.waitpid(pid, 0)[1]

    warm = work / "warm"  # once in this process, so each forked one starts with every module loaded
    shutil.copytree(pristine, warm)
    os.chdir(warm)
    main(["--db", "alma.sqlite3", "--journal", "journal.jsonl", "journal", "show"])
    killed = 0
    for position in range(100):
        folder = work / str(position)
        shutil.copytree(pristine, folder)
        os.environ["KILL_AT"] = str(position)
        status = command(folder, "run", hooked=True)
        del os.environ["KILL_AT"]
        assert command(folder, "rerun", hooked=False) == 0, f"the rerun after position {position} crashed"
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            killed += 1
            continue
        assert status == 0, f"the run for position {position} crashed"
        break
    print(json.dumps({"killed": killed, "positions": json.loads((folder / "run.json").read_text())["positions"]}))
    '''
)


def _runner(folder: Path) -> Any:
    runner = CliRunner()

    def cli(*args: str) -> Any:
        where = ["--db", str(folder / "alma.sqlite3"), "--journal", str(folder / "journal.jsonl")]
        return runner.invoke(app, [*where, *args])

    return cli


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A folder with the sandbox file, the journal and plan.json (jd123 into Jane Doe's OneLink account); the token."""
    folder = tmp_path_factory.mktemp("planned")
    with Sandbox.demo(db_path=folder / "alma.sqlite3", now=lambda: NOW):
        pass
    cli = _runner(folder)
    old = os.getcwd()
    os.chdir(folder)
    try:
        args = patron_args(onelink_id=TO, first_name="Jane", last_name="Doe", email="jane.doe@alumni.duke.edu")
        assert cli("register", *args, "--today", TODAY).exit_code == 1
        done = cli("merge", "plan", FROM, TO, "--out", "plan.json", "--today", TODAY, "--json")
        assert done.exit_code == 0, done.output
    finally:
        os.chdir(old)
    return folder, json.loads(done.stdout)["token"]


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ALMA_API_KEY", "ALMA_BASE_URL", "ALMA_ONELINK_POLICY", "ALMA_ONELINK_JOURNAL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ALMA_ONELINK_DUKE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("ALMA_ONELINK_STAFF", "tester")


def _kill_everywhere(tmp_path: Path, pristine: Path, args: list[str]) -> tuple[int, list[str]]:
    script = tmp_path / "wrapper.py"
    script.write_text(WRAPPER, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(script), str(pristine), str(work), json.dumps(args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["killed"], report["positions"]


def _rerun(folder: Path) -> tuple[int, str]:
    said = json.loads((folder / "rerun.json").read_text())
    return said["code"], " ".join((folder / "rerun.out").read_text().split())


def _records(folder: Path) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    with Sandbox(db_path=folder / "alma.sqlite3", now=lambda: NOW, per_second_limit=None) as sandbox:
        return sandbox.users.get(FROM), sandbox.users.get(TO)


def test_an_apply_killed_after_marking_from_finishes_the_delete_when_run_again(
    tmp_path: Path, planned: tuple[Path, str]
) -> None:
    pristine, token = planned
    args = ["merge", "apply", "plan.json", "--confirm", token, "--delete-source", "--today", TODAY]
    killed, names = _kill_everywhere(tmp_path, pristine, args)
    assert killed == len(names) == 24, names  # 4 writes: 8 journal lines and 4 Alma writes, before and after each
    mark = max(n for n, name in enumerate(names) if name == f"before Alma PUT /almaws/v1/users/{FROM}")
    delete = names.index(f"before Alma DELETE /almaws/v1/users/{FROM}")
    for position in range(killed + 1):
        folder = tmp_path / "work" / str(position)
        where = f"killed {names[position]} (position {position})" if position < killed else "not killed"
        code, said = _rerun(folder)
        from_now, to_now = _records(folder)
        if position <= mark:  # the merge did not get as far as marking From: the rerun never claims it applied
            assert "DELETED the old account now" not in said, where
            assert (code == 1 and "merge undo" in said) or (code == 0 and from_now is None), f"{where}: {said}"
            continue
        assert code == 0, f"{where}: {said}"
        assert from_now is None, f"{where}: {said}"  # the old account is gone after the rerun
        assert to_now is not None, where
        assert Journal(folder / "journal.jsonl").pending() == [], where
        if position <= delete:  # the killed run's DELETE never reached Alma: the rerun sent it, and says so
            assert "DELETED the old account now: the earlier apply had stopped before it" in said, said
            assert "only the delete was sent" in said, said
        else:
            assert f"ALREADY APPLIED — merge {FROM} into {TO}" in said, f"{where}: {said}"
            assert "nothing was sent this time" in said, said
        deletes = [
            e
            for e in Journal(folder / "journal.jsonl").entries(target=FROM)
            if e.action == "delete" and e.result == "done"
        ]
        assert len(deletes) == 1, where  # one delete that took effect, under the merge's own id
        merges = {e.registration for e in Journal(folder / "journal.jsonl").entries() if e.operation == "merge"}
        assert len(merges) == 1, where


def test_an_undo_killed_after_its_last_write_says_the_merge_is_undone_when_run_again(
    tmp_path: Path, planned: tuple[Path, str]
) -> None:
    source, token = planned
    pristine = tmp_path / "applied"
    shutil.copytree(source, pristine)
    cli = _runner(pristine)
    applied = cli("merge", "apply", str(pristine / "plan.json"), "--confirm", token, "--delete-source")
    assert applied.exit_code == 0, applied.output
    [merge_id] = {e.registration or "" for e in Journal(pristine / "journal.jsonl").entries() if e.operation == "merge"}
    plan = json.loads((pristine / "plan.json").read_text())
    killed, names = _kill_everywhere(tmp_path, pristine, ["merge", "undo", merge_id, "--yes"])
    assert killed == len(names) == 24, names  # From re-created, then three records put back: 4 writes
    last = max(n for n, name in enumerate(names) if name.startswith("before Alma "))
    for position in range(killed + 1):
        folder = tmp_path / "work" / str(position)
        where = f"killed {names[position]} (position {position})" if position < killed else "not killed"
        code, said = _rerun(folder)
        assert code == 0, f"{where}: {said}"
        from_now, to_now = _records(folder)
        assert comparable(from_now or {}) == comparable(plan["from_record"]), where
        assert comparable(to_now or {}) == comparable(plan["to_record"]), where
        assert Journal(folder / "journal.jsonl").pending() == [], where
        restores = [e for e in Journal(folder / "journal.jsonl").entries() if e.operation == "restore"]
        if position > last:  # the killed run's last write reached Alma: it finished the undo
            assert f"UNDONE ALREADY — merge {merge_id}: it was undone on " in said, f"{where}: {said}"
            assert "by tester" in said, said
            assert "nothing was sent this time" in said, said
            assert f"Restored by journal entries {', '.join(r.id[:12] for r in restores)}" in said, said
            assert "refused" not in said, said
            assert len(restores) == 4, where  # the rerun restored nothing
        else:
            assert "Merge undone." in said, f"{where}: {said}"


def test_a_delete_the_full_disk_kept_from_sending_is_sent_by_the_rerun(
    tmp_path: Path, planned: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, token = planned
    folder = tmp_path / "full"
    shutil.copytree(source, folder)
    monkeypatch.chdir(folder)
    cli = _runner(folder)
    append = Journal._append

    def full_for_the_delete(self: Journal, data: bytes) -> None:
        line = json.loads(data)
        if line.get("action") == "delete":
            raise OSError(errno.ENOSPC, "No space left on device")
        append(self, data)

    args = ("merge", "apply", "plan.json", "--confirm", token, "--delete-source", "--today", TODAY)
    monkeypatch.setattr(Journal, "_append", full_for_the_delete)
    first = cli(*args)
    assert first.exit_code == 4, first.output  # the journal is the problem
    assert _records(folder)[0] is not None  # nothing was sent: From is kept, marked merged
    monkeypatch.setattr(Journal, "_append", append)
    without = cli("merge", "apply", "plan.json", "--confirm", token, "--today", TODAY)
    assert without.exit_code == 0, without.output  # applied (the journal never heard of the delete): says so
    assert without.stdout.startswith(f"ALREADY APPLIED — merge {FROM} into {TO}")
    assert "jd123 is kept, marked merged (INACTIVE)" in without.stdout
    assert f"merge apply plan.json --confirm {token} --delete-source" in without.stdout
    assert _records(folder)[0] is not None
    again = cli(*args)
    assert again.exit_code == 0, again.output
    assert " ".join(again.stdout.split()).startswith("DELETED the old account now: the earlier apply had stopped")
    assert _records(folder)[0] is None
    assert Journal(folder / "journal.jsonl").pending() == []
    third = cli(*args)
    assert third.exit_code == 0, third.output
    assert third.stdout.startswith(f"ALREADY APPLIED — merge {FROM} into {TO}")


def test_an_apply_stopped_at_its_delete_and_run_again_without_delete_source_refuses_with_the_command(
    tmp_path: Path, planned: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, token = planned
    folder = tmp_path / "stopped"
    shutil.copytree(source, folder)
    monkeypatch.chdir(folder)
    cli = _runner(folder)

    def stopped(self: Users, user_id: str, *args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt  # the delete's intent is journaled; the DELETE is never sent

    args = ("merge", "apply", "plan.json", "--confirm", token, "--today", TODAY)
    with monkeypatch.context() as patched:
        patched.setattr(Users, "delete", stopped)
        assert cli(*args, "--delete-source").exit_code == 130
    assert len(Journal(folder / "journal.jsonl").pending()) == 1
    again = cli(*args)
    said = " ".join(again.output.split())
    assert again.exit_code == 1, said
    assert "stopped before deleting jd123 (it is marked merged, INACTIVE)" in said
    assert f"merge apply plan.json --confirm {token} --delete-source` deletes it now" in said
    assert Journal(folder / "journal.jsonl").pending() == []  # the rerun settled the delete by reading Alma
    assert _records(folder)[0] is not None
    finished = cli(*args, "--delete-source")
    assert finished.exit_code == 0, finished.output
    assert "DELETED the old account now" in finished.stdout
    assert _records(folder)[0] is None
