"""pause / resume / cancel / interrupt of a run reach the subagents it is running: a paused run
makes no model call and runs no tool at any depth until resumed, and resuming continues the
subagent where it stood, also once the subagent was continued from the store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tether import Agent, Runner
from tether.events import Event
from tether.messages import TextPart
from tether.models import FakeModel, FunctionModel, ModelRequest, ModelResponse
from tether.models.base import ModelStreamEvent, TextDelta
from tether.store import MemoryStore


class Watch:
    """An exporter (it gets every event of every run, subagents' too) that wakes waiters."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()

    def on_event(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    async def flush(self, run_id: str) -> None:
        return None

    async def first(self, type_: str) -> Event:
        """The first event of ``type_`` of any run, once there is one."""
        while True:
            found = [e for e in self.events if e.type == type_]
            if found:
                return found[0]
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), 10)

    def types(self, run_id: str) -> list[str]:
        return [e.type for e in self.events if e.run_id == run_id]


def _nested(steps: list[str], gate: asyncio.Event, entered: asyncio.Event) -> Agent:
    """``top`` calls subagent ``child``, which calls its tool ``step`` twice, then answers."""
    child_model = FakeModel().add_tool_call("step", {}).add_tool_call("step", {})
    child = Agent("child", model=child_model.add_response("child done"))

    @child.tool
    async def step() -> str:
        """One step of the child's work."""
        steps.append("step")
        entered.set()
        await gate.wait()
        return "stepped"

    top_model = FakeModel().add_tool_call("child", {"input": "work"}).add_response("top done")
    return Agent("top", model=top_model, tools=[child.as_tool()])


async def test_pause_reaches_a_running_subagent_and_resume_continues_it() -> None:
    steps: list[str] = []
    gate, entered = asyncio.Event(), asyncio.Event()
    agent = _nested(steps, gate, entered)
    watch = Watch()
    store = MemoryStore()
    runner = Runner(store=store, telemetry=watch)
    handle = await runner.start(agent, "go")
    await entered.wait()  # the child's first tool call is running
    await handle.pause()
    assert handle.status == "paused"
    gate.set()  # the tool in flight finishes; the child stops at its next step boundary
    paused = await watch.first("run_paused")
    [child_info] = [i for i in await store.list_runs() if i.parent_run_id is not None]
    assert paused.run_id == child_info.run_id  # the child paused, not the parent after it
    for _ in range(20):  # give a child that went on every chance to do so
        await asyncio.sleep(0)
    assert steps == ["step"]
    child = agent.tools_map["child"].subagent
    assert child is not None and child.model.remaining == 2  # type: ignore[union-attr]
    assert handle.status == "paused" and not handle.done()

    await handle.resume()
    result = await handle.result()
    assert (result.state, result.output) == ("completed", "top done")
    assert steps == ["step", "step"]  # where it stood: the second call, once
    child_types = watch.types(child_info.run_id)
    assert child_types.count("run_paused") == 1 and child_types.count("run_resumed") == 1
    stored = [e.type for e in await store.load(child_info.run_id)]
    assert stored[-1] == "run_finished" and (await runner.load_state(child_info.run_id)).status == (
        "completed"
    )


async def test_cancel_while_a_subagent_is_paused_ends_both() -> None:
    steps: list[str] = []
    gate, entered = asyncio.Event(), asyncio.Event()
    agent = _nested(steps, gate, entered)
    watch = Watch()
    store = MemoryStore()
    runner = Runner(store=store, telemetry=watch)
    handle = await runner.start(agent, "go")
    await entered.wait()
    await handle.pause()
    gate.set()
    await watch.first("run_paused")
    await handle.cancel()
    result = await handle.result()
    assert (result.state, result.error_type) == ("cancelled", "RunCancelled")
    assert steps == ["step"]
    [child_info] = [i for i in await store.list_runs() if i.parent_run_id is not None]
    child = await runner.load_state(child_info.run_id)
    assert (child.status, child.error_type) == ("cancelled", "RunCancelled")
    assert child.error == f"its parent run {result.run_id!r} stopped: cancelled by the caller"


class SlowModel:
    """Answers after a minute (unless its call is cut), streamed or not."""

    def __init__(self) -> None:
        self.called = asyncio.Event()
        self.closed = False

    @property
    def name(self) -> str:
        return "slow"

    async def request(self, request: ModelRequest) -> ModelResponse:
        self.called.set()
        try:
            await asyncio.sleep(60)
        finally:
            self.closed = True
        return ModelResponse([TextPart("too late")])

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        yield TextDelta("too late")
        yield await self.request(request)


async def test_interrupt_cuts_the_subagents_model_call_and_leaves_no_task() -> None:
    model = SlowModel()
    child = Agent("child", model=model)
    top_model = FakeModel().add_tool_call("child", {"input": "talk"}).add_response("never")
    store = MemoryStore()
    runner = Runner(store=store, telemetry=None)
    handle = await runner.start(Agent("top", model=top_model, tools=[child.as_tool()]), "go")
    await model.called.wait()
    await handle.interrupt()
    result = await handle.result()
    assert (result.state, result.error_type) == ("interrupted", "RunInterrupted")
    assert model.closed  # the child's model call was cut, not left to run on
    leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftover == []
    [info] = [i for i in await store.list_runs() if i.parent_run_id is not None]
    assert info.status == "interrupted"


async def test_pause_reaches_a_subagent_continued_from_the_store(tmp_path: Path) -> None:
    paid: list[int] = []
    gate, entered = asyncio.Event(), asyncio.Event()
    asked: list[str] = []

    def clerk_answers(messages: list[Any], info: Any) -> Any:
        asked.append(messages[-1].role)
        if messages[-1].role == "user":
            return FunctionModel.tool_call("refund", {"amount": 30})
        return f"clerk: {messages[-1].parts[-1].content}"

    def desk_answers(messages: list[Any], info: Any) -> Any:
        if messages[-1].role == "user":
            return FunctionModel.tool_call("clerk", {"input": messages[-1].text})
        return f"desk: {messages[-1].parts[-1].content}"

    clerk = Agent("clerk", model=FunctionModel(clerk_answers, name="clerk-model"))

    @clerk.tool(needs_approval=True)
    async def refund(amount: int) -> str:
        """Refund an amount."""
        paid.append(amount)
        entered.set()
        await gate.wait()
        return f"refunded {amount}"

    desk = Agent(
        "desk", model=FunctionModel(desk_answers, name="desk-model"), tools=[clerk.as_tool()]
    )
    watch = Watch()
    runner = Runner(store=f"sqlite:///{tmp_path / 'runs.db'}", telemetry=watch)
    handle = await runner.start(desk, "refund my order")
    requested = await anext(e async for e in handle.events if e.type == "approval_requested")
    # the clerk's run waits in the store; approving on the desk continues it from there
    [child_info] = [i for i in await runner.store.list_runs() if i.parent_run_id]  # type: ignore[union-attr]
    assert child_info.status == "awaiting_approval"
    await handle.approve(requested.call_id)  # type: ignore[attr-defined]
    await entered.wait()  # the continued clerk runs the approved refund
    await handle.pause()
    gate.set()
    paused = await watch.first("run_paused")
    assert paused.run_id == child_info.run_id
    for _ in range(20):
        await asyncio.sleep(0)
    assert asked == ["user"]  # the clerk did not ask its model again while paused
    await handle.resume()
    result = await handle.result()
    assert (result.state, result.output) == ("completed", "desk: clerk: refunded 30")
    assert paid == [30] and asked == ["user", "tool"]
    assert (await runner.load_state(child_info.run_id)).status == "completed"
    await runner.aclose()


async def test_pause_reaches_a_subagent_two_levels_down() -> None:
    steps: list[str] = []
    gate, entered = asyncio.Event(), asyncio.Event()
    child = _nested(steps, gate, entered)  # "top" of the helper is the middle run here
    mid = Agent("mid", model=child.model, tools=child.tools)
    top_model = FakeModel().add_tool_call("mid", {"input": "delegate"}).add_response("top done")
    agent = Agent("outer", model=top_model, tools=[mid.as_tool()])
    watch = Watch()
    store = MemoryStore()
    runner = Runner(store=store, telemetry=watch)
    handle = await runner.start(agent, "go")
    await entered.wait()  # the leaf's first tool call is running
    await handle.pause()
    gate.set()
    paused = await watch.first("run_paused")
    runs = {i.run_id: i for i in await store.list_runs()}
    leaf = runs[paused.run_id]
    assert leaf.parent_run_id is not None and runs[leaf.parent_run_id].parent_run_id is not None
    for _ in range(20):
        await asyncio.sleep(0)
    assert steps == ["step"] and not handle.done()
    await handle.resume()
    result = await handle.result()
    assert (result.state, result.output) == ("completed", "top done")
    assert steps == ["step", "step"]
    assert watch.types(leaf.run_id).count("run_resumed") == 1
