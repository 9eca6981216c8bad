"""Checkpoint cost: the same run with no store, a SQLite store and a PostgreSQL store.

One run = prompt -> the model asks for ``add(1, 2)`` -> the tool runs -> the model answers "3"
(an in-process FakeModel, so the framework and the store are all that is measured). A run
checkpoints 4 times: the start; the model response with the call's tool_call_started; the
call's end; the answer with run_finished (a model response has no write of its own: it goes
with the next one, which comes before anything acts on it; 6 writes before issue #22's round
four). The cost of one checkpoint is (run with the store - run without) / checkpoints per run
(counted, not assumed, so the figure stays right for either count). Arms are
interleaved in rounds (every other round in reverse order) so machine drift is shared; a
ratio is the median over rounds of the arm's time over the store-less run's in that round,
and a per-checkpoint cost the median of the rounds' differences (paired: steadier than a
ratio of medians on a shared machine).

A second scenario runs ``--concurrency`` runs at once (each on an agent of its own), where the
SQLite writer commits the checkpoints that arrive together in one transaction (group commit);
its figure is wall time per run, and how many checkpoints one transaction carried on average.
One run at a time, the share of SQLite commits made on the event loop (the rest went to the
writer thread: a background WAL checkpoint under way, or a WAL restart due) is reported too.

SQLite runs in WAL mode with ``synchronous=NORMAL`` (the default: a step survives the process
dying, not a power cut). The arm ``sqlite_thread`` is the same store with every commit made on
its writer thread (as before appends were committed on the event loop), side by side.
PostgreSQL is the test server of scripts/services.sh, or
``$TETHER_BENCH_POSTGRES_URL`` / ``$TETHER_TEST_POSTGRES_URL``; that throwaway server runs with
``fsync=off``, so its figure is the round trip and the server's work, not a disk flush.

``python bench/bench_checkpoint.py [--runs N] [--rounds R] [--quick]``; bench/run.py calls
:func:`figures`, and :func:`measure` returns everything.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tether import Agent, Runner
from tether.events import Event
from tether.models import FakeModel
from tether.store import Store
from tether.store.sqlite import SQLiteStore

DEFAULT_PG_URL = "postgresql://tether:tether@127.0.0.1:54329/tether_test"


def _agent() -> Agent:
    agent = Agent("calc", model=FakeModel())

    @agent.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return agent


class _Counting:
    """A store wrapper that counts appends (used once, outside the timed runs)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.appends = 0

    async def append(self, run_id: str, events: Sequence[Event]) -> None:
        self.appends += 1
        await self.inner.append(run_id, events)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


_CPU: dict[int, list[float]] = {}  # id(runner) -> CPU microseconds per run, per round


async def _per_run_us(runner: Runner, agent: Agent, runs: int) -> float:
    """Wall time per run; the process's CPU time per run (all threads) goes to ``_CPU``."""
    model = agent.model
    assert isinstance(model, FakeModel)
    for _ in range(runs):
        model.add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(runs):
        await runner.run(agent, "1+2?")
    _CPU.setdefault(id(runner), []).append((time.process_time() - cpu) / runs * 1e6)
    return (time.perf_counter() - started) / runs * 1e6


async def _burst_us(runner: Runner, agents: list[Agent], bursts: int) -> float:
    """Wall time per run with ``len(agents)`` runs at once, ``bursts`` times over."""
    for agent in agents:
        model = agent.model
        assert isinstance(model, FakeModel)
        for _ in range(bursts):
            model.add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
    started = time.perf_counter()
    for _ in range(bursts):
        await asyncio.gather(*(runner.run(agent, "1+2?") for agent in agents))
    return (time.perf_counter() - started) / (bursts * len(agents)) * 1e6


async def _postgres(url: str) -> tuple[Store | None, str]:
    try:
        from tether.store.postgres import PostgresStore
    except ImportError:
        return None, "psycopg is not installed (pip install 'tether[postgres]')"
    store = PostgresStore(url, schema=f"tether_bench_{uuid.uuid4().hex[:8]}")
    try:
        await store.list_runs(limit=1)
    except Exception as exc:
        await store.close()
        return None, f"PostgreSQL not reachable at {url.split('@')[-1]}: {exc}"
    return store, ""


async def _drop(store: Store) -> None:
    import psycopg

    url, schema = store.url, store.schema  # type: ignore[attr-defined]
    await store.close()
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def _measure(
    runs: int, rounds: int, directory: Path, pg_url: str, concurrency: int
) -> dict[str, Any]:
    agent = _agent()
    crowd = [_agent() for _ in range(concurrency)]
    stores: dict[str, Store | None] = {"none": None, "sqlite": SQLiteStore(directory / "b.db")}
    on_thread = SQLiteStore(directory / "t.db")
    if hasattr(on_thread.worker, "_on_loop_now"):  # a tether that commits on the loop
        on_thread.worker._on_loop_now = lambda: False  # type: ignore[method-assign]
        stores["sqlite_thread"] = on_thread
    postgres, note = await _postgres(pg_url)
    if postgres is not None:
        stores["postgres"] = postgres
    runners = {name: Runner(store=store) for name, store in stores.items()}
    # checkpoints per run, counted once
    counting = _Counting(SQLiteStore(directory / "count.db"))
    await _per_run_us(Runner(store=counting), agent, 1)  # type: ignore[arg-type]
    await counting.inner.close()
    for runner in runners.values():  # warm up: schemas, connections, prepared statements
        await _per_run_us(runner, agent, 20)
    bursts = max(1, runs // concurrency)
    for runner in runners.values():
        await _burst_us(runner, crowd, 1)
    samples: dict[str, list[float]] = {name: [] for name in runners}
    crowded: dict[str, list[float]] = {name: [] for name in runners}
    sqlite_worker = stores["sqlite"].worker  # type: ignore[union-attr]
    grouped = [0, 0]  # appends and transactions of the SQLite store during the bursts
    alone = [0, 0]  # the SQLite store's commits one run at a time: all, and those on the loop
    for turn in range(rounds):
        # every other round in reverse: no arm always runs first (or right after another)
        order = list(runners.items()) if turn % 2 == 0 else list(runners.items())[::-1]
        for name, runner in order:
            commits = (
                getattr(sqlite_worker, "_commits", 0),
                getattr(sqlite_worker, "loop_commits", 0),
            )
            samples[name].append(await _per_run_us(runner, agent, runs))
            if name == "sqlite":
                alone[0] += getattr(sqlite_worker, "_commits", 0) - commits[0]
                alone[1] += getattr(sqlite_worker, "loop_commits", 0) - commits[1]
        for name, runner in order:
            commits = getattr(sqlite_worker, "_commits", 0)  # older tethers: no count
            crowded[name].append(await _burst_us(runner, crowd, bursts))
            if name == "sqlite":
                grouped[0] += bursts * concurrency * counting.appends
                grouped[1] += getattr(sqlite_worker, "_commits", 0) - commits
    out: dict[str, Any] = {
        "runs": runs,
        "rounds": rounds,
        "concurrency": concurrency,
        "checkpoints_per_run": counting.appends,
        "postgres_note": note,
        # None: a tether whose SQLite store does not count its transactions
        "sqlite_checkpoints_per_transaction": grouped[0] / grouped[1] if grouped[1] else None,
        # None: a tether that commits nothing on the loop (or does not count it)
        "sqlite_loop_commit_share": alone[1] / alone[0] if alone[0] and alone[1] else None,
    }
    crowd_base = statistics.median(crowded["none"])
    out["concurrent_none_us_per_run"] = crowd_base
    for name in _STORES:
        if name in crowded:
            per_run = statistics.median(crowded[name])
            out[f"concurrent_{name}_us_per_run"] = per_run
            out[f"concurrent_{name}_x_no_store"] = _paired(crowded[name], crowded["none"])
    base = statistics.median(samples["none"])
    out["none_us_per_run"] = base
    # CPU per run (the process, all threads: the writer's too), the last `rounds` samples;
    # steadier than wall time on a busy machine, blind to time spent waiting for the disk.
    cpu = {name: statistics.median(_CPU[id(r)][-rounds:]) for name, r in runners.items()}
    out["none_cpu_us_per_run"] = cpu["none"]
    for name in _STORES:
        if name in cpu:
            out[f"{name}_cpu_us_per_run"] = cpu[name]
            out[f"{name}_cpu_x_no_store"] = cpu[name] / cpu["none"]
    for name in _STORES:
        if name not in samples:
            continue
        per_run = statistics.median(samples[name])
        out[f"{name}_us_per_run"] = per_run
        extra = [arm - none for arm, none in zip(samples[name], samples["none"], strict=True)]
        out[f"{name}_us_per_checkpoint"] = statistics.median(extra) / counting.appends
        out[f"{name}_x_no_store"] = _paired(samples[name], samples["none"])
    await stores["sqlite"].close()  # type: ignore[union-attr]
    await on_thread.close()
    if postgres is not None:
        await _drop(postgres)
    return out


_STORES = ("sqlite", "sqlite_thread", "postgres")


def _paired(arm: list[float], none: list[float]) -> float:
    """The median over rounds of the arm's time over the store-less run's in the same round
    (a round's arms run back to back, so what slows the machine then slows both)."""
    return statistics.median(a / b for a, b in zip(arm, none, strict=True))


def measure(
    runs: int = 300, rounds: int = 5, pg_url: str | None = None, concurrency: int = 32
) -> dict[str, Any]:
    """Per-run and per-checkpoint costs (microseconds) with no store, SQLite and PostgreSQL,
    run after run and ``concurrency`` runs at once."""
    url = pg_url or os.environ.get(
        "TETHER_BENCH_POSTGRES_URL", os.environ.get("TETHER_TEST_POSTGRES_URL", DEFAULT_PG_URL)
    )
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_measure(runs, rounds, Path(tmp), url, concurrency))


def figures(quick: bool = False) -> dict[str, float]:
    """Rows for bench/run.py: each store's run time as a ratio to a run without a store."""
    result = measure(runs=100 if quick else 300, rounds=3 if quick else 5)
    rows = {"checkpointing: run with SQLite store (x no store)": result["sqlite_x_no_store"]}
    if "sqlite_thread_x_no_store" in result:
        rows["checkpointing: SQLite, every commit on the writer thread (x no store)"] = result[
            "sqlite_thread_x_no_store"
        ]
    if "postgres_x_no_store" in result:
        rows["checkpointing: run with PostgreSQL store (x no store)"] = result[
            "postgres_x_no_store"
        ]
    rows[f"checkpointing: {result['concurrency']} runs at once, SQLite (x no store)"] = result[
        "concurrent_sqlite_x_no_store"
    ]
    if "concurrent_postgres_x_no_store" in result:
        rows[f"checkpointing: {result['concurrency']} runs at once, PostgreSQL (x no store)"] = (
            result["concurrent_postgres_x_no_store"]
        )
    return rows


def report(result: dict[str, Any]) -> str:
    """The figures as a small table."""
    lines = [
        f"one run = prompt, add(1, 2), answer: {result['checkpoints_per_run']} checkpoints; "
        f"median of {result['rounds']} rounds x {result['runs']} runs",
        f"{'store':<15}{'us per run':>12}{'x no store':>12}{'us per checkpoint':>20}",
        f"{'none':<15}{result['none_us_per_run']:>12.0f}{1.0:>12.2f}{'-':>20}",
    ]
    for name in _STORES:
        if f"{name}_us_per_run" in result:
            lines.append(
                f"{name:<15}{result[f'{name}_us_per_run']:>12.0f}"
                f"{result[f'{name}_x_no_store']:>12.2f}"
                f"{result[f'{name}_us_per_checkpoint']:>20.0f}"
            )
    lines.append(
        "CPU per run (us, the process): none "
        + f"{result['none_cpu_us_per_run']:.0f}"
        + "".join(
            f", {name} {result[f'{name}_cpu_us_per_run']:.0f} "
            f"({result[f'{name}_cpu_x_no_store']:.2f}x)"
            for name in _STORES
            if f"{name}_cpu_us_per_run" in result
        )
    )
    lines.append(
        f"{result['concurrency']} runs at once (us per run, wall): "
        f"none {result['concurrent_none_us_per_run']:.0f}"
    )
    for name in _STORES:
        if f"concurrent_{name}_us_per_run" in result:
            lines[-1] += (
                f", {name} {result[f'concurrent_{name}_us_per_run']:.0f} "
                f"({result[f'concurrent_{name}_x_no_store']:.2f}x)"
            )
    per_transaction = result["sqlite_checkpoints_per_transaction"]
    if per_transaction is not None:
        lines.append(
            f"SQLite checkpoints per transaction (group commit) at once: {per_transaction:.1f}"
        )
    share = result.get("sqlite_loop_commit_share")
    if share is not None:
        lines.append(f"SQLite commits made on the event loop, one run at a time: {share:.1%}")
    if result["postgres_note"]:
        lines.append(f"postgres: {result['postgres_note']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the checkpoint costs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32, help="runs at once")
    parser.add_argument("--quick", action="store_true", help="fewer runs (seconds)")
    args = parser.parse_args(argv)
    runs, rounds = (100, 3) if args.quick else (args.runs, args.rounds)
    print(report(measure(runs=runs, rounds=rounds, concurrency=args.concurrency)))


if __name__ == "__main__":
    main()
