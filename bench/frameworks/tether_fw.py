"""tether: an Agent with the ``add`` tool; FunctionModel in process, ``openai-chat:`` over HTTP.

Transport ``default`` is what a user gets from the model string (aiohttp when it is installed,
as it is in tether's dev environment); ``httpx`` and ``aiohttp`` force one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from frameworks.common import ANSWER, API_KEY, MODEL, PROMPT, TOOL_ARGS, add, check
from tether import Agent
from tether.models import FunctionModel

PACKAGE = "tether"


def version() -> str:
    """The installed tether version."""
    import tether

    return tether.__version__


def _answer(messages: list[Any], info: Any) -> Any:
    if messages[-1].role == "tool":
        return ANSWER
    return FunctionModel.tool_call("add", TOOL_ARGS)


class Bench:
    """tether's agents for one server and transport."""

    def __init__(self, base_url: str | None = None, transport: str = "default") -> None:
        self.base_url = base_url
        self.transport = transport
        self.inproc = Agent("bench", model=FunctionModel(_answer), tools=[add])
        self.http: Agent | None = None

    async def setup(self) -> None:
        """Build the HTTP agent (the model resolves lazily, on the first run)."""
        if self.base_url is None:
            return
        model: Any = f"openai-chat:{MODEL}"
        if self.transport != "default":
            # The string path with the transport forced (same wrapping as the string).
            from tether.models.resolve import resolve_model

            model = resolve_model(
                model, api_key=API_KEY, base_url=self.base_url, transport=self.transport
            )
        self.http = Agent(
            "bench", model=model, base_url=self.base_url, api_key=API_KEY, tools=[add]
        )

    async def close(self) -> None:
        """Close the HTTP clients tether opened on this loop."""
        try:
            from tether.models._http import aclose_clients
        except ImportError:
            return
        await aclose_clients()

    async def run_http(self) -> str:
        """One run through the HTTP model."""
        assert self.http is not None
        return check((await self.http.run(PROMPT)).output)

    async def stream_http(self, on_first: Callable[[], None]) -> str:
        """One streamed run through the HTTP model."""
        assert self.http is not None
        return await _stream(self.http, on_first)

    async def run_inproc(self) -> str:
        """One run with FunctionModel (no HTTP)."""
        return check((await self.inproc.run(PROMPT)).output)

    async def stream_inproc(self, on_first: Callable[[], None]) -> str:
        """One streamed run with FunctionModel."""
        return await _stream(self.inproc, on_first)


async def _stream(agent: Agent, on_first: Callable[[], None]) -> str:
    first = True
    last: Any = None
    async for event in agent.run_stream(PROMPT):
        if first and event.type == "text_delta":
            on_first()
            first = False
        last = event
    return check(last.result.output)
