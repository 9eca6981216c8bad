"""Crash test: a real child process running a multi-turn agent is killed with SIGKILL at every
point it passes (model calls, tool calls, store writes, and SQLite's COMMIT itself), and each
run is resumed by another process. The resumed transcript equals the uninterrupted one, and
every side effect happened exactly once. See crashkit.py for the harness.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

KIT = Path(__file__).with_name("crashkit.py")
CHARGE = "call_2_0"  # the one call of the non-idempotent tool (turn 2)


def drive(store_url: str, work: Path, stride: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(KIT), store_url, str(work), str(stride)],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.allow_blocking
def test_killed_anywhere_and_resumed_elsewhere(store_url: str, tmp_path: Path) -> None:
    # Every point on SQLite; on PostgreSQL (slower to connect) every 3rd point, plus all of
    # those around the non-idempotent call.
    sqlite = store_url.startswith("sqlite")
    report = drive(store_url, tmp_path / "work", 1 if sqlite else 3)
    baseline = report["baseline"]
    assert baseline["state"] == "completed"
    assert baseline["transcript"][-1]["parts"][0]["text"] == (
        "done: a=97; recorded apple; charged 42; recorded pear; b=98"
    )
    kinds = Counter(name.split(":")[0] for name in baseline["points"])
    assert kinds["model"] == 8 and kinds["tool"] == 10
    # 10 appends: the start, then per turn the model response with the calls' starts, each
    # call's finish (two at once: one each), and the last answer with the run's end; each
    # append has a point before it, at COMMIT (SQLite) and after it
    assert kinds["store"] == 10 * (3 if sqlite else 2)
    points = report["points"]
    if sqlite:
        assert [p["n"] for p in points] == list(range(1, len(baseline["points"]) + 1))
        assert len(points) == 48  # 8 model, 10 tool, 30 store points
    else:
        assert len(points) >= 15  # every 3rd of 38, and the 12 around the charge
    assert {p["point"].split(":")[0] for p in points} == {"model", "tool", "store"}

    rejected = 0
    for p in points:
        where = f"kill point {p['n']} ({p['point']})"
        assert "error" not in p, f"{where}: {p.get('error')}"
        assert p["killed"], f"{where}: the child was not killed there"
        assert p["state"] == "completed", where
        # every side effect exactly once
        assert p["ledger"]["records"] == baseline["ledger"]["records"], where
        assert p["ledger"]["charges"] == [f"{CHARGE} 42"], where
        # a recorded model response is never requested again
        assert p["model_requests"] == 4 - p["stored_responses"], where
        # a finished tool call is never executed again
        assert not set(p["tool_calls"]) & set(p["stored_finished"]), where
        if p["first_state"] == "interrupted":
            # only the non-idempotent call, started and not finished, stops the run
            assert p["interrupted_calls"] == [CHARGE], where
            assert CHARGE not in p["stored_finished"], where
        else:
            assert p["decisions"] == {}, where
        if p["decisions"].get(CHARGE, True) is True:
            assert p["transcript"] == baseline["transcript"], where
        else:
            # the charge went through before the crash: a person rejected running it again
            rejected += 1
            assert CHARGE not in p["tool_calls"], where
    assert sum(p["recovery_killed"] for p in points) >= (10 if sqlite else 3)
    interrupted = [p for p in points if p["first_state"] == "interrupted"]
    assert len(interrupted) >= 3 and rejected >= 2
    assert any(p["first_state"] == "restarted" for p in points)
