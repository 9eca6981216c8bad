"""Memory over a long uptime: 10,000 runs on one Runner with the SQLite store and JSONL tracing.

One run = prompt -> ``add(i, 1)`` -> answer (an in-process FakeModel); the runs are driven three
ways in turn (``run()``, ``run_stream()``, ``start()`` + ``handle.result()``). The resident set
size (RSS, from /proc) is read after a warm-up of ``--warmup`` runs and then every 1,000 runs;
the figure is the growth after warm-up, in percent (the goal: at most 5%). With ``--traced``,
Python-traced memory (tracemalloc's current size) is reported beside it, as it does not depend
on the allocator keeping freed pages (tracemalloc makes the runs about 3x slower).

``python bench/bench_uptime.py [--runs 10000] [--warmup 1000] [--traced]``; :func:`figures`
gives bench/run.py its rows.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tether import Agent, Runner
from tether.models import FakeModel
from tether.store.sqlite import SQLiteStore
from tether.tracing.jsonl import JsonlExporter


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    import resource

    return pages * resource.getpagesize()


def _agent() -> Agent:
    agent = Agent("calc", model=FakeModel())

    @agent.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return agent


async def _one(runner: Runner, agent: Agent, i: int) -> None:
    model = agent.model
    assert isinstance(model, FakeModel)
    model.add_tool_call("add", {"a": i, "b": 1}).add_response(str(i + 1))
    way = i % 3
    if way == 0:
        result = await runner.run(agent, f"{i}+1?")
    elif way == 1:
        result = None
        async for event in runner.run_stream(agent, f"{i}+1?"):
            if event.type == "run_finished":
                result = event.result  # type: ignore[attr-defined]
    else:
        handle = await runner.start(agent, f"{i}+1?")
        result = await handle.result()
    assert result is not None and result.output == str(i + 1)
    model.requests.clear()  # the fake model keeps what it was sent, for tests


def _traced() -> int:
    return tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0


async def _measure(runs: int, warmup: int, directory: Path, traced: bool) -> dict[str, Any]:
    store = SQLiteStore(directory / "runs.db")
    runner = Runner(store=store, telemetry=JsonlExporter(directory / "traces"))
    agent = _agent()
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    for i in range(warmup):
        await _one(runner, agent, i)
    gc.collect()
    base_rss, base_traced = _rss_bytes(), _traced()
    samples = []
    for i in range(runs):
        await _one(runner, agent, warmup + i)
        if (i + 1) % 1000 == 0:
            gc.collect()
            samples.append((i + 1, _rss_bytes(), _traced()))
    elapsed = time.perf_counter() - started
    if traced:
        tracemalloc.stop()
    await runner.aclose()
    await store.close()
    end_rss, end_traced = samples[-1][1], samples[-1][2]
    return {
        "runs": runs,
        "warmup": warmup,
        "seconds": elapsed,
        "base_rss": base_rss,
        "end_rss": end_rss,
        "rss_growth_percent": 100.0 * (end_rss - base_rss) / base_rss,
        "base_traced": base_traced,
        "end_traced": end_traced,
        "traced_growth_bytes_per_run": (end_traced - base_traced) / runs,
        "samples": samples,
    }


def measure(runs: int = 10_000, warmup: int = 1_000, traced: bool = False) -> dict[str, Any]:
    """RSS (and traced memory) after warm-up and after ``runs`` more runs."""
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_measure(runs, warmup, Path(tmp), traced))


def figures(quick: bool = False) -> dict[str, float]:
    """Rows for bench/run.py: RSS growth over the runs, as a ratio (1.05 = 5% more)."""
    result = measure(runs=2_000 if quick else 10_000, warmup=500 if quick else 1_000)
    return {
        f"uptime: RSS after {result['runs']:,} runs (x after warm-up), SQLite + JSONL": 1
        + result["rss_growth_percent"] / 100
    }


def report(result: dict[str, Any]) -> str:
    """The figures as text."""
    mib = 1 << 20
    lines = [
        f"{result['runs']:,} runs after {result['warmup']:,} warm-up, SQLite store + JSONL "
        f"tracing, {result['seconds']:.0f} s",
        f"RSS: {result['base_rss'] / mib:.1f} MiB after warm-up -> {result['end_rss'] / mib:.1f} "
        f"MiB ({result['rss_growth_percent']:+.1f}%)",
        f"traced Python memory: {result['base_traced'] / mib:.2f} MiB -> "
        f"{result['end_traced'] / mib:.2f} MiB "
        f"({result['traced_growth_bytes_per_run']:+.0f} bytes per run)",
        "runs   RSS MiB  traced MiB",
    ]
    for n, rss, traced in result["samples"]:
        lines.append(f"{n:>6} {rss / mib:>8.1f} {traced / mib:>10.2f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the memory figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=1_000)
    parser.add_argument("--traced", action="store_true", help="also tracemalloc (slower)")
    args = parser.parse_args(argv)
    print(report(measure(runs=args.runs, warmup=args.warmup, traced=args.traced)))


if __name__ == "__main__":
    main()
