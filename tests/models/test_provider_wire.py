"""ModelSettings and messages as each wire format wants them (checked on what servers receive)."""

from __future__ import annotations

from typing import Any

import pytest
from provider_helpers import model_for
from servers import ModelServer

from tether import Agent
from tether.messages import (
    Message,
    ReasoningPart,
    RefusalPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from tether.models.base import ModelSettings

SETTINGS = ModelSettings(
    temperature=0.2,
    top_p=0.9,
    max_tokens=123,
    stop=("END",),
    seed=7,
    parallel_tool_calls=False,
    tool_choice="add",
    reasoning_effort="low",
    extra={"user": "u-1", "metadata": {"k": "v"}},
)


def add(a: int, b: int) -> int:
    """Add."""
    return a + b


async def sent(
    server: ModelServer,
    prefix: str,
    settings: ModelSettings,
    run_settings: ModelSettings | None = None,
) -> dict[str, Any]:
    from tether.run.config import RunConfig

    server.add_text("ok")
    agent = Agent("a", model=model_for(server, prefix), tools=[add], model_settings=settings)
    await agent.run("hi", run_config=RunConfig(model_settings=run_settings))
    body: dict[str, Any] = server.requests[-1].body
    return body


async def test_chat_settings(chat_server: ModelServer) -> None:
    body = await sent(chat_server, "openai-chat", SETTINGS, ModelSettings(temperature=0.5))
    assert body["temperature"] == 0.5  # the run config's settings win over the agent's
    assert (body["top_p"], body["max_tokens"], body["stop"], body["seed"]) == (
        0.9,
        123,
        ["END"],
        7,
    )  # a compatible server: max_tokens
    assert body["parallel_tool_calls"] is False
    assert body["tool_choice"] == {"type": "function", "function": {"name": "add"}}
    assert body["reasoning_effort"] == "low"
    assert body["user"] == "u-1" and body["metadata"] == {"k": "v"}


def test_official_openai_gets_max_completion_tokens() -> None:
    from tether.models.base import ModelRequest
    from tether.models.resolve import resolve_model

    model: Any = resolve_model("openai-chat:gpt-4o", api_key="k", runtime=None)
    request = ModelRequest(messages=[Message.user("x")], settings=ModelSettings(max_tokens=9))
    assert model.build_body(request, False)["max_completion_tokens"] == 9


async def test_responses_settings(responses_server: ModelServer) -> None:
    body = await sent(responses_server, "openai", SETTINGS)
    assert (body["temperature"], body["top_p"], body["max_output_tokens"]) == (0.2, 0.9, 123)
    assert body["tool_choice"] == {"type": "function", "name": "add"}
    assert body["reasoning"]["effort"] == "low" and body["parallel_tool_calls"] is False
    assert "stop" not in body and "seed" not in body  # the Responses API has no such fields
    assert body["user"] == "u-1"


async def test_anthropic_settings(anthropic_server: ModelServer) -> None:
    body = await sent(anthropic_server, "anthropic", SETTINGS)
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.2, 0.9, 123)
    assert body["stop_sequences"] == ["END"]
    assert body["tool_choice"] == {"type": "tool", "name": "add", "disable_parallel_tool_use": True}
    assert body["output_config"] == {"effort": "low"}
    default = await sent(anthropic_server, "anthropic", ModelSettings(tool_choice="required"))
    assert default["max_tokens"] == 4096 and default["tool_choice"] == {"type": "any"}


HISTORY = [
    Message.system("Extra rule."),
    Message.user("What is 1+1?"),
    Message(
        "assistant",
        [
            ReasoningPart("think", signature="sig-1"),
            TextPart("Let me add."),
            ToolCallPart("c1", "add", '{"a": 1, "b": 1}'),
        ],
    ),
    Message("tool", [ToolResultPart("c1", "add", "oops", is_error=True)]),
    Message("assistant", [RefusalPart("no more")]),
    Message.user("Please?"),
]


@pytest.mark.parametrize("prefix", ["openai-chat", "openai", "anthropic"])
async def test_history_maps_to_each_wire(
    prefix: str,
    chat_server: ModelServer,
    responses_server: ModelServer,
    anthropic_server: ModelServer,
) -> None:
    server = {
        "openai-chat": chat_server,
        "openai": responses_server,
        "anthropic": anthropic_server,
    }[prefix]
    server.add_text("2")
    agent = Agent("a", model=model_for(server, prefix), instructions="Be exact.", tools=[add])
    assert (await agent.run(HISTORY)).output == "2"
    body = server.requests[0].body
    if prefix == "openai-chat":
        roles = [m["role"] for m in body["messages"]]
        assert roles == ["system", "system", "user", "assistant", "tool", "assistant", "user"]
        call = body["messages"][3]
        assert call["content"] == "Let me add." and call["tool_calls"][0]["id"] == "c1"
        assert body["messages"][4] == {"role": "tool", "tool_call_id": "c1", "content": "oops"}
        assert body["messages"][5]["refusal"] == "no more"
    elif prefix == "openai":
        assert body["instructions"] == "Be exact."
        kinds = [i.get("type") or i["role"] for i in body["input"]]
        assert kinds == [
            "developer",
            "user",
            "assistant",
            "function_call",
            "function_call_output",
            "assistant",
            "user",
        ]
    else:
        assert body["system"] == "Be exact.\n\nExtra rule."
        assert [m["role"] for m in body["messages"]] == [
            "user",
            "assistant",
            "user",
            "assistant",
            "user",
        ]
        blocks = body["messages"][1]["content"]
        assert blocks[0] == {"type": "thinking", "thinking": "think", "signature": "sig-1"}
        assert blocks[2] == {
            "type": "tool_use",
            "id": "c1",
            "name": "add",
            "input": {"a": 1, "b": 1},
        }
        assert body["messages"][2]["content"][0] == {
            "type": "tool_result",
            "tool_use_id": "c1",
            "content": "oops",
            "is_error": True,
        }
