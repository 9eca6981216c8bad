"""Odd answers a provider can give: error events inside streams, bodies that are not JSON,
and how many requests an endpoint has in flight."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from provider_helpers import PROVIDERS, model_for
from servers import Delay, Events, ModelServer, Raw, Turn

from tether import Agent
from tether.errors import UserError
from tether.events import Event
from tether.messages import Message
from tether.models.base import ModelRequest

# A stream that fails with the protocol's own error event before any output.
ERROR_EVENTS: dict[str, list[tuple[str | None, Any]]] = {
    "openai-chat": [
        (None, {"error": {"message": "The server had an error", "type": "server_error"}}),
    ],
    "openai": [
        (
            "response.created",
            {
                "type": "response.created",
                "sequence_number": 0,
                "response": {"id": "r", "status": "in_progress", "output": []},
            },
        ),
        (
            "response.failed",
            {
                "type": "response.failed",
                "sequence_number": 1,
                "response": {
                    "id": "r",
                    "status": "failed",
                    "output": [],
                    "error": {"code": "server_error", "message": "The server had an error"},
                },
            },
        ),
    ],
    "anthropic": [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "m",
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": "claude-haiku-4-5",
                    "usage": {"input_tokens": 1, "output_tokens": 1},
                },
            },
        ),
        (
            "error",
            {
                "type": "error",
                "error": {"type": "overloaded_error", "message": "The server had an error"},
            },
        ),
    ],
}


async def collect(agent: Agent) -> tuple[Any, list[Event]]:
    """Run streamed; returns (result, events)."""
    events = [e async for e in agent.run_stream("hi")]
    return events[-1].result, events  # type: ignore[attr-defined]


@pytest.mark.parametrize("prefix", list(PROVIDERS))
async def test_error_event_in_stream_is_retried(prefix: str) -> None:
    server = PROVIDERS[prefix][0]().start()
    try:
        server.add(Events(ERROR_EVENTS[prefix]), Turn(text="fine now"))
        result, events = await collect(Agent("a", model=model_for(server, prefix)))
    finally:
        server.stop()
    assert result.output == "fine now"
    [retry] = [e for e in events if e.type == "model_retry"]
    assert "The server had an error" in retry.error  # type: ignore[attr-defined]


async def test_body_that_is_not_json_is_retried(chat_server: ModelServer) -> None:
    chat_server.add(Raw(200, b"<html>gateway hiccup</html>", "text/html"), Turn(text="ok"))
    seen: list[Event] = []
    request = ModelRequest(messages=[Message.user("hi")], observer=seen.append)
    assert (await model_for(chat_server).request(request)).text == "ok"
    [retry] = seen
    assert "invalid JSON" in retry.error  # type: ignore[attr-defined]


async def test_json_where_a_stream_was_expected_is_retried(chat_server: ModelServer) -> None:
    chat_server.add(Raw(200, b'{"surprise": true}'), Turn(text="ok"))
    result, events = await collect(Agent("a", model=model_for(chat_server)))
    assert result.output == "ok"
    retry = next(e for e in events if e.type == "model_retry")
    assert "asked for an event stream, got application/json" in retry.error  # type: ignore[attr-defined]


async def test_invalid_json_inside_a_stream_is_retried(chat_server: ModelServer) -> None:
    chat_server.add(Events([(None, "{not json")]), Turn(text="ok"))
    result, events = await collect(Agent("a", model=model_for(chat_server)))
    assert result.output == "ok"
    assert "invalid JSON" in next(e for e in events if e.type == "model_retry").error  # type: ignore[attr-defined]


async def test_html_error_page_keeps_its_text(chat_server: ModelServer) -> None:
    chat_server.add(Raw(401, b"<html>Unauthorized</html>", "text/html"))
    result, _ = await collect(Agent("a", model=model_for(chat_server)))
    assert result.state == "failed" and "HTTP 401" in result.error


async def test_in_flight_requests_are_bounded_per_endpoint(chat_server: ModelServer) -> None:
    for _ in range(6):
        chat_server.add(Delay(0.05, Turn(text="x")))
    model = model_for(chat_server, runtime=None)
    model.max_inflight = 2  # type: ignore[attr-defined]
    requests = [ModelRequest(messages=[Message.user(str(i))]) for i in range(6)]
    answers = await asyncio.gather(*(model.request(r) for r in requests))
    assert [a.text for a in answers] == ["x"] * 6
    assert chat_server.peak == 2


async def test_clients_are_reused_and_closed(chat_server: ModelServer) -> None:
    from tether.models import aclose_clients

    chat_server.add_text("a").add_text("b").add_text("c")
    model: Any = model_for(chat_server, runtime=None)
    first = await model._get_endpoint()
    await model.request(ModelRequest(messages=[Message.user("1")]))
    assert await model._get_endpoint() is first
    await aclose_clients()
    second = await model._get_endpoint()
    assert second is not first
    assert (await model.request(ModelRequest(messages=[Message.user("2")]))).text == "b"


def test_transport_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    from tether.models._http import default_transport
    from tether.models.resolve import resolve_model

    monkeypatch.setenv("TETHER_HTTP_TRANSPORT", "httpx")
    assert default_transport() == "httpx"
    model: Any = resolve_model("openai:gpt-4o", api_key="k", runtime=None)
    assert model.transport == "httpx"
    monkeypatch.setenv("TETHER_HTTP_TRANSPORT", "carrier-pigeon")
    with pytest.raises(UserError, match="TETHER_HTTP_TRANSPORT"):
        default_transport()
    monkeypatch.delenv("TETHER_HTTP_TRANSPORT")
    assert default_transport() == "aiohttp"  # installed in the dev environment
