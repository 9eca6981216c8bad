"""The floor: a plain asyncio loop doing the same steps with no framework at all.

In process the model is a function; over HTTP it is raw ``aiohttp`` (one session, JSON posted
and read by hand): what any client has to spend on the wire, with no SDK and no framework.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from frameworks.common import (
    ANSWER,
    API_KEY,
    MODEL,
    PROMPT,
    STREAM_PIECES,
    TOOL_ARGS,
    TOOL_SCHEMA,
    add,
    check,
)

_TOOLS = [
    {
        "type": "function",
        "function": {"name": "add", "description": "Add two numbers.", "parameters": TOOL_SCHEMA},
    }
]

PACKAGE = "asyncio"


def version() -> str:
    """The Python version (the floor has no framework)."""
    import platform

    return platform.python_version()


async def _model(messages: list[dict[str, object]]) -> dict[str, object]:
    if messages[-1]["role"] == "tool":
        return {"role": "assistant", "content": ANSWER}
    call = {"id": "call_1", "name": "add", "arguments": json.dumps(TOOL_ARGS)}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


async def _stream_model(messages: list[dict[str, object]]):  # type: ignore[no-untyped-def]
    if messages[-1]["role"] == "tool":
        for piece in STREAM_PIECES:
            yield piece
        return
    yield {"id": "call_1", "name": "add", "arguments": json.dumps(TOOL_ARGS)}


class Bench:
    """The same loop written by hand: ask, run the tool, ask again."""

    def __init__(self, base_url: str | None = None, transport: str = "default") -> None:
        self.base_url = base_url
        self.session: Any = None

    async def setup(self) -> None:
        """One aiohttp session for the HTTP path (made inside the running loop)."""
        if self.base_url is not None:
            import aiohttp

            self.session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"})

    async def close(self) -> None:
        """Close the session's connections."""
        if self.session is not None:
            await self.session.close()

    async def run_http(self) -> str:
        """Ask over raw HTTP, run the tool, ask again."""
        url = f"{self.base_url}/chat/completions"
        messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
        while True:
            body = {"model": MODEL, "messages": messages, "tools": _TOOLS}
            async with self.session.post(url, json=body) as response:
                data = await response.json()
            message = data["choices"][0]["message"]
            messages.append(message)
            calls = message.get("tool_calls")
            if not calls:
                return check(message["content"])
            for call in calls:
                args = json.loads(call["function"]["arguments"])
                result = await add(**args)
                messages.append(
                    {"role": "tool", "tool_call_id": call["id"], "content": str(result)}
                )

    async def run_inproc(self) -> str:
        """One run of the hand-written loop."""
        messages: list[dict[str, object]] = [{"role": "user", "content": PROMPT}]
        while True:
            reply = await _model(messages)
            messages.append(reply)
            calls = reply.get("tool_calls")
            if not calls:
                return check(reply["content"])
            for call in calls:  # type: ignore[attr-defined]
                result = await add(**json.loads(call["arguments"]))
                messages.append({"role": "tool", "call_id": call["id"], "content": str(result)})

    async def stream_inproc(self, on_first: Callable[[], None]) -> str:
        """One streamed run of the hand-written loop."""
        messages: list[dict[str, object]] = [{"role": "user", "content": PROMPT}]
        first = True
        while True:
            text: list[str] = []
            calls: list[dict[str, str]] = []
            async for item in _stream_model(messages):
                if isinstance(item, str):
                    if first:
                        on_first()
                        first = False
                    text.append(item)
                else:
                    calls.append(item)
            messages.append({"role": "assistant", "content": "".join(text), "tool_calls": calls})
            if not calls:
                return check("".join(text))
            for call in calls:
                result = await add(**json.loads(call["arguments"]))
                messages.append({"role": "tool", "call_id": call["id"], "content": str(result)})
