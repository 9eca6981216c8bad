"""``RunConfig(model=, policy=, model_provider=)`` on a Temporal run: a model string crosses as
itself, a Model object, Policy or provider registered by name on the TemporalDurability; the
run behaves as without an engine, and what cannot reach the worker is refused at start."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tether import Runner

from .temporal_cases import CASES, QUEUE, own_worker, summary

__all__ = ["own_worker"]  # the fixture, imported for the tests here


async def _temporal(address: str, name: str) -> tuple[dict[str, Any], list[str]]:
    client = await Client.connect(address)
    handle = await client.start_workflow(
        "OwnCaseWorkflow", name, id=f"{name}-{uuid.uuid4().hex[:8]}", task_queue=QUEUE
    )
    found: dict[str, Any] = await handle.result()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        async for e in handle.fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    return found, scheduled


async def _plain(name: str) -> dict[str, Any]:
    agent, text, config = CASES[name]
    found = summary(await Runner(store=None, telemetry=None).run(agent, text, run_config=config))
    return {**found, "tools": [list(t) for t in found["tools"]]}


@pytest.mark.parametrize(
    ("name", "output"),
    [
        ("own_model", "planner alone"),
        ("registered_model", "fast: plan"),
        ("model_string", None),  # the test model's answer, whatever it is: as without an engine
        ("model_provider", "LOUD shout"),
        ("provider_for_the_agent_s_string", "LOUD crier:voice"),
    ],
)
async def test_a_run_config_model_runs_on_the_worker(
    own_worker: str, name: str, output: str | None
) -> None:
    got, scheduled = await _temporal(own_worker, name)
    assert got == await _plain(name)
    if output is not None:
        assert got["output"] == output
    agent = CASES[name][0].name
    assert scheduled == [f"tether.{agent}.model"]  # the agent's activity, whichever model


async def test_a_registered_run_config_policy_brings_its_tools_and_workers(
    own_worker: str,
) -> None:
    got, scheduled = await _temporal(own_worker, "registered_policy")
    assert got == await _plain("registered_policy")
    assert got["output"] == "planner: aide: assisted"
    assert scheduled == [
        "tether.planner.model",
        "tether.aide.model",
        "tether.aide.tool.assist",
        "tether.aide.model",
        "tether.planner.model",
    ]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("unregistered_model", "is a Model object the worker cannot get"),
        ("unregistered_policy", "RunConfig(policy=SupervisorPolicy()) is not registered"),
        ("unregistered_provider", "RunConfig(model_provider='str.upper') is not registered"),
        ("model_runtime", "RunConfig(model_runtime=...) cannot reach the worker"),
    ],
)
async def test_what_cannot_reach_the_worker_is_refused_at_start(
    own_worker: str, name: str, says: str
) -> None:
    got, scheduled = await _temporal(own_worker, name)
    assert says in got["error"]
    assert scheduled == []  # refused before any call
