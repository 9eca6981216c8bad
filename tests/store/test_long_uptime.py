"""Memory stays flat over a long uptime: after thousands of runs on one Runner (SQLite store,
JSONL tracing) no per-run structure survives its run, whichever way the run was driven.

Counted, not timed: the live objects of every type before and after, and weak references to
each run's handle. bench/bench_uptime.py measures the RSS of 10,000 runs.
"""

from __future__ import annotations

import gc
import weakref
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tether import Agent, Runner
from tether.models import FakeModel
from tether.store.sqlite import SQLiteStore
from tether.tracing.jsonl import JsonlExporter

RUNS = 2_000


@pytest.fixture
def calc_agent() -> Agent:
    """Built outside the event loop (the first Agent of a process imports lazily)."""
    agent = Agent("calc", model=FakeModel())

    @agent.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return agent


def _live_types() -> Counter[str]:
    gc.collect()
    return Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())


async def _one(runner: Runner, agent: Agent, i: int, refs: list[weakref.ref[Any]]) -> None:
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
        assert result is not None
    else:
        handle = await runner.start(agent, f"{i}+1?")
        result = await handle.result()
        refs.append(weakref.ref(handle))
    assert result.output == str(i + 1)
    model.requests.clear()  # the fake model keeps every request it was sent, for tests


async def test_no_per_run_structure_survives_thousands_of_runs(
    tmp_path: Path, calc_agent: Agent
) -> None:
    store = SQLiteStore(tmp_path / "runs.db")
    runner = Runner(store=store, telemetry=JsonlExporter(tmp_path / "traces"))
    agent = calc_agent
    refs: list[weakref.ref[Any]] = []
    for i in range(60):  # warm-up: caches, statements, pools, the writer threads
        await _one(runner, agent, i, refs)
    before = _live_types()
    refs.clear()
    for i in range(RUNS):
        await _one(runner, agent, i, refs)
    after = _live_types()
    # A structure kept per run grows by about RUNS (or RUNS / 3 for one way of driving runs);
    # what is shared or bounded grows by a few at most.
    grown = {t: n - before[t] for t, n in after.items() if n - before[t] >= RUNS // 10}
    grown.pop("weakref.ReferenceType", None)  # this test's own, in refs
    assert grown == {}
    alive = [r for r in refs if r() is not None]
    assert alive == []
    # and the runs are all there
    assert len(await store.list_runs(limit=RUNS + 100)) == RUNS + 60
    await runner.aclose()
    await store.close()
