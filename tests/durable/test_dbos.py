"""tether agents inside DBOS workflows, in process, on a SQLite system database in a temp folder.

DBOS is launched once for the session. Each model call and each tool call must be a DBOS step
with a stable name; a run that cannot be durable fails at start.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS, SetWorkflowID

from tether import Agent, Message, Runner
from tether.durable import DBOSDurability, DurableEngineError, model_step_name, tool_step_name
from tether.models import FunctionModel
from tether.models.testing import AgentInfo

calls: list[str] = []  # what this process really ran: model turns and tool calls


def _answer(messages: list[Message], info: AgentInfo) -> Any:
    tool_messages = [m for m in messages if m.role == "tool"]
    calls.append(f"model:{len(tool_messages)}")
    if not tool_messages:
        return FunctionModel.tool_calls(
            [("slow_echo", {"text": "first"}), ("echo", {"text": "second"})]
        )
    order = [p.content for m in tool_messages for p in m.parts]  # type: ignore[attr-defined]
    return "results: " + ", ".join(order)


agent = Agent("scribe", model=FunctionModel(_answer))


@agent.tool
async def slow_echo(text: str) -> str:
    """Echo ``text`` after a pause (it finishes after ``echo``)."""
    await asyncio.sleep(0.2)
    calls.append(f"tool:slow_echo:{text}")
    return text


@agent.tool
def echo(text: str) -> str:
    """Echo ``text``."""
    calls.append(f"tool:echo:{text}")
    return text


durable = DBOSDurability()


@DBOS.workflow()
async def scribe_workflow(question: str) -> str:
    """One durable agent run."""
    result = await durable.run(agent, question)
    return str(result.output)


@DBOS.workflow()
async def streaming_workflow(question: str) -> list[str]:
    """One durable agent run, streamed inside the workflow."""
    return [event.type async for event in durable.run_stream(agent, question)]


reader_saw_the_call = asyncio.Event()


def _herald_answers(messages: list[Message], info: AgentInfo) -> Any:
    tool_messages = [m for m in messages if m.role == "tool"]
    if not tool_messages:
        return FunctionModel.tool_call("wait_for_reader", {})
    return tool_messages[0].parts[0].content  # type: ignore[attr-defined]


herald = Agent("herald", model=FunctionModel(_herald_answers))


@herald.tool
async def wait_for_reader() -> str:
    """Finish only once the stream's reader has seen this call start (at most 20 s)."""
    try:
        await asyncio.wait_for(reader_saw_the_call.wait(), 20)
    except TimeoutError:
        return "the reader saw nothing while the workflow ran"
    return "the reader saw the call while the workflow ran"


@DBOS.workflow()
async def published_workflow(question: str) -> str:
    """One durable agent run, its events published on the DBOS stream "events"."""
    result = await durable.run_published(herald, question, "events")
    return str(result.output)


@DBOS.step()
async def agent_in_a_step() -> str:
    """A step that (wrongly) runs an agent inside itself."""
    result = await durable.run(agent, "hi")
    return str(result.output)


@DBOS.workflow()
async def nested_workflow() -> str:
    """A workflow whose step runs an agent."""
    return await agent_in_a_step()


@pytest.fixture(autouse=True)
def _dbos(dbos_folder: Path) -> None:
    """DBOS, launched once for the session (tests/durable/conftest.py)."""


@pytest.fixture(autouse=True)
def _clear_calls() -> None:
    calls.clear()


async def _steps(workflow_id: str) -> list[str]:
    return [s["function_name"] for s in await DBOS.list_workflow_steps_async(workflow_id)]


async def test_each_model_call_and_tool_call_is_a_named_step() -> None:
    with SetWorkflowID("scribe-1"):
        handle = await DBOS.start_workflow_async(scribe_workflow, "echo twice")
    # The slow tool finishes last; its result is still first, as it was asked first.
    assert await handle.get_result() == "results: first, second"
    assert await _steps("scribe-1") == [
        "tether.scribe.model",
        "tether.scribe.tool.slow_echo",
        "tether.scribe.tool.echo",
        "tether.scribe.model",
    ]
    assert sorted(calls) == ["model:0", "model:1", "tool:echo:second", "tool:slow_echo:first"]


async def test_a_finished_workflow_started_again_runs_nothing_again() -> None:
    with SetWorkflowID("scribe-2"):
        first = await DBOS.start_workflow_async(scribe_workflow, "echo twice")
    assert await first.get_result() == "results: first, second"
    calls.clear()
    with SetWorkflowID("scribe-2"):
        again = await DBOS.start_workflow_async(scribe_workflow, "echo twice")
    assert await again.get_result() == "results: first, second"
    assert calls == []


async def test_a_replay_from_a_later_step_reuses_the_recorded_steps() -> None:
    with SetWorkflowID("scribe-3"):
        handle = await DBOS.start_workflow_async(scribe_workflow, "echo twice")
    await handle.get_result()
    calls.clear()
    # Fork at step 4 (the second model call): steps 1-3 come from the record, in order.
    forked = await DBOS.fork_workflow_async("scribe-3", 4)
    assert await forked.get_result() == "results: first, second"
    assert calls == ["model:1"]  # the tools did not run again; only the forked step did


async def test_streaming_inside_a_workflow_yields_the_run_s_events() -> None:
    with SetWorkflowID("scribe-stream"):
        handle = await DBOS.start_workflow_async(streaming_workflow, "echo twice")
    types = await handle.get_result()
    assert types[0] == "run_started" and types[-1] == "run_finished"
    assert types.count("tool_call_finished") == 2
    assert types.count("model_response") == 2
    assert (await _steps("scribe-stream")).count("tether.scribe.model") == 2


async def test_events_are_published_on_a_dbos_stream_while_the_workflow_runs() -> None:
    reader_saw_the_call.clear()
    with SetWorkflowID("herald-1"):
        handle = await DBOS.start_workflow_async(published_workflow, "wait for me")
    seen = []
    async for event in DBOS.read_stream_async(
        "herald-1", "events", polling_interval_sec=0.05, timeout_seconds=30
    ):
        seen.append(event.type)
        if event.type == "tool_call_started":  # the tool waits for this
            reader_saw_the_call.set()
    assert await handle.get_result() == "the reader saw the call while the workflow ran"
    assert seen[0] == "run_started" and seen[-1] == "run_finished"
    assert seen.count("tool_call_finished") == 1
    steps = await _steps("herald-1")
    tether_steps = [n for n in steps if n.startswith("tether.") and n != "tether.publish"]
    deltas = sum(1 for t in seen if t.endswith("_delta"))  # the model step wrote them itself
    assert steps.count("tether.publish") == len(seen) - deltas  # the others: a step each
    assert tether_steps == [
        "tether.herald.model",
        "tether.herald.tool.wait_for_reader",
        "tether.herald.model",
    ]


async def test_a_run_outside_a_workflow_fails_at_start() -> None:
    with pytest.raises(DurableEngineError, match="inside a DBOS workflow"):
        await durable.run(agent, "hi")
    with pytest.raises(DurableEngineError, match="inside a DBOS workflow"):
        durable.run_stream(agent, "hi")
    assert calls == []  # nothing ran without durability


async def test_a_run_inside_a_step_fails_at_start() -> None:
    handle = await DBOS.start_workflow_async(nested_workflow)
    with pytest.raises(DurableEngineError, match="inside a DBOS step"):
        await handle.get_result()
    assert calls == []


def test_a_runner_with_its_own_store_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DurableEngineError, match="without a store"):
        DBOSDurability(runner=Runner(store=f"sqlite:///{tmp_path}/runs.db"))
    DBOSDurability(runner=Runner(store=None))


def test_step_names_come_from_agent_and_tool_names() -> None:
    assert model_step_name("scribe") == "tether.scribe.model"
    assert tool_step_name("scribe", "echo") == "tether.scribe.tool.echo"


def test_importing_tether_durable_does_not_import_the_engines() -> None:
    code = (
        "import sys, tether.durable, tether.durable.dbos, tether.durable.temporal\n"
        "assert 'dbos' not in sys.modules, 'dbos imported'\n"
        "assert 'temporalio' not in sys.modules, 'temporalio imported'\n"
        "assert tether.durable.TemporalDurability is tether.durable.temporal.TemporalDurability"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
