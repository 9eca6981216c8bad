"""``Agent(mcp_servers=[...])``: a run lists the server's tools each turn, so a
``tools/list_changed`` reaches a run that is already going; resume lists them again."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from _mcpkit import CALC_SERVER

from tether import Agent, Runner, UserError
from tether.mcp import MCPServerStdio
from tether.models import FakeModel, FunctionModel
from tether.store import open_store

pytestmark = [pytest.mark.allow_blocking, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def calc() -> AsyncIterator[MCPServerStdio]:
    """A calc server of this module's own (``grow`` changes its tool list once)."""
    async with MCPServerStdio(sys.executable, [CALC_SERVER]) as server:
        yield server


async def test_a_list_changed_mid_run_offers_the_new_tool_on_the_next_turn(
    calc: MCPServerStdio,
) -> None:
    offered: list[set[str]] = []

    def respond(messages: list[Any], info: Any) -> Any:
        offered.append({t.name for t in info.tools})
        turn = len(offered)
        if turn == 1:
            return FunctionModel.tool_call("grow")
        if turn == 2:
            return FunctionModel.tool_call("triple", {"x": 5})
        return "fifteen"

    agent = Agent("calc", model=FunctionModel(respond), mcp_servers=[calc])
    result = await agent.run("grow, then triple 5")
    assert result.state == "completed", result.error
    assert "triple" not in offered[0] and {"add", "grow"} <= offered[0]
    assert "triple" in offered[1]  # the same run saw the changed list
    outputs = {e.tool_name: e.output for e in result.tool_executions}
    assert outputs == {"grow": "grown", "triple": 15}


async def test_mcp_server_tools_pause_for_approval_and_run_after_resume(
    tmp_path: Path,
) -> None:
    async with MCPServerStdio(
        sys.executable, [CALC_SERVER], needs_approval=True, prefix="calc"
    ) as server:
        store = open_store(f"sqlite:///{tmp_path / 'runs.db'}")
        model = FakeModel().add_tool_call("calc_add", {"a": 2, "b": 3}).add_response("5")
        agent = Agent("adder", model=model, mcp_servers=[server])
        runner = Runner(store=store, telemetry=None)
        paused = await runner.run(agent, "2+3")
        assert paused.state == "awaiting_approval"
        assert [p.tool_name for p in paused.pending_approvals] == ["calc_add"]
        # A new Runner, as after a restart: the first step is the tool phase, before any turn.
        again = Runner(store=store, telemetry=None)
        again.register_agent(agent)
        done = await again.resume(
            paused.run_id, approvals={paused.pending_approvals[0].call_id: True}
        )
        assert done.state == "completed", done.error
        assert done.tool_executions[-1].output == 5


async def test_a_server_tool_clashing_with_an_agent_tool_is_a_user_error(
    calc: MCPServerStdio,
) -> None:
    def add(a: int, b: int) -> int:
        """Local add."""
        return a + b

    agent = Agent("clash", model=FakeModel().add_response("x"), tools=[add], mcp_servers=[calc])
    with pytest.raises(UserError, match=r"'add' clashes .*prefix="):
        await agent.run("x")


async def test_mcp_servers_takes_only_servers() -> None:
    with pytest.raises(UserError, match="not an MCP server"):
        Agent("bad", model=FakeModel(), mcp_servers=["http://localhost:1/mcp"])
