"""Threads keep a conversation across runs (and processes); compact_thread bounds them."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tether import Agent, Message, Runner, ToolCallPart, UserError
from tether.memory._units import SUMMARY_PREFIX
from tether.models import FakeModel, FunctionModel


def chat_agent(model: Any) -> Agent:
    agent = Agent("chat", model=model)

    @agent.tool
    def weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    return agent


async def test_a_thread_continues_across_runs_and_runners(store_url: str) -> None:
    model = FakeModel().add_response("Hi Ann")
    runner = Runner(store=store_url)
    first = await runner.run(chat_agent(model), "I am Ann", thread_id="t1")
    await runner.aclose()

    model.add_tool_call("weather", {"city": "Oslo"}).add_response("Ann, it is sunny")
    runner = Runner(store=store_url)  # as if in another process
    second = await runner.run(chat_agent(model), "weather in Oslo?", thread_id="t1")
    assert [m.text for m in model.requests[1].messages] == [
        "I am Ann",
        "Hi Ann",
        "weather in Oslo?",
    ]
    assert [m.role for m in second.new_messages] == ["user", "assistant", "tool", "assistant"]
    assert second.messages[:2] == first.messages
    assert len(await runner.store.load_thread("t1")) == 6  # type: ignore[union-attr]

    # another thread starts empty
    model.add_response("Hello stranger")
    third = await runner.run(chat_agent(model), "hi", thread_id="t2")
    assert [m.text for m in third.messages] == ["hi", "Hello stranger"]
    await runner.aclose()


async def test_threads_without_a_store_live_in_the_runner() -> None:
    model = FakeModel().add_response("one").add_response("two")
    runner = Runner(store=None)
    await runner.run(chat_agent(model), "a", thread_id="t")
    result = await runner.run(chat_agent(model), "b", thread_id="t")
    assert [m.text for m in result.messages] == ["a", "one", "b", "two"]


async def test_a_run_waiting_for_approval_saves_its_thread_only_when_done(store_url: str) -> None:
    agent = Agent("chat", model=FakeModel().add_tool_call("send").add_response("sent"))

    @agent.tool(needs_approval=True)
    def send() -> str:
        """Send."""
        return "ok"

    runner = Runner(store=store_url)
    paused = await runner.run(agent, "send it", thread_id="t")
    assert paused.state == "awaiting_approval"
    assert await runner.store.load_thread("t") == []  # type: ignore[union-attr]
    done = await runner.resume(paused.run_id, agent, approvals={"call_1_0": True})
    assert done.state == "completed"
    saved = await runner.store.load_thread("t")  # type: ignore[union-attr]
    assert [m.role for m in saved] == ["user", "assistant", "tool", "assistant"]
    await runner.aclose()


def summarizer() -> tuple[FunctionModel, list[str]]:
    asked: list[str] = []

    def write(messages: list[Message], info: Any) -> str:
        asked.append(messages[0].text)
        return f"summary {len(asked)}"

    return FunctionModel(write), asked


async def filled_thread(runner: Runner) -> None:
    model = FakeModel()
    model.add_response("hello").add_tool_call("weather", {"city": "Rome"}).add_response("sunny")
    model.add_response("bye")
    agent = chat_agent(model)
    await runner.run(agent, [Message.system("house rules"), Message.user("hi")], thread_id="t")
    await runner.run(agent, "weather?", thread_id="t")
    await runner.run(agent, "thanks", thread_id="t")


async def test_compact_thread_folds_old_messages_into_a_summary(store_url: str) -> None:
    runner = Runner(store=store_url)
    await filled_thread(runner)
    before = await runner.store.load_thread("t")  # type: ignore[union-attr]
    assert len(before) == 9
    model, asked = summarizer()
    folded = await runner.compact_thread("t", keep_last=3, model=model)
    after = await runner.store.load_thread("t")  # type: ignore[union-attr]
    # kept: the newest 3 messages rounded to whole units, and the system message
    assert folded == 5
    assert [m.role for m in after] == ["system", "user", "assistant", "user", "assistant"]
    assert after[0].text == "house rules"
    assert after[1].text == SUMMARY_PREFIX + "summary 1"
    assert [m.text for m in after[2:]] == ["sunny", "thanks", "bye"]
    assert "tool weather returned: sunny in Rome" in asked[0]
    assert "house rules" not in asked[0]

    # the next run sees the compacted thread; compacting again folds the summary in
    next_model = FakeModel().add_response("you are welcome")
    await runner.run(chat_agent(next_model), "ok", thread_id="t")
    assert next_model.requests[0].messages[1].text.startswith(SUMMARY_PREFIX)
    assert await runner.compact_thread("t", keep_last=1, model=model) == 5
    assert "summary 1" in asked[1]
    await runner.aclose()


async def test_compact_never_splits_a_tool_call_from_its_result(store_url: str) -> None:
    runner = Runner(store=store_url)
    await filled_thread(runner)
    model, _ = summarizer()
    # keep_last=4 would cut between the weather call and its result: the unit is kept whole
    assert await runner.compact_thread("t", keep_last=4, model=model) == 3
    after = await runner.store.load_thread("t")  # type: ignore[union-attr]
    calls = [p for m in after for p in m.parts if isinstance(p, ToolCallPart)]
    results = [r for m in after for r in m.tool_results]
    assert [c.call_id for c in calls] == [r.call_id for r in results] == ["call_2_0"]
    await runner.aclose()


async def test_compact_with_nothing_to_fold_does_not_call_the_model(store_url: str) -> None:
    runner = Runner(store=store_url)
    model, asked = summarizer()
    assert await runner.compact_thread("empty", model=model) == 0
    await filled_thread(runner)
    assert await runner.compact_thread("t", keep_last=50, model=model) == 0
    assert asked == []
    assert await runner.compact_thread("t", keep_last=0, model=model) == 8
    after = await runner.store.load_thread("t")  # type: ignore[union-attr]
    assert [m.role for m in after] == ["system", "user"]
    await runner.aclose()


async def test_compact_thread_errors() -> None:
    runner = Runner(store=None)
    with pytest.raises(UserError, match="needs a model"):
        await runner.compact_thread("t")
    with pytest.raises(UserError, match="keep_last must be a non-negative integer"):
        await runner.compact_thread("t", keep_last=-1, model=FakeModel())


async def test_compact_thread_without_a_store() -> None:
    runner = Runner(store=None)
    await filled_thread(runner)
    model, _ = summarizer()
    assert await runner.compact_thread("t", keep_last=2, model=model) == 6
    result = await runner.run(chat_agent(FakeModel().add_response("k")), "x", thread_id="t")
    assert result.messages[1].text == SUMMARY_PREFIX + "summary 1"


_KILLED_AT_THE_END = """
import os, signal, sys
from tether import Agent, Runner
from tether.models import FakeModel
from tether.store import open_store

inner = open_store(sys.argv[1])


class DiesOnceTheRunIsStored:
    # the store a run goes to; the process dies the moment the run's end is stored
    async def append(self, run_id, events):
        await inner.append(run_id, events)
        if any(e.type == "run_finished" for e in events):
            os.kill(os.getpid(), signal.SIGKILL)

    def __getattr__(self, name):
        return getattr(inner, name)


runner = Runner(store=DiesOnceTheRunIsStored(), telemetry=None)
runner.run_sync(Agent("chat", model=FakeModel().add_response("Hi Ann")), "I am Ann", thread_id="t1")
"""


@pytest.mark.allow_blocking
def test_a_thread_survives_a_crash_right_after_its_run_is_stored(
    store_url: str, tmp_path: Path
) -> None:
    # the run's end is stored, then the process dies (SIGKILL) before it did anything else:
    # the run is completed in the store, so its conversation must be in its thread too (no
    # one resumes a completed run to save it later)
    script = tmp_path / "dies.py"
    script.write_text(_KILLED_AT_THE_END)
    child = subprocess.run(
        [sys.executable, str(script), store_url], capture_output=True, text=True, timeout=60
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]

    async def next_run() -> list[str]:
        model = FakeModel().add_response("Hello again, Ann")
        runner = Runner(store=store_url, telemetry=None)
        assert runner.store is not None
        assert [r.status for r in await runner.store.list_runs()] == ["completed"]
        await runner.run(Agent("chat", model=model), "who am I?", thread_id="t1")
        await runner.aclose()
        return [m.text for m in model.requests[0].messages]

    assert asyncio.run(next_run()) == ["I am Ann", "Hi Ann", "who am I?"]
