"""The same agent scenarios against every provider protocol, streamed and not, over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel
from servers import ModelServer, Turn

from tether import Agent
from tether.events import Event
from tether.messages import Message, ReasoningPart, RefusalPart

pytestmark = pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def mul(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


class City(BaseModel):
    """A city and its country."""

    name: str
    country: str


async def run(agent: Agent, prompt: Any, stream: bool) -> tuple[Any, list[Event]]:
    """Run ``agent``; returns (result, events) whether streamed or not."""
    if not stream:
        return await agent.run(prompt), []
    events = [e async for e in agent.run_stream(prompt)]
    result = events[-1].result  # type: ignore[attr-defined]
    if result.state == "failed":
        raise AssertionError(result.error)
    return result, events


def tool_results_sent(server: ModelServer, index: int) -> list[tuple[str, str]]:
    """(call id, content) of the tool results in request ``index``, in any protocol."""
    body = server.requests[index].body
    found: list[tuple[str, str]] = []
    for item in body.get("messages") or body.get("input") or []:
        if item.get("role") == "tool":
            found.append((item["tool_call_id"], item["content"]))
        elif item.get("type") == "function_call_output":
            found.append((item["call_id"], item["output"]))
        elif isinstance(item.get("content"), list):
            for block in item["content"]:
                if block.get("type") == "tool_result":
                    found.append((block["tool_use_id"], block["content"]))
    return found


async def test_plain_answer(provider: tuple[ModelServer, Any], stream: bool) -> None:
    server, make = provider
    server.add(Turn(text="Paris is the capital.", input_tokens=100, output_tokens=20))
    result, events = await run(
        Agent("a", model=make(), instructions="Be brief."), "Capital?", stream
    )
    assert result.output == "Paris is the capital."
    assert result.usage.input_tokens == 100 and result.usage.output_tokens == 20
    assert result.usage.requests == 1
    assert result.usage.cost is not None and result.usage.cost > 0
    body = server.requests[0].body
    assert body.get("stream", False) is stream
    assert "Be brief." in json.dumps(body)
    assert server.requests[0].headers["authorization"] == "Bearer test-key"
    if stream:
        deltas = "".join(e.delta for e in events if e.type == "text_delta")  # type: ignore[attr-defined]
        assert deltas == "Paris is the capital."
        assert sum(e.type == "text_delta" for e in events) == 3


async def test_one_tool(provider: tuple[ModelServer, Any], stream: bool) -> None:
    server, make = provider
    server.add_tool_calls(("add", {"a": 2, "b": 3}))
    server.add_text("It is 5.")
    result, events = await run(Agent("a", model=make(), tools=[add]), "2+3?", stream)
    assert result.output == "It is 5."
    [record] = result.tool_executions
    assert record.tool_name == "add" and record.output == 5
    [(call_id, content)] = tool_results_sent(server, 1)
    assert call_id == record.tool_call_id and content == "5"
    assert result.usage.requests == 2
    if stream:
        pieces = [e for e in events if e.type == "tool_call_delta"]
        assert pieces[0].tool_name == "add"  # type: ignore[attr-defined]
        args = "".join(e.delta for e in pieces)  # type: ignore[attr-defined]
        assert json.loads(args) == {"a": 2, "b": 3}
        assert len(pieces) >= 3  # name first, then arguments in pieces


async def test_parallel_tools(provider: tuple[ModelServer, Any], stream: bool) -> None:
    server, make = provider
    server.add_tool_calls(("add", {"a": 2, "b": 3}), ("mul", {"a": 4, "b": 5}))
    server.add_text("5 and 20")
    result, events = await run(Agent("a", model=make(), tools=[add, mul]), "both", stream)
    assert result.output == "5 and 20"
    assert sorted(r.output for r in result.tool_executions) == [5, 20]
    sent = tool_results_sent(server, 1)
    assert sorted(content for _, content in sent) == ["20", "5"]
    assert {call_id for call_id, _ in sent} == {r.tool_call_id for r in result.tool_executions}
    assert len(result.messages[1].tool_calls) == 2
    if stream:
        indexes = {e.index for e in events if e.type == "tool_call_delta"}  # type: ignore[attr-defined]
        assert indexes == {0, 1}


async def test_structured_output_native(provider: tuple[ModelServer, Any], stream: bool) -> None:
    server, make = provider
    server.add_text('{"name": "Paris", "country": "France"}')
    agent = Agent("a", model=make(), output=City, output_mode="native")
    result, _ = await run(agent, "A city?", stream)
    assert result.output == City(name="Paris", country="France")
    body = server.requests[0].body
    schema = (
        body.get("response_format", {}).get("json_schema", {}).get("schema")
        or body.get("text", {}).get("format", {}).get("schema")
        or body.get("output_config", {}).get("format", {}).get("schema")
    )
    assert schema is not None and set(schema["properties"]) == {"name", "country"}
    assert "tools" not in body


async def test_structured_output_tool(provider: tuple[ModelServer, Any], stream: bool) -> None:
    server, make = provider
    server.add_tool_calls(("final_result", {"name": "Lima", "country": "Peru"}))
    result, _ = await run(Agent("a", model=make(), output=City), "A city?", stream)
    assert result.output == City(name="Lima", country="Peru")
    assert "final_result" in json.dumps(server.requests[0].body["tools"])


async def test_multi_turn_keeps_reasoning(provider: tuple[ModelServer, Any], stream: bool) -> None:
    server, make = provider
    agent = Agent("a", model=make(), tools=[add])
    server.add(Turn(tool_calls=[("add", {"a": 1, "b": 1})], reasoning="I should add."))
    server.add(Turn(text="2", reasoning="Done adding.", reasoning_tokens=7))
    first, _ = await run(agent, "1+1?", stream)
    assert first.output == "2"
    # Anthropic counts thinking inside output_tokens and reports no separate figure.
    assert first.usage.reasoning_tokens == (0 if server.path == "/v1/messages" else 7)
    thinking = [p for m in first.messages for p in m.parts if isinstance(p, ReasoningPart)]
    assert [p.text for p in thinking] == ["I should add.", "Done adding."]
    server.add_text("Yes, 2.")
    second, _ = await run(agent, [*first.messages, Message.user("Sure?")], stream)
    assert second.output == "Yes, 2."
    wire = json.dumps(server.requests[-1].body)
    assert "Sure?" in wire and "1+1?" in wire
    if "anthropic" in server.path or "responses" in server.path:
        # Protocols that need reasoning back get it back, as it came.
        assert "I should add." in wire


async def test_refusal(provider: tuple[ModelServer, Any], stream: bool) -> None:
    server, make = provider
    server.add(Turn(refusal="I can't help with that."))
    result, _ = await run(Agent("a", model=make()), "Something bad", stream)
    refusals = [p for p in result.messages[-1].parts if isinstance(p, RefusalPart)]
    assert refusals and "help with that" in refusals[0].refusal
    assert "help with that" in result.output


async def test_finish_reason_and_cached_tokens(
    provider: tuple[ModelServer, Any], stream: bool
) -> None:
    server, make = provider
    server.add(
        Turn(
            text="cut",
            input_tokens=50,
            cached_tokens=30,
            finish_reason={
                "/v1/chat/completions": "length",
                "/v1/responses": "max_output_tokens",
                "/v1/messages": "max_tokens",
            }[server.path],
        )
    )
    events: list[Event] = []
    agent = Agent("a", model=make())
    async for event in agent.run_stream("go"):
        events.append(event)
    [response] = [e for e in events if e.type == "model_response"]
    assert response.finish_reason == "length"  # type: ignore[attr-defined]
    assert response.usage.cached_tokens == 30  # type: ignore[attr-defined]
    assert response.usage.input_tokens == 50  # type: ignore[attr-defined]
