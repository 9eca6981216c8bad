"""A published DBOS run's model deltas reach a reader of the workflow's stream token by token, while
the model step still runs, once each and in the run's order."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
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
    """Streams "Hel", waits (at most 20 s) until ``seen`` is set (by whoever reads the run's
    events: ``who``), then "lo"."""

    def __init__(self, name: str, seen: asyncio.Event, who: str) -> None:
        self.name = name
        self._seen = seen
        self._who = who

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Not used: the run streams."""
        raise AssertionError("the run was expected to stream")

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """The two deltas, the second only once the first was seen."""
        yield TextDelta("Hel")
        try:
            await asyncio.wait_for(self._seen.wait(), 20)
            second = "lo"
        except TimeoutError:
            second = f"lo ({self._who} saw nothing while the step ran)"
        yield TextDelta(second)
        yield ModelResponse([TextPart("Hel" + second)], model_name=self.name, finish_reason="stop")


talker = Agent("talker", model=Talker("talker", reader_saw_a_delta, "the reader"))  # type: ignore[arg-type]
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


def test_a_model_step_lost_with_its_worker_tells_the_reader_its_deltas_are_void(
    tmp_path: Path,
) -> None:
    """Real processes (tests/durable/dbos_stream_crash.py): the first worker SIGKILLed after
    the reader saw the model's first delta; the recovered step streams again, after a
    ``model_retry`` that says the deltas before it are void."""
    driver = Path(__file__).with_name("dbos_stream_crash.py")
    done = subprocess.run(
        [sys.executable, str(driver), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["first_signal"] == 9 and report["second_exit"] == 0, done.stderr[-3000:]
    assert report["output"] == "Hello"
    seen = report["seen"]
    streamed = [entry for entry in seen if entry[0] in ("text_delta", "model_retry")]
    # the lost attempt's "Hel", then the retry (attempt 2), then the recorded attempt's deltas
    assert streamed == [
        ["text_delta", "Hel"],
        ["model_retry", 2],
        ["text_delta", "Hel"],
        ["text_delta", "lo"],
    ]
    assert seen[-1][0] == "run_finished"
    assert [entry[0] for entry in seen].count("model_response") == 1


# -- run_stream: the deltas reach the workflow's own consumer while the model step runs -------

workflow_saw_a_delta = asyncio.Event()


speaker = Agent("speaker", model=Talker("speaker", workflow_saw_a_delta, "the workflow"))  # type: ignore[arg-type]


async def _consumed(agent: Agent, question: str, on_delta: asyncio.Event) -> list[list[str]]:
    """One streamed run, consumed inside the workflow: (type, delta or end state) of each
    event; ``on_delta`` is set when the first delta arrives."""
    seen: list[list[str]] = []
    async for event in durable.run_stream(agent, question):
        seen.append([event.type, getattr(event, "delta", "") or getattr(event, "state", "")])
        if event.type == "text_delta":
            on_delta.set()
    return seen


@DBOS.workflow()
async def speaking_workflow(question: str) -> list[list[str]]:
    """One streamed run; the model waits for the workflow to see its first delta."""
    return await _consumed(speaker, question, workflow_saw_a_delta)


async def test_run_stream_yields_deltas_while_the_model_step_runs() -> None:
    workflow_saw_a_delta.clear()
    with SetWorkflowID("speak-1"):
        handle = await DBOS.start_workflow_async(speaking_workflow, "say hello")
    seen = await handle.get_result()
    types = [entry[0] for entry in seen]
    assert [d for t, d in seen if t == "text_delta"] == ["Hel", "lo"]  # each once
    assert types.index("turn_started") < types.index("text_delta") < types.index("model_response")
    assert types[-1] == "run_finished"
    steps = [s["function_name"] for s in await DBOS.list_workflow_steps_async("speak-1")]
    assert steps.count("tether.speaker.model") == 1
    # recovered from the record (a fork after the model step): the same events, at once
    forked = await DBOS.fork_workflow_async("speak-1", steps.index("tether.speaker.model") + 2)
    workflow_saw_a_delta.clear()  # the model is not asked again: nothing waits for this
    assert await forked.get_result() == seen


stutters: list[str] = []


class Stutterer:
    """Streams "Hel", then fails: a stream cut after it showed something."""

    name = "stutterer"

    async def request(self, request: ModelRequest) -> ModelResponse:
        """Not used: the run streams."""
        raise AssertionError("the run was expected to stream")

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelStreamEvent]:
        """One delta, then the failure."""
        stutters.append("asked")
        yield TextDelta("Hel")
        raise ConnectionError("the connection dropped mid-answer")


stutterer = Agent("stutterer", model=Stutterer())  # type: ignore[arg-type]


@DBOS.workflow()
async def stuttering_workflow(question: str) -> list[list[str]]:
    """One streamed run whose model fails after a delta."""
    return await _consumed(stutterer, question, asyncio.Event())


async def test_a_stream_cut_after_a_delta_is_recovered_with_the_same_events() -> None:
    """The run saw the delta before the failure, so its failure policy does not ask again (a
    stream that showed something); a recovered workflow gets the recorded delta and the
    recorded error, and so the same events, and does not ask the model again."""
    stutters.clear()
    with SetWorkflowID("stutter-1"):
        handle = await DBOS.start_workflow_async(stuttering_workflow, "say hello")
    seen = await handle.get_result()
    assert ["text_delta", "Hel"] in seen
    assert seen[-1] == ["run_finished", "failed"]
    assert stutters == ["asked"]
    steps = [s["function_name"] for s in await DBOS.list_workflow_steps_async("stutter-1")]
    assert steps.count("tether.stutterer.model") == 1
    forked = await DBOS.fork_workflow_async("stutter-1", steps.index("tether.stutterer.model") + 2)
    assert await forked.get_result() == seen
    assert stutters == ["asked"]


# -- a cancel cuts the model step in flight --------------------------------------------------

never = asyncio.Event()  # never set: the model's second delta would come only after 20 s
hanger_spoke = asyncio.Event()
hanger = Agent("hanger", model=Talker("hanger", never, "nobody"))  # type: ignore[arg-type]


@DBOS.workflow()
async def hanging_workflow(question: str) -> list[list[str]]:
    """One streamed run whose model hangs after its first delta."""
    return await _consumed(hanger, question, hanger_spoke)


async def test_a_cancel_cuts_the_model_step_in_flight_and_a_recovery_ends_the_same() -> None:
    hanger_spoke.clear()
    with SetWorkflowID("hang-1"):
        handle = await DBOS.start_workflow_async(hanging_workflow, "say hello")
    await asyncio.wait_for(hanger_spoke.wait(), 20)  # the model step is in flight
    await DBOSDurability.cancel("hang-1")
    seen = await handle.get_result()
    assert [d for t, d in seen if t == "text_delta"] == ["Hel"]  # the second never came
    assert seen[-1] == ["run_finished", "cancelled"]
    steps = [s["function_name"] for s in await DBOS.list_workflow_steps_async("hang-1")]
    assert steps == ["tether.hanger.model"]  # recorded as stopped, with the delta it showed
    forked = await DBOS.fork_workflow_async("hang-1", len(steps) + 1)
    assert await forked.get_result() == seen
