"""Memory of facts: the same tests for Memory() and MemorySQLite, then through ctx.memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tether import Agent, Context, Runner, UserError
from tether.memory import Memory, MemorySQLite, MemoryView
from tether.models import FakeModel


@pytest.fixture(params=["memory", "sqlite"])
async def memory(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    made = Memory() if request.param == "memory" else MemorySQLite(str(tmp_path / "m.db"))
    yield made
    await made.close()


async def test_remember_and_recall_by_words(memory: Any) -> None:
    view = memory.scoped("bot", "t1")
    await view.remember("The user drinks green tea")
    await asyncio.sleep(0.001)
    await view.remember("The user lives in Lyon", metadata={"source": "chat"})
    await asyncio.sleep(0.001)
    await view.remember("Lyon is in France")
    found = await view.recall("where does the user live? lyon")
    # words matched: the+user+lyon (3), the+user (2), lyon (1)
    assert [f.text for f in found] == [
        "The user lives in Lyon",
        "The user drinks green tea",
        "Lyon is in France",
    ]
    assert found[0].metadata == {"source": "chat"}
    assert [f.text for f in await view.recall("TEA")] == ["The user drinks green tea"]
    assert await view.recall("nothing matches") == []
    newest = await view.recall(limit=2)
    assert [f.text for f in newest] == ["Lyon is in France", "The user lives in Lyon"]


async def test_scopes_per_agent_and_thread(memory: Any) -> None:
    here = memory.scoped("bot", "t1")
    await here.remember("thread fact")
    await here.remember("agent fact", scope="agent")
    await memory.scoped("other", "t1").remember("someone else's fact", scope="agent")
    assert {f.text for f in await here.facts()} == {"thread fact", "agent fact"}
    assert {f.text for f in await memory.scoped("bot", "t2").facts()} == {"agent fact"}
    assert {f.text for f in await memory.scoped("bot").facts()} == {"agent fact"}
    assert {f.text for f in await memory.scoped("other", "t1").facts()} == {"someone else's fact"}
    # without a thread, "thread" facts are the agent's
    await memory.scoped("bot").remember("no thread here")
    assert {f.text for f in await memory.scoped("bot", "t9").facts()} == {
        "agent fact",
        "no thread here",
    }


async def test_a_key_replaces_instead_of_duplicating(memory: Any) -> None:
    view = memory.scoped("bot", "t1")
    first = await view.remember("likes tea", key="drink")
    second = await view.remember("likes coffee", key="drink")
    assert second.id == first.id and second.created_at == first.created_at
    assert [f.text for f in await view.facts()] == ["likes coffee"]
    # the same key in another scope is another fact
    await view.remember("likes water", key="drink", scope="agent")
    assert sorted(f.text for f in await view.facts()) == ["likes coffee", "likes water"]


async def test_forget_by_id_or_key_within_the_scope(memory: Any) -> None:
    view = memory.scoped("bot", "t1")
    fact = await view.remember("temporary")
    await view.remember("drink is tea", key="drink")
    await memory.scoped("other").remember("drink is beer", key="drink")
    assert await view.forget(fact.id) == 1
    assert await view.forget("drink") == 1
    assert await view.forget("drink") == 0
    assert await view.facts() == []
    assert [f.text for f in await memory.scoped("other").facts()] == ["drink is beer"]


async def test_bad_input_is_a_user_error(memory: Any) -> None:
    view = memory.scoped("bot")
    with pytest.raises(UserError, match="non-empty string"):
        await view.remember("  ")
    with pytest.raises(UserError, match="non-empty string"):
        await view.remember(42)
    with pytest.raises(UserError, match="scope must be 'thread' or 'agent'"):
        await view.remember("x", scope="everywhere")
    with pytest.raises(UserError, match="limit must be a positive integer"):
        await view.recall("x", limit=0)


async def test_sqlite_memory_survives_reopening(tmp_path: Path) -> None:
    path = str(tmp_path / "deep" / "m.db")
    first = MemorySQLite(path)
    await first.scoped("bot", "t").remember("kept on disk", key="k", metadata={"n": 1})
    await first.close()
    second = MemorySQLite(path)
    facts = await second.scoped("bot", "t").facts()
    assert [(f.text, f.key, f.metadata) for f in facts] == [("kept on disk", "k", {"n": 1})]
    await second.close()


async def test_sqlite_memory_can_share_the_store_file(tmp_path: Path) -> None:
    path = str(tmp_path / "tether.db")
    memory = MemorySQLite(path)
    runner = Runner(store=f"sqlite:///{path}")
    agent = Agent("bot", model=FakeModel().add_response("ok"), memory=memory)
    await runner.run(agent, "hi")
    await memory.scoped("bot").remember("shared file")
    assert len(await runner.store.list_runs()) == 1  # type: ignore[union-attr]
    await runner.aclose()
    await memory.close()


def make_agent(memory: Any, model: FakeModel, name: str = "assistant") -> Agent:
    agent = Agent(name, model=model, memory=memory)

    @agent.tool
    async def note(ctx: Context[Any], text: str, everywhere: bool = False) -> str:
        """Remember something about the user."""
        fact = await ctx.memory.remember(text, scope="agent" if everywhere else "thread")
        return f"noted {fact.text}"

    @agent.tool
    async def recall(ctx: Context[Any], query: str) -> list[str]:
        """Recall what is known."""
        assert isinstance(ctx.memory, MemoryView)
        return [f.text for f in await ctx.memory.recall(query)]

    return agent


async def test_tools_see_a_view_scoped_to_agent_and_thread(memory: Any) -> None:
    runner = Runner(store=None)
    model = FakeModel()
    model.add_tool_call("note", {"text": "user likes tea"}).add_response("ok")
    model.add_tool_call("note", {"text": "user is Ann", "everywhere": True}).add_response("ok")
    await runner.run(make_agent(memory, model), "remember", thread_id="t1")
    await runner.run(make_agent(memory, model), "remember more", thread_id="t1")

    model.add_tool_call("recall", {"query": "user"}).add_response("done")
    same_thread = await runner.run(make_agent(memory, model), "what do you know?", thread_id="t1")
    assert same_thread.tool_executions[-1].output == ["user is Ann", "user likes tea"]

    model.add_tool_call("recall", {"query": "user"}).add_response("done")
    other_thread = await runner.run(make_agent(memory, model), "and here?", thread_id="t2")
    assert other_thread.tool_executions[-1].output == ["user is Ann"]

    model.add_tool_call("recall", {"query": "user"}).add_response("done")
    other_agent = await runner.run(make_agent(memory, model, "stranger"), "?", thread_id="t1")
    assert other_agent.tool_executions[-1].output == []
    model.assert_exhausted()


def test_memory_reprs_are_readable(tmp_path: Path) -> None:
    assert repr(Memory()) == "Memory(0 facts)"
    assert repr(MemorySQLite(str(tmp_path / "m.db"))).startswith("MemorySQLite(")
    assert repr(Memory().scoped("a", "t")) == "MemoryView(agent='a', thread_id='t')"


async def test_after_a_handoff_tools_see_the_new_agents_scope() -> None:
    memory = Memory()
    await memory.scoped("billing", "t").remember("invoice 7 is paid")
    await memory.scoped("triage", "t").remember("triage notes")
    model = FakeModel()
    billing = Agent("billing", model=model, memory=memory)

    @billing.tool
    async def known(ctx: Context[Any]) -> list[str]:
        """What billing knows."""
        return [f.text for f in await ctx.memory.facts()]

    triage = Agent("triage", model=model, memory=memory, handoffs=[billing])
    model.add_tool_call("transfer_to_billing").add_tool_call("known").add_response("paid")
    result = await Runner(store=None).run(triage, "is invoice 7 paid?", thread_id="t")
    assert result.last_agent == "billing"
    assert result.tool_executions[-1].output == ["invoice 7 is paid"]
