"""Both HTTP transports (httpx and aiohttp) carry the same answers and the same failures."""

from __future__ import annotations

from typing import Any

import pytest
from provider_helpers import PROVIDERS, model_for
from servers import HTTPError, Reset, Truncate, Turn

from tether import Agent
from tether.messages import Message
from tether.models.base import ModelRequest


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


async def test_the_httpx_request_is_what_build_request_would_make(chat_server: Any) -> None:
    """The httpx path builds its request from parts merged once per endpoint: the same method,
    URL, headers and timeout as the client's ``build_request``; with cookies in the client's
    jar it is ``build_request`` itself (they are merged per request)."""
    model: Any = model_for(chat_server, transport="httpx", runtime=None)
    chat_server.add_text("ok")
    assert (await model.request(ModelRequest(messages=[Message.user("hi")]))).text == "ok"
    endpoint = await model._get_endpoint()
    http = endpoint.http
    for timeout in (None, 7.5):
        made = endpoint.errors.Request(
            "POST",
            endpoint._url,
            content=b"{}",
            headers=endpoint._headers,
            extensions={"timeout": endpoint._timeout(timeout)},
        )
        expected = http.build_request(
            "POST",
            endpoint.url,
            content=b"{}",
            headers=endpoint.headers,
            timeout=timeout if timeout is not None else http.timeout,
        )
        assert made.method == expected.method and made.url == expected.url
        assert list(made.headers.multi_items()) == list(expected.headers.multi_items())
        assert made.extensions == expected.extensions
    http.cookies.set("session", "abc", domain="127.0.0.1")
    chat_server.add_text("with cookie")
    assert (await model.request(ModelRequest(messages=[Message.user("hi")]))).text == "with cookie"
    assert "session=abc" in chat_server.requests[-1].headers.get("cookie", "")
