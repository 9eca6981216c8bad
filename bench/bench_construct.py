"""Agent construction with one tool: tether beside Agno, measured with Agno's own method.

Agno publishes agent instantiation figures measured by its ``PerformanceEval``: each iteration
times one call of the function (``perf_counter`` around it), and measures memory as the
tracemalloc peak of one call minus the peak of an empty call (the baseline). This script applies
that method to both frameworks, each in its own fresh process (tether from this venv, Agno from
bench/.peers-venv), in alternating rounds so machine drift is shared:

- Agno: ``Agent(model=OpenAIChat(id="gpt-4o"), tools=[get_weather])`` (its published example);
- tether: ``Agent("agent", model="openai:gpt-4o", tools=[get_weather])`` (a model string
  resolves lazily, on the first run; the tool's schema is built once per function).

    python bench/bench_construct.py [--iterations 1000] [--rounds 3]

Prints one JSON object: per framework the mean and median time (µs) and the median memory (KiB),
and tether's ratios to Agno.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

HERE = Path(__file__).resolve().parent


def get_weather(city: Literal["nyc", "sf"]) -> str:
    """Use this to get weather information."""
    if city == "nyc":
        return "It might be cloudy in nyc"
    return "It's always sunny in sf"


def _maker(framework: str) -> Callable[[], Any]:
    if framework == "tether":
        from tether import Agent

        def make_tether() -> Any:
            return Agent("agent", model="openai:gpt-4o", tools=[get_weather])

        return make_tether
    from agno.agent import Agent as AgnoAgent  # type: ignore[import-not-found]
    from agno.models.openai import OpenAIChat  # type: ignore[import-not-found]

    def make_agno() -> Any:
        return AgnoAgent(model=OpenAIChat(id="gpt-4o"), tools=[get_weather])

    return make_agno


def _peak_mib(func: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    func()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1024 / 1024


def child(framework: str, iterations: int) -> dict[str, Any]:
    """Agno's PerformanceEval method, in this process: 10 warm-up calls, then timed calls, then
    memory per call above an empty call's baseline."""
    os.environ.setdefault("AGNO_TELEMETRY", "false")
    make = _maker(framework)
    for _ in range(10):
        make()
    times: list[float] = []
    for _ in range(iterations):
        started = time.perf_counter()
        make()
        times.append(time.perf_counter() - started)
    baseline = statistics.fmean(_peak_mib(lambda: None) for _ in range(3))
    memory = [max(0.0, _peak_mib(make) - baseline) for _ in range(min(iterations, 200))]
    return {
        "mean_us": statistics.fmean(times) * 1e6,
        "median_us": statistics.median(times) * 1e6,
        "memory_kib": statistics.median(memory) * 1024,
    }


def measure(
    iterations: int = 1000, rounds: int = 3, *, peer_python: Path | bool | None = True
) -> dict[str, Any]:
    """Both frameworks, ``rounds`` fresh processes each, alternating; medians over rounds.
    ``peer_python``: the peers' interpreter, True to build or find it, None for tether only."""
    pythons = {"tether": sys.executable}
    if peer_python is True:
        sys.path.insert(0, str(HERE))
        import peers

        peer_python = peers.ensure(lambda message: print(message, file=sys.stderr))
    if isinstance(peer_python, Path):
        pythons["agno"] = str(peer_python)
    got: dict[str, list[dict[str, Any]]] = {name: [] for name in pythons}
    for r in range(rounds):
        order = list(pythons) if r % 2 == 0 else list(reversed(pythons))
        for name in order:
            out = subprocess.run(
                [pythons[name], __file__, "--child", name, "--iterations", str(iterations)],
                capture_output=True,
                text=True,
                cwd=str(HERE),
            )
            try:
                got[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            except (ValueError, IndexError):
                print(f"{name} failed: {out.stderr[-500:]}", file=sys.stderr)
    result: dict[str, Any] = {}
    for name, runs in got.items():
        if runs:
            result[name] = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    if "tether" in result and "agno" in result:
        tether, agno = result["tether"], result["agno"]
        result["ratio"] = {
            "mean": tether["mean_us"] / agno["mean_us"],
            "median": tether["median_us"] / agno["median_us"],
            "memory": tether["memory_kib"] / agno["memory_kib"] if agno["memory_kib"] else None,
        }
    return result


def main() -> None:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.iterations)))
        return
    print(json.dumps(measure(args.iterations, args.rounds), indent=2))


if __name__ == "__main__":
    main()
