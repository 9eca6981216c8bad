"""A subagent's call that waited for an approval decided in the same run (an interactive run:
the call stops, is decided, and starts again in the parent's log) is one span, closed."""

from __future__ import annotations

from typing import Any

from tether import Agent, Runner
from tether.config import RunConfig
from tether.models import FunctionModel
from tether.tracing.spans import build_trace


def _worker_model(messages: list[Any], info: Any) -> Any:
    if messages[-1].role == "user":
        return FunctionModel.tool_call("deploy", {"env": "prod"})
    return "deployed"


def _boss_model(messages: list[Any], info: Any) -> Any:
    if messages[-1].role == "user":
        return FunctionModel.tool_call("ops", {"input": "deploy it"})
    return f"the boss heard: {messages[-1].parts[-1].content}"


async def test_a_subagent_call_that_waited_in_the_run_is_one_closed_span() -> None:
    worker = Agent("worker", model=FunctionModel(_worker_model))

    @worker.tool(needs_approval=True)
    def deploy(env: str) -> str:
        """Deploy (a person approves)."""
        return f"deployed to {env}"

    boss = Agent("boss", model=FunctionModel(_boss_model), tools=[worker.as_tool(name="ops")])
    runner = Runner(store="memory://", telemetry=None)
    handle = await runner.start(
        boss, "go", run_id="boss-run", run_config=RunConfig(interaction_mode="interactive")
    )
    async for event in handle.events:
        if event.type == "approval_requested":
            await handle.approve(event.call_id)  # type: ignore[attr-defined]
    result = await handle.result()
    assert result.state == "completed"
    events = []
    for run in await runner.store.list_runs(limit=10):
        events.extend(await runner.store.load(run.run_id))
    starts = [e for e in events if e.run_id == "boss-run" and e.type == "tool_call_started"]
    assert len(starts) == 2  # the call starts again once the child goes on (by design)
    trace = build_trace(events)
    spans = [span for _, span in trace.walk()]
    unfinished = [s.name for s in spans if s.end is None]
    assert unfinished == []
    ops = [s for s in spans if s.run_id == "boss-run" and s.attributes.get("tool_name") == "ops"]
    assert len(ops) == 1 and ops[0].status == "ok"
