"""An exception a request meets (a store's, say) quoting a key or a bearer token: the error body
and the server's log line carry it scrubbed. A real server, over HTTP."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from tether import Runner
from tether.errors import TetherError
from tether.store.memory import MemoryStore

from .agents import build_agents
from .conftest import serve

KEY = "sk-proj-storeLeak0123456789abcdef"
TOKEN = "eyJserver.leaked-bearer.0123456789"


class _FailingStore(MemoryStore):
    """A store whose reads fail with an error quoting secrets: a TetherError for one run id,
    any other exception for another."""

    async def load(self, run_id: str) -> list[Any]:
        if run_id == "typed":
            raise TetherError(f"the store refused: Authorization: Bearer {TOKEN}; key {KEY}")
        if run_id == "unexpected":
            raise RuntimeError(f"driver said: password for key {KEY} (Bearer {TOKEN})")
        return await super().load(run_id)


async def test_error_bodies_and_the_log_quote_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    runner = Runner(store=_FailingStore(), telemetry=None, agents=build_agents())
    server = serve(runner)
    try:
        with caplog.at_level(logging.ERROR, logger="tether.server"):
            async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
                typed = await client.get("/v1/runs/typed")
                unexpected = await client.get("/v1/runs/unexpected")
    finally:
        server.stop()
    assert typed.status_code == 500 and typed.json()["error"]["type"] == "TetherError"
    assert "[secret]" in typed.json()["error"]["message"]
    assert unexpected.status_code == 500
    assert unexpected.json()["error"]["type"] == "internal_error"
    logged = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert "RuntimeError: driver said" in logged and "[secret]" in logged
    for text in (typed.text, unexpected.text, logged):
        assert KEY not in text and TOKEN not in text
