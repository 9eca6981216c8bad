"""OpenAI Agents SDK: an Agent with a function tool; Chat Completions over HTTP, and its own
scripted test model (``agents.testing.ScriptedModel``) in process. Tracing is disabled, as
tether's default runner has no telemetry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents import (
    Agent,
    OpenAIChatCompletionsModel,
    RunConfig,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from agents.testing import ScriptedModel, assistant_message, function_call
from openai.types.responses import ResponseTextDeltaEvent

from frameworks.common import ANSWER, API_KEY, MODEL, PROMPT, TOOL_ARGS, add, check

PACKAGE = "agents"

set_tracing_disabled(True)
ADD = function_tool(add)


def version() -> str:
    """The installed openai-agents version."""
    from importlib.metadata import version as dist_version

    return dist_version("openai-agents")


def _scripted() -> ScriptedModel:
    # A ScriptedModel is consumed by one run, so each run gets its own (two steps).
    return ScriptedModel(
        [
            [function_call("add", TOOL_ARGS, call_id="call_1")],
            [assistant_message(ANSWER)],
        ]
    )


class Bench:
    """openai-agents' agents for one server and transport."""

    def __init__(self, base_url: str | None = None, transport: str = "default") -> None:
        self.base_url = base_url
        self.transport = transport
        self.inproc = Agent(name="bench", tools=[ADD])
        self.http: Agent[Any] | None = None
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
        model = OpenAIChatCompletionsModel(model=MODEL, openai_client=self.client)
        self.http = Agent(name="bench", tools=[ADD], model=model)

    async def close(self) -> None:
        """Close the client's connections."""
        if self.client is not None:
            await self.client.close()

    async def run_http(self) -> str:
        """One run over Chat Completions."""
        assert self.http is not None
        return check((await Runner.run(self.http, PROMPT)).final_output)

    async def stream_http(self, on_first: Callable[[], None]) -> str:
        """One streamed run over Chat Completions."""
        assert self.http is not None
        return await _stream(Runner.run_streamed(self.http, PROMPT), on_first)

    async def run_inproc(self) -> str:
        """One run with the scripted test model."""
        config = RunConfig(model=_scripted())
        return check((await Runner.run(self.inproc, PROMPT, run_config=config)).final_output)

    async def stream_inproc(self, on_first: Callable[[], None]) -> str:
        """One streamed run with the scripted test model."""
        config = RunConfig(model=_scripted())
        return await _stream(Runner.run_streamed(self.inproc, PROMPT, run_config=config), on_first)


async def _stream(result: Any, on_first: Callable[[], None]) -> str:
    first = True
    async for event in result.stream_events():
        if (
            first
            and event.type == "raw_response_event"
            and isinstance(event.data, ResponseTextDeltaEvent)
        ):
            on_first()
            first = False
    return check(result.final_output)
