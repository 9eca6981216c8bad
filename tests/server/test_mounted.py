"""``create_app`` mounted in the user's own Starlette app, under a prefix, with keys: the mounted
``/healthz`` stays open (it used to ask for a key: the path kept the prefix), the rest asks for
one, and the outer app runs the tether app's lifespan (the sweeper, the drain on shutdown)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from openai import AsyncOpenAI
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from tether import Runner
from tether.server import ServerConfig, create_app

from .agents import build_agents
from .conftest import LiveServer


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[tuple[LiveServer, object]]:
    runner = Runner(store=f"sqlite:///{tmp_path / 'runs.db'}", agents=build_agents())
    agents = create_app(runner, ServerConfig(api_keys=("the-key",), a2a=False))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with agents.router.lifespan_context(agents):
            yield

    outer = Starlette(
        routes=[Route("/hello", lambda r: PlainTextResponse("hi")), Mount("/agents", app=agents)],
        lifespan=lifespan,
    )
    server = LiveServer(outer).start()
    try:
        yield server, agents
    finally:
        server.stop()


async def test_a_mounted_server_keeps_healthz_open_and_the_rest_behind_keys(
    mounted: tuple[LiveServer, object],
) -> None:
    server, agents = mounted
    key = {"Authorization": "Bearer the-key"}
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        health = await client.get("/agents/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert (await client.get("/agents/v1/agents")).status_code == 401
        assert (await client.get("/agents/metrics")).status_code == 401
        assert (await client.get("/agents/v1/agents", headers=key)).status_code == 200
        done = await client.post(
            "/agents/v1/runs", json={"agent": "helper", "input": "add"}, headers=key
        )
        assert done.status_code == 200 and done.json()["final_text"] == "the sum is 5"
    oai = AsyncOpenAI(base_url=f"{server.url}/agents/v1", api_key="the-key", max_retries=0)
    answer = await oai.chat.completions.create(
        model="helper", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == "echo: hi"
    await oai.close()
    server.stop()
    assert agents.state.tether.manager.drained  # type: ignore[attr-defined]
