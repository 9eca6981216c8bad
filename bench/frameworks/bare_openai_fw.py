"""The bare ``openai`` client making the run's two Chat Completions calls by hand.

This is the floor of the HTTP path: what any framework built on the official SDK must spend.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import openai

from frameworks.common import API_KEY, MODEL, PROMPT, TOOL_SCHEMA, add, check

PACKAGE = "openai"

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {"name": "add", "description": "Add two numbers.", "parameters": TOOL_SCHEMA},
    }
]


def version() -> str:
    """The installed openai SDK version."""
    return openai.__version__


class Bench:
    """An AsyncOpenAI client on the default (httpx) or the aiohttp transport."""

    def __init__(self, base_url: str | None = None, transport: str = "default") -> None:
        self.base_url = base_url
        self.transport = transport
        self.client: Any = None

    async def setup(self) -> None:
        """Create the client inside the running loop (aiohttp needs one)."""
        if self.base_url is None:
            return
        extra: dict[str, Any] = {}
        if self.transport == "aiohttp":
            extra["http_client"] = openai.DefaultAioHttpClient()
        self.client = openai.AsyncOpenAI(base_url=self.base_url, api_key=API_KEY, **extra)

    async def close(self) -> None:
        """Close the client's connections."""
        if self.client is not None:
            await self.client.close()

    async def run_http(self) -> str:
        """Ask, run the tool the model asked for, ask again."""
        messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
        create = self.client.chat.completions.create
        while True:
            response = await create(model=MODEL, messages=messages, tools=TOOLS)
            message = response.choices[0].message
            if not message.tool_calls:
                return check(message.content)
            calls = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.function.name, "arguments": c.function.arguments},
                }
                for c in message.tool_calls
            ]
            messages.append({"role": "assistant", "content": message.content, "tool_calls": calls})
            for call in message.tool_calls:
                result = await add(**json.loads(call.function.arguments))
                messages.append({"role": "tool", "tool_call_id": call.id, "content": str(result)})

    async def stream_http(self, on_first: Callable[[], None]) -> str:
        """The same with ``stream=True``, assembling tool calls from their deltas."""
        messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
        create = self.client.chat.completions.create
        first = True
        while True:
            stream = await create(
                model=MODEL,
                messages=messages,
                tools=TOOLS,
                stream=True,
                stream_options={"include_usage": True},
            )
            text: list[str] = []
            calls: dict[int, dict[str, Any]] = {}
            async for chunk in stream:
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta
                if delta.content:
                    if first:
                        on_first()
                        first = False
                    text.append(delta.content)
                for piece in delta.tool_calls or ():
                    call = calls.setdefault(
                        piece.index,
                        {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
                    )
                    if piece.id:
                        call["id"] = piece.id
                    if piece.function is not None:
                        call["function"]["name"] += piece.function.name or ""
                        call["function"]["arguments"] += piece.function.arguments or ""
            if not calls:
                return check("".join(text))
            ordered = [calls[i] for i in sorted(calls)]
            messages.append({"role": "assistant", "content": None, "tool_calls": ordered})
            for call in ordered:
                result = await add(**json.loads(call["function"]["arguments"]))
                messages.append(
                    {"role": "tool", "tool_call_id": call["id"], "content": str(result)}
                )
