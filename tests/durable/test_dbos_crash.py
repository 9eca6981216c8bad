"""A DBOS worker SIGKILLed mid-workflow; a new process recovers the workflow and finishes it
without running a finished tool again or repeating an answered model call."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

_DRIVER = Path(__file__).with_name("dbos_crash.py")


def test_a_killed_worker_s_workflow_finishes_in_a_new_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(_DRIVER), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["first_signal"] == 9, done.stderr[-3000:]  # the first worker was SIGKILLed
    assert report["second_exit"] == 0, done.stderr[-3000:]
    assert report["output"] == "recorded a, b and c"
    first, second = (str(pid) for pid in report["pids"])
    calls = [line.split("@") for line in report["calls"]]
    counts = Counter(name for name, _ in calls)
    assert counts == {
        "model:0": 1,
        "tool:a": 1,
        "tool:b": 1,
        "model:1": 1,
        "tool:c": 1,
        "model:2": 1,
    }  # nothing finished ran twice
    by = dict(calls)
    assert {by["model:0"], by["tool:a"], by["tool:b"], by["model:1"]} == {first}
    assert {by["tool:c"], by["model:2"]} == {second}  # the recovered run picked up from there
    assert report["steps"] == [
        "tether.clerk.model",
        "tether.clerk.tool.record",
        "tether.clerk.tool.record",
        "tether.clerk.model",
        "tether.clerk.tool.record",
        "tether.clerk.model",
    ]
