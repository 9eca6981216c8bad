"""MemoryRecall: memories recalled into each request, and the same ones after resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.memory import test_vector as _imports  # noqa: F401 - SDK modules loaded up front
from tether import Agent, Runner
from tether.errors import UserError
from tether.events import HistorySummarized
from tether.memory import HashEmbedder, HistorySlidingWindow, MemoryRecall, VectorMemory
from tether.models import FunctionModel


def _seen_memories(messages: list[Any]) -> list[str]:
    return [m.text for m in messages if m.role == "system" and "Relevant memories" in m.text]


async def test_recalled_memories_reach_the_model_and_are_in_the_log(tmp_path: Path) -> None:
    memory = VectorMemory(f"sqlite:///{tmp_path}/m.db", embedder=HashEmbedder())
    await memory.add("Ann prefers window seats on flights", user_id="ann")
    await memory.add("Bob prefers the aisle", user_id="bob")
    seen: list[list[str]] = []

    def model(messages: list[Any], info: Any) -> str:
        seen.append(_seen_memories(messages))
        return "A window seat, as you like."

    agent = Agent(
        "travel",
        model=FunctionModel(model),
        history=MemoryRecall(memory, scope="user", then=HistorySlidingWindow(20)),
    )
    runner = Runner(store=f"sqlite:///{tmp_path}/runs.db", telemetry=None)
    result = await runner.run(agent, "Book me a seat for my flight", deps={"user_id": "ann"})
    assert len(seen) == 1 and "Ann prefers window seats" in seen[0][0]
    assert "aisle" not in seen[0][0]  # another user's memory is not recalled
    assert runner.store is not None
    reads = [e for e in await runner.store.load(result.run_id) if isinstance(e, HistorySummarized)]
    assert len(reads) == 1 and "window seats" in reads[0].summary
    await runner.aclose()
    await memory.close()


async def test_a_resumed_run_is_shown_the_memories_it_was_shown(tmp_path: Path) -> None:
    memory = VectorMemory(f"sqlite:///{tmp_path}/m.db", embedder=HashEmbedder())
    fact = await memory.add("The refund limit without a manager is 100 dollars", agent="support")
    seen: list[list[str]] = []

    def model(messages: list[Any], info: Any) -> Any:
        seen.append(_seen_memories(messages))
        if not any(m.role == "tool" for m in messages):
            return FunctionModel.tool_call("refund", {"amount": 50})
        return "Refunded."

    agent = Agent("support", model=FunctionModel(model), history=MemoryRecall(memory))

    @agent.tool(needs_approval=True)
    def refund(amount: int) -> str:
        """Refund an amount."""
        return f"refunded {amount}"

    runner = Runner(store=f"sqlite:///{tmp_path}/runs.db", telemetry=None)
    paused = await runner.run(agent, "What is the refund limit? Refund 50.")
    assert paused.state == "awaiting_approval"
    await memory.delete(fact)  # the memory changes while the run waits
    done = await runner.resume(
        paused.run_id, agent, approvals={paused.pending_approvals[0].call_id: True}
    )
    assert done.state == "completed"
    assert len(seen) == 2 and seen[0] == seen[1] and "100 dollars" in seen[1][0]
    await runner.aclose()
    await memory.close()


def test_bad_settings_are_clear_errors(tmp_path: Path) -> None:
    memory = VectorMemory(f"sqlite:///{tmp_path}/m.db")
    with pytest.raises(UserError, match="scope"):
        MemoryRecall(memory, scope="galaxy")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="k must"):
        MemoryRecall(memory, k=0)
    with pytest.raises(UserError, match="max_tokens"):
        MemoryRecall(memory, max_tokens=0)
