"""The Toolset of one agent in one run: what the model is told of, in order, what a name finds,
and a handoff named by a string nobody registered (a UserError, not a silent no-op)."""

from __future__ import annotations

from typing import Any

import pytest

from tether import Agent
from tether._toolset import Toolset
from tether.errors import UserError
from tether.governance.tool_filter import ToolFilterHook
from tether.policies.function_calling import FunctionCallingPolicy
from tether.tools import Tool


def _agents() -> tuple[Agent, Agent]:
    expert = Agent(name="expert", instructions="Answer.")
    agent = Agent(name="front", instructions="Route.", handoffs=[expert, "billing"])

    @agent.tool
    def lookup(q: str) -> str:
        """Look something up."""
        return q

    @agent.tool
    def drop_table(name: str) -> str:
        """Drop a table."""
        return name

    return agent, expert


def test_specs_lookup_handoffs_and_the_imposed_output_tool() -> None:
    agent, _ = _agents()
    billing = Agent(name="billing", instructions="Bill.")
    found = {"billing": billing}
    wrapped: list[str] = []

    def wrap(tool: Tool[Any]) -> Tool[Any]:
        wrapped.append(tool.name)
        return tool

    tools = Toolset.of(agent, FunctionCallingPolicy(), found.get, wrap)
    names = [s.name for s in tools.specs()]
    assert names == [
        "lookup",
        "drop_table",
        "transfer_to_expert",
        "transfer_to_billing",
        "final_result",
    ]
    shows = ToolFilterHook(deny={"drop_table"}).shows
    hidden = [
        s.name for s in Toolset.of(agent, FunctionCallingPolicy(), found.get, None, shows).specs()
    ]
    assert hidden == ["lookup", "transfer_to_expert", "transfer_to_billing", "final_result"]
    assert tools.schema is not None and tools.schema.spec.name == "final_result"
    handed = tools.handoff_for("transfer_to_billing")
    assert handed is not None and handed.agent is billing
    assert tools.handoff_for("lookup") is None
    wrapped.clear()
    assert tools.get("lookup") is agent.get_tool("lookup") and wrapped == ["lookup"]
    assert tools.get("nothing") is None and wrapped == ["lookup"]  # nothing to wrap


def test_a_handoff_to_an_unregistered_name_is_a_user_error() -> None:
    agent, _ = _agents()
    with pytest.raises(UserError, match="hands off to 'billing'"):
        Toolset.of(agent, None, lambda name: None)


async def test_a_tool_added_while_a_run_waits_reaches_its_next_turn() -> None:
    from tether import RunConfig, Runner
    from tether.models.testing import FunctionModel

    told: list[list[str]] = []

    def model(messages: list[Any], info: Any) -> Any:
        told.append(sorted(t.name for t in info.tools))
        if not any(m.role == "tool" for m in messages):
            return FunctionModel.tool_call("deploy", {})
        return "done"

    agent = Agent("ops", model=FunctionModel(model))

    @agent.tool(needs_approval=True)
    def deploy() -> str:
        """Deploy."""
        return "ok"

    handle = await Runner(store=None, telemetry=None).start(
        agent, "go", run_config=RunConfig(interaction_mode="interactive")
    )
    async for event in handle.events:
        if event.type == "approval_requested":

            @agent.tool
            def rollback() -> str:
                """Roll back."""
                return "rolled back"

            await handle.approve(event.call_id)  # type: ignore[attr-defined]
    assert (await handle.result()).state == "completed"
    assert told == [["deploy"], ["deploy", "rollback"]]  # as before the Toolset cached specs
