"""A run's ``ctx.state`` survives a SIGKILLed Temporal worker: the tool that was cut is run
again on another worker with the state the workflow's history holds (not what the dead worker
had changed), and no finished tool runs twice."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client

from .temporal_state_worker import make_worker

_WORKER = Path(__file__).with_name("temporal_state_worker.py")


def _start_worker(address: str, work: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TETHER_TEST_WORKDIR": str(work)}
    with open(work / "worker.log", "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(_WORKER), address, "ledgers"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    deadline = time.monotonic() + 40
    while not (work / f"ready.{proc.pid}").exists():
        assert proc.poll() is None, (work / "worker.log").read_text()
        assert time.monotonic() < deadline, "the worker did not start"
        time.sleep(0.05)
    return proc


async def test_the_state_survives_a_killed_worker(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "crash").touch()
    monkeypatch.setenv("TETHER_TEST_WORKDIR", str(tmp_path))
    proc = _start_worker(server, tmp_path)
    try:
        client = await Client.connect(server)
        handle = await client.start_workflow(
            "LedgerWorkflow",
            "tally up",
            id=f"ledger-{uuid.uuid4().hex[:8]}",
            task_queue="ledgers",
            task_timeout=timedelta(seconds=2),
        )
        await asyncio.to_thread(proc.wait, 40)  # it kills itself in the second tally
        assert proc.returncode == -9
        async with make_worker(client, "ledgers"):  # this process serves the workflow now
            output = await handle.result()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert output == "total=3 seen=[1, 2]"  # the dead worker's change of the state is not in it
    calls = [line.split("@") for line in (tmp_path / "calls.log").read_text().split()]
    assert Counter(name for name, _ in calls) == {"tally:1": 1, "tally:2": 1, "report": 1}
    by = dict(calls)
    assert by["tally:1"] == str(proc.pid)
    assert by["tally:2"] == by["report"] == str(os.getpid())  # run again, here
