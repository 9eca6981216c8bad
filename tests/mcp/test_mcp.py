"""MCP servers' tools used by an agent: over stdio and Streamable HTTP, real subprocesses."""

from __future__ import annotations

import sys

import pytest
from _mcpkit import CALC_SERVER as SERVER

from tether import Agent, UserError
from tether.mcp import MCPServerHTTP, MCPServerStdio
from tether.models import FakeModel

pytestmark = pytest.mark.allow_blocking  # the MCP SDK spawns and reads its subprocess itself


async def test_stdio_server_tools_drive_a_run() -> None:
    async with MCPServerStdio(sys.executable, [SERVER]) as server:
        tools = await server.list_tools()
        assert {"add", "divide", "shout"} <= {t.name for t in tools}
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


async def test_prefix_not_connected_and_closed() -> None:
    server = MCPServerStdio(sys.executable, [SERVER], prefix="calc")
    with pytest.raises(UserError, match="not connected"):
        await server.list_tools()
    async with server:
        tools = await server.list_tools()
    assert {"calc_add", "calc_divide", "calc_shout"} <= {t.name for t in tools}
    # A tool of a closed server, inside a run: the model hears of it, the run ends degraded.
    model = FakeModel().add_tool_call("calc_add", {"a": 1, "b": 2}).add_response("could not add")
    result = await Agent("late", model=model, tools=tools).run("add")
    assert result.output == "could not add" and result.state == "degraded"
    assert any("not connected" in reason for reason in result.degraded_reasons)
    (call,) = result.tool_executions
    assert call.output is None
    assert "is not connected: use it as `async with server:`" in (call.error or "")


async def test_streamable_http_server(calc_http: str) -> None:
    async with MCPServerHTTP(calc_http) as server:
        tools = await server.list_tools()
        model = FakeModel().add_tool_call("add", {"a": 40, "b": 2}).add_response("42")
        result = await Agent("remote", model=model, tools=tools).run("add")
    assert result.tool_executions[0].output == 42
