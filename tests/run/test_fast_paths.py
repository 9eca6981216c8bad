"""The in-process run's cheap paths do what the general ones do: events made by slot-filling
factories equal the constructors' events, a tool's int result reads as its JSON, validated
arguments are the argument model's fields, and a run driven to its outcome without the event
loop's async-generator hooks still cleans up when it is cancelled."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
from typing import Annotated, Any

import pytest
from pydantic import Field
from pydantic_core import to_json

from tether import Agent, Runner
from tether.engine._deltas import progress, turn_started
from tether.events import Event, Progress, TurnStarted
from tether.models import FunctionModel
from tether.store import MemoryStore
from tether.tools import Tool, tool_output_to_text


def _every_field(event: Event) -> dict[str, Any]:
    """Every slot of the event (an unset one raises here)."""
    return {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}


def test_turn_event_factories_make_what_the_constructors_make() -> None:
    made = turn_started(2, "bench", "function")
    assert _every_field(made) == _every_field(TurnStarted(turn=2, agent="bench", model="function"))
    assert made.to_dict() == TurnStarted(turn=2, agent="bench", model="function").to_dict()
    shown = progress(50.0, 1, 2, None)
    given = Progress(progress_percent=50.0, turn=1, max_turns=2, cost=None)
    assert _every_field(shown) == _every_field(given)
    assert shown.to_dict() == given.to_dict()


class _Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize("value", [0, 3, -7, 2**63, 2**64 - 1, 2**64, -(2**70), True, _Level.HIGH])
def test_an_int_result_reads_as_its_json(value: int) -> None:
    assert tool_output_to_text(value) == to_json(value).decode()


def test_validated_arguments_are_the_models_fields() -> None:
    def pick(
        a: int, b: Annotated[str, Field(alias="bee")] = "x", c: list[int] | None = None
    ) -> str:
        return f"{a}{b}{c}"

    made = Tool(pick)
    assert made.validate_args({"a": "3", "bee": "y"}) == {"a": 3, "b": "y", "c": None}
    assert made.validate_args({"a": 1, "c": [2]}) == {"a": 1, "b": "x", "c": [2]}


async def test_a_plain_run_leaves_no_async_generator_with_the_loop() -> None:
    loop = asyncio.get_running_loop()
    seen: list[int] = []

    async def look() -> str:
        seen.append(len(loop._asyncgens))  # type: ignore[attr-defined]
        return "ok"

    def answer(messages: list[Any], info: Any) -> Any:
        return "done" if messages[-1].role == "tool" else FunctionModel.tool_call("look")

    agent = Agent("a", model=FunctionModel(answer), tools=[look])
    before = len(loop._asyncgens)  # type: ignore[attr-defined]
    assert (await agent.run("go")).output == "done"
    assert seen == [before]  # the run's drive is not kept in the loop's weak set


async def test_a_cancelled_plain_run_still_ends_and_frees_its_id() -> None:
    started = asyncio.Event()

    async def wait() -> str:
        started.set()
        await asyncio.sleep(30)
        return "late"

    def answer(messages: list[Any], info: Any) -> Any:
        return "done" if messages[-1].role == "tool" else FunctionModel.tool_call("wait")

    store = MemoryStore()
    runner = Runner(store=store, telemetry=None)
    agent = Agent("a", model=FunctionModel(answer), tools=[wait])
    task = asyncio.ensure_future(runner.run(agent, "go", run_id="r-cancelled"))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert "r-cancelled" not in runner._active  # the drive's cleanup ran: the id is free
    events = await store.load("r-cancelled")
    assert events[-1].type == "run_finished"  # and the run's end is recorded
    assert events[-1].state == "interrupted"  # type: ignore[attr-defined]
    bare = Runner(store=None, telemetry=None)
    task = asyncio.ensure_future(bare.run(agent, "go", run_id="r-bare"))
    started.clear()
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not bare._active
