"""`tether batch ... --engine ray --address ...` through the real entry point, on the session's
two-node cluster: one line per input in input order, the same outputs as the local engine, and
resumable (run again, it skips the finished inputs without touching the cluster)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.distributed.conftest import ROOT, ledger_lines

pytestmark = pytest.mark.timeout(300)


def test_batch_on_a_ray_cluster_by_address(ray_cluster: Any, tmp_path: Path) -> None:
    items = [f"raybatch-{n}" for n in range(4)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    command = [
        sys.executable, "-m", "tether.cli", "batch", "tests.distributed.agents:batcher",
        "in.jsonl", "--out", "out.jsonl", "--engine", "ray", "--address", ray_cluster.address,
        "--concurrency", "1", "--store", f"sqlite:///{tmp_path}/runs.db",
    ]  # fmt: skip
    env = {**ray_cluster.env, "PYTHONPATH": path}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [line["index"] for line in lines] == [0, 1, 2, 3]
    assert [line["output"] for line in lines] == [f"done {item}" for item in items]
    assert all(ledger_lines().count(item) == 1 for item in items)
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "4 already done, 0 run" in again.stdout
