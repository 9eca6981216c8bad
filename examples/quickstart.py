"""tether quickstart: an agent with two tools answers a question.

Uses a real provider when one is configured (OPENAI_API_KEY, ANTHROPIC_API_KEY, or an Ollama
server on localhost:11434); otherwise an offline FunctionModel that plays the model's part, and
says so.
"""

from __future__ import annotations

import json
from typing import Any

from tether import Agent
from tether.messages import Message
from tether.models import FunctionModel, ModelResponse
from tether.models.testing import AgentInfo


def offline_model(messages: list[Message], info: AgentInfo) -> str | ModelResponse:
    """Plays the model offline: look up the population, do the arithmetic, then answer."""
    results = {r.name: r.content for m in messages if m.role == "tool" for r in m.tool_results}
    if "population" not in results:
        return FunctionModel.tool_calls(
            [("population", {"city": "Lisbon"}), ("population", {"city": "Porto"})]
        )
    if "multiply" not in results:
        return FunctionModel.tool_call("multiply", {"a": 545_000, "b": 2})
    return "Lisbon has about 545,000 people; twice that is 1,090,000."


def pick_model() -> tuple[Any, str]:
    """A real provider when one is available, else the offline model."""
    try:
        from tether.models.resolve import available_model
    except ImportError:
        available_model = None  # type: ignore[assignment]
    name = available_model() if available_model is not None else None
    if name:
        return name, f"real provider: {name}"
    return FunctionModel(offline_model, name="offline"), (
        "offline FunctionModel (no OPENAI_API_KEY, ANTHROPIC_API_KEY or Ollama server found)"
    )


model, description = pick_model()
agent = Agent(
    "assistant",
    model=model,
    instructions="You are concise. Use the tools for facts and arithmetic.",
    max_turns=6,
)

POPULATIONS = {"lisbon": 545_000, "porto": 232_000}


@agent.tool
def population(city: str) -> int:
    """Return the population of a city.

    Args:
        city: The city's name.
    """
    return POPULATIONS.get(city.lower(), 0)


@agent.tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def main() -> None:
    print(f"model: {description}")
    result = agent.run_sync("How many people live in Lisbon, and what is twice that?")
    print("answer:", result.output)
    print("tool calls:")
    for call in result.tool_executions:
        print(
            f"  {call.tool_name}({json.dumps(call.args)}) -> {call.output}"
            f"  [{call.latency_ms:.2f} ms]"
        )
    usage = result.usage
    print(
        f"usage: {usage.requests} requests, {usage.input_tokens} input + "
        f"{usage.output_tokens} output tokens, cost ${usage.cost or 0:.6f}"
    )
    print(f"state: {result.state}")


if __name__ == "__main__":
    main()
