"""Pause, resume, cancel and interrupt of a DBOS run, sent from outside the workflow: a pause stops
at a step boundary (the call in flight finishes and is recorded, nothing runs twice); a cancel or
an interrupt cuts the call in flight, as without an engine, and its step records the stop; each
ends in the state the same control gives without an engine."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS, SetWorkflowID

from tether import Agent, Message, Runner
from tether.durable import DBOSDurability
from tether.durable._dbos_lifecycle import send_control
from tether.errors import UserError
from tether.models import FunctionModel
from tether.models.testing import AgentInfo

ran: list[str] = []
in_tool = asyncio.Event()
release = asyncio.Event()


def _answer(messages: list[Message], info: AgentInfo) -> Any:
    done = sum(1 for m in messages if m.role == "tool")
    ran.append(f"model:{done}")
    if messages[0].text == "publish":
        return FunctionModel.tool_call("publish", {"text": "news"}) if not done else "published"
    return FunctionModel.tool_call("work", {"n": done}) if done < 2 else "worked twice"


worker = Agent("worker", model=FunctionModel(_answer))


@worker.tool
async def work(n: int) -> str:
    """Work on ``n``; the first call holds until the test releases it (at most 20 s)."""
    if n == 0:
        in_tool.set()
        try:
            await asyncio.wait_for(release.wait(), 20)
        except asyncio.CancelledError:
            ran.append(f"cut:{n}")
            raise
    ran.append(f"tool:{n}")
    return f"worked {n}"


@worker.tool(needs_approval=True)
def publish(text: str) -> str:
    """Publish ``text`` (needs a person's approval)."""
    ran.append("tool:publish")
    return text


durable = DBOSDurability()


@DBOS.workflow()
async def work_workflow(question: str) -> dict[str, Any]:
    """One run; its end state and output as plain data (a stopped run is not raised)."""
    result = None
    async for event in durable.run_stream(worker, question):
        if event.type == "run_finished":
            result = event
    assert result is not None
    return {"state": result.state, "output": result.output}


@pytest.fixture(autouse=True)
def _dbos(dbos_folder: Path) -> None:
    """DBOS, launched once for tests/durable (conftest.py)."""


def _fresh() -> None:
    """New events for this test's loop, and no calls yet."""
    global in_tool, release
    ran.clear()
    in_tool, release = asyncio.Event(), asyncio.Event()


async def _start(workflow_id: str) -> Any:
    _fresh()
    with SetWorkflowID(workflow_id):
        handle = await DBOS.start_workflow_async(work_workflow, "work")
    await asyncio.wait_for(in_tool.wait(), 20)  # the first tool call is in flight
    return handle


async def _until(done: Any) -> None:
    """Wait (at most 20 s) until ``done()``."""
    for _ in range(400):
        if done():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def _steps(workflow_id: str) -> list[str]:
    return [s["function_name"] for s in await DBOS.list_workflow_steps_async(workflow_id)]


async def _without_an_engine(control: str) -> str:
    """The end state of the same run under the same control, in process with no engine."""
    _fresh()
    handle = await Runner(store=None).start(worker, "work")
    await asyncio.wait_for(in_tool.wait(), 20)
    await getattr(handle, control)()
    release.set()
    if control == "pause":
        await asyncio.sleep(0.2)
        await handle.resume()
    return (await handle.result()).state


async def test_pause_waits_at_the_next_step_boundary_and_resume_finishes_the_run() -> None:
    handle = await _start("lc-pause")
    with pytest.raises(UserError, match="not paused"):
        await DBOSDurability.resume("lc-pause")
    await DBOSDurability.pause("lc-pause")
    assert await DBOSDurability.status("lc-pause") == "paused"
    release.set()  # the call in flight finishes and is recorded; the next model call waits
    await _until(lambda: "tool:0" in ran)
    await asyncio.sleep(0.3)
    assert ran == ["model:0", "tool:0"]
    await DBOSDurability.resume("lc-pause")
    assert await handle.get_result() == {"state": "completed", "output": "worked twice"}
    assert ran == ["model:0", "tool:0", "model:1", "tool:1", "model:2"]  # nothing twice
    assert await DBOSDurability.status("lc-pause") == "success"
    assert await _without_an_engine("pause") == "completed"


@pytest.mark.parametrize(
    ("control", "state"), [("cancel", "cancelled"), ("interrupt", "interrupted")]
)
async def test_cancel_and_interrupt_cut_the_call_in_flight_and_end_the_run(
    control: str, state: str
) -> None:
    workflow_id = f"lc-{control}"
    handle = await _start(workflow_id)
    await getattr(DBOSDurability, control)(workflow_id)
    # the tool in flight is cancelled (never released), as without an engine
    outcome = await handle.get_result()
    assert ran == ["model:0", "cut:0"]
    steps = await _steps(workflow_id)
    assert steps == [
        "tether.worker.model",
        "tether.worker.tool.work",  # recorded as stopped: a recovered workflow stops there again
    ]
    with pytest.raises(UserError, match="has ended"):
        await DBOSDurability.resume(workflow_id)
    assert outcome["state"] == state
    # recovered from the record (a fork after the tool's step): the same end, the tool not run
    forked = await DBOS.fork_workflow_async(workflow_id, len(steps) + 1)
    assert await forked.get_result() == outcome
    assert ran == ["model:0", "cut:0"]
    assert await _without_an_engine(control) == state


async def test_a_control_for_an_unknown_workflow_or_action_is_refused() -> None:
    with pytest.raises(UserError, match="no DBOS workflow"):
        await DBOSDurability.cancel("lc-nobody")
    with pytest.raises(UserError, match="unknown control"):
        await send_control("lc-nobody", "explode")


async def test_a_paused_run_can_be_cancelled_and_a_second_stop_is_refused() -> None:
    handle = await _start("lc-paused-cancel")
    await DBOSDurability.pause("lc-paused-cancel")
    release.set()
    await _until(lambda: "tool:0" in ran)  # paused before the second model call
    await DBOSDurability.cancel("lc-paused-cancel")
    with pytest.raises(UserError, match="already being stopped"):
        await DBOSDurability.interrupt("lc-paused-cancel")
    assert await handle.get_result() == {"state": "cancelled", "output": None}
    assert ran == ["model:0", "tool:0"]


async def test_a_run_waiting_for_a_person_is_cancelled_where_it_waits() -> None:
    _fresh()
    with SetWorkflowID("lc-waiting"):
        handle = await DBOS.start_workflow_async(work_workflow, "publish")
    assert (await DBOSDurability.waiting("lc-waiting"))["approve"]  # it waits for a person
    await DBOSDurability.cancel("lc-waiting")
    assert await handle.get_result() == {"state": "cancelled", "output": None}
    assert ran == ["model:0"]  # the call that waited never ran


def test_a_paused_run_s_worker_killed_stays_paused_in_a_new_process(tmp_path: Path) -> None:
    """Real processes (tests/durable/dbos_pause_crash.py), the controls sent with a DBOSClient."""
    driver = Path(__file__).with_name("dbos_pause_crash.py")
    done = subprocess.run(
        [sys.executable, str(driver), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["first_signal"] == 9 and report["second_exit"] == 0, done.stderr[-3000:]
    first, second = report["pids"]
    paused_at = [f"model:0@{first}", f"tool:0@{first}"]
    assert report["before_kill"] == paused_at  # the call in flight finished; nothing after it
    assert report["while_recovered"] == paused_at  # recovered, and still paused
    assert report["statuses"] == [["pause", "paused"], ["resume", "running"]]
    assert report["output"] == "two steps"
    assert report["calls"] == [
        *paused_at,
        f"model:1@{second}",
        f"tool:1@{second}",
        f"model:2@{second}",
    ]
