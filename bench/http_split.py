"""Where a tether run over HTTP spends its time beyond raw aiohttp, side by side in one process.

``python bench/http_split.py [N] [TRANSPORT]`` starts the loopback server (0 ms model) and
measures, in rounds of N calls each, interleaved:

- ``floor``: the raw-aiohttp run of bench/frameworks/floor_fw.py (the goal's denominator);
- ``run``: a tether run over HTTP (``Agent.run``), on TRANSPORT (default: the default one);
- ``provider``: the two requests of that run sent through the provider model alone
  (``OpenAIChatModel.request``: body, transport, answer parsing, usage and price);
- ``transport``: the same two bodies posted by the endpoint alone (``post_json``);
- ``in-process``: the same run with the in-process test model (no HTTP at all);
- ``in-process + provider``: both, one after the other, as one call;
- ``in-process + floor``: the in-process run, then the floor's raw-aiohttp run, as one call;
- ``run, streamed``, ``provider, streamed`` and ``in-process, streamed``: the run, the
  provider's two requests (``OpenAIChatModel.stream``) and the in-process run, streamed.

It prints each median and its ratio to the floor, and the process CPU per call. The two
``in-process + ...`` rows against the sums of their parts show what running the loop next to
the HTTP client's code costs beyond each alone (each measured alone runs with warm caches).
Then each streamed variant against its plain one (the provider's share of what streaming adds
to a run), and last the in-process run's own time when it runs beside the floor's HTTP run,
against alone.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from frameworks.common import API_KEY, MODEL  # noqa: E402
from frameworks.floor_fw import Bench as Floor  # noqa: E402
from frameworks.tether_fw import Bench as Tether  # noqa: E402


async def _requests_of_a_run(bench: Any) -> list[Any]:
    """The ModelRequests one tether run sends (recorded from a real run)."""
    from tether.models.openai_chat import OpenAIChatModel

    seen: list[Any] = []
    original = OpenAIChatModel.request

    async def record(self: Any, request: Any) -> Any:
        seen.append(request)
        return await original(self, request)

    OpenAIChatModel.request = record  # type: ignore[method-assign]
    try:
        await bench.run_http()
    finally:
        OpenAIChatModel.request = original  # type: ignore[method-assign]
    return seen


async def measure(base_url: str, n: int, transport: str, rounds: int = 10) -> str:
    """The table for ``n`` calls per round of each variant."""
    from tether.models.openai_chat import OpenAIChatModel

    floor = Floor(base_url)
    await floor.setup()
    tether = Tether(base_url, transport)
    await tether.setup()
    requests = await _requests_of_a_run(tether)
    kind: Any = None if transport == "default" else transport
    model = OpenAIChatModel(MODEL, api_key=API_KEY, base_url=base_url, transport=kind)
    await model.request(requests[0])
    endpoint = await model._get_endpoint()

    async def provider() -> None:
        for request in requests:
            await model.request(request)

    async def posted() -> None:
        for request in requests:
            await endpoint.post_json(model.build_body(request, False), None, model.name)

    async def provider_stream() -> None:
        for request in requests:
            async for _ in model.stream(request):
                pass

    def first() -> None:
        pass

    async def both() -> None:
        await tether.run_inproc()
        await provider()

    own: list[float] = []  # the in-process run's own time when it runs beside the floor's

    async def beside_floor() -> None:
        started = time.perf_counter()
        await tether.run_inproc()
        own.append(time.perf_counter() - started)
        await floor.run_http()

    variants: dict[str, Callable[[], Awaitable[Any]]] = {
        "floor": floor.run_http,
        "run": tether.run_http,
        "provider": provider,
        "transport": posted,
        "in-process": tether.run_inproc,
        "in-process + provider": both,
        "in-process + floor": beside_floor,
        "run, streamed": lambda: tether.stream_http(first),
        "provider, streamed": provider_stream,
        "in-process, streamed": lambda: tether.stream_inproc(first),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    cpu = dict.fromkeys(variants, 0.0)
    for call in variants.values():
        for _ in range(20):
            await call()
    for _ in range(rounds):
        for name, call in variants.items():
            for _ in range(n):
                c0, t0 = time.process_time(), time.perf_counter()
                await call()
                times[name].append(time.perf_counter() - t0)
                cpu[name] += time.process_time() - c0
    await floor.close()
    await tether.close()
    base = statistics.median(times["floor"])
    lines = [f"transport {transport}, {n} x {rounds} calls each", ""]
    lines.append("| variant | median | / floor | CPU per call |")
    lines.append("|---|---|---|---|")
    for name, got in times.items():
        median = statistics.median(got)
        per = cpu[name] / len(got)
        row = f"| {name} | {median * 1e3:.3f} ms | {median / base:.2f}x | {per * 1e3:.3f} ms |"
        lines.append(row)
    lines.append("")
    for name in ("run", "provider", "in-process"):
        plain, streamed = (statistics.median(times[k]) for k in (name, f"{name}, streamed"))
        lines.append(
            f"{name}: streamed / plain {streamed / plain:.2f}x "
            f"(+{(streamed - plain) * 1e3:.3f} ms, CPU "
            f"+{(cpu[f'{name}, streamed'] - cpu[name]) / len(times[name]) * 1e3:.3f} ms)"
        )
    alone = statistics.median(times["in-process"])
    beside = statistics.median(own[-n * rounds :])
    lines.append("")
    lines.append(
        f"the in-process run takes {beside * 1e3:.3f} ms beside the floor's HTTP run, "
        f"{alone * 1e3:.3f} ms alone ({beside / alone:.2f}x)"
    )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    """Command line (see the module docstring)."""
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return
    n = int(argv[0]) if argv else 200
    transport = argv[1] if len(argv) > 1 else "default"
    server = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "server.py"), "--latency", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = f"http://127.0.0.1:{server.stdout.readline().split()[1]}/v1"
        print(asyncio.run(measure(base_url, n, transport, rounds=10 if n > 5 else 1)))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main(sys.argv[1:])
