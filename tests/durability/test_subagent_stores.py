"""A subagent's approval decided on its parent, resumed by another Runner on SQLite and
PostgreSQL: the child's run is continued from the store and its tool runs once."""

from __future__ import annotations

from typing import Any

from tether import Agent, Runner
from tether.models import FunctionModel


def _desk(ran: list[str]) -> Agent:
    def clerk_answers(messages: list[Any], info: Any) -> Any:
        if messages[-1].role == "user":
            return FunctionModel.tool_call("refund", {"amount": 30})
        return f"clerk: {messages[-1].parts[-1].content}"

    def desk_answers(messages: list[Any], info: Any) -> Any:
        if messages[-1].role == "user":
            return FunctionModel.tool_call("clerk", {"input": messages[-1].text})
        return f"desk: {messages[-1].parts[-1].content}"

    clerk = Agent("clerk", model=FunctionModel(clerk_answers, name="clerk-model"))

    @clerk.tool(needs_approval=True)
    def refund(amount: int) -> str:
        """Refund an amount."""
        ran.append(f"refund {amount}")
        return f"refunded {amount}"

    return Agent(
        "desk", model=FunctionModel(desk_answers, name="desk-model"), tools=[clerk.as_tool()]
    )


async def test_a_subagent_approval_resumed_by_another_runner(store_url: str) -> None:
    ran: list[str] = []
    first = Runner(store=store_url, telemetry=None)
    paused = await first.run(_desk(ran), "refund my order")
    assert paused.state == "awaiting_approval" and ran == []
    [pending] = paused.pending_approvals
    await first.aclose()

    second = Runner(store=store_url, telemetry=None)  # as another process would
    done = await second.resume(paused.run_id, _desk(ran), approvals={pending.call_id: True})
    assert (done.state, done.output) == ("completed", "desk: clerk: refunded 30")
    assert ran == ["refund 30"]
    assert second.store is not None
    statuses = {i.agent: i.status for i in await second.store.list_runs()}
    assert statuses == {"desk": "completed", "clerk": "completed"}
    await second.aclose()
