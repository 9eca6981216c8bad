"""Deferred tools: a tool answers with a ticket; the result is delivered later."""

from __future__ import annotations

import pytest

from tether import Agent, Deferred, Runner, UserError
from tether.models import FakeModel


def _render_agent(model: FakeModel) -> Agent:
    agent = Agent("studio", model=model)

    @agent.tool
    def render(scene: str) -> Deferred:
        """Start a long render job."""
        return Deferred(ticket=f"job-{scene}", message="rendering in the background")

    @agent.tool
    def quick(x: int) -> int:
        return x * 2

    return agent


async def test_interactive_run_waits_for_the_result() -> None:
    model = FakeModel()
    model.add_tool_calls([("render", {"scene": "intro"}), ("quick", {"x": 4})])
    model.add_response("rendered, and 8")
    handle = await _render_agent(model).start("render the intro")
    async for event in handle.events:
        if event.type == "tool_call_deferred":
            assert event.ticket == "job-intro"
            assert handle.deferred == {event.call_id: "job-intro"}
        if event.type == "tool_call_finished" and event.tool_name == "quick":
            # the rest of the turn went on; now the job finishes
            await handle.resolve("call_1_0", {"frames": 240})
    result = await handle.result()
    assert result.state == "completed"
    outputs = {r.tool_name: r.output for r in result.tool_executions}
    assert outputs == {"quick": 8, "render": {"frames": 240}}
    tool_message = model.requests[1].messages[-1]
    assert [r.content for r in tool_message.tool_results] == ['{"frames":240}', "8"]


async def test_headless_run_suspends_until_every_result_is_delivered() -> None:
    model = FakeModel()
    model.add_tool_calls([("render", {"scene": "a"}), ("render", {"scene": "b"})])
    store_url = "memory://"
    runner = Runner(store=store_url)
    agent = runner.register_agent(_render_agent(model))
    first = await runner.run(agent, "render a and b")
    assert first.state == "awaiting_deferred"
    assert first.deferred == {"call_1_0": "job-a", "call_1_1": "job-b"}

    with pytest.raises(UserError, match="no deferred call 'nope'"):
        await runner.resolve_deferred(first.run_id, "nope", 1)
    partial = await runner.resolve_deferred(first.run_id, "call_1_0", "a done")
    assert partial.state == "awaiting_deferred"
    assert partial.deferred == {"call_1_1": "job-b"}
    model.add_response("both rendered")
    done = await runner.resolve_deferred(first.run_id, "call_1_1", RuntimeError("GPU on fire"))
    assert done.state == "degraded"
    assert done.output == "both rendered"
    assert [(r.tool_name, r.success) for r in done.tool_executions] == [
        ("render", True),
        ("render", False),
    ]
    assert "RuntimeError: GPU on fire" in model.requests[-1].messages[-1].tool_results[1].content


async def test_resolve_unknown_call_on_a_handle() -> None:
    model = FakeModel().add_response("nothing deferred")
    handle = await Agent("a", model=model).start("hi")
    await handle.result()
    with pytest.raises(UserError, match="no deferred call"):
        await handle.resolve("x", 1)
