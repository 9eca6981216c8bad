"""A small agent for the bundled evals sample: it answers "capital of X?" with a lookup tool.

Runs offline: a FunctionModel plays the model (it asks the tool, then answers with what the
tool said), so ``tether eval examples/evals/capitals.py:agent examples/evals/capitals.jsonl``
works on any machine. Each model call is priced at $0.001 so cost metrics have something to see.
"""

from __future__ import annotations

import re

from tether import Agent
from tether.messages import Message
from tether.models import FunctionModel, ModelResponse
from tether.models.testing import AgentInfo

CAPITALS = {
    "france": "Paris",
    "japan": "Tokyo",
    "kenya": "Nairobi",
    "peru": "Lima",
    "norway": "Oslo",
}


def lookup(country: str) -> str:
    """The capital of a country, or 'unknown'."""
    return CAPITALS.get(country.strip().lower(), "unknown")


def play_model(messages: list[Message], info: AgentInfo) -> str | ModelResponse:
    """Ask ``lookup`` for the country named in the question, then answer with its result."""
    last = messages[-1]
    if last.role == "tool":
        answer = last.tool_results[0].content
        return "I don't know." if answer == "unknown" else answer
    found = re.search(r"capital of ([A-Za-z ]+)", last.text)
    if found is None:
        return "Please ask me for the capital of a country."
    return FunctionModel.tool_call("lookup", {"country": found.group(1).strip()})


agent = Agent(
    "capitals",
    model=FunctionModel(play_model, name="capitals-offline", cost_per_call=0.001),
    instructions="Answer with the capital city only.",
    tools=[lookup],
)
