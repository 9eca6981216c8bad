"""Answers that are valid JSON but not of the protocol's shape end the call with a
ModelProviderError that says so (not an AttributeError or TypeError from deep in the parser),
at once and without a retry; a streamed run ends failed with that error, never hangs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from provider_helpers import PROVIDERS, model_for
from servers import AnthropicServer, Events, ModelServer, Raw, Turn

from tether import Agent
from tether.errors import ModelProviderError
from tether.messages import Message
from tether.models.base import ModelRequest

SHAPE = "not in this protocol's shape"

# One stream event per protocol whose JSON is fine but whose shape is not.
BAD_EVENTS: dict[str, list[tuple[str | None, Any]]] = {
    "openai-chat": [(None, {"id": "x", "object": "chat.completion.chunk", "choices": "oops"})],
    "openai": [
        (
            "response.output_text.delta",
            {"type": "response.output_text.delta", "delta": 5, "output_index": 0},
        )
    ],
    "anthropic": [("message_start", [1, 2])],
}

# One JSON answer per protocol whose first item is of the wrong shape.
BAD_BODIES: dict[str, Any] = {
    "openai-chat": {"id": "x", "choices": [{"index": 0, "message": None}]},
    "openai": {"id": "r", "status": "completed", "output": [{"type": "message", "content": "x"}]},
    "anthropic": {
        "id": "m",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": 5}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    },
}


def _agent(server: ModelServer, prefix: str) -> Agent:
    agent = Agent("a", model=model_for(server, prefix))

    @agent.tool
    def add(a: int, b: int) -> int:
        return a + b

    return agent


@pytest.mark.parametrize("prefix", list(PROVIDERS))
async def test_misshapen_stream_event_fails_the_run_with_a_provider_error(prefix: str) -> None:
    server = PROVIDERS[prefix][0]().start()
    try:
        server.add(Events(BAD_EVENTS[prefix]), Turn(text="never reached"))
        events = [e async for e in _agent(server, prefix).run_stream("hi")]
        requests = len(server.requests)
    finally:
        server.stop()
    result = events[-1].result  # type: ignore[attr-defined]
    assert result.state == "failed"
    assert SHAPE in result.error and prefix in result.error
    assert requests == 1  # the same server answers the same way: not retried
    assert not [e for e in events if e.type == "model_retry"]


@pytest.mark.parametrize("prefix", list(PROVIDERS))
async def test_misshapen_json_answer_is_a_provider_error(prefix: str) -> None:
    server = PROVIDERS[prefix][0]().start()
    try:
        server.add(Raw(200, json.dumps(BAD_BODIES[prefix]).encode()), Turn(text="never"))
        request = ModelRequest(messages=[Message.user("hi")])
        with pytest.raises(ModelProviderError, match=SHAPE) as caught:
            await model_for(server, prefix).request(request)
        assert len(server.requests) == 1
    finally:
        server.stop()
    assert caught.value.retryable is False
    assert caught.value.body == BAD_BODIES[prefix]


async def test_tool_arguments_sent_as_an_object_are_accepted(chat_server: ModelServer) -> None:
    # Some OpenAI-compatible servers send function.arguments as a JSON object, not a string.
    body = {
        "id": "x",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "add", "arguments": {"a": 20, "b": 22}},
                        }
                    ],
                },
            }
        ],
    }
    chat_server.add(Raw(200, json.dumps(body).encode()), Turn(text="42"))
    agent = _agent(chat_server, "openai-chat")
    result = await agent.run("add")
    assert result.output == "42"
    [record] = result.tool_executions
    assert record.success and record.output == 42


DEEP_ARRAY = ("[" * 100_000 + "]" * 100_000).encode()  # past the JSON parser's recursion limit


async def test_json_body_nested_too_deep_is_retried_as_invalid_json(
    chat_server: ModelServer,
) -> None:
    chat_server.add(Raw(200, DEEP_ARRAY), Turn(text="ok"))
    seen: list[Any] = []
    request = ModelRequest(messages=[Message.user("hi")], observer=seen.append)
    assert (await model_for(chat_server).request(request)).text == "ok"
    [retry] = seen
    assert "invalid JSON" in retry.error and "nested too deeply" in retry.error


async def test_error_body_nested_too_deep_keeps_its_status(chat_server: ModelServer) -> None:
    chat_server.add(Raw(400, DEEP_ARRAY))
    with pytest.raises(ModelProviderError) as caught:
        await model_for(chat_server).request(ModelRequest(messages=[Message.user("hi")]))
    assert caught.value.status == 400 and not caught.value.retryable


async def test_anthropic_tool_arguments_nested_too_deep_are_refused_not_fatal() -> None:
    # The refused call is sent back as a tool_use block: its input is parsed for that.
    deep = '{"a":' * 5000 + "1" + "}" * 5000
    server = AnthropicServer().start()
    try:
        server.add(Turn(tool_calls=[("add", deep)]), Turn(text="gave up"))
        events = [e async for e in _agent(server, "anthropic").run_stream("hi")]
        sent = server.requests[-1].body
    finally:
        server.stop()
    result = events[-1].result  # type: ignore[attr-defined]
    assert result.state == "completed" and result.output == "gave up"
    [record] = result.tool_executions
    assert not record.success and "nested more than" in (record.error or "")
    [use] = [b for m in sent["messages"] for b in m["content"] if b.get("type") == "tool_use"]
    assert use["input"] == {}


def _chunk(delta: dict[str, Any], finish: str | None = None) -> tuple[None, dict[str, Any]]:
    return None, {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


async def test_streamed_tool_calls_without_an_index_are_told_apart_by_id(
    chat_server: ModelServer,
) -> None:
    # Some OpenAI-compatible servers leave out tool_calls[].index: each call came as one
    # delta with its own id, and the two were merged into one call to 'addadd'.
    def call(call_id: str | None, name: str | None, arguments: str) -> dict[str, Any]:
        function: dict[str, Any] = {"arguments": arguments}
        if name:
            function["name"] = name
        made: dict[str, Any] = {"type": "function", "function": function}
        if call_id:
            made["id"] = call_id
        return made

    chat_server.add(
        Events(
            [
                _chunk({"role": "assistant"}),
                _chunk({"tool_calls": [call("a1", "add", '{"a": 1,')]}),
                _chunk({"tool_calls": [call(None, None, ' "b": 2}')]}),
                _chunk({"tool_calls": [call("a2", "add", '{"a": 3, "b": 4}')]}),
                _chunk({}, "tool_calls"),
                (None, "[DONE]"),
            ]
        ),
        Turn(text="done"),
    )
    events = [e async for e in _agent(chat_server, "openai-chat").run_stream("add twice")]
    result = events[-1].result  # type: ignore[attr-defined]
    assert [(r.tool_call_id, r.output) for r in result.tool_executions] == [("a1", 3), ("a2", 7)]


async def test_chat_content_given_as_a_list_of_text_parts_is_text(chat_server: ModelServer) -> None:
    # Some compatible servers answer content as [{"type": "text", "text": ...}], streamed or not.
    message = {
        "role": "assistant",
        "content": [{"type": "text", "text": "hel"}, {"type": "text", "text": "lo"}],
    }
    body = {
        "id": "x",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
    }
    chat_server.add(
        Raw(200, json.dumps(body).encode()),
        Events(
            [
                _chunk({"content": [{"type": "text", "text": "str"}]}),
                _chunk({"content": "eam"}, "stop"),
                (None, "[DONE]"),
            ]
        ),
    )
    agent = _agent(chat_server, "openai-chat")
    assert (await agent.run("hi")).output == "hello"
    events = [e async for e in agent.run_stream("hi")]
    assert events[-1].result.output == "stream"  # type: ignore[attr-defined]
    assert [e.delta for e in events if e.type == "text_delta"] == ["str", "eam"]  # type: ignore[attr-defined]
