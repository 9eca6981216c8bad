"""A Temporal run's handle controls (the update ``tether.control``): pause at the next step
boundary and resume, cancel, interrupt, and the workflow's own cancellation; each run ends in
the state the same control gives it without an engine."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import CancelledError
from temporalio.service import RPCError

from tether import Runner
from tether.durable.temporal import TemporalDurability

from . import temporal_cases as cases
from .temporal_cases import own_worker

__all__ = ["own_worker"]  # the fixture, imported for the tests here


@pytest.fixture(autouse=True)
def _held() -> Iterator[None]:
    cases.RELEASE.clear()
    cases.STARTED.clear()
    yield
    cases.RELEASE.set()  # a tool still holding ends


async def _until(check: Any, what: str) -> None:
    for _ in range(500):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never: {what}")


async def _start(address: str) -> WorkflowHandle[Any, Any]:
    client = await Client.connect(address)
    handle = await client.start_workflow(
        "OwnCaseWorkflow",
        "lifecycle",
        id=f"lifecycle-{uuid.uuid4().hex[:8]}",
        task_queue=cases.QUEUE,
        result_type=dict,
    )

    async def holding() -> bool:
        return cases.STARTED == ["hold:1"]

    await _until(holding, "the first tool started")
    return handle


async def _scheduled(handle: WorkflowHandle[Any, Any]) -> list[str]:
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        async for e in handle.fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def _plain(action: str) -> dict[str, Any]:
    """The same control on the same run without an engine."""
    agent, text, config = cases.CASES["lifecycle"]
    handle = await Runner(store=None, telemetry=None).start(agent, text, run_config=config)
    async for event in handle.events:
        if event.type == "tool_call_started":
            break
    await getattr(handle, action)()
    if action == "pause":
        cases.RELEASE.set()
        await _until(lambda: _is(handle.status, "paused"), "the plain run paused")
        await handle.resume()
    result = await handle.result()
    cases.RELEASE.clear()
    cases.STARTED.clear()
    return cases.summary(result)


async def _is(value: str, expected: str) -> bool:
    return value == expected


async def test_pause_waits_at_the_next_step_boundary_and_resume_goes_on(own_worker: str) -> None:
    plain = await _plain("pause")
    handle = await _start(own_worker)
    await TemporalDurability.pause(handle)
    assert await TemporalDurability.status(handle) == "paused"  # asked for; the tool goes on
    cases.RELEASE.set()

    async def paused_after_the_tool() -> bool:
        return await _scheduled(handle) == ["tether.steward.model", "tether.steward.tool.hold"]

    await _until(paused_after_the_tool, "the tool's activity finished")
    await asyncio.sleep(0.3)
    assert await TemporalDurability.status(handle) == "paused"
    assert len(await _scheduled(handle)) == 2  # no model call while paused
    await TemporalDurability.resume(handle)
    got = await handle.result()
    assert got["state"] == "completed" and got["output"] == "stewarded: held 1, held 2"
    assert got == {**plain, "tools": [list(t) for t in plain["tools"]]}


@pytest.mark.parametrize("action", ["cancel", "interrupt"])
async def test_cancel_and_interrupt_end_the_run_at_once(own_worker: str, action: str) -> None:
    plain = await _plain(action)
    handle = await _start(own_worker)
    await getattr(TemporalDurability, action)(handle)
    got = await asyncio.wait_for(handle.result(), 10)  # the held tool is not waited for
    assert got["state"] == ("cancelled" if action == "cancel" else "interrupted")
    assert got == {**plain, "tools": [list(t) for t in plain["tools"]]}

    async def cut_on_the_worker() -> bool:  # the activity heard of it at its next heartbeat
        return cases.STARTED == ["hold:1", "cancelled:1"]

    await _until(cut_on_the_worker, "the tool was cancelled on the worker")
    with pytest.raises(RPCError, match="already completed"):  # refused by Temporal, not lost
        await TemporalDurability.pause(handle)


async def test_cancelling_the_workflow_cancels_the_run(own_worker: str) -> None:
    handle = await _start(own_worker)
    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), 10)
    assert isinstance(failed.value.cause, CancelledError)

    async def cut_on_the_worker() -> bool:
        return cases.STARTED == ["hold:1", "cancelled:1"]

    await _until(cut_on_the_worker, "the tool was cancelled on the worker")
    events = [e async for e in TemporalDurability.events(handle)]
    assert events[-1].type == "run_finished" and events[-1].state == "cancelled"  # type: ignore[attr-defined]


async def test_an_unknown_control_is_refused_at_the_sender(own_worker: str) -> None:
    handle = await _start(own_worker)
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update("tether.control", {"action": "rewind"})
    assert "not a tether control" in str(failed.value.cause)
    await TemporalDurability.cancel(handle)
    assert (await handle.result())["state"] == "cancelled"
