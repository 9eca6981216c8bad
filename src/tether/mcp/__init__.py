"""MCP in both directions (extra ``tether[mcp]``).

As a client, the tools, resources and prompts of any Model Context Protocol server become
available to tether agents::

    async with MCPServerStdio("python", ["my_server.py"]) as server:
        agent = Agent("assistant", model=..., tools=await server.list_tools())
        result = await agent.run("...")

As a server, :func:`serve` (and ``tether mcp serve MODULE:ATTR``) exposes a Runner's agents as
MCP tools over stdio or Streamable HTTP. See docs/mcp.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._client import MCPServer, MCPServerHTTP, MCPServerStdio
from ._errors import MCPConnectionError

if TYPE_CHECKING:
    from ._server import build_server, serve, serve_http, serve_stdio

__all__ = [
    "MCPConnectionError",
    "MCPServer",
    "MCPServerHTTP",
    "MCPServerStdio",
    "build_server",
    "serve",
    "serve_http",
    "serve_stdio",
]

_SERVER_NAMES = frozenset({"build_server", "serve", "serve_http", "serve_stdio"})


def __getattr__(name: str) -> Any:
    # The server side imports the MCP SDK's server modules: load it on first use only.
    if name in _SERVER_NAMES:
        from . import _server

        return getattr(_server, name)
    raise AttributeError(f"module 'tether.mcp' has no attribute {name!r}")
