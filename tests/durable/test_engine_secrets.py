"""A failing step's exception is recorded by the engine (DBOS in its system database, Temporal in
the workflow's history) and in tether's log: an API key or bearer token it quotes is scrubbed
in both. The workflows are in tests/durable/engine_log.py."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS, SetWorkflowID
from temporalio.client import Client

from tether.errors import ModelProviderError
from tether.store import open_store

from . import engine_log

SECRETS = (engine_log.LEAKED_KEY, engine_log.LEAKED_BEARER)


async def _logged(run_id: str) -> str:
    store = open_store(engine_log.STORE_URL)
    try:
        events = await store.load(run_id)
    finally:
        await store.close()
    failed = [e for e in events if e.type == "tool_call_finished"]
    assert failed and failed[0].error.startswith("PermissionError: ops: Authorization")
    return repr(events)


def _clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


async def test_dbos_records_a_failed_tool_step_without_the_secrets(dbos_folder: Path) -> None:
    workflow_id = f"leaky-{uuid.uuid4().hex[:8]}"
    with SetWorkflowID(workflow_id):
        handle = await DBOS.start_workflow_async(engine_log.dbos_leaky_workflow, "log in")
    assert await handle.get_result() == "login failed"
    steps: list[Any] = await DBOS.list_workflow_steps_async(workflow_id)
    errors = [step["error"] for step in steps if step["error"] is not None]
    assert [type(e).__name__ for e in errors] == ["PermissionError"]  # the type is kept
    assert "[secret]" in str(errors[0])
    _clean(repr(steps) + " ".join(str(e) for e in errors))
    _clean(await _logged(workflow_id))


async def test_temporal_keeps_a_failed_tool_activity_without_the_secrets(
    server: str, worker: str
) -> None:
    client = await Client.connect(server)
    workflow_id = f"leaky-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        "EngineLogLeaky", "log in", id=workflow_id, task_queue=worker, result_type=str
    )
    assert await handle.result() == "login failed"
    history = await handle.fetch_history()
    recorded = b"".join(event.SerializeToString() for event in history.events)
    assert b"PermissionError" in recorded and b"[secret]" in recorded
    for secret in SECRETS:
        assert secret.encode() not in recorded
    _clean(await _logged(workflow_id))


async def test_dbos_records_a_failed_model_step_without_the_key(dbos_folder: Path) -> None:
    workflow_id = f"refused-{uuid.uuid4().hex[:8]}"
    with SetWorkflowID(workflow_id):
        handle = await DBOS.start_workflow_async(engine_log.dbos_refused_workflow, "hi")
    with pytest.raises(ModelProviderError) as raised:
        await handle.get_result()
    assert raised.value.status == 401 and "[secret]" in str(raised.value)
    steps: list[Any] = await DBOS.list_workflow_steps_async(workflow_id)
    (error,) = [step["error"] for step in steps if step["error"] is not None]
    assert isinstance(error, ModelProviderError) and error.status == 401
    _clean(f"{error} {error.body!r} {raised.value} {raised.value.body!r} {steps!r}")
    status = await DBOS.get_workflow_status_async(workflow_id)
    assert status is not None
    _clean(repr(status))


async def test_temporal_keeps_a_failed_model_activity_without_the_key(
    server: str, worker: str
) -> None:
    client = await Client.connect(server)
    workflow_id = f"refused-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        "EngineLogRefused", "hi", id=workflow_id, task_queue=worker, result_type=str
    )
    said = await handle.result()
    assert said == "ModelProviderError: Incorrect API key provided: [secret] (HTTP 401)"
    history = await handle.fetch_history()
    recorded = b"".join(event.SerializeToString() for event in history.events)
    assert b"Incorrect API key provided" in recorded and b"[secret]" in recorded
    assert engine_log.LEAKED_KEY.encode() not in recorded
