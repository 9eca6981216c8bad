"""Agno: an Agent with a function tool; ``OpenAIChat`` over HTTP, and in process the same
``OpenAIChat`` whose client answers from memory (Agno ships no test model: its request
building and response parsing run as they do over HTTP, only the network is left out).
Telemetry and storage are off, as tether's default runner has neither."""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

os.environ.setdefault("AGNO_TELEMETRY", "false")

from agno.agent import Agent
from agno.models.openai import OpenAIChat
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from frameworks.common import (
    ANSWER,
    API_KEY,
    MODEL,
    PROMPT,
    STREAM_PIECES,
    TOOL_ARGS,
    add,
    check,
)

PACKAGE = "agno"


def version() -> str:
    """The installed Agno version."""
    from importlib.metadata import version as dist_version

    return dist_version("agno")


def _asked_tool(messages: list[dict[str, Any]]) -> bool:
    return bool(messages) and messages[-1].get("role") == "tool"


def _completion(messages: list[dict[str, Any]]) -> ChatCompletion:
    if _asked_tool(messages):
        message: dict[str, Any] = {"role": "assistant", "content": ANSWER}
        finish = "stop"
    else:
        call = {"name": "add", "arguments": json.dumps(TOOL_ARGS)}
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "call_1", "type": "function", "function": call}],
        }
        finish = "tool_calls"
    return ChatCompletion.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MODEL,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
    )


def _chunk(delta: dict[str, Any], finish: str | None = None) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
    )


async def _chunks(messages: list[dict[str, Any]]) -> AsyncIterator[ChatCompletionChunk]:
    if _asked_tool(messages):
        yield _chunk({"role": "assistant", "content": ""})
        for piece in STREAM_PIECES:
            yield _chunk({"content": piece})
        yield _chunk({}, "stop")
        return
    call = {"name": "add", "arguments": json.dumps(TOOL_ARGS)}
    yield _chunk(
        {
            "role": "assistant",
            "tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": call}],
        }
    )
    yield _chunk({}, "tool_calls")


class _Completions:
    async def create(
        self, *, messages: list[dict[str, Any]], stream: bool = False, **_: Any
    ) -> Any:
        if stream:
            return _chunks(messages)
        return _completion(messages)


class _Chat:
    completions = _Completions()


class _MemoryClient:
    """What Agno's OpenAIChat uses of ``openai.AsyncOpenAI``, answered from memory."""

    chat = _Chat()


class _InProcessChat(OpenAIChat):  # type: ignore[misc]
    def get_async_client(self) -> Any:
        return _MemoryClient()


def _agent(model: Any) -> Any:
    return Agent(model=model, tools=[add], telemetry=False)


class Bench:
    """Agno's agents for one server and transport."""

    def __init__(self, base_url: str | None = None, transport: str = "default") -> None:
        self.base_url = base_url
        self.transport = transport
        self.inproc = _agent(_InProcessChat(id=MODEL, api_key=API_KEY))
        self.http: Any = None
        self.client: Any = None

    async def setup(self) -> None:
        """The HTTP agent (its openai client is made inside the running loop)."""
        if self.base_url is None:
            return
        import openai

        extra: dict[str, Any] = {}
        if self.transport == "aiohttp":
            extra["http_client"] = openai.DefaultAioHttpClient()
        self.client = openai.AsyncOpenAI(base_url=self.base_url, api_key=API_KEY, **extra)
        model = OpenAIChat(id=MODEL, api_key=API_KEY, base_url=self.base_url)
        model.async_client = self.client
        self.http = _agent(model)

    async def close(self) -> None:
        """Close the client's connections."""
        if self.client is not None:
            await self.client.close()

    async def run_http(self) -> str:
        """One run over Chat Completions."""
        return check((await self.http.arun(PROMPT)).content)

    async def stream_http(self, on_first: Callable[[], None]) -> str:
        """One streamed run over Chat Completions."""
        return await _stream(self.http, on_first)

    async def run_inproc(self) -> str:
        """One run with the in-memory client."""
        return check((await self.inproc.arun(PROMPT)).content)

    async def stream_inproc(self, on_first: Callable[[], None]) -> str:
        """One streamed run with the in-memory client."""
        return await _stream(self.inproc, on_first)


async def _stream(agent: Any, on_first: Callable[[], None]) -> str:
    first = True
    text: list[str] = []
    async for event in agent.arun(PROMPT, stream=True):
        if getattr(event, "event", None) == "RunContent" and getattr(event, "content", None):
            if first:
                on_first()
                first = False
            text.append(str(event.content))
    return check("".join(text))
