"""Workers SIGKILLed mid-run under DBOS and Temporal: right after the run's log write committed
(before the engine recorded it), and right after the thread's save committed:
the recovered run's tether log in the store ends complete, each event once, the same events a
run without an engine logs, and its thread holds each message once."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client

from tether import Runner
from tether.store.sqlite import SQLiteStore

from ._tally import make_tally

_DBOS_DRIVER = Path(__file__).with_name("engine_log_dbos_crash.py")
_TEMPORAL_WORKER = Path(__file__).with_name("engine_log_temporal_worker.py")
_EXPECTED_CALLS = {
    "model:0": 1,
    "tool:a": 1,
    "model:1": 1,
    "tool:b": 1,
    "model:2": 1,
    "tool:c": 1,
    "model:3": 1,
}


async def _plain() -> tuple[list[str], list[list[Any]]]:
    """The event types and the thread of the same run without an engine (what they must
    equal)."""
    runner = Runner(store="memory://", telemetry=None)
    result = await runner.run(make_tally(None), "note a, b, c", thread_id="tally-thread")
    store = runner.store
    assert store is not None
    thread = [[m.role, m.text] for m in await store.load_thread("tally-thread")]
    return [e.type for e in await store.load(result.run_id)], thread


async def _check(log: list[list[Any]], thread: list[list[Any]], run_id: str) -> None:
    types, messages = await _plain()
    seqs = [seq for seq, _, _ in log]
    assert seqs == sorted(set(seqs)), seqs  # each event once, in order
    assert [kind for _, kind, _ in log] == types  # complete: every event, to run_finished
    assert {rid for _, _, rid in log} == {run_id}
    assert thread == messages  # each message once, none lost


async def test_a_dbos_worker_killed_mid_write_leaves_a_complete_log(tmp_path: Path) -> None:
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(_DBOS_DRIVER), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # killed right after the log write, then right after the thread's save
    assert report["signals"][:2] == [9, 9], done.stderr[-3000:]
    assert report["exit"] == 0, done.stderr[-3000:]
    assert report["output"] == "noted a, b and c"
    calls = [line.split("@") for line in report["calls"]]
    assert Counter(name for name, _ in calls) == _EXPECTED_CALLS  # nothing finished ran twice
    by = dict(calls)
    first, second, _ = (str(pid) for pid in report["pids"])
    assert (by["model:0"], by["tool:a"], by["model:1"], by["model:3"]) == (
        first,
        first,
        second,
        second,
    )
    await _check(report["log"], report["thread"], "tether-log-crash-1")
    # the write the first worker died in ran again in the second, and appended nothing twice
    assert report["steps"].count("tether.log") == 5  # before each model call, and at the end
    assert report["steps"].count("tether.thread.save") == 1


def _read(path: Path) -> str:
    """The text of ``path`` once it exists (written by the worker driver)."""
    for _ in range(600):
        if path.exists() and (text := path.read_text()):
            return text
        time.sleep(0.05)
    raise AssertionError(f"{path.name} never came")


def _driver(server: str, work: Path) -> subprocess.Popen[bytes]:
    """The process that forks the three workers, one after another."""
    env = {**os.environ, "TETHER_TEST_WORKDIR": str(work)}
    with open(work / "workers.log", "wb") as err:
        return subprocess.Popen(
            [sys.executable, str(_TEMPORAL_WORKER), server, "tallies"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


async def test_a_temporal_worker_killed_mid_write_leaves_a_complete_log(
    server: str, tmp_path: Path
) -> None:
    (tmp_path / "crash-log").touch()
    (tmp_path / "crash-thread").touch()
    driver = await asyncio.to_thread(_driver, server, tmp_path)
    client = await Client.connect(server)
    try:
        handle = await client.start_workflow(
            "TallyWorkflow",
            "note a, b, c",
            id="tally-1",
            task_queue="tallies",
            task_timeout=timedelta(seconds=1),  # a task handed to a dead worker comes back soon
        )
        assert await handle.result(rpc_timeout=None) == "noted a, b and c"
        pids = [await asyncio.to_thread(_read, tmp_path / f"worker.{n}") for n in range(3)]
        # the first died right after its log write committed, the second after the save
        signals = [await asyncio.to_thread(_read, tmp_path / f"signal.{n}") for n in range(2)]
    finally:
        driver.terminate()  # it kills the third worker
        driver.wait(timeout=10)
    assert signals == ["9", "9"], await asyncio.to_thread((tmp_path / "workers.log").read_text)
    calls = [line.split("@") for line in (tmp_path / "calls.log").read_text().split()]
    assert Counter(name for name, _ in calls) == _EXPECTED_CALLS  # nothing finished ran twice
    by = dict(calls)
    assert (by["model:0"], by["tool:a"], by["model:1"], by["model:3"]) == (
        pids[0],
        pids[0],
        pids[1],
        pids[1],
    )
    store = SQLiteStore(tmp_path / "runs.db")
    try:
        log = [[e.seq, e.type, e.run_id] for e in await store.load("tally-1")]
        thread = [[m.role, m.text] for m in await store.load_thread("tally-thread")]
    finally:
        await store.close()
    await _check(log, thread, "tally-1")
