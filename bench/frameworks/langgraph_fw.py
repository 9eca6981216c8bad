"""LangGraph: the prebuilt ReAct agent (``create_react_agent``) with a tool; ``ChatOpenAI``
(langchain-openai) over HTTP, and in process a chat model built on LangChain's
``BaseChatModel`` that answers from memory (its fake models cannot call tools)."""

from __future__ import annotations

import json
import warnings
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.tools import tool as lc_tool

with warnings.catch_warnings():  # create_react_agent is the documented prebuilt agent
    warnings.simplefilter("ignore")
    from langgraph.prebuilt import create_react_agent

from frameworks.common import ANSWER, API_KEY, MODEL, PROMPT, STREAM_PIECES, TOOL_ARGS, add, check

# "langgraph" alone is an empty namespace package: the prebuilt agent is what users import
PACKAGE = "langgraph.prebuilt"

ADD = lc_tool(add)


def version() -> str:
    """The installed LangGraph version."""
    from importlib.metadata import version as dist_version

    return dist_version("langgraph")


def _reply(messages: list[BaseMessage]) -> AIMessage:
    if messages and isinstance(messages[-1], ToolMessage):
        return AIMessage(content=ANSWER)
    return AIMessage(
        content="", tool_calls=[{"name": "add", "args": dict(TOOL_ARGS), "id": "call_1"}]
    )


class _MemoryChat(BaseChatModel):
    """Asks for ``add(1, 2)``, then answers; streams the answer in pieces."""

    @property
    def _llm_type(self) -> str:
        return "bench-memory"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self  # it knows its one tool

    def _generate(self, messages: list[BaseMessage], stop: Any = None, **_: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=_reply(messages))])

    async def _agenerate(
        self, messages: list[BaseMessage], stop: Any = None, **_: Any
    ) -> ChatResult:
        return self._generate(messages)

    async def _astream(
        self, messages: list[BaseMessage], stop: Any = None, **_: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        if messages and isinstance(messages[-1], ToolMessage):
            for piece in STREAM_PIECES:
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
            return
        call = {"name": "add", "args": json.dumps(TOOL_ARGS), "id": "call_1", "index": 0}
        yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[call]))


class Bench:
    """LangGraph's agents for one server and transport."""

    def __init__(self, base_url: str | None = None, transport: str = "default") -> None:
        self.base_url = base_url
        self.transport = transport
        self.inproc = create_react_agent(_MemoryChat(), [ADD])
        self.http: Any = None

    async def setup(self) -> None:
        """The HTTP agent (its clients are made inside the running loop)."""
        if self.base_url is None:
            return
        from langchain_openai import ChatOpenAI

        extra: dict[str, Any] = {}
        if self.transport == "aiohttp":
            import openai

            extra["http_async_client"] = openai.DefaultAioHttpClient()
        model = ChatOpenAI(model=MODEL, base_url=self.base_url, api_key=API_KEY, **extra)
        self.http = create_react_agent(model, [ADD])

    async def close(self) -> None:
        """Nothing to close: langchain-openai keeps its clients."""

    async def run_http(self) -> str:
        """One run over Chat Completions."""
        return await _run(self.http)

    async def stream_http(self, on_first: Callable[[], None]) -> str:
        """One streamed run over Chat Completions."""
        return await _stream(self.http, on_first)

    async def run_inproc(self) -> str:
        """One run with the in-memory chat model."""
        return await _run(self.inproc)

    async def stream_inproc(self, on_first: Callable[[], None]) -> str:
        """One streamed run with the in-memory chat model."""
        return await _stream(self.inproc, on_first)


async def _run(graph: Any) -> str:
    state = await graph.ainvoke({"messages": [("user", PROMPT)]})
    return check(state["messages"][-1].content)


async def _stream(graph: Any, on_first: Callable[[], None]) -> str:
    first = True
    text: list[str] = []
    async for chunk, _meta in graph.astream(
        {"messages": [("user", PROMPT)]}, stream_mode="messages"
    ):
        if isinstance(chunk, AIMessageChunk) and chunk.content:
            if first:
                on_first()
                first = False
            text.append(str(chunk.content))
    return check("".join(text))
