"""Episodic memory (finished runs as searchable episodes, with retention) and memory tools."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.memory import test_vector as _imports  # noqa: F401 - SDK modules loaded up front
from tether import Agent, RunConfig, Runner
from tether.errors import UserError
from tether.memory import EpisodicMemory, HashEmbedder, Retention, VectorMemory, memory_tools
from tether.models import FakeModel, FunctionModel


def _runner(tmp_path: Path, episodes: EpisodicMemory) -> Runner:
    return Runner(store=f"sqlite:///{tmp_path}/runs.db", telemetry=[episodes])


async def test_finished_runs_become_episodes_searchable_by_user(tmp_path: Path) -> None:
    memory = VectorMemory(f"sqlite:///{tmp_path}/runs.db", embedder=HashEmbedder())
    episodes = EpisodicMemory(memory)
    runner = _runner(tmp_path, episodes)
    model = FakeModel().add_response("Your flight leaves at 9.").add_response("Paris is sunny.")
    agent = Agent("travel", model=model)
    ann, bob = (RunConfig(trace_metadata={"user_id": user}) for user in ("ann", "bob"))
    first = await runner.run(agent, "When does my flight to Lisbon leave?", run_config=ann)
    await runner.run(agent, "What is the weather in Paris?", run_config=bob)
    hits = await episodes.search("flight to Lisbon", user_id="ann")
    assert [h.record.metadata["run_id"] for h in hits] == [first.run_id]
    assert "flight leaves at 9" in hits[0].text and hits[0].record.kind == "episode"
    assert await episodes.search("flight to Lisbon", user_id="carol") == []
    assert await memory.count(kind="episode") == 2
    await runner.aclose()
    await memory.close()


async def test_retention_keeps_the_newest_and_deletes_forgotten_checkpoints(tmp_path: Path) -> None:
    memory = VectorMemory(f"sqlite:///{tmp_path}/runs.db", embedder=HashEmbedder())
    episodes = EpisodicMemory(memory, retention=Retention(max_count=2, delete_runs=True))
    runner = _runner(tmp_path, episodes)
    episodes.store = runner.store
    ids = []
    for n in range(4):
        agent = Agent("a", model=FakeModel().add_response(f"answer {n}"))
        ids.append((await runner.run(agent, f"question {n}")).run_id)
    assert await memory.count(kind="episode") == 2
    assert runner.store is not None
    kept = [await runner.store.run_info(i) for i in ids]
    assert [k is not None for k in kept] == [False, False, True, True]
    assert await runner.store.load(ids[0]) == []
    await runner.aclose()
    await memory.close()


async def test_retention_by_age(tmp_path: Path) -> None:
    memory = VectorMemory(f"sqlite:///{tmp_path}/m.db", embedder=HashEmbedder())
    episodes = EpisodicMemory(memory, retention=Retention(max_age=0.2))
    await memory.add("an old episode", kind="episode", id="episode:old")
    await asyncio.sleep(0.3)
    await memory.add("a new episode", kind="episode", id="episode:new")
    assert await episodes.prune() == 1
    assert [h.id for h in await episodes.search("episode", k=5)] == ["episode:new"]
    with pytest.raises(UserError):
        Retention(max_age=0)
    await memory.close()


async def test_threads_are_searchable_and_age_retention_deletes_their_runs(tmp_path: Path) -> None:
    memory = VectorMemory(f"sqlite:///{tmp_path}/runs.db", embedder=HashEmbedder())
    episodes = EpisodicMemory(memory, retention=Retention(max_age=60, delete_runs=True))
    runner = _runner(tmp_path, episodes)
    episodes.store = runner.store
    agent = Agent("a", model=FakeModel().add_response("Lisbon at 9.").add_response("Oslo at 5."))
    first = await runner.run(agent, "flight to Lisbon?", thread_id="trip-1")
    await runner.run(agent, "flight to Oslo?", thread_id="trip-2")
    hits = await episodes.search("flight", thread_id="trip-1")
    assert [h.record.metadata["run_id"] for h in hits] == [first.run_id]
    assert runner.store is not None
    assert await runner.store.run_info(first.run_id) is not None
    episodes.retention = Retention(max_age=1e-6, delete_runs=True)  # now everything is old
    assert await episodes.prune() == 2
    assert await runner.store.run_info(first.run_id) is None  # its checkpoints went too
    await runner.aclose()
    await memory.close()


async def test_memory_tools_remember_then_recall_across_runs(tmp_path: Path) -> None:
    memory = VectorMemory(f"sqlite:///{tmp_path}/m.db", embedder=HashEmbedder())

    def first(messages: list[Any], info: Any) -> Any:
        if not any(m.role == "tool" for m in messages):
            return FunctionModel.tool_call(
                "remember", {"fact": "Ann's seat preference is the window"}
            )
        return "Noted."

    def second(messages: list[Any], info: Any) -> Any:
        results = [r for m in messages if m.role == "tool" for r in m.tool_results]
        if not results:
            return FunctionModel.tool_call("recall", {"query": "Ann seat"})
        return f"You said: {results[0].content}"

    tools = memory_tools(memory, scope="user")
    runner = Runner(store=None, telemetry=None)
    deps = {"user_id": "ann"}
    await runner.run(Agent("a", model=FunctionModel(first), tools=tools), "remember", deps=deps)
    out = await runner.run(
        Agent("a", model=FunctionModel(second), tools=tools), "recall", deps=deps
    )
    assert "window" in out.output
    assert [e.output for e in out.tool_executions] == [["Ann's seat preference is the window"]]
    other = await runner.run(
        Agent("a", model=FunctionModel(second), tools=tools), "recall", deps={"user_id": "bob"}
    )
    assert other.tool_executions[0].output == []
    no_user = await runner.run(Agent("a", model=FunctionModel(second), tools=tools), "x", deps={})
    assert "user_id" in str(no_user.tool_executions[0].output) or no_user.state != "completed"
    with pytest.raises(UserError):
        memory_tools(memory, scope="planet")  # type: ignore[arg-type]
    await memory.close()


def test_episodes_of_runs_in_two_processes_share_one_store(tmp_path: Path) -> None:
    """Each process records its own runs into the same file; both are found from a third."""
    import subprocess
    import sys

    script = (
        "import asyncio, sys\n"
        "from tether import Agent, Runner\n"
        "from tether.memory import EpisodicMemory, HashEmbedder, VectorMemory\n"
        "from tether.models import FakeModel\n"
        "db = sys.argv[1]\n"
        "async def main():\n"
        "    mem = VectorMemory(f'sqlite:///{db}', embedder=HashEmbedder())\n"
        "    runner = Runner(store=f'sqlite:///{db}', telemetry=[EpisodicMemory(mem)])\n"
        "    agent = Agent('a', model=FakeModel().add_response('ok ' + sys.argv[2]))\n"
        "    await runner.run(agent, 'topic ' + sys.argv[2])\n"
        "    await runner.aclose(); await mem.close()\n"
        "asyncio.run(main())\n"
    )
    db = tmp_path / "shared.db"
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(db), word])
        for word in ("alpha", "beta")
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]

    async def read() -> list[str]:
        mem = VectorMemory(f"sqlite:///{db}", embedder=HashEmbedder())
        found = [h.text for h in await mem.search("topic", k=5, kind="episode")]
        await mem.close()
        return found

    texts = asyncio.run(read())
    assert len(texts) == 2 and any("alpha" in t for t in texts) and any("beta" in t for t in texts)


async def test_a_run_that_ends_after_a_resume_rewrites_its_episode(tmp_path: Path) -> None:
    """A run paused for an approval is an episode with no answer; resumed by a new Runner
    (whose exporter never saw the run start, as after a restart), its episode gets the answer."""
    url = f"sqlite:///{tmp_path}/runs.db"

    def travel(model: FakeModel) -> Agent:
        agent = Agent("travel", model=model)

        @agent.tool(needs_approval=True)
        def book(city: str) -> str:
            """Book a flight."""
            return f"booked {city}"

        return agent

    first = EpisodicMemory(VectorMemory(url, embedder=HashEmbedder()))
    runner = _runner(tmp_path, first)
    model = FakeModel().add_tool_call("book", {"city": "Lisbon"})
    ann = RunConfig(trace_metadata={"user_id": "ann"})
    paused = await runner.run(travel(model), "Book my flight to Lisbon", run_config=ann)
    assert paused.state == "awaiting_approval"
    (hit,) = await first.search("Lisbon flight", user_id="ann")
    assert hit.record.metadata["state"] == "awaiting_approval"
    await runner.aclose()

    memory = VectorMemory(url, embedder=HashEmbedder())
    later = EpisodicMemory(memory)
    runner = _runner(tmp_path, later)
    call = paused.pending_approvals[0].call_id
    agent = travel(FakeModel().add_response("Booked."))
    done = await runner.resume(paused.run_id, agent, {call: True})
    assert done.state == "completed"
    (hit,) = await later.search("Lisbon flight", user_id="ann")
    assert hit.record.metadata["state"] == "completed" and "Booked." in hit.text
    assert await memory.count(kind="episode") == 1
    await runner.aclose()
    await memory.close()


async def test_retention_deletes_runs_from_the_memorys_store_by_default(tmp_path: Path) -> None:
    """``delete_runs=True`` without ``store=``: the memory's own database is the runs' one."""
    memory = VectorMemory(f"sqlite:///{tmp_path}/runs.db", embedder=HashEmbedder())
    episodes = EpisodicMemory(memory, retention=Retention(max_count=1, delete_runs=True))
    runner = _runner(tmp_path, episodes)
    ids = [
        (await runner.run(Agent("a", model=FakeModel().add_response(str(n))), f"q {n}")).run_id
        for n in range(3)
    ]
    assert runner.store is not None
    assert [await runner.store.run_info(i) is not None for i in ids] == [False, False, True]
    await runner.aclose()
    await memory.close()


async def test_retention_deletes_the_runs_of_a_forgotten_runs_subagents(tmp_path: Path) -> None:
    """Subagents' runs are not episodes (top_level_only); deleting a run deletes them with it,
    two levels down, so the same policy bounds what subagents store."""
    memory = VectorMemory(f"sqlite:///{tmp_path}/runs.db", embedder=HashEmbedder())
    episodes = EpisodicMemory(memory, retention=Retention(max_count=1, delete_runs=True))
    runner = _runner(tmp_path, episodes)
    assert runner.store is not None
    tops = []
    for n in range(3):
        leaf = Agent("leaf", model=FakeModel().add_response("leaf done"))
        helper_model = FakeModel().add_tool_call("leaf", {"input": "go"}).add_response("helped")
        helper = Agent("helper", model=helper_model, tools=[leaf.as_tool()])
        top_model = FakeModel().add_tool_call("helper", {"input": "go"}).add_response(f"done {n}")
        top = Agent("top", model=top_model, tools=[helper.as_tool()])
        tops.append((await runner.run(top, f"task {n}")).run_id)
    runs = await runner.store.list_runs()
    assert sorted(r.agent for r in runs) == ["helper", "leaf", "top"]  # the newest tree only
    assert [r.run_id for r in runs if r.agent == "top"] == [tops[-1]]
    await runner.aclose()
    await memory.close()
