"""MemoryRecall: memories recalled into each request, and the same ones after resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.memory import test_vector as _imports  # noqa: F401 - SDK modules loaded up front
from tests.memory.embeddings_server import EmbeddingsServer
from tether import Agent, RunConfig, Runner
from tether.errors import BudgetExceeded, UserError
from tether.events import HistorySummarized
from tether.memory import (
    HashEmbedder,
    HistorySlidingWindow,
    MemoryRecall,
    OpenAIEmbedder,
    VectorMemory,
    memory_tools,
)
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


async def test_recalled_memories_are_under_the_runs_pii_redaction(tmp_path: Path) -> None:
    from tether.governance import PIIRedactionHook, PolicyHooks
    from tether.tracing.jsonl import JsonlExporter

    memory = VectorMemory(f"sqlite:///{tmp_path}/m.db", embedder=HashEmbedder())
    await memory.add("Ann's mail is ann.private@example.com; window seats", user_id="ann")
    seen: list[list[str]] = []

    def model(messages: list[Any], info: Any) -> str:
        seen.append(_seen_memories(messages))
        return "A window seat."

    agent = Agent("travel", model=FunctionModel(model), history=MemoryRecall(memory, scope="user"))
    runner = Runner(
        store=f"sqlite:///{tmp_path}/runs.db",
        telemetry=[JsonlExporter(tmp_path / "traces")],
        policy_hooks=PolicyHooks(pii_redaction=PIIRedactionHook()),
    )
    result = await runner.run(agent, "my window seats", deps={"user_id": "ann"})
    assert runner.store is not None
    events = await runner.store.load(result.run_id)
    await runner.aclose()
    await memory.close()
    # the model, the log and the traces see the memory as the recall tool's result would be
    assert len(seen) == 1 and "Ann's mail is [REDACTED_EMAIL]; window seats" in seen[0][0]
    (read,) = [e for e in events if isinstance(e, HistorySummarized)]
    assert "[REDACTED_EMAIL]" in read.summary and "ann.private" not in read.summary
    traces = "".join(p.read_text("utf-8") for p in (tmp_path / "traces").glob("*.jsonl"))
    assert "[REDACTED_EMAIL]" in traces and "ann.private" not in traces


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


async def test_recall_is_cut_to_its_token_budget(tmp_path: Path) -> None:
    memory = VectorMemory(f"sqlite:///{tmp_path}/m.db", embedder=HashEmbedder())
    await memory.add_many(
        [f"fact {n}: the release train leaves platform {n} " + "word " * 30 for n in range(5)],
        agent="a",
    )
    seen: list[list[str]] = []

    def model(messages: list[Any], info: Any) -> str:
        seen.append(_seen_memories(messages))
        return "ok"

    agent = Agent("a", model=FunctionModel(model), history=MemoryRecall(memory, k=5, max_tokens=90))
    await Runner(telemetry=None).run(agent, "which platform does the release train leave from?")
    (recalled,) = seen[0]
    assert recalled.count("- fact") == 1  # one memory fits in 90 tokens, not five
    await memory.close()


def test_bad_settings_are_clear_errors(tmp_path: Path) -> None:
    memory = VectorMemory(f"sqlite:///{tmp_path}/m.db")
    with pytest.raises(UserError, match="scope"):
        MemoryRecall(memory, scope="galaxy")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="k must"):
        MemoryRecall(memory, k=0)
    with pytest.raises(UserError, match="max_tokens"):
        MemoryRecall(memory, max_tokens=0)


def _priced(server: EmbeddingsServer) -> OpenAIEmbedder:
    # 1,000 USD per million tokens: the loopback server counts one token a word.
    return OpenAIEmbedder(
        model="nomic-embed-text", dimension=64, base_url=server.url, price_per_million=1000.0
    )


async def test_embedding_spend_counts_in_the_run_usage_and_survives_resume_and_replay(
    tmp_path: Path,
) -> None:
    with EmbeddingsServer(64) as server:
        memory = VectorMemory(f"sqlite:///{tmp_path}/m.db", embedder=_priced(server))
        await memory.add("The office wifi password is on the fridge", agent="helper")
        before = len(server.requests)

        def model(messages: list[Any], info: Any) -> Any:
            done = [m for m in messages if m.role == "tool"]
            if not done:
                return FunctionModel.tool_call("recall", {"query": "wifi password"})
            if len(done) == 1:
                return FunctionModel.tool_call("remember", {"fact": "the guest wifi is open"})
            if len(done) == 2:
                return FunctionModel.tool_call("book", {"room": "B"})
            return "On the fridge; room B is booked."

        agent = Agent(
            "helper",
            model=FunctionModel(model),
            tools=memory_tools(memory),
            history=MemoryRecall(memory),
        )

        @agent.tool(needs_approval=True)
        def book(room: str) -> str:
            """Book a room."""
            return f"booked {room}"

        runner = Runner(store=f"sqlite:///{tmp_path}/runs.db", telemetry=None)
        paused = await runner.run(agent, "Where is the wifi password?")
        assert paused.state == "awaiting_approval"
        # Embedded: the recalled question (5 words), the recall query (2), the fact (5).
        assert len(server.requests) - before == 3
        spent = 12 * 1000.0 / 1e6
        assert paused.usage.cost == pytest.approx(spent)
        assert runner.store is not None
        logged = [
            e for e in await runner.store.load(paused.run_id) if isinstance(e, HistorySummarized)
        ]
        assert sorted(e.usage.input_tokens for e in logged if e.usage) == [2, 5, 5]
        assert {e.model for e in logged} == {"openai:nomic-embed-text"}
        done = await runner.resume(
            paused.run_id, agent, approvals={paused.pending_approvals[0].call_id: True}
        )
        assert done.state == "completed" and done.usage.cost == pytest.approx(spent)
        assert len(server.requests) - before == 3  # resume embedded nothing again
        replayed = await runner.replay(done.run_id, tools="recorded")
        assert replayed.final_text == done.final_text
        assert len(server.requests) - before == 3  # nor did the replay
        await runner.aclose()
        await memory.close()


async def test_embedding_spend_counts_against_max_cost(tmp_path: Path) -> None:
    with EmbeddingsServer(64) as server:
        memory = VectorMemory(f"sqlite:///{tmp_path}/m.db", embedder=_priced(server))
        await memory.add("Ann prefers window seats", agent="a")
        agent = Agent("a", model=FunctionModel(lambda m, i: "ok"), history=MemoryRecall(memory))
        runner = Runner(telemetry=None)
        with pytest.raises(BudgetExceeded, match=r"spent \$0\.006000"):  # 6 words embedded
            await runner.run(
                agent, "which seat does Ann like best?", run_config=RunConfig(max_cost=0.001)
            )
        await runner.aclose()
        await memory.close()


async def test_embedding_spend_streamed_and_in_a_subagent_reaches_the_top_usage(
    tmp_path: Path,
) -> None:
    with EmbeddingsServer(64) as server:
        memory = VectorMemory(f"sqlite:///{tmp_path}/m.db", embedder=_priced(server))
        await memory.add("The deploy window is Tuesday", agent="ops")
        child = Agent(
            "ops", model=FunctionModel(lambda m, i: "Tuesday"), history=MemoryRecall(memory)
        )

        def parent_model(messages: list[Any], info: Any) -> Any:
            if not any(m.role == "tool" for m in messages):
                return FunctionModel.tool_call("ops", {"input": "when is the deploy window?"})
            return "Tuesday."

        parent = Agent(
            "lead",
            model=FunctionModel(parent_model),
            tools=[child.as_tool()],
            history=MemoryRecall(memory, scope="all"),
        )
        runner = Runner(telemetry=None)
        events = [e async for e in runner.run_stream(parent, "ask ops")]
        streamed = [e for e in events if isinstance(e, HistorySummarized)]
        finished = events[-1]
        result = finished.result  # type: ignore[attr-defined]
        assert result.state == "completed"
        # The parent's question (2 words) and the child's (5): the child's read is in its own log,
        # its usage in the parent's.
        assert result.usage.cost == pytest.approx(7 * 1000.0 / 1e6)
        assert [e.usage.input_tokens for e in streamed if e.usage] == [2]
        await runner.aclose()
        await memory.close()


async def test_a_replay_of_a_user_scoped_run_takes_its_deps(tmp_path: Path) -> None:
    """``scope="user"`` reads ``deps.user_id``: a replay is given the deps as a run is
    (``runner.replay(..., deps=)``), and is shown the memories the run was shown, not the
    memory as it is now (it raised 'needs deps with a user_id': replay took no deps)."""
    memory = VectorMemory(f"sqlite:///{tmp_path}/m.db", embedder=HashEmbedder())
    await memory.add("Ann prefers window seats on flights", user_id="ann", id="seat")
    seen: list[list[str]] = []

    def model(messages: list[Any], info: Any) -> str:
        seen.append(_seen_memories(messages))
        return "window" if "window" in "".join(seen[-1]) else "aisle"

    agent = Agent("travel", model=FunctionModel(model), history=MemoryRecall(memory, scope="user"))
    runner = Runner(store=f"sqlite:///{tmp_path}/runs.db", telemetry=None)
    ann = {"user_id": "ann"}
    done = await runner.run(agent, "Book me a seat for my flight", deps=ann)
    await memory.add("Ann prefers aisle seats now", user_id="ann", id="seat")
    for tools in ("live", "recorded"):
        replayed = await runner.replay(done.run_id, tools=tools, deps=ann)  # type: ignore[arg-type]
        assert (replayed.state, replayed.output) == ("completed", "window")
    assert len(seen) == 1  # the replays were served from the log
    with pytest.raises(UserError, match="user_id"):
        await runner.replay(done.run_id)
    await runner.aclose()
    await memory.close()
