"""run_stream: every event, typed and JSON-serializable, as it happens; early stop cancels."""

from __future__ import annotations

import asyncio
import json
from contextlib import aclosing

import pytest

from tether import Agent, RunConfig
from tether.events import RunFinished
from tether.models import FakeModel, FunctionModel
from tether.models.testing import AgentInfo


def _calculator(model: FakeModel) -> Agent:
    agent = Agent("calc", model=model)

    @agent.tool
    async def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return agent


async def test_stream_yields_the_whole_log_in_order() -> None:
    model = FakeModel()
    model.add_tool_call("add", {"a": 1, "b": 2}).add_response("the sum is 3")
    events = [ev async for ev in _calculator(model).run_stream("1+2?")]

    types = [ev.type for ev in events]
    assert types[0] == "run_started"
    assert types[-1] == "run_finished"
    assert types.count("turn_started") == 2
    assert types.count("progress") == 3  # one per turn, and 100% at run_finished
    assert types.index("tool_call_started") < types.index("tool_call_finished")
    assert [ev.seq for ev in events] == list(range(1, len(events) + 1))
    assert "".join(ev.delta for ev in events if ev.type == "text_delta") == "the sum is 3"
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert finished.result.output == "the sum is 3"
    tool_done = next(ev for ev in events if ev.type == "tool_call_finished")
    assert (tool_done.call_id, tool_done.tool_name, tool_done.args, tool_done.output) == (
        "call_1_0",
        "add",
        {"a": 1, "b": 2},
        3,
    )
    assert tool_done.error is None and tool_done.latency_ms >= 0
    for ev in events:
        json.dumps(ev.to_dict())  # every event is JSON-serializable
        assert ev.run_id == finished.run_id and ev.at > 0


async def test_progress_reports_turns_and_cost() -> None:
    model = FakeModel(cost_per_call=0.25)
    model.add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
    agent = _calculator(model)
    progress = [
        ev
        async for ev in agent.run_stream("go", run_config=RunConfig(max_turns=4))
        if ev.type == "progress"
    ]
    assert [(p.turn, p.max_turns, p.progress_percent, p.cost) for p in progress] == [
        (1, 4, 25.0, 0.25),
        (2, 4, 50.0, 0.5),
        (2, 4, 100.0, 0.5),
    ]


async def test_text_deltas_arrive_before_the_model_response() -> None:
    def answer(messages: list, info: AgentInfo) -> str:
        return "one two three"

    agent = Agent("talker", model=FunctionModel(answer))
    types = [ev.type async for ev in agent.run_stream("hi")]
    first_delta = types.index("text_delta")
    assert first_delta < types.index("model_response")
    assert types.count("text_delta") == 3


async def test_failed_run_is_reported_not_raised() -> None:
    model = FakeModel()  # empty script: the first model call fails
    agent = Agent("broken", model=model)
    events = [ev async for ev in agent.run_stream("hi")]
    result = events[-1].result
    assert result.state == "failed"
    assert result.error_type == "UserError"
    assert "no scripted response left for turn 1" in (result.error or "")


async def test_stopping_early_cancels_the_run_cleanly() -> None:
    model = FakeModel()
    model.add_tool_calls([("quick", {}), ("wait", {})]).add_response("never")
    agent = Agent("waiter", model=model)
    cancelled = 0

    @agent.tool
    async def quick() -> str:
        return "quick"

    @agent.tool
    async def wait() -> str:
        nonlocal cancelled
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled += 1
            raise
        return "done"

    async with aclosing(agent.run_stream("go")) as stream:
        async for event in stream:
            if event.type == "tool_call_finished":
                assert event.tool_name == "quick"
                break  # `wait` is still running in its task
    assert cancelled == 1
    leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftover == []
    assert model.remaining == 1  # the final answer was never requested


async def test_abandoned_stream_is_finalized_without_warnings() -> None:
    model = FakeModel()
    model.add_response("a b c")
    stream = Agent("a", model=model).run_stream("x")
    first = await stream.__anext__()
    assert first.type == "run_started"
    del stream  # dropped without aclose: the event loop's finalizer closes it
    for _ in range(3):
        await asyncio.sleep(0)


@pytest.mark.parametrize("streaming", [False, True])
async def test_stream_and_run_fold_to_the_same_result(streaming: bool) -> None:
    model = FakeModel()
    model.add_tool_call("add", {"a": 2, "b": 2}).add_response("4")
    agent = _calculator(model)
    if streaming:
        result = [ev async for ev in agent.run_stream("2+2")][-1].result
    else:
        result = await agent.run("2+2")
    assert (result.output, result.state, result.usage.requests, len(result.new_messages)) == (
        "4",
        "completed",
        2,
        4,
    )  # input, call, result, answer
