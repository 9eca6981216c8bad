"""Pydantic AI: an Agent with the ``add`` tool; OpenAIChatModel over HTTP, FunctionModel (with a
stream function) in process."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from pydantic_ai import Agent
from pydantic_ai.messages import (
    ModelResponse,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, FunctionModel
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from frameworks.common import ANSWER, API_KEY, MODEL, PROMPT, STREAM_PIECES, TOOL_ARGS, add, check

PACKAGE = "pydantic_ai"


def version() -> str:
    """The installed pydantic-ai-slim version."""
    from importlib.metadata import version as dist_version

    return dist_version("pydantic-ai-slim")


def _answered(messages: list[Any]) -> bool:
    return any(isinstance(p, ToolReturnPart) for p in messages[-1].parts)


async def _answer(messages: list[Any], info: AgentInfo) -> ModelResponse:
    if _answered(messages):
        return ModelResponse(parts=[TextPart(ANSWER)])
    return ModelResponse(parts=[ToolCallPart("add", TOOL_ARGS, tool_call_id="call_1")])


async def _stream_answer(messages: list[Any], info: AgentInfo) -> AsyncIterator[Any]:
    if _answered(messages):
        for piece in STREAM_PIECES:
            yield piece
        return
    args = json.dumps(TOOL_ARGS)
    half = len(args) // 2
    yield {0: DeltaToolCall("add", args[:half], tool_call_id="call_1")}
    yield {0: DeltaToolCall(None, args[half:])}


class Bench:
    """Pydantic AI agents for one server and transport."""

    def __init__(self, base_url: str | None = None, transport: str = "default") -> None:
        self.base_url = base_url
        self.transport = transport
        self.inproc = Agent(FunctionModel(_answer, stream_function=_stream_answer), tools=[add])
        self.http: Agent[Any, Any] | None = None
        self.client: Any = None

    async def setup(self) -> None:
        """Create the client inside the running loop."""
        import openai

        if self.base_url is None:
            return
        extra: dict[str, Any] = {}
        if self.transport == "aiohttp":
            extra["http_client"] = openai.DefaultAioHttpClient()
        self.client = openai.AsyncOpenAI(base_url=self.base_url, api_key=API_KEY, **extra)
        model = OpenAIChatModel(MODEL, provider=OpenAIProvider(openai_client=self.client))
        self.http = Agent(model, tools=[add])

    async def close(self) -> None:
        """Close the client's connections."""
        if self.client is not None:
            await self.client.close()

    async def run_http(self) -> str:
        """One run over Chat Completions."""
        assert self.http is not None
        return check((await self.http.run(PROMPT)).output)

    async def stream_http(self, on_first: Callable[[], None]) -> str:
        """One streamed run over Chat Completions."""
        assert self.http is not None
        return await _stream(self.http, on_first)

    async def run_inproc(self) -> str:
        """One run with FunctionModel."""
        return check((await self.inproc.run(PROMPT)).output)

    async def stream_inproc(self, on_first: Callable[[], None]) -> str:
        """One streamed run with FunctionModel."""
        return await _stream(self.inproc, on_first)


async def _stream(agent: Agent[Any, Any], on_first: Callable[[], None]) -> str:
    first = True
    output: Any = None
    async with agent.run_stream_events(PROMPT) as events:
        async for event in events:
            if first and (
                (isinstance(event, PartStartEvent) and isinstance(event.part, TextPart))
                or (isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta))
            ):
                on_first()
                first = False
            result = getattr(event, "result", None)
            if result is not None:
                output = result.output
    return check(output)
