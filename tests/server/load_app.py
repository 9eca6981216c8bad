"""What `tether serve` serves in tests/server/test_load.py and bench/serve_bench.py: one agent
with one tool, on the loopback model server at ``TETHER_TEST_MODEL_URL`` (or, without it, on a
FunctionModel playing the same conversation), a store (``TETHER_TEST_STORE``), no telemetry."""

from __future__ import annotations

import os
from typing import Any

from tether import Agent, Message, Runner
from tether.models import FunctionModel


def _answer(messages: list[Message], info: Any) -> Any:
    if messages[-1].role == "tool":
        return "the sum is 3"
    return FunctionModel.tool_call("add", {"a": 1, "b": 2})


_URL = os.environ.get("TETHER_TEST_MODEL_URL")
if _URL:
    agent = Agent(
        "assistant", model="openai-chat:test-model", base_url=_URL, api_key="k", max_turns=4
    )
else:
    agent = Agent("assistant", model=FunctionModel(_answer), max_turns=4)


@agent.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


runner = Runner(store=os.environ["TETHER_TEST_STORE"], telemetry=None, agents=[agent])
