"""A stream that tells its client the run stopped means it: the next request is taken.

A streamed run (the run API's SSE, AG-UI) ends with the run's last event. The run's execution
here still gives its lease up after that event; a client that resumed at once used to find the
run "executing now" (409). The lease store below gives a lease up slowly, so the race is certain.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tether import Runner
from tether.store.sqlite import SQLiteStore

from .agents import build_agents
from .conftest import LiveServer, serve, sse


class _SlowRelease(SQLiteStore):
    """A SQLite store that takes 0.3 s to give a lease up."""

    async def release_lease(self, run_id: str, owner: str) -> None:
        await asyncio.sleep(0.3)
        await super().release_lease(run_id, owner)


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[LiveServer]:
    runner = Runner(store=_SlowRelease(tmp_path / "runs.db"), telemetry=None, agents=build_agents())
    server = serve(runner)
    try:
        yield server
    finally:
        server.stop()


async def test_an_approval_sent_when_the_stream_ends_is_taken(slow: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=slow.url, timeout=20) as client:
        body = {"agent": "guarded", "input": "pay", "stream": True}
        async with client.stream("POST", "/v1/runs", json=body) as answer:
            assert answer.status_code == 200
            messages = await sse(answer)
        data = [json.loads(m["data"]) for m in messages]
        assert data[-1]["type"] == "run_finished" and data[-1]["state"] == "awaiting_approval"
        run_id = answer.headers["x-tether-run-id"]
        (asked,) = [d for d in data if d["type"] == "approval_requested"]
        decided = await client.post(
            f"/v1/runs/{run_id}/approvals", json={"call_id": asked["call_id"], "approved": True}
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["state"] == "completed"


async def test_an_agui_resume_sent_when_the_stream_ends_is_taken(slow: LiveServer) -> None:
    def body(run_id: str, **extra: object) -> dict[str, object]:
        return {
            "threadId": "t",
            "runId": run_id,
            "state": {},
            "messages": [{"id": "m1", "role": "user", "content": "pay"}],
            "tools": [],
            "context": [],
            "forwardedProps": {},
            **extra,
        }

    async with httpx.AsyncClient(base_url=slow.url, timeout=20) as client:
        async with client.stream("POST", "/v1/ag-ui/guarded", json=body("a1")) as answer:
            assert answer.status_code == 200
            finished = json.loads((await sse(answer))[-1]["data"])
        (interrupt,) = finished["outcome"]["interrupts"]
        resume = [{"interruptId": interrupt["id"], "status": "resolved"}]
        async with client.stream(
            "POST", "/v1/ag-ui/guarded", json=body("a2", resume=resume)
        ) as more:
            assert more.status_code == 200, await more.aread()
            done = json.loads((await sse(more))[-1]["data"])
        assert done["outcome"]["type"] == "success"
