"""How tether's bound on requests in flight per endpoint changes a burst's CPU and wall time.

``python bench/sweep_inflight.py [N] [LATENCY]`` runs a burst of N runs (default 1000) against
the bench server answering after LATENCY seconds (default 0.05), for several ``max_inflight``
values and both transports, and prints wall time and client CPU per run. Unbounded is
``max_inflight=N``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from frameworks.common import API_KEY, MODEL, PROMPT, add, check  # noqa: E402

from tether import Agent  # noqa: E402


async def burst(base_url: str, transport: str, inflight: int, n: int) -> tuple[float, float]:
    """Wall seconds and CPU seconds per run of one burst (after a warm-up burst)."""
    from tether.models._http import aclose_clients
    from tether.models.openai_chat import OpenAIChatModel

    model = OpenAIChatModel(
        MODEL, base_url=base_url, api_key=API_KEY, transport=transport, max_inflight=inflight
    )
    agent = Agent("bench", model=model, tools=[add])

    async def one() -> None:
        check((await agent.run(PROMPT)).output)

    await asyncio.gather(*(one() for _ in range(min(n, 200))))
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await aclose_clients()
    return wall, cpu / n


def main(argv: list[str]) -> None:
    """Command line (see the module docstring)."""
    n = int(argv[0]) if argv else 1000
    latency = argv[1] if len(argv) > 1 else "0.05"
    server = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "server.py"), "--latency", latency],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    url = f"http://127.0.0.1:{server.stdout.readline().split()[1]}/v1"
    try:
        print(f"burst of {n} runs, model latency {latency} s")
        print("| transport | max_inflight | wall s | CPU ms per run |\n|---|---|---|---|")
        for transport in ("httpx", "aiohttp"):
            for inflight in (8, 25, 50, 100, 250, n):
                wall, cpu = asyncio.run(burst(url, transport, inflight, n))
                print(f"| {transport} | {inflight} | {wall:.2f} | {cpu * 1e3:.2f} |", flush=True)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main(sys.argv[1:])
