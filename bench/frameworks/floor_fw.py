"""The floor: a plain asyncio loop doing the same steps with no framework at all."""

from __future__ import annotations

import json
from collections.abc import Callable

from frameworks.common import ANSWER, PROMPT, STREAM_PIECES, TOOL_ARGS, add, check

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

    async def setup(self) -> None:
        """Nothing to set up."""

    async def close(self) -> None:
        """Nothing to release."""

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
