"""Tracing overhead: the same run with the JSONL exporter on and with tracing off.

One run = prompt -> the model asks for ``add(1, 2)`` -> the tool runs -> the model answers "3"
(an in-process FakeModel, so the framework is all that is measured). Arms are interleaved in
rounds so machine drift is shared; figures are medians over rounds. Two baselines:

- ``bare``: ``Runner(store=None)``: the loop alone, the harshest ratio (a trace file per run
  costs about as much as the whole in-memory run);
- ``default``: the Runner's default sqlite store, as a Runner is normally used.

The trace writer thread is drained inside the timed section, so the disk writes are counted.
The hand-overs of the traced runs are counted too (steady where times swing): how often per
run the writer thread was woken, and how often it had to call back into the loop for a run
waiting on its trace (a run whose trace was written before it asked costs none).
Wall time and CPU time (``time.process_time``: every thread of the process, so the writer
threads' work is counted too) are both reported; on a shared machine CPU time is the steadier.
Run it with ``python bench/bench_tracing.py [--runs N] [--rounds R]``; ``bench/run.py`` can call
:func:`measure`.

On a loaded machine wall and CPU time swing by 2x between passes; ``--callgrind`` counts
instructions instead (user space, every thread, under valgrind): each arm runs in its own
process for 100 and for 300 runs, and the difference over 200 is the figure per run, so
start-up cancels. ``--against SRC`` counts the same arms with another source tree's tether
(``/work/main/src``, say) side by side: before and after a change in one table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tether import Agent, Runner
from tether.models import FakeModel
from tether.tracing.jsonl import JsonlExporter
from tether.tracing.writer import trace_writer


def _agent() -> Agent:
    agent = Agent("calc", model=FakeModel())

    @agent.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return agent


async def _per_run_us(
    runner: Runner, agent: Agent, runs: int, exporter: JsonlExporter | None
) -> tuple[float, float]:
    """(wall, CPU) microseconds per run."""
    model = agent.model
    assert isinstance(model, FakeModel)
    for _ in range(runs):
        model.add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(runs):
        await runner.run(agent, "1+2?")
    if exporter is not None:
        await exporter.drain()
    return (
        (time.perf_counter() - started) / runs * 1e6,
        (time.process_time() - cpu) / runs * 1e6,
    )


class _Handovers:
    """Counts the process trace writer's wake-ups (what is put in its queue) and its calls
    back into a loop (``_signal`` with a drain to answer)."""

    def __init__(self) -> None:
        writer = trace_writer()
        self.wakeups = self.answers = 0
        counts = self

        class Counted(queue.SimpleQueue[None]):
            def put(self, item: None, block: bool = True, timeout: float | None = None) -> None:
                counts.wakeups += 1
                super().put(item, block, timeout)

        if writer._thread is None:  # installed before the thread takes from the queue
            writer._wakeups = Counted()
        signal = getattr(writer, "_signal", None)  # None: an older tree (answers not counted)
        self.counts_answers = signal is not None
        if signal is None:
            return

        def counted_signal() -> None:
            counts.answers += 1
            signal()

        writer._signal = counted_signal  # type: ignore[method-assign]

    def taken(self) -> tuple[int, int]:
        return self.wakeups, self.answers


async def _measure(runs: int, rounds: int, directory: Path) -> dict[str, Any]:
    agent = _agent()
    figures: dict[str, Any] = {}
    handovers = _Handovers()
    for baseline in ("bare", "default"):
        store = None if baseline == "bare" else f"sqlite:///{directory / 'tether.db'}"
        exporter = JsonlExporter(directory / f"traces-{baseline}")
        off = Runner(store=store, telemetry=None)
        on = Runner(store=store, telemetry=exporter)
        await _per_run_us(off, agent, 50, None)  # warm-up
        await _per_run_us(on, agent, 50, exporter)
        offs: list[tuple[float, float]] = []
        ons: list[tuple[float, float]] = []
        wakeups = answers = 0
        for _ in range(rounds):
            offs.append(await _per_run_us(off, agent, runs, None))
            before = handovers.taken()
            ons.append(await _per_run_us(on, agent, runs, exporter))
            after = handovers.taken()
            wakeups += after[0] - before[0]
            answers += after[1] - before[1]
        off_us = statistics.median(w for w, _ in offs)
        on_us = statistics.median(w for w, _ in ons)
        off_cpu = statistics.median(c for _, c in offs)
        on_cpu = statistics.median(c for _, c in ons)
        figures[baseline] = {
            "off_us": off_us,
            "jsonl_us": on_us,
            "ratio": on_us / off_us,
            "overhead_us": on_us - off_us,
            "off_cpu_us": off_cpu,
            "jsonl_cpu_us": on_cpu,
            "cpu_ratio": on_cpu / off_cpu,
            "wakeups_per_run": wakeups / (runs * rounds),
            "answers_per_run": answers / (runs * rounds) if handovers.counts_answers else None,
        }
        for runner in (off, on):
            await runner.aclose()
    return figures


def measure(runs: int = 300, rounds: int = 5) -> dict[str, Any]:
    """Per-run microseconds with tracing off and with the JSONL exporter, and their ratio."""
    with tempfile.TemporaryDirectory(prefix="tether-bench-tracing-") as tmp:
        return asyncio.run(_measure(runs, rounds, Path(tmp)))


async def _one_arm(baseline: str, arm: str, runs: int, directory: Path) -> None:
    agent = _agent()
    store = None if baseline == "bare" else f"sqlite:///{directory / 'tether.db'}"
    exporter = JsonlExporter(directory / "traces") if arm == "jsonl" else None
    runner = Runner(store=store, telemetry=exporter)
    await _per_run_us(runner, agent, 50, exporter)  # warm-up, as in the timed passes
    await _per_run_us(runner, agent, runs, exporter)
    await runner.aclose()


_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def _instructions(src: str, baseline: str, arm: str, runs: int) -> int:
    """Instructions callgrind counts for one process running ``runs`` runs of one arm."""
    env = dict(os.environ, PYTHONPATH=src)
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--single",
        f"{baseline}:{arm}:{runs}",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    found = _COLLECTED.findall(done.stderr)
    if not found:
        raise RuntimeError(f"callgrind printed no count:\n{done.stderr[-2000:]}")
    return int(found[-1])


def callgrind(sources: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """Instructions per run: source tree -> baseline -> arm (``off``, ``jsonl``)."""
    figures: dict[str, dict[str, dict[str, float]]] = {src: {} for src in sources}
    for baseline in ("bare", "default"):
        for arm in ("off", "jsonl"):
            for src in sources:  # the trees side by side, arm by arm
                low = _instructions(src, baseline, arm, 100)
                high = _instructions(src, baseline, arm, 300)
                figures[src].setdefault(baseline, {})[arm] = (high - low) / 200
    return figures


def _print_callgrind(figures: dict[str, dict[str, dict[str, float]]]) -> None:
    print(
        "| source | baseline | tracing off (instr/run) | jsonl (instr/run) | ratio "
        "| tracing's cost |"
    )
    print("|---|---|---|---|---|---|")
    for src, baselines in figures.items():
        for name, arms in baselines.items():
            off, on = arms["off"], arms["jsonl"]
            print(
                f"| {src} | {name} | {off / 1e6:.2f} M | {on / 1e6:.2f} M | {on / off:.3f} | "
                f"{(on - off) / 1e3:.0f} k |"
            )


def main(argv: list[str] | None = None) -> None:
    """Print the overhead table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--callgrind", action="store_true", help="count instructions per run under valgrind"
    )
    parser.add_argument(
        "--against",
        metavar="SRC",
        help="with --callgrind: also count the arms with the tether of this source tree",
    )
    parser.add_argument("--single", help=argparse.SUPPRESS)  # baseline:arm:runs, for callgrind
    args = parser.parse_args(argv)
    if args.single:
        baseline, arm, runs = args.single.split(":")
        with tempfile.TemporaryDirectory(prefix="tether-bench-tracing-") as tmp:
            asyncio.run(_one_arm(baseline, arm, int(runs), Path(tmp)))
        return
    if args.callgrind:
        here = str(Path(__file__).resolve().parents[1] / "src")
        sources = [args.against, os.environ.get("PYTHONPATH") or here] if args.against else []
        _print_callgrind(callgrind(sources or [os.environ.get("PYTHONPATH") or here]))
        return
    figures = measure(args.runs, args.rounds)
    print(
        "| baseline | tracing off (µs/run) | jsonl (µs/run) | ratio | overhead (µs/run) "
        "| CPU off (µs/run) | CPU jsonl (µs/run) | CPU ratio | writer wake-ups/run "
        "| calls back/run |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, f in figures.items():
        print(
            f"| {name} | {f['off_us']:.0f} | {f['jsonl_us']:.0f} | {f['ratio']:.3f} | "
            f"{f['overhead_us']:.0f} | {f['off_cpu_us']:.0f} | {f['jsonl_cpu_us']:.0f} | "
            f"{f['cpu_ratio']:.3f} | {f['wakeups_per_run']:.2f} | {_maybe(f['answers_per_run'])} |"
        )


def _maybe(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
