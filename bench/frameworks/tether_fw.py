"""tether: an Agent with the ``add`` tool; FunctionModel in process, OpenAIChatModel over HTTP."""

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

    def __init__(self, base_url: str | None = None, transport: str = "httpx") -> None:
        self.base_url = base_url
        self.transport = transport
        self.inproc = Agent("bench", model=FunctionModel(_answer), tools=[add])
        self.http: Agent | None = None

    async def setup(self) -> None:
        """Build the HTTP agent (the model resolves lazily, on the first run)."""
        if self.base_url is None:
            return
        model: Any = f"openai-chat:{MODEL}"
        if self.transport == "aiohttp" or not _resolves(model):
            model = _model(self.base_url, self.transport)
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


def _resolves(spec: str) -> bool:
    from tether.errors import UserError
    from tether.models.resolve import resolve_model

    try:
        resolve_model(spec, api_key=API_KEY, base_url="http://127.0.0.1:1/v1")
    except UserError:
        return False
    return True


def _model(base_url: str, transport: str) -> Any:
    """OpenAIChatModel built directly: the aiohttp transport is a constructor option."""
    from tether.models.openai_chat import OpenAIChatModel

    return OpenAIChatModel(MODEL, base_url=base_url, api_key=API_KEY, transport=transport)
