"""A replica that does not serve a run's agent leaves the run to one that does.

The sweeper takes an expired lease before it can read which agent the run belongs to; a replica
serving other agents gave the lease up (deleted it), so no replica ever saw the run expire
again and it stayed ``running`` for good. It now lets the lease stay expired.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tether import Agent, Runner
from tether.models import FakeModel
from tether.server._config import ServerConfig
from tether.server._manager import RunManager
from tether.store import open_store


def _worker(gate: asyncio.Event | None) -> Agent:
    model = FakeModel()
    model.add_tool_call("work", {})
    model.add_response("all done")
    agent = Agent("worker", model=model)

    @agent.tool(idempotent=True)  # cut short by the drain: run again where it goes on
    async def work() -> str:
        """Wait for the gate (the first replica's copy never opens it)."""
        if gate is not None:
            await gate.wait()
        return "worked"

    return agent


def _manager(url: str, agent: Agent, owner: str) -> RunManager:
    runner = Runner(store=open_store(url), telemetry=None, agents=[agent])
    config = ServerConfig(drain_timeout=0.0, sweep_interval=0.0, owner=owner)
    return RunManager(runner, config)


async def test_a_replica_not_serving_the_agent_leaves_the_run_to_one_that_does(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    first = _manager(url, _worker(asyncio.Event()), "first")
    execution, run_id = await first.start(
        first.agent("worker"), "go", run_id=None, thread_id=None, stream=False
    )
    assert execution is not None
    for _ in range(500):  # until the tool waits (its call is checkpointed)
        if (await first.load(run_id)).started:
            break
        await asyncio.sleep(0.01)
    await first.drain()  # stopped at its checkpoint, lease handed over (expired now)

    elsewhere = _manager(url, Agent("other", model=FakeModel()), "elsewhere")
    assert await elsewhere.sweep() == []  # not its agent
    assert await elsewhere.sweep() == []  # and not taken again and again

    serving = _manager(url, _worker(None), "serving")
    assert await serving.sweep() == [run_id]
    taken = serving.live(run_id)
    assert taken is not None and taken.task is not None
    await taken.task
    state = await serving.load(run_id)
    assert state.status == "completed" and state.final_text == "all done"
    for manager in (first, elsewhere, serving):
        await manager.runner.aclose()
