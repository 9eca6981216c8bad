"""Two replicas on one store (two servers, one SQLite file): any replica serves a run another
one is starting or executing.

A background run answers 202 as soon as its lease is taken, before its first event is stored;
the other replica used to answer 404 for it in that window. A plain request repeating a run id
that another replica is executing used to answer at once with ``running``; it waits for the run,
as the same request to the executing replica does.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tether import Agent, Message, Runner
from tether.models import FunctionModel
from tether.store import run_lease
from tether.store.sqlite import SQLiteStore

from .conftest import LiveServer, serve, sse

_GATE = threading.Event()  # the model answers once the test opens it


async def _gated(messages: list[Message], info: Any) -> str:
    await asyncio.to_thread(_GATE.wait, 20)
    return "through the gate"


def _agents() -> list[Agent]:
    return [Agent("gated", model=FunctionModel(_gated))]


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    path = f"sqlite:///{tmp_path / 'runs.db'}"
    a = serve(Runner(store=path, telemetry=None, agents=_agents()))
    b = serve(Runner(store=path, telemetry=None, agents=_agents()))
    _GATE.clear()
    try:
        yield a, b
    finally:
        _GATE.set()
        a.stop()
        b.stop()


async def test_a_run_another_replica_is_starting_is_running_not_unknown(
    replicas: tuple[LiveServer, LiveServer], tmp_path: Path
) -> None:
    _, b = replicas
    # the window between a replica taking a new run's lease and storing its first event
    store = SQLiteStore(tmp_path / "runs.db")
    try:
        async with (
            run_lease(store, "starting-run", owner="replica-a"),
            httpx.AsyncClient(base_url=b.url, timeout=20) as client,
        ):
            got = await client.get("/v1/runs/starting-run")
            assert got.status_code == 200, got.text
            assert got.json()["state"] == "running"
        async with httpx.AsyncClient(base_url=b.url, timeout=20) as client:
            gone = await client.get("/v1/runs/starting-run")  # nobody is starting it now
            assert gone.status_code == 404
    finally:
        await store.close()


async def test_a_repeated_run_id_waits_for_the_run_on_another_replica(
    replicas: tuple[LiveServer, LiveServer],
) -> None:
    a, b = replicas
    body = {"agent": "gated", "input": "go", "run_id": "shared-run"}
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=30) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=30) as on_b,
    ):
        started = await on_a.post("/v1/runs", json={**body, "background": True})
        assert started.status_code == 202
        seen = await on_b.get("/v1/runs/shared-run")  # B sees the run A is executing
        assert seen.status_code == 200 and seen.json()["state"] == "running"
        repeat = asyncio.ensure_future(on_b.post("/v1/runs", json=body))
        done, _ = await asyncio.wait([repeat], timeout=1.0)
        assert not done, f"answered before the run stopped: {repeat.result().text}"
        _GATE.set()
        answer = await repeat
        assert answer.status_code == 200
        assert answer.json()["state"] == "completed"
        assert answer.json()["final_text"] == "through the gate"
        async with on_b.stream("GET", "/v1/runs/shared-run/events") as events:
            kinds = [m["event"] for m in await sse(events)]
        assert kinds.count("run_started") == 1 and kinds[-1] == "run_finished"
