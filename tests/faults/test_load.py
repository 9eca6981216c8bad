"""Load, bounded to fit the suite: many concurrent runs on one store, none lost or doubled."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from tether import Agent, Runner
from tether.messages import Message
from tether.models import FunctionModel
from tether.models.base import ModelResponse
from tether.store import Store

RUNS = 200


def counting_agent(calls: Counter[str]) -> Agent:
    def answer(messages: list[Message], info: object) -> ModelResponse | str:
        last = messages[-1]
        if last.role == "user":
            key = last.parts[0].text  # type: ignore[union-attr]
            return FunctionModel.tool_call("tally", {"key": key})
        return "counted"

    bot = Agent("counter", model=FunctionModel(answer))

    @bot.tool
    async def tally(key: str) -> str:
        """Count one call of this key."""
        calls[key] += 1
        await asyncio.sleep(0)
        return key

    return bot


async def test_many_concurrent_runs_on_one_store(sql_store: Store) -> None:
    calls: Counter[str] = Counter()
    runner = Runner(store=sql_store, telemetry=None, max_concurrency=RUNS)
    bot = counting_agent(calls)
    started = time.monotonic()
    results = await asyncio.gather(
        *(runner.run(bot, f"k{i}", run_id=f"load-{i}") for i in range(RUNS))
    )
    elapsed = time.monotonic() - started
    assert [r.state for r in results] == ["completed"] * RUNS
    assert calls == Counter({f"k{i}": 1 for i in range(RUNS)})  # no tool ran twice
    infos = await sql_store.list_runs(limit=RUNS * 2)
    assert sorted(i.run_id for i in infos) == sorted(f"load-{i}" for i in range(RUNS))
    assert {i.status for i in infos} == {"completed"}
    for i in (0, RUNS // 2, RUNS - 1):
        events = await sql_store.load(f"load-{i}")
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert sum(e.type == "tool_call_finished" for e in events) == 1
    assert elapsed < 60
