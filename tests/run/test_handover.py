"""The loop's hand-over to drive(): events reach the consumers before the run acts or waits,
a consumer that stops cancels the run where it stands, a cancelled caller cancels the run."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest

from tether import Agent, Context, Runner
from tether.guardrails import input_guardrail
from tether.models import FakeModel


def _leftover_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


async def test_a_stream_stopped_at_turn_started_never_asks_the_model() -> None:
    model = FakeModel().add_response("never")
    seen: list[str] = []
    async with aclosing(Agent("a", model=model).run_stream("go")) as stream:
        async for event in stream:
            seen.append(event.type)
            if event.type == "turn_started":
                break
    assert seen == ["run_started", "turn_started"]
    assert model.requests == []  # handed out before the model call, so it never came


async def test_a_stream_stopped_while_the_run_waits_cancels_what_it_waits_on() -> None:
    """run_started is handed out when the input guardrail first waits; stopping there cancels
    the guardrail's wait (no hang, no task left behind) and the model is never asked."""
    cancelled = asyncio.Event()

    @input_guardrail
    async def slow(ctx: Context[None], text: str) -> bool:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return False

    model = FakeModel().add_response("never")
    agent = Agent("a", model=model, input_guardrails=[slow])
    async with asyncio.timeout(5):
        async with aclosing(agent.run_stream("go")) as stream:
            async for event in stream:
                assert event.type == "run_started"
                break
    assert cancelled.is_set()
    assert model.requests == []
    assert _leftover_tasks() == []


async def test_cancelling_the_caller_cancels_the_tool_it_waits_on() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()
    model = FakeModel().add_tool_call("wait", {}).add_response("never")
    agent = Agent("a", model=model)

    @agent.tool
    async def wait() -> str:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "done"

    runner = Runner(store=None, telemetry=None)
    task = asyncio.create_task(runner.run(agent, "go"))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled.is_set()
    assert model.remaining == 1  # the answer after the tool was never asked for


async def test_a_handle_sees_each_event_before_the_run_waits_for_a_person() -> None:
    model = FakeModel().add_tool_call("delete", {}).add_response("deleted")
    agent = Agent("a", model=model)

    @agent.tool(needs_approval=True)
    async def delete() -> str:
        return "gone"

    handle = await Runner(store=None, telemetry=None).start(agent, "go")
    async with asyncio.timeout(5):
        async for event in handle.events:
            if event.type == "approval_requested":
                assert handle.status == "awaiting_approval"
                await handle.approve(event.call_id)
    result = await handle.result()
    assert result.output == "deleted"
    assert [r.output for r in result.tool_executions] == ["gone"]
