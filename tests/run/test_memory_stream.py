"""The test models' stream (MemoryStream) and the streaming turn's cheap paths: a run streamed
from memory shows its consumer exactly what a provider's stream of the same items shows."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import warnings
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest

from tether import Agent, Runner
from tether.engine._deltas import text_delta, tool_call_delta
from tether.events import Event, TextDeltaEvent, ToolCallDeltaEvent
from tether.messages import TextPart, ToolCallPart
from tether.models import FakeModel, FunctionModel, TestModel
from tether.models._memory_stream import MemoryStream
from tether.models.base import (
    ModelRequest,
    ModelResponse,
    ModelStreamEvent,
    TextDelta,
    ToolCallDelta,
    _call_delta,
    _text_delta,
    stream_items,
)


def _fields(event: Event) -> dict[str, Any]:
    """Every field of the event (an unset slot fails here), less those of the moment."""
    data = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    del data["at"], data["run_id"]
    data.pop("latency_ms", None)
    return {"type": event.type, **data}


def test_delta_factories_make_what_the_constructors_make() -> None:
    made = text_delta("r1", 4, 12.5, "hi ", 2)
    assert made == TextDeltaEvent(run_id="r1", seq=4, at=12.5, delta="hi ", turn=2)
    assert made.to_dict()["delta"] == "hi " and not made.durable
    first = tool_call_delta("r1", 5, 13.0, ToolCallDelta(1, "call_1", "add", '{"a"'), 3)
    assert first == ToolCallDeltaEvent(
        run_id="r1",
        seq=5,
        at=13.0,
        index=1,
        call_id="call_1",
        tool_name="add",
        delta='{"a"',
        turn=3,
    )
    later = tool_call_delta("r1", 6, 13.5, ToolCallDelta(1, arguments="}"), 3)
    assert dataclasses.asdict(later) == dataclasses.asdict(
        ToolCallDeltaEvent(run_id="r1", seq=6, at=13.5, index=1, delta="}", turn=3)
    )  # every field set, none left to a default the factory does not know


def test_model_delta_factories_make_what_the_constructors_make() -> None:
    assert _text_delta("a ") == TextDelta("a ")
    assert _call_delta(1, "c", "add", "{") == ToolCallDelta(1, "c", "add", "{")
    assert dataclasses.astuple(_call_delta(2)) == dataclasses.astuple(ToolCallDelta(2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        _text_delta("a").text = "b"  # type: ignore[misc]


def test_stream_items_are_words_then_calls_in_two_pieces() -> None:
    answer = ModelResponse(
        [TextPart("one two  three"), ToolCallPart("c1", "add", '{"a": 1}'), TextPart("")]
    )
    items = list(stream_items(answer))
    assert all(type(i) in (TextDelta, ToolCallDelta) for i in items[:-1])
    assert [i.text for i in items if isinstance(i, TextDelta)] == ["one ", "two ", " ", "three", ""]
    assert items[-3:] == [
        ToolCallDelta(0, "c1", "add", '{"a"'),
        ToolCallDelta(0, arguments=": 1}"),
        answer,
    ]


class _Provider:
    """The same answers, streamed the way a provider streams: an async generator that waits
    on the event loop between items."""

    def __init__(self, inner: FakeModel) -> None:
        self.inner = inner
        self.name = inner.name

    async def request(self, request: ModelRequest) -> Any:
        return await self.inner.request(request)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        response = await self.inner.request(request)
        for item in stream_items(response):
            await asyncio.sleep(0)
            yield item


def _scripted() -> FakeModel:
    model = FakeModel()
    return model.add_tool_call("add", {"a": 1, "b": 2}).add_response("the sum is 3")


def _agent(model: Any) -> Agent:
    agent = Agent("calc", model=model)

    @agent.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return agent


async def test_a_run_streamed_from_memory_shows_what_a_provider_stream_shows() -> None:
    memory = [_fields(ev) async for ev in _agent(_scripted()).run_stream("1+2?")]
    provider = [_fields(ev) async for ev in _agent(_Provider(_scripted())).run_stream("1+2?")]
    for events in (memory, provider):  # the results carry run ids: compare what they say
        finished = events[-1].pop("result")
        assert (finished.output, finished.state) == ("the sum is 3", "completed")
    assert memory == provider
    types = [ev["type"] for ev in memory]
    assert types.count("tool_call_delta") == 2 and types.count("text_delta") == 4
    assert [ev["seq"] for ev in memory] == list(range(1, len(memory) + 1))


async def test_stopping_at_a_delta_streamed_from_memory_runs_no_tool() -> None:
    model = _scripted()
    ran = []
    agent = Agent("calc", model=model)

    @agent.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        ran.append((a, b))
        return a + b

    async with aclosing(agent.run_stream("1+2?")) as stream:
        async for event in stream:
            if event.type == "tool_call_delta":
                break
    assert ran == []
    assert model.remaining == 1  # the answer after the tool was never asked for


async def test_stored_stream_keeps_no_delta(tmp_path: Path) -> None:
    runner = Runner(store=f"sqlite:///{tmp_path / 'runs.db'}", telemetry=None)
    try:
        seen = [ev async for ev in runner.run_stream(_agent(_scripted()), "1+2?")]
        stored = await runner.store.load(seen[0].run_id)  # type: ignore[union-attr]
    finally:
        await runner.aclose()
    durable = [ev for ev in seen if ev.durable]
    assert [(ev.type, ev.seq) for ev in stored] == [(ev.type, ev.seq) for ev in durable]
    assert len(seen) - len(durable) == 6  # the deltas reached the consumer alone


def _request() -> ModelRequest:
    from tether.messages import Message

    return ModelRequest(messages=[Message.user("1+2?")])


@pytest.mark.parametrize("make", [FakeModel, TestModel])
async def test_memory_stream_iterated_by_hand(make: Any) -> None:
    model = make() if make is TestModel else make().add_response("one two")
    stream = model.stream(_request())
    assert type(stream) is MemoryStream
    items = [item async for item in stream]
    assert items == list(stream_items(items[-1]))
    assert items[-1].text in ("one two", "success (no tool calls)")
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()
    await stream.aclose()  # closing a finished stream is fine


async def test_memory_stream_closed_before_its_first_item_never_asks() -> None:
    model = FunctionModel(lambda messages, info: pytest.fail("asked"))
    stream = model.stream(_request())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine was never awaited" would be an error
        await stream.aclose()
        gc.collect()
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()


async def test_memory_stream_error_comes_from_the_first_item() -> None:
    model = FakeModel().add_error(RuntimeError("down"))
    stream = model.stream(_request())
    with pytest.raises(RuntimeError, match="down"):
        await stream.__anext__()
    await stream.aclose()
