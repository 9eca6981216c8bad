"""A model call's deltas reach a reader outside the workflow while its activity runs (the
activity's heartbeats), each once, before and after the activity ends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from temporalio.client import Client

from tether.durable.temporal import TemporalDurability

from . import temporal_cases as cases
from .temporal_cases import own_worker

__all__ = ["own_worker"]  # the fixture, imported for the tests here


@pytest.fixture(autouse=True)
def _gate() -> Iterator[None]:
    cases.GO_ON.clear()
    yield
    cases.GO_ON.set()  # a model still waiting ends


@pytest.mark.parametrize("live", [True, False])
async def test_deltas_arrive_while_the_model_activity_streams(own_worker: str, live: bool) -> None:
    client = await Client.connect(own_worker)
    handle = await client.start_workflow(
        "OwnCaseWorkflow", "stream", id=f"stream-{uuid.uuid4().hex[:8]}", task_queue=cases.QUEUE
    )
    deltas: list[tuple[str, int]] = []
    before_the_end: list[str] = []
    if not live:
        cases.GO_ON.set()  # nothing arrives before the activity ends: let it end
    async for event in TemporalDurability.events(handle, poll=0.05, live_deltas=live):
        if event.type == "text_delta":
            deltas.append((event.delta, event.seq))  # type: ignore[attr-defined]
            if not cases.GO_ON.is_set() and len(deltas) == 2:
                before_the_end = [d for d, _ in deltas]  # the model still holds " world" back
                cases.GO_ON.set()
    assert [d for d, _ in deltas] == ["Hel", "lo", " world"]  # each once
    if live:
        assert before_the_end == ["Hel", "lo"]
        assert [seq == 0 for _, seq in deltas[:2]] == [True, True]  # live: not in the log yet
    else:
        assert all(seq > 0 for _, seq in deltas)
    result = await handle.result()
    assert result["output"] == "Hello world"


async def test_an_attempt_run_again_tells_the_reader_its_deltas_were_void(own_worker: str) -> None:
    # The first attempt's "Hm" reached the reader live; Temporal ran the call again after its
    # timeout, and the recorded attempt said "Hello": the reader is told before its deltas.
    client = await Client.connect(own_worker)
    handle = await client.start_workflow(
        "StutterWorkflow", "say hello", id=f"stutter-{uuid.uuid4().hex[:8]}", task_queue=cases.QUEUE
    )
    seen: list[tuple[str, Any]] = []
    async for event in TemporalDurability.events(handle, poll=0.05):
        if event.type in ("text_delta", "model_retry"):
            seen.append((event.type, getattr(event, "delta", getattr(event, "attempt", None))))
    assert seen == [
        ("text_delta", "Hm"),
        ("model_retry", 2),
        ("text_delta", "Hel"),
        ("text_delta", "lo"),
    ]
    result = await handle.result()
    assert result["output"] == "Hello"
