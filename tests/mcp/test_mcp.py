"""MCP servers' tools used by an agent: over stdio and Streamable HTTP, real subprocesses."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether import Agent, UserError
from tether.mcp import MCPServerHTTP, MCPServerStdio
from tether.models import FakeModel

SERVER = str(Path(__file__).with_name("calc_server.py"))
pytestmark = pytest.mark.allow_blocking  # the MCP SDK spawns and reads its subprocess itself


async def test_stdio_server_tools_drive_a_run() -> None:
    async with MCPServerStdio(sys.executable, [SERVER]) as server:
        tools = await server.list_tools()
        assert sorted(t.name for t in tools) == ["add", "divide", "shout"]
        add = next(t for t in tools if t.name == "add")
        assert add.parameters["required"] == ["a", "b"]
        assert add.description == "Add two integers."

        model = FakeModel()
        model.add_tool_calls([("add", {"a": 2, "b": 3}), ("shout", {"text": "hi"})])
        model.add_tool_call("divide", {"a": 1, "b": 0})
        model.add_tool_call("add", {"a": "two"})
        model.add_response("5, HI")
        agent = Agent("mcp-user", model=model, tools=tools, retries=3)
        result = await agent.run("go")

    assert result.output == "5, HI"
    outputs = [(r.tool_name, r.output, r.error) for r in result.tool_executions]
    assert outputs[:2] == [("add", 5, None), ("shout", "HI", None)]
    divide_error = outputs[2][2] or ""
    assert "cannot divide by zero" in divide_error
    assert outputs[3][0] == "add" and "a: Input should be of type integer" in (outputs[3][2] or "")
    assert "b: Field required" in (outputs[3][2] or "")


async def test_prefix_and_not_connected() -> None:
    server = MCPServerStdio(sys.executable, [SERVER], prefix="calc")
    with pytest.raises(UserError, match="not connected"):
        await server.list_tools()
    async with server:
        names = sorted(t.name for t in await server.list_tools())
    assert names == ["calc_add", "calc_divide", "calc_shout"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def http_server() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, SERVER, "http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        else:
            raise RuntimeError("the MCP HTTP server did not start")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_streamable_http_server(http_server: str) -> None:
    async with MCPServerHTTP(http_server) as server:
        tools = await server.list_tools()
        model = FakeModel().add_tool_call("add", {"a": 40, "b": 2}).add_response("42")
        result = await Agent("remote", model=model, tools=tools).run("add")
    assert result.tool_executions[0].output == 42
