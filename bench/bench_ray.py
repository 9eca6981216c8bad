"""Runs per second through `run_many` on 1, 2 and 4 Ray workers, and on the local engine.

    python bench/bench_ray.py [--runs 400] [--latency 0.05] [--concurrency 64]

The model is bench/server.py (its own process) with a fixed latency per answer; every run is one
tool call and an answer (two model calls), checkpointed to a SQLite store on this machine. Ray is
started on loopback with 4 logical CPUs. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))


def _server(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "server.py"), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    return proc, f"http://127.0.0.1:{line[1]}/v1"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args(argv)
    server, url = _server(args.latency)
    os.environ["TETHER_BENCH_MODEL_URL"] = url
    os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    import ray

    from tether.distributed import run_many_sync

    ray.init(
        num_cpus=4,
        _node_ip_address="127.0.0.1",
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(HERE), "TETHER_BENCH_MODEL_URL": url}},
    )
    rows = []
    try:
        for engine, workers in (("local", None), ("ray", 1), ("ray", 2), ("ray", 4)):
            with tempfile.TemporaryDirectory() as tmp:
                inputs = [f"run {n}" for n in range(args.runs)]
                began = time.perf_counter()
                results = run_many_sync(
                    "ray_agent:adder", inputs, engine=engine, workers=workers,  # type: ignore[arg-type]
                    store=f"sqlite:///{tmp}/bench.db", concurrency=args.concurrency,
                )  # fmt: skip
                elapsed = time.perf_counter() - began
                assert all(r.state == "completed" for r in results)
                label = "local engine" if engine == "local" else f"Ray, {workers} worker(s)"
                rows.append(
                    f"| {label} | {args.runs} | {elapsed:.2f} s | {args.runs / elapsed:.0f} |"
                )
                print(rows[-1], flush=True)
    finally:
        ray.shutdown()
        server.terminate()
    print(f"\n{args.latency * 1000:.0f} ms model, concurrency {args.concurrency}, SQLite store")
    print("| engine | runs | wall | runs/s |\n|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
