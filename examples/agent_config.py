"""Building an agent: configuration, tools, validators, and the errors bad configuration gets.

Runs offline: a scripted FakeModel plays the model.
"""

from __future__ import annotations

import pydantic

from tether import Agent, Context
from tether.models import FakeModel

# A scripted model: first it calls the add tool, then it answers.
model = FakeModel(cost_per_call=0.0004)
model.add_tool_call("add", {"a": 21, "b": 21})
model.add_response("21 + 21 = 42")

agent = Agent(
    "assistant",
    model=model,  # or a "provider:model" string such as "openai:gpt-4o-mini"
    instructions="You are a concise, helpful assistant.",
    description="Answers arithmetic questions.",  # metadata: shown when used as a tool
    max_turns=6,  # model turns before MaxTurnsExceeded
    max_cost=0.50,  # USD before BudgetExceeded
    retries=1,  # how often a Retry / bad tool call is sent back to the model
)


@agent.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@agent.tool(name="ping", description="Health check.")
def health() -> str:
    return "pong"


@agent.output_validator
def not_empty(ctx: Context[None], output: str) -> str:
    return output.strip()


def main() -> None:
    print("tools:", list(agent.tools_map))  # ['add', 'ping']
    print("tool schema:", agent.tools_map["add"].parameters)
    print("validators:", [v.__name__ for v in agent.output_validators])

    result = agent.run_sync("What is 21 + 21?")
    print("answer:", result)  # str(result) is the final text
    print("usage:", result.usage)

    # Agents are immutable configuration: one agent serves any number of runs.
    try:
        agent.max_turns = 3  # type: ignore[misc]
    except pydantic.ValidationError:
        print("agents are frozen: build a new one instead")

    # An unknown keyword is an error, never silently ignored.
    try:
        Agent("typo", max_turn=3)
    except pydantic.ValidationError as exc:
        print("unknown keyword:", exc.errors()[0]["loc"][0])

    # Two tools with one name is a ValueError.
    try:
        agent.tool(add)
    except ValueError as exc:
        print("duplicate:", exc)


if __name__ == "__main__":
    main()
