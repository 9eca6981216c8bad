"""A tool's Context on a Temporal worker: the run's messages, the agent's memory, and one
``ctx.state`` whose changes later tools see, rebuilt from the workflow's history when the
workflow is replayed on a fresh worker (as after a crash)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.client import Client

from tether import Runner

from .temporal_cases import CASES, NO_CACHE_QUEUE, QUEUE, own_worker, summary

__all__ = ["own_worker"]  # the fixture, imported for the tests here


async def _plain(name: str) -> dict[str, Any]:
    agent, text, config = CASES[name]
    return summary(await Runner(store=None, telemetry=None).run(agent, text, run_config=config))


async def _temporal(address: str, queue: str, name: str) -> dict[str, Any]:
    client = await Client.connect(address)
    found: dict[str, Any] = await client.execute_workflow(
        "OwnCaseWorkflow", name, id=f"{name}-{uuid.uuid4().hex[:8]}", task_queue=queue
    )
    return found


def _as_json(found: dict[str, Any]) -> dict[str, Any]:
    # sorted: two of the calls run at once, and either may finish first (on a worker or not)
    return {**found, "tools": sorted(list(t) for t in found["tools"])}


@pytest.mark.parametrize("queue", [QUEUE, NO_CACHE_QUEUE])
async def test_tools_share_state_messages_and_memory_as_without_an_engine(
    own_worker: str, queue: str
) -> None:
    """The same Result as a run without an engine: on the worker that replays every workflow
    task from the history too, so the state is the history's, not a worker's memory."""
    got = await _temporal(own_worker, queue, "context")
    plain = await _plain("context")
    assert _as_json(got) == _as_json(plain)
    tools = {name: out for name, out in got["tools"] if name in ("count", "recall")}
    assert tools["count"] == "2 notes, marked, 6 messages"  # both parallel calls' changes
    assert tools["recall"].startswith("state={'last': 'b', 'notes': ['a', 'b']} ")  # no scratch
    assert "memory=['noted a', 'noted b']" in tools["recall"]
    assert tools["recall"].endswith("first='keep notes'")


async def test_a_state_value_that_cannot_cross_fails_its_tool_naming_it(own_worker: str) -> None:
    got = await _temporal(own_worker, QUEUE, "unsendable_state")
    assert got["state"] == "degraded"
    output = got["output"]  # the model was told
    assert "the result of tool 'grab' (with its ctx.state changes)" in output
    assert "cannot be sent through Temporal" in output
