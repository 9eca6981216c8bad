"""Profile tether's runs with cProfile: where a run's CPU goes, function by function.

``python bench/profile_tether.py [inproc|inproc-stream|http|http-stream|burst] [N] [TRANSPORT]``
runs N runs of the benchmark task under cProfile and prints the top functions by own time and
by cumulative time. TRANSPORT (HTTP scenarios) is ``default`` (what a model string gets),
``aiohttp`` or ``httpx``. The HTTP scenarios start the bench server in a subprocess. For a
sampling view of the same scenarios:
``py-spy record -o profile.svg -- python bench/profile_tether.py``.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import os
import pstats
import subprocess
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from frameworks.tether_fw import Bench  # noqa: E402


async def _drive(bench: Any, scenario: str, n: int) -> None:
    def on_first() -> None:
        pass

    if scenario == "burst":
        await asyncio.gather(*(bench.run_http() for _ in range(n)))
        return
    method = {
        "inproc": bench.run_inproc,
        "inproc-stream": lambda: bench.stream_inproc(on_first),
        "http": bench.run_http,
        "http-stream": lambda: bench.stream_http(on_first),
    }[scenario]
    for _ in range(n):
        await method()


async def profile(scenario: str, n: int, base_url: str | None, transport: str) -> str:
    """Warm up, then profile ``n`` runs; returns the printed statistics."""
    bench = Bench(base_url, transport)
    await bench.setup()
    try:
        await _drive(bench, scenario, min(n, 20))
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        await _drive(bench, scenario, n)
        profiler.disable()
        elapsed = time.perf_counter() - started
    finally:
        await bench.close()
    out = io.StringIO()
    out.write(f"{scenario}: {n} runs, {elapsed / n * 1e3:.3f} ms per run under the profiler\n")
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    return out.getvalue()


def main(argv: list[str]) -> None:
    """Command line (see the module docstring)."""
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return
    scenario = argv[0] if argv else "inproc"
    n = int(argv[1]) if len(argv) > 1 else 2000
    transport = argv[2] if len(argv) > 2 else "default"
    server = None
    base_url = None
    if scenario.startswith("http") or scenario == "burst":
        latency = "0.05" if scenario == "burst" else "0"
        server = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "server.py"), "--latency", latency],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None
        base_url = f"http://127.0.0.1:{server.stdout.readline().split()[1]}/v1"
    try:
        print(asyncio.run(profile(scenario, n, base_url, transport)))
    finally:
        if server is not None:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main(sys.argv[1:])
