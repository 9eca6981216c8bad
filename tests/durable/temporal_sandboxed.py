"""A sandboxed Temporal workflow that runs an agent (for tests/durable/test_temporal.py)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tether import Agent
    from tether.durable import DurableEngineError
    from tether.durable.temporal import TemporalDurability
    from tether.models import FunctionModel

sandboxed_agent = Agent("boxed", model=FunctionModel(lambda messages, info: "hi"))
sandboxed_durable = TemporalDurability([sandboxed_agent])


@workflow.defn(name="SandboxedWorkflow")
class SandboxedWorkflow:
    """Runs the agent in Temporal's sandbox, which tether refuses."""

    @workflow.run
    async def run(self) -> str:
        """Return the refusal's message."""
        try:
            await sandboxed_durable.run(sandboxed_agent, "hi")
        except DurableEngineError as exc:
            return str(exc)
        return "ran"
