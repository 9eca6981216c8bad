"""Agents run in Temporal's workflow sandbox (for tests/durable/test_temporal.py).

This module is imported again inside the sandbox for every workflow run, so the agent and the
durability below are made there too; tether itself is passed through the sandbox (one tether
for the worker and its workflows). The tool runs as an activity, on the worker's own copy.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tether import Agent
    from tether.durable.temporal import TemporalDurability
    from tether.models import FunctionModel


class Sum(BaseModel):
    """The structured answer."""

    total: int
    note: str


def _answer(messages: list, info: object) -> object:
    if not any(m.role == "tool" for m in messages):
        return FunctionModel.tool_call("add", {"a": 20, "b": 22})
    total = int(messages[-1].parts[0].content)
    return FunctionModel.tool_call("final_result", {"total": total, "note": "ok"})


sandboxed_agent = Agent("boxed", model=FunctionModel(_answer), output=Sum)


@sandboxed_agent.tool(needs_approval=True)
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


sandboxed_durable = TemporalDurability([sandboxed_agent])


@workflow.defn(name="SandboxedWorkflow")
class SandboxedWorkflow:
    """Runs the agent in Temporal's sandbox."""

    @workflow.run
    async def run(self, question: str) -> str:
        """The structured output, as JSON."""
        result = await sandboxed_durable.run(sandboxed_agent, question)
        return result.output.model_dump_json()
