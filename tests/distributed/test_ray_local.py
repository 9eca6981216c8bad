"""engine="ray" with no address: run_many starts a Ray instance of this machine itself (as
`ray.init()` does) and gives the local engine's Results. In a fresh process, so the driver of
the suite's two-node cluster is not in the way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.distributed.cluster import SLOW_START
from tests.distributed.conftest import ROOT, ledger_lines, worker_env

SCRIPT = """
import json, os, ray
from tether.distributed import run_many_sync
items = [f"solo-{n}" for n in range(6)]
store = "sqlite:///" + os.environ["SOLO_DB"]
ray_results = run_many_sync("tests.distributed.agents:batcher", items, engine="ray", store=store)
address = ray.get_runtime_context().gcs_address
ray.shutdown()
local = run_many_sync("tests.distributed.agents:batcher", [f"solo-local-{n}" for n in range(6)])
print(json.dumps({
    "ray": [(r.state, r.output) for r in ray_results],
    "local": [(r.state, r.output) for r in local],
    "address": address,
}))
"""


def test_the_ray_engine_without_an_address_starts_a_local_instance(
    model_server: Any, tmp_path: Path
) -> None:
    env = {**os.environ, **SLOW_START, **worker_env(), "SOLO_DB": str(tmp_path / "solo.db")}
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["ray"] == [["completed", f"done solo-{n}"] for n in range(6)]
    assert [state for state, _ in seen["local"]] == ["completed"] * 6
    assert seen["address"]  # a driver connected to the instance it started
    recorded = ledger_lines()
    assert all(recorded.count(f"solo-{n}") == 1 for n in range(6))
