"""Server fixtures: a real uvicorn server on 127.0.0.1 (in a thread) serving the test agents."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from tether import Runner
from tether.server import ServerConfig, create_app

from .agents import build_agents


class LiveServer:
    """uvicorn serving ``app`` on a free loopback port, in a thread with its own event loop."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                break
            self.thread.join(0.05)
        assert self.server.started, "uvicorn did not start"
        return self

    @property
    def url(self) -> str:
        sock = self.server.servers[0].sockets[0]
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def serve(runner: Runner, config: ServerConfig | None = None) -> LiveServer:
    """Start a live server for ``runner``."""
    return LiveServer(
        create_app(runner, config or ServerConfig(sweep_interval=0, a2a=False))
    ).start()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module: the test agents, a SQLite store, no auth."""
    path = tmp_path_factory.mktemp("server") / "runs.db"
    runner = Runner(store=f"sqlite:///{path}", telemetry=None, agents=build_agents())
    server = serve(runner)
    yield server
    server.stop()


@pytest.fixture
async def client(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live.url, timeout=20) as made:
        yield made


async def sse(response: httpx.Response) -> list[dict[str, Any]]:
    """The SSE messages of a streamed response: dicts of id, event and data (text)."""
    messages: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line:
            if current:
                messages.append(current)
                current = {}
            continue
        name, _, value = line.partition(":")
        current[name] = value[1:] if value.startswith(" ") else value
    if current:
        messages.append(current)
    return messages
