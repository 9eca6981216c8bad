"""A small MCP server for the tests: `python calc_server.py [stdio|http PORT]`."""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

app = MCPServer("calc")


@app.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@app.tool()
def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


@app.tool()
def divide(a: float, b: float) -> float:
    """Divide a by b."""
    if b == 0:
        raise ToolError("cannot divide by zero")
    return a / b


@app.tool()
def pid() -> int:
    """The server's process id (the tests kill it)."""
    return os.getpid()


@app.tool()
def crash() -> str:
    """Exit the server process at once (the tests use it)."""
    os._exit(1)


@app.tool()
def seen_headers(ctx: Context) -> dict[str, str]:
    """The auth-related headers this request carried (HTTP only)."""
    headers = ctx.headers or {}
    return {k: v for k, v in headers.items() if k.lower() in ("authorization", "x-team")}


def triple(x: int) -> int:
    """Triple a number (added at run time by `grow`)."""
    return 3 * x


@app.tool()
async def grow(ctx: Context) -> str:
    """Add the `triple` tool and tell the client the tool list changed."""
    app.add_tool(triple)
    await ctx.session.send_tool_list_changed()
    return "grown"


@app.resource("memo://greeting", mime_type="text/plain")
def greeting() -> str:
    """A fixed greeting."""
    return "hello from calc"


@app.prompt()
def review(code: str) -> str:
    """Ask for a review of some code."""
    return f"Please review: {code}"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "http":
        app.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        app.run()
