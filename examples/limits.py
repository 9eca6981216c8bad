"""Loop limits: max_turns raises MaxTurnsExceeded, max_cost raises BudgetExceeded.

Runs offline: a FunctionModel that never stops calling a tool plays a runaway model, and a
FakeModel with a price per call plays an expensive one.
"""

from __future__ import annotations

from tether import Agent, BudgetExceeded, MaxTurnsExceeded
from tether.models import FakeModel, FunctionModel


def step(n: int) -> int:
    """Do one more step of the work."""
    return n + 1


def runaway(messages: list, info: object) -> object:
    """A model that calls the tool forever."""
    return FunctionModel.tool_call("step", {"n": len(messages)})


def main() -> None:
    bounded = Agent("bounded", model=FunctionModel(runaway), tools=[step], max_turns=3)
    try:
        bounded.run_sync("Solve this step by step, calling tools as needed.")
    except MaxTurnsExceeded as e:
        print(f"hit turn limit: {e.turn}/{e.limit}")
        # The partial result is attached: what happened before the limit stopped the run.
        print(f"  tool calls made: {len(e.result.tool_executions)}")

    expensive = FakeModel(cost_per_call=0.04)
    for _ in range(10):
        expensive.add_tool_call("step", {"n": 1})
    costly = Agent("costly", model=expensive, tools=[step], max_cost=0.10)
    try:
        costly.run_sync("Keep going.")
    except BudgetExceeded as e:
        print(f"over budget: ${e.spent:.4f} > ${e.limit:.2f}")
        print(f"  model requests: {e.result.usage.requests}")


if __name__ == "__main__":
    main()
