"""A published DBOS run's model deltas reach a reader of the workflow's stream token by token, while
the model step still runs, once each and in the run's order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dbos import DBOS, SetWorkflowID

from tether import Agent
from tether.durable import DBOSDurability
from tether.messages import TextPart
from tether.models.base import ModelRequest, ModelResponse, ModelStreamEvent, TextDelta

reader_saw_a_delta = asyncio.Event()


class Talker:
    """Streams "Hel", waits (at most 20 s) until the stream's reader has seen it, then "lo"."""

    name = "talker"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Not used: the run streams."""
        raise AssertionError("the run was expected to stream")

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """The two deltas, the second only once the first reached the reader."""
        yield TextDelta("Hel")
        try:
            await asyncio.wait_for(reader_saw_a_delta.wait(), 20)
            second = "lo"
        except TimeoutError:
            second = "lo (the reader saw nothing while the step ran)"
        yield TextDelta(second)
        yield ModelResponse([TextPart("Hel" + second)], model_name="talker", finish_reason="stop")


talker = Agent("talker", model=Talker())  # type: ignore[arg-type]
durable = DBOSDurability()


@DBOS.workflow()
async def talking_workflow(question: str) -> str:
    """One published run."""
    return str((await durable.run_published(talker, question, "events")).output)


@pytest.fixture(autouse=True)
def _dbos(dbos_folder: Path) -> None:
    """DBOS, launched once for tests/durable (conftest.py)."""


async def test_deltas_reach_the_reader_while_the_model_step_runs() -> None:
    reader_saw_a_delta.clear()
    with SetWorkflowID("talk-1"):
        handle = await DBOS.start_workflow_async(talking_workflow, "say hello")
    seen = []
    async for event in DBOS.read_stream_async(
        "talk-1", "events", polling_interval_sec=0.05, timeout_seconds=30
    ):
        seen.append(event)
        if event.type == "text_delta":  # the model waits for this before its second delta
            reader_saw_a_delta.set()
    assert await handle.get_result() == "Hello", seen[-1]
    types = [e.type for e in seen]
    deltas = [e for e in seen if e.type == "text_delta"]
    assert [d.delta for d in deltas] == ["Hel", "lo"]  # each once, none repeated at the end
    assert {(d.run_id, d.turn) for d in deltas} == {("talk-1", 1)}
    start, response = types.index("turn_started"), types.index("model_response")
    assert start < types.index("text_delta") < response  # in the run's order
    assert types[0] == "run_started" and types[-1] == "run_finished"
    steps = [s["function_name"] for s in await DBOS.list_workflow_steps_async("talk-1")]
    assert steps.count("tether.talker.model") == 1
    assert steps.count("tether.publish") == len(seen) - len(deltas)  # deltas: from the step
