"""A workflow whose sandbox imports a tether of its own (not passed through), which tether
refuses at start (for tests/durable/test_temporal.py)."""

from __future__ import annotations

from temporalio import workflow

from tether import Agent
from tether.durable.temporal import TemporalDurability
from tether.models import FunctionModel

copied_agent = Agent("copied", model=FunctionModel(lambda messages, info: "hi"))
copied_durable = TemporalDurability([copied_agent])


@workflow.defn(name="SandboxCopyWorkflow")
class SandboxCopyWorkflow:
    """Runs the agent with the sandbox's own copy of tether."""

    @workflow.run
    async def run(self) -> str:
        """The refusal's message."""
        try:
            await copied_durable.run(copied_agent, "hi")
        except Exception as exc:  # the sandbox copy's DurableEngineError, another class
            return f"{type(exc).__name__}: {exc}"
        return "ran"
