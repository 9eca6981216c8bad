"""Both HTTP transports (httpx and aiohttp) carry the same answers and the same failures."""

from __future__ import annotations

from typing import Any

import pytest
from provider_helpers import PROVIDERS, model_for
from servers import HTTPError, Reset, Truncate, Turn

from tether import Agent


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
@pytest.mark.parametrize("prefix", list(PROVIDERS))
async def test_transport_round_trip_and_faults(prefix: str, transport: str) -> None:
    server = PROVIDERS[prefix][0]().start()
    try:
        model: Any = model_for(server, prefix, transport=transport)
        assert model.model.transport == transport
        agent = Agent("a", model=model, tools=[add])
        server.add(HTTPError(503), Reset())
        server.add_tool_calls(("add", {"a": 1, "b": 2}))
        server.add(Truncate(Turn(text="three"), after=1), Turn(text="three"))
        events = [e async for e in agent.run_stream("1+2?")]
    finally:
        server.stop()
    result = events[-1].result  # type: ignore[attr-defined]
    assert result.output == "three" and result.tool_executions[0].output == 3
    retries = [e for e in events if e.type == "model_retry"]
    assert [r.status for r in retries] == [503, None, None]  # type: ignore[attr-defined]
    assert "connection" in retries[1].error or "broke" in retries[1].error  # type: ignore[attr-defined]
