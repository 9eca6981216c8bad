"""``tether trace ls`` on a folder of 10,000 traces: the command's wall time, fresh process.

The traces are copies of one real recorded run (a tool call and an answer), each with its own
run id and times, started one second apart and written half a second after their start, as a
busy service leaves them. Measured: ``tether trace ls`` (default ``--limit 50``) with no index
yet and with its index, ``--errors`` (a filter that reads every summary), and, for scale, an
empty folder (the command's own start-up).

    python bench/bench_trace_ls.py [--traces 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tether import Agent, Runner
from tether.models import FakeModel
from tether.tracing.jsonl import JsonlExporter


def _template(directory: Path) -> list[dict[str, object]]:
    agent = Agent("calc", model=FakeModel())

    @agent.tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    async def record() -> None:
        exporter = JsonlExporter(directory)
        model = agent.model
        assert isinstance(model, FakeModel)
        model.add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
        await Runner(store=None, telemetry=exporter).run(agent, "1+2?", run_id="template")
        await exporter.drain()

    asyncio.run(record())
    lines = (directory / "template.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def make_folder(directory: Path, n: int) -> None:
    """``n`` traces in ``directory``."""
    events = _template(directory.parent / "template")
    directory.mkdir(parents=True, exist_ok=True)
    first = float(events[0]["at"])  # type: ignore[arg-type]
    start = time.time() - n
    for i in range(n):
        run_id = f"{i:08d}-bench"
        began = start + i
        lines = [
            json.dumps({**e, "run_id": run_id, "at": began + float(e["at"]) - first})  # type: ignore[arg-type]
            for e in events
        ]
        path = directory / f"{run_id}.jsonl"
        path.write_text("\n".join(lines) + "\n")
        os.utime(path, (began + 0.5, began + 0.5))


def _ls(directory: Path, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "tether.cli", "trace", "ls", "--dir", str(directory), *extra],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def measure(traces: int = 10_000, repeats: int = 3) -> dict[str, float]:
    """Seconds per command (medians of ``repeats``)."""
    with tempfile.TemporaryDirectory(prefix="tether-bench-ls-") as tmp:
        folder = Path(tmp) / "traces"
        make_folder(folder, traces)
        empty = Path(tmp) / "empty"
        empty.mkdir()
        first = _ls(folder)  # builds the index for what it reads
        figures = {
            "ls, no index yet": first,
            "ls, indexed": statistics.median(_ls(folder) for _ in range(repeats)),
            "ls --errors (every summary)": _ls(folder, "--errors"),
            "ls --errors, indexed": statistics.median(
                _ls(folder, "--errors") for _ in range(repeats)
            ),
            "ls of an empty folder (start-up)": statistics.median(
                _ls(empty) for _ in range(repeats)
            ),
        }
    return figures


def main() -> None:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    figures = measure(args.traces, args.repeats)
    print(f"| `tether trace ls`, {args.traces:,} traces | seconds |")
    print("|---|---|")
    for label, seconds in figures.items():
        print(f"| {label} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
