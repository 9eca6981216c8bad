"""Every feature inside both engines' workflows: the same case, run in a DBOS workflow and in a
Temporal workflow, gives the Result it gives without an engine, with each model call and tool
call a step (activity) named after its agent, and nothing run twice.

The engines are shared by the session (tests/durable/conftest.py): one Temporal dev server and
worker, one DBOS instance. The cases are in tests/durable/features.py.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS, SetWorkflowID
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowUpdateFailedError

from tests.servers import HTTPError, Turn
from tether import RunConfig, Runner
from tether.durable import DBOSDurability, DurableEngineError
from tether.durable._control import decision
from tether.durable.temporal import TemporalDurability
from tether.errors import UserError

from . import features
from .conftest import TEMPORAL_BINARY

ENGINES = ["dbos", "temporal"]


async def _run_dbos(name: str) -> tuple[dict[str, Any], list[str]]:
    workflow_id = f"feature-{name}-{uuid.uuid4().hex[:8]}"
    with SetWorkflowID(workflow_id):
        handle = await DBOS.start_workflow_async(features.dbos_feature, name)
    summary = await handle.get_result()
    steps = await DBOS.list_workflow_steps_async(workflow_id)
    return summary, [s["function_name"] for s in steps if s["function_name"].startswith("tether.")]


async def _run_temporal(server: str, queue: str, name: str) -> tuple[dict[str, Any], list[str]]:
    client = await Client.connect(server)
    workflow_id = f"feature-{name}-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        "FeatureWorkflow", name, id=workflow_id, task_queue=queue, result_type=dict
    )
    summary = await handle.result()
    activities = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            activities.append(event.activity_task_scheduled_event_attributes.activity_type.name)
    return summary, activities


@pytest.fixture(params=ENGINES)
def run_in_engine(
    request: pytest.FixtureRequest,
) -> Callable[[str], Awaitable[tuple[dict[str, Any], list[str]]]]:
    """Runs a case in a workflow of the engine; returns its summary and its steps in order."""
    if request.param == "dbos":
        request.getfixturevalue("dbos_folder")
        return _run_dbos
    server = request.getfixturevalue("server")
    queue = request.getfixturevalue("worker")
    return lambda name: _run_temporal(server, queue, name)


async def _plain(name: str) -> dict[str, Any]:
    """The case run without an engine, for comparison."""

    async def run(agent: Any, text: str, config: Any, deps: Any) -> Any:
        runner = Runner(store=None, telemetry=None)
        return await runner.run(agent, text, deps=deps, run_config=config)

    return await features.run_case(name, run)


def _same(summary: dict[str, Any], plain: dict[str, Any]) -> None:
    # JSON (Temporal) makes tuples lists
    normal = {k: [list(t) for t in v] if k == "tools" else v for k, v in plain.items()}
    got = {k: [list(t) for t in v] if k == "tools" else v for k, v in summary.items()}
    assert got == normal


@pytest.fixture(autouse=True)
def _calls() -> None:
    features.CALLS.clear()


async def test_handoffs(run_in_engine: Any) -> None:
    summary, steps = await run_in_engine("handoff")
    assert summary["last_agent"] == "refunds" and summary["output"] == "refunds: refunded A7"
    assert steps == [
        "tether.triage.model",
        "tether.refunds.model",
        "tether.refunds.tool.refund",
        "tether.refunds.model",
    ]
    assert features.CALLS == ["refund:A7"]
    _same(summary, await _plain("handoff"))


async def test_the_engine_chosen_by_a_durability_setting(run_in_engine: Any) -> None:
    """The same ``agent.run(...)`` call, ``RunConfig(durability=...)`` choosing the engine."""
    summary, steps = await run_in_engine("setting:handoff")
    assert summary["output"] == "refunds: refunded A7"
    assert steps == [
        "tether.triage.model",
        "tether.refunds.model",
        "tether.refunds.tool.refund",
        "tether.refunds.model",
    ]
    assert features.CALLS == ["refund:A7"]


async def test_a_durability_setting_outside_a_workflow_fails_at_start() -> None:
    for durability in (DBOSDurability(), features.temporal_durable):
        with pytest.raises(DurableEngineError, match="must be called inside a"):
            await features.triage.run("hi", run_config=RunConfig(durability=durability))
    with pytest.raises(DurableEngineError, match=r"takes a tether\.durable engine"):
        await features.triage.run("hi", run_config=RunConfig(durability="dbos"))
    with pytest.raises(DurableEngineError, match="run_id= is not supported"):
        await Runner(store=None).run(
            features.triage, "hi", run_id="r1", run_config=RunConfig(durability=DBOSDurability())
        )
    assert features.CALLS == []


async def test_agents_as_tools(run_in_engine: Any) -> None:
    summary, steps = await run_in_engine("agent_as_tool")
    assert summary["output"] == "boss: found: tides follow the moon"
    assert summary["subagents"] == ["researcher"]
    assert steps == [
        "tether.boss.model",
        "tether.researcher.model",
        "tether.researcher.tool.lookup",
        "tether.researcher.model",
        "tether.boss.model",
    ]
    assert features.CALLS == ["lookup:tides"]
    _same(summary, await _plain("agent_as_tool"))


async def test_a_policy(run_in_engine: Any) -> None:
    summary, steps = await run_in_engine("policy")
    assert summary["output"] == "supervisor: analysis: depth is 12 m"
    assert steps == [
        "tether.supervisor.model",
        "tether.analyst.model",
        "tether.analyst.tool.measure",
        "tether.analyst.model",
        "tether.supervisor.model",
    ]
    assert features.CALLS == ["measure:depth"]
    _same(summary, await _plain("policy"))


async def test_governance_a_policy_engine_denies_a_call(run_in_engine: Any) -> None:
    summary, steps = await run_in_engine("governance")
    assert summary["output"] == "shredder: secrets stay"
    assert steps == ["tether.shredder.model", "tether.shredder.model"]  # the tool never ran
    assert features.CALLS == []


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_deferred_call_s_result_delivered_later(
    engine: str, request: pytest.FixtureRequest
) -> None:
    workflow_id, handle = await _start(engine, request, features.dbos_feature, "deferred")
    call_id = await _pending_call(engine, workflow_id, handle, "resolve")
    if engine == "dbos":
        await DBOSDurability.resolve(workflow_id, call_id, "soup is ready")
    else:
        await TemporalDurability.resolve(handle, call_id, "soup is ready")
    summary = await _result(engine, handle)
    assert summary["output"] == "waiter: soup is ready"
    assert features.CALLS == ["order:soup"]


async def test_structured_output(run_in_engine: Any) -> None:
    summary, steps = await run_in_engine("structured_output")
    assert summary["state"] == "completed"
    assert summary["output"] == {"label": "ok", "score": 7}
    assert steps == ["tether.judge.model"]


async def test_an_input_guardrail(run_in_engine: Any) -> None:
    summary, steps = await run_in_engine("input_guardrail")
    assert summary["error"] == "InputGuardrailTripwireTriggered"
    assert steps == [] and features.CALLS == []  # tripped before any model call


@pytest.mark.parametrize(
    ("case", "error", "calls", "models"),
    [
        ("max_turns", "MaxTurnsExceeded", ["tick", "tick"], 2),  # the third turn is refused
        ("max_cost", "BudgetExceeded", ["spend"], 2),  # the second call spends too much
    ],
)
async def test_limits(
    run_in_engine: Any, case: str, error: str, calls: list[str], models: int
) -> None:
    summary, steps = await run_in_engine(case)
    assert summary["error"] == error
    assert calls == features.CALLS
    assert steps.count(f"tether.{features.CASES[case][0].name}.model") == models
    assert (await _plain(case))["error"] == error


# -- approvals: the run waits durably for a decision sent from another process -----------------


async def _start(engine: str, request: Any, workflow: Any, name: str) -> Any:
    """Start the case ``name`` without waiting for it: (workflow id, handle)."""
    workflow_id = f"{name}-{uuid.uuid4().hex[:8]}"
    if engine == "dbos":
        if request is not None:
            request.getfixturevalue("dbos_folder")
        with SetWorkflowID(workflow_id):
            return workflow_id, await DBOS.start_workflow_async(workflow, name)
    client = await Client.connect(request.getfixturevalue("server"))
    handle = await client.start_workflow(
        "FeatureWorkflow",
        name,
        id=workflow_id,
        task_queue=request.getfixturevalue("worker"),
        result_type=dict,
    )
    return workflow_id, handle


async def _result(engine: str, handle: Any) -> dict[str, Any]:
    return await (handle.get_result() if engine == "dbos" else handle.result())  # type: ignore[no-any-return]


async def _pending_call(engine: str, workflow_id: str, handle: Any, action: str = "approve") -> str:
    """The call id the run waits for a decision (``action``) about, once it waits."""
    for _ in range(200):
        if engine == "dbos":
            waiting = await DBOSDurability.waiting(workflow_id, wait=10)
        else:
            waiting = await TemporalDurability.waiting(handle)
        if waiting and waiting.get(action):
            return str(waiting[action][0])
        await asyncio.sleep(0.05)
    raise AssertionError("the run never waited for an approval")


async def test_an_approval_sent_from_another_process(request: pytest.FixtureRequest) -> None:
    """The Temporal CLI sends the update. (Under DBOS, tests/durable/test_dbos_crash.py sends
    the approval from another process to a workflow whose worker was killed while it waited.)"""
    workflow_id, handle = await _start("temporal", request, None, "approval")
    call_id = await _pending_call("temporal", workflow_id, handle)
    assert features.CALLS == []  # waiting, not run
    with pytest.raises(WorkflowUpdateFailedError):
        await TemporalDurability.approve(handle, "nope")
    decision = json.dumps({"action": "approve", "call_id": call_id})
    command = [
        str(TEMPORAL_BINARY),
        "workflow",
        "update",
        "execute",
        "--address",
        request.getfixturevalue("server"),
        "--workflow-id",
        workflow_id,
        "--name",
        "tether.decide",
        "--input",
        decision,
    ]
    sent = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=60
    )
    assert sent.returncode == 0, sent.stderr
    summary = await _result("temporal", handle)
    assert summary["output"] == "cautious: deleted /tmp/x"
    assert features.CALLS == ["delete:/tmp/x"]  # once, after the approval


async def test_a_decision_for_a_call_not_waiting_is_refused_at_the_sender(
    dbos_folder: Path,
) -> None:
    workflow_id, handle = await _start("dbos", None, features.dbos_feature, "approval")
    call_id = await _pending_call("dbos", workflow_id, handle)
    with pytest.raises(UserError, match="no approval is pending for call 'nope'"):
        await DBOSDurability.approve(workflow_id, "nope")
    with pytest.raises(UserError, match="no question is pending"):
        await DBOSDurability.respond(workflow_id, call_id, "yes")
    await DBOSDurability.approve(workflow_id, call_id)
    assert (await _result("dbos", handle))["output"] == "cautious: deleted /tmp/x"


@pytest.mark.parametrize("engine", ENGINES)
async def test_an_approval_inside_a_subagent(engine: str, request: pytest.FixtureRequest) -> None:
    workflow_id, handle = await _start(engine, request, features.dbos_feature, "nested_approval")
    call_id = await _pending_call(engine, workflow_id, handle)
    assert "." in call_id  # the parent's call id, then the subagent's
    if engine == "dbos":
        await DBOSDurability.approve(workflow_id, call_id)
    else:
        await TemporalDurability.approve(handle, call_id)
    summary = await _result(engine, handle)
    assert summary["output"] == "overseer: cautious: deleted /tmp/x"
    assert features.CALLS == ["delete:/tmp/x"]


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_tool_s_question_for_a_person(engine: str, request: pytest.FixtureRequest) -> None:
    """A tool that takes a Context (with the run's deps) asks with ``ctx.request_input``."""
    workflow_id, handle = await _start(engine, request, features.dbos_feature, "question")
    call_id = await _pending_call(engine, workflow_id, handle, "respond")
    if engine == "dbos":
        await DBOSDurability.respond(workflow_id, call_id, "yes")
    else:
        await TemporalDurability.respond(handle, call_id, "yes")
    summary = await _result(engine, handle)
    assert summary["output"] == "asker: ada said yes to the refund"
    assert features.CALLS == ["confirm:the refund", "confirm:the refund"]  # asked, then answered


async def test_an_approval_timeout_rejects_the_call(run_in_engine: Any) -> None:
    """Nobody decides: past ``approval_timeout`` the call is rejected (a durable wait under
    DBOS, a Temporal timer under Temporal), and the model is told."""
    summary, steps = await run_in_engine("approval_timeout")
    assert summary["output"] == "cautious: The call was rejected: no decision within 0.3s"
    assert steps == ["tether.cautious.model", "tether.cautious.model"]
    assert features.CALLS == []


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_rejection_reaches_the_model(engine: str, request: pytest.FixtureRequest) -> None:
    workflow_id, handle = await _start(engine, request, features.dbos_feature, "approval")
    call_id = await _pending_call(engine, workflow_id, handle)
    if engine == "dbos":
        await DBOSDurability.reject(workflow_id, call_id, "too risky")
    else:  # as a signal this time (a wrong one is dropped, then the right one)
        await handle.signal("tether.decide", {"action": "reject", "call_id": "nope"})
        await handle.signal("tether.decide", decision("reject", call_id, reason="too risky"))
    summary = await _result(engine, handle)
    assert summary["output"] == "cautious: The call was rejected: too risky"
    assert features.CALLS == []


# -- events reach the caller while the workflow runs ---------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
async def test_events_reach_the_caller_while_the_workflow_runs(
    engine: str, request: pytest.FixtureRequest
) -> None:
    features.READER_SAW_THE_CALL.clear()
    workflow_id, handle = await _start(engine, request, features.dbos_feature_published, "events")
    if engine == "dbos":
        events = DBOS.read_stream_async(
            workflow_id, "events", polling_interval_sec=0.05, timeout_seconds=30
        )
    else:
        events = TemporalDurability.events(handle, poll=0.05)
    seen = []
    async for event in events:
        seen.append(event.type)
        if event.type == "tool_call_started":  # the tool waits for this
            features.READER_SAW_THE_CALL.set()
    summary = await _result(engine, handle)
    assert summary["output"] == "the reader saw the call while the workflow ran"
    assert seen[0] == "run_started" and seen[-1] == "run_finished"
    assert seen.count("tool_call_started") == seen.count("tool_call_finished") == 1


# -- retries happen once -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failures", "requests", "error"),
    [(1, 2, None), (5, 3, "ModelProviderError")],  # the runtime's three attempts, no more
)
async def test_a_failing_model_is_retried_by_one_layer_only(
    run_in_engine: Any, failures: int, requests: int, error: str | None
) -> None:
    server = features.MODEL_SERVER
    server.requests.clear()
    for _ in range(failures):
        server.add(HTTPError(500, {"error": {"message": "try again"}}))
    server.add(Turn(text="hello back"))
    summary, steps = await run_in_engine("flaky")
    assert len(server.requests) == requests  # no SDK retries, no engine retries on top
    assert summary["error"] == error
    if error is None:
        assert summary["output"] == "hello back"
        assert steps == ["tether.flaky.model"]  # the retry was inside the one model step
    server._script.clear()


# -- payloads ------------------------------------------------------------------------------------


async def test_a_result_the_engine_cannot_carry_names_its_tool(run_in_engine: Any) -> None:
    summary, _ = await run_in_engine("opaque")
    assert "the result of tool 'fetch'" in summary["output"]
    assert "not picklable" in summary["output"]


async def test_a_result_over_temporal_s_payload_limit_names_its_tool(
    server: str, worker: str
) -> None:
    summary, steps = await _run_temporal(server, worker, "huge")
    assert steps == ["tether.carrier.model", "tether.carrier.tool.fetch", "tether.carrier.model"]
    assert "PayloadTooLarge: the result of tool 'fetch' is 3,000," in summary["output"]
    assert "over Temporal's payload limit of 2,097,152 bytes" in summary["output"]
    assert features.CALLS == ["fetch:all"]  # not retried


async def test_a_large_result_is_offloaded_with_a_reference_in_the_payload(
    run_in_engine: Any,
) -> None:
    summary, _ = await run_in_engine("offload")
    assert summary["output"] == "model saw 100000 characters"
    ((name, _agent),) = summary["tools"]
    assert name == "dump" and features.CALLS == ["dump"]
    reference = summary["tool_outputs"][0]
    assert reference.startswith("[tether offloaded tool result ") and len(reference) < 200
    assert await features.OFFLOAD.load(reference) == "y" * 100_000
