"""DBOS workers SIGKILLed mid-workflow, one in a step and one while the run waits for an approval;
new processes recover the workflow and finish it, the approval sent from another process,
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
    assert report["first_signal"] == 9, done.stderr[-3000:]  # SIGKILLed in a step
    assert report["second_signal"] == 9, done.stderr[-3000:]  # SIGKILLed while waiting
    assert report["third_exit"] == 0, done.stderr[-3000:]
    assert report["output"] == "recorded a, b and c; published d"
    first, second, third = (str(pid) for pid in report["pids"])
    calls = [line.split("@") for line in report["calls"]]
    counts = Counter(name for name, _ in calls)
    assert counts == {
        "model:0": 1,
        "tool:a": 1,
        "tool:b": 1,
        "model:1": 1,
        "tool:c": 1,
        "model:2": 1,
        "tool:d": 1,
        "model:3": 1,
    }  # nothing finished ran twice
    by = dict(calls)
    assert {by["model:0"], by["tool:a"], by["tool:b"], by["model:1"]} == {first}
    assert {by["tool:c"], by["model:2"]} == {second}  # the recovered run picked up from there
    assert {by["tool:d"], by["model:3"]} == {third}  # approved while the third one recovered
    assert [s for s in report["steps"] if s.startswith("tether.")] == [
        "tether.clerk.model",
        "tether.clerk.tool.record",
        "tether.clerk.tool.record",
        "tether.clerk.model",
        "tether.clerk.tool.record",
        "tether.clerk.model",
        "tether.clerk.tool.publish",
        "tether.clerk.model",
    ]
