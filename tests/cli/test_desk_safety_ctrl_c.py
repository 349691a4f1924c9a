"""Ctrl-C during ``batch``, in a real process against a served sandbox that answers slowly: the rows finished
(per the journal) are shown and in the results file, the rest are marked, and the stop line gives the counts.

The signal is sent once the journal holds two finished creates (an event polled for, not a sleep); whatever
else was under way then ends before the process does, and each row must say what the journal says of it.
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_processes import COMMAND, LIMIT_SECONDS, environment

ROWS = 6


@pytest.fixture
def slow_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``sandbox serve`` answering each call after 250 ms; its origin and key."""
    process = subprocess.Popen(
        [*COMMAND, "sandbox", "serve", "--memory", "--port", "0", "--patrons", "3", "--latency-ms", "250"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment(tmp_path),
    )  # fmt: skip
    try:
        assert process.stdout is not None
        printed = ""
        while "API key" not in printed:
            line = process.stdout.readline()
            assert line, printed
            printed += line
        origin = printed.split("Alma sandbox: ", 1)[1].split("/almaws", 1)[0]
        key = printed.split("API key (read/write): ", 1)[1].split()[0]
        yield origin, key
    finally:
        process.kill()
        process.wait(timeout=LIMIT_SECONDS)
        if process.stdout is not None:
            process.stdout.close()


def _created(journal: Path) -> set[str]:
    """The OneLink IDs whose create the journal holds as done."""
    if not journal.exists():
        return set()
    intents: dict[str, str] = {}
    done: set[str] = set()
    for line in journal.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line being written
        if entry.get("type") == "intent" and entry.get("action") == "create":
            intents[entry["id"]] = entry["target"]
        elif entry.get("type") == "completion" and entry.get("result") == "done" and entry["id"] in intents:
            done.add(intents[entry["id"]])
    return done


def test_ctrl_c_during_a_batch_keeps_every_finished_row_and_marks_the_rest(
    slow_server: tuple[str, str], tmp_path: Path
) -> None:
    origin, key = slow_server
    ids = [f"47000{i:02d}" for i in range(ROWS)]
    source = tmp_path / "in.csv"
    source.write_text(
        "OneLink ID,First name,Last name,Affiliation,Prior role\n"
        + "".join(f"{oid},Bat,Ch{i},former_affiliate,staff\n" for i, oid in enumerate(ids)),
        encoding="utf-8",
    )
    journal, out = tmp_path / "j.jsonl", tmp_path / "results.csv"
    env = {**environment(tmp_path), "ALMA_API_KEY": key}
    process = subprocess.Popen(
        [*COMMAND, "--base-url", origin, "--journal", str(journal), "batch", str(source), "--concurrency", "2",
         "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + LIMIT_SECONDS
    while len(_created(journal)) < 2:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the batch created nothing in time"
        time.sleep(0.01)  # polling the journal for the event, not waiting for time to pass
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=LIMIT_SECONDS)

    assert process.returncode == 130, stderr
    created = _created(journal)
    assert len(created) < ROWS, "the batch was not stopped early: the test proves nothing"
    with out.open(encoding="utf-8-sig", newline="") as file:
        rows = {row["onelink_id"]: row for row in csv.DictReader(file)}
    assert set(rows) == set(ids)  # every row is in the results file
    for oid in ids:
        row = rows[oid]
        if oid in created:
            assert row["outcome"] == "created", row
            assert any(oid in line and "CREATED" in line for line in stdout.splitlines()), (oid, stdout)
        else:
            assert row["outcome"] in ("not_started", "stopped"), row
    finished = sum(1 for row in rows.values() if row["outcome"] == "created")
    not_started = sum(1 for row in rows.values() if row["outcome"] == "not_started")
    assert f"Stopped (Ctrl-C): {finished} row(s) finished" in stderr
    assert f"{not_started} not started" in stderr or not not_started
    assert "Traceback" not in stderr
