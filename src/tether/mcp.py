"""MCP: use the tools of Model Context Protocol servers as tether tools (extra ``tether[mcp]``).

::

    async with MCPServerStdio("python", ["my_server.py"]) as server:
        agent = Agent("assistant", model=..., tools=await server.list_tools())
        result = await agent.run("...")

Each MCP tool becomes a :class:`~tether.Tool` built from the server's JSON schema; calling it
sends ``tools/call`` to the server. A result the server marks as an error goes back to the
model as a retry hint. The connection lives as long as the ``async with`` block.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any

from .errors import Retry, UserError
from .tools import Tool

__all__ = ["MCPServer", "MCPServerHTTP", "MCPServerStdio"]


def _import_mcp() -> Any:
    try:
        import mcp
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise UserError("MCP support needs the mcp extra: pip install 'tether[mcp]'") from exc
    return mcp


class MCPServer:
    """A connection to one MCP server. Use it as an async context manager."""

    def __init__(
        self,
        *,
        prefix: str | None = None,
        timeout: float | None = 30.0,
        needs_approval: bool = False,
    ) -> None:
        self.prefix = prefix
        self.timeout = timeout
        self.needs_approval = needs_approval
        self._stack: AsyncExitStack | None = None
        self._session: Any = None
        self._tools: list[Tool[Any]] | None = None

    async def _open_streams(self, stack: AsyncExitStack) -> tuple[Any, Any]:
        raise NotImplementedError

    async def __aenter__(self) -> MCPServer:
        mcp = _import_mcp()
        stack = AsyncExitStack()
        try:
            read, write = await self._open_streams(stack)
            session = await stack.enter_async_context(mcp.ClientSession(read, write))
            await session.initialize()
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        self._session = session
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        stack, self._stack, self._session, self._tools = self._stack, None, None, None
        if stack is not None:
            await stack.aclose()

    def _require_session(self) -> Any:
        if self._session is None:
            raise UserError("the MCP server is not connected: use it as `async with server:`")
        return self._session

    async def list_tools(self) -> list[Tool[Any]]:
        """The server's tools as tether tools (asked once per connection)."""
        if self._tools is None:
            listing = await self._require_session().list_tools()
            self._tools = [self._make_tool(t) for t in listing.tools]
        return list(self._tools)

    def _make_tool(self, spec: Any) -> Tool[Any]:
        remote_name: str = spec.name
        schema = getattr(spec, "input_schema", None) or getattr(spec, "inputSchema", None) or {}
        schema = {k: v for k, v in schema.items() if k != "title"}

        async def call(**arguments: Any) -> Any:
            return await self.call_tool(remote_name, arguments)

        name = f"{self.prefix}_{remote_name}" if self.prefix else remote_name
        return Tool.from_schema(
            name,
            spec.description or "",
            schema,
            call,
            needs_approval=self.needs_approval,
            timeout=self.timeout,
        )

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call a tool on the server; its text (or structured) result, or Retry on an error."""
        result = await self._require_session().call_tool(name, arguments)
        is_error = getattr(result, "is_error", None)
        if is_error is None:
            is_error = getattr(result, "isError", False)
        texts = [block.text for block in result.content if getattr(block, "type", "") == "text"]
        if is_error:
            raise Retry("\n".join(texts) or f"MCP tool {name!r} failed")
        structured = getattr(result, "structured_content", None)
        if structured is None:
            structured = getattr(result, "structuredContent", None)
        if structured is not None:
            if set(structured) == {"result"}:
                return structured["result"]
            return structured
        if len(texts) == 1:
            return texts[0]
        return json.dumps(texts) if texts else ""


class MCPServerStdio(MCPServer):
    """An MCP server started as a subprocess, spoken to over its stdin/stdout."""

    def __init__(
        self,
        command: str,
        args: Sequence[str] = (),
        *,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        prefix: str | None = None,
        timeout: float | None = 30.0,
        needs_approval: bool = False,
    ) -> None:
        super().__init__(prefix=prefix, timeout=timeout, needs_approval=needs_approval)
        self.command = command
        self.args = list(args)
        self.env = env
        self.cwd = cwd

    async def _open_streams(self, stack: AsyncExitStack) -> tuple[Any, Any]:
        mcp = _import_mcp()
        params = mcp.StdioServerParameters(
            command=self.command, args=self.args, env=self.env, cwd=self.cwd
        )
        streams = await stack.enter_async_context(mcp.stdio_client(params))
        return streams[0], streams[1]


class MCPServerHTTP(MCPServer):
    """An MCP server reached over Streamable HTTP at ``url``."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str | None = None,
        timeout: float | None = 30.0,
        needs_approval: bool = False,
    ) -> None:
        super().__init__(prefix=prefix, timeout=timeout, needs_approval=needs_approval)
        self.url = url

    async def _open_streams(self, stack: AsyncExitStack) -> tuple[Any, Any]:
        _import_mcp()
        from mcp.client.streamable_http import streamable_http_client

        streams = await stack.enter_async_context(streamable_http_client(self.url))
        return streams[0], streams[1]
