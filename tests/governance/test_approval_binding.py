"""Approvals bind to the exact arguments shown: a call whose arguments differ asks again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tether import Agent, Message, Runner
from tether.governance.approval import args_digest
from tether.messages import ToolCallPart
from tether.models import FunctionModel
from tether.models.base import ModelResponse
from tether.models.testing import AgentInfo
from tether.store import open_store


def _agent(moved: list[int]) -> Agent:
    def answer(messages: list[Message], info: AgentInfo) -> Any:
        turn = sum(m.role == "assistant" for m in messages)
        if turn == 0:
            return ModelResponse([ToolCallPart("call-1", "transfer", '{"amount": 5}')])
        if turn == 1:  # a model (or a replay) that reuses the call id with other arguments
            return ModelResponse([ToolCallPart("call-1", "transfer", '{"amount": 5000}')])
        return "done"

    agent = Agent("bank", model=FunctionModel(answer), max_turns=5)

    @agent.tool(needs_approval=True)
    def transfer(amount: int) -> str:
        """Move money."""
        moved.append(amount)
        return f"moved {amount}"

    return agent


def test_the_digest_is_of_the_exact_arguments() -> None:
    assert args_digest({"a": 1, "b": [1, 2]}) == args_digest({"b": [1, 2], "a": 1})
    assert args_digest({"a": 1}) != args_digest({"a": 2})
    assert args_digest({"a": 1}) != args_digest({"a": "1"})
    assert len(args_digest({})) == 64


async def test_an_approval_does_not_carry_over_to_other_arguments(tmp_path: Path) -> None:
    moved: list[int] = []
    runner = Runner(store=open_store(f"sqlite:///{tmp_path / 'runs.db'}"))
    result = await runner.run(_agent(moved), "pay")
    assert result.state == "awaiting_approval"
    assert [(p.call_id, p.args) for p in result.pending_approvals] == [("call-1", {"amount": 5})]
    result = await runner.resume(result.run_id, _agent(moved), approvals={"call-1": True})
    assert moved == [5]
    assert result.state == "awaiting_approval"  # the same id, other arguments: asked again
    assert [(p.call_id, p.args) for p in result.pending_approvals] == [("call-1", {"amount": 5000})]
    result = await runner.resume(result.run_id, _agent(moved), approvals={"call-1": "too much"})
    await runner.aclose()
    assert result.state in ("completed", "degraded") and moved == [5]  # rejected: never ran


async def test_parallel_approvals_each_bind_to_their_own_call(tmp_path: Path) -> None:
    moved: list[int] = []

    def answer(messages: list[Message], info: AgentInfo) -> Any:
        if any(m.tool_results for m in messages):
            return "done"
        return ModelResponse(
            [
                ToolCallPart("pay-a", "transfer", '{"amount": 1}'),
                ToolCallPart("pay-b", "transfer", '{"amount": 2}'),
                ToolCallPart("pay-c", "transfer", '{"amount": 3}'),
            ]
        )

    def build() -> Agent:
        agent = Agent("bank", model=FunctionModel(answer), max_turns=4)

        @agent.tool(needs_approval=True)
        def transfer(amount: int) -> str:
            """Move money."""
            moved.append(amount)
            return f"moved {amount}"

        return agent

    runner = Runner(store=open_store(f"sqlite:///{tmp_path / 'runs.db'}"))
    result = await runner.run(build(), "pay")
    shown = {p.call_id: p.args for p in result.pending_approvals}
    assert shown == {"pay-a": {"amount": 1}, "pay-b": {"amount": 2}, "pay-c": {"amount": 3}}
    result = await runner.resume(
        result.run_id, build(), approvals={"pay-a": True, "pay-b": "no", "pay-c": True}
    )
    await runner.aclose()
    assert sorted(moved) == [1, 3]
    done = {t.tool_call_id: t for t in result.tool_executions}
    assert done["pay-a"].output == "moved 1" and done["pay-c"].output == "moved 3"
    assert not done["pay-b"].success and "no" in str(done["pay-b"].error)
