"""Where a run writes to its store: one append per durable step, and a model response stored
with the first write after it, before anything outside the process acts on it.

The model response has no append of its own: it goes to the store with the calls'
``tool_call_started`` (or the run's end, a retry, a follow-up, a pause). Each test here counts
the appends of a real SQLite store, and the model and tools check, as they are called, that
every model response before them is stored already.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tether import Agent, Retry, Runner
from tether.events import Event
from tether.models import FakeModel, FunctionModel
from tether.policies import Policy
from tether.run.config import RunConfig
from tether.store.sqlite import SQLiteStore


class Watched:
    """A SQLite store that keeps the event types of each append that returned."""

    def __init__(self, path: Path) -> None:
        self.inner = SQLiteStore(path)
        self.batches: list[list[str]] = []

    async def append(self, run_id: str, events: Sequence[Event]) -> None:
        await self.inner.append(run_id, events)
        self.batches.append([e.type for e in events])

    def stored(self, kind: str) -> int:
        return sum(t == kind for batch in self.batches for t in batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def checked_model(store: Watched, answers: list[Any]) -> FunctionModel:
    """Answers in turn; each request finds every earlier model response stored."""

    def answer(messages: list[Any], info: Any) -> Any:
        asked_before = sum(m.role == "assistant" for m in messages)
        assert store.stored("model_response") == asked_before, store.batches
        return answers.pop(0)

    return FunctionModel(answer)


def calc(model: Any, store: Watched | None = None, *, needs_approval: bool = False) -> Agent:
    agent = Agent("calc", model=model)

    @agent.tool(needs_approval=needs_approval)
    def add(a: int, b: int) -> int:
        """Add two integers."""
        if store is not None:  # the response that asked for it, and its start, are stored
            assert store.batches[-1][-1] == "tool_call_started", store.batches
            assert "model_response" in store.batches[-1], store.batches
        return a + b

    return agent


async def test_a_one_tool_run_appends_four_times(tmp_path: Path) -> None:
    store = Watched(tmp_path / "runs.db")
    add = FunctionModel.tool_call("add", {"a": 1, "b": 2})
    runner = Runner(store=store)  # type: ignore[arg-type]
    result = await runner.run(calc(checked_model(store, [add, "3"]), store), "1+2?")
    await runner.aclose()
    assert result.output == "3"
    assert store.batches == [
        ["run_started"],
        ["turn_started", "model_response", "progress", "tool_call_started"],
        ["tool_call_finished"],
        ["turn_started", "model_response", "progress", "progress", "run_finished"],
    ]


async def test_a_plain_answer_appends_twice(tmp_path: Path) -> None:
    store = Watched(tmp_path / "runs.db")
    runner = Runner(store=store)  # type: ignore[arg-type]
    result = await runner.run(Agent("a", model=FakeModel().add_response("hi")), "hello")
    assert result.output == "hi"
    assert len(store.batches) == 2 and store.batches[-1][-1] == "run_finished"
    # the output tool: its result goes to the store with the run's end too
    agent = Agent("o", model=FakeModel().add_output(42), output=int, output_mode="tool")
    store.batches.clear()
    assert (await runner.run(agent, "go")).output == 42
    await runner.aclose()
    assert len(store.batches) == 2
    assert store.batches[-1][-1] == "run_finished" and "model_response" in store.batches[-1]


async def test_a_rejected_answer_is_stored_before_the_model_is_asked_again(
    tmp_path: Path,
) -> None:
    store = Watched(tmp_path / "runs.db")
    agent = Agent("v", model=checked_model(store, ["short", "long enough"]))

    @agent.output_validator
    def long_enough(ctx: Any, output: str) -> str:
        if len(output) < 6:
            raise Retry("say more")
        return output

    runner = Runner(store=store)  # type: ignore[arg-type]
    assert (await runner.run(agent, "go")).output == "long enough"
    await runner.aclose()
    assert len(store.batches) == 3 and store.batches[1][-1] == "output_retry"


class _Again(Policy):
    """Asks once for more after the first answer."""

    name = "again"

    def follow_up(self, state: Any, agent: Any, answer: str) -> str | None:
        return "and then?" if state.turn == 1 else None


async def test_a_policy_follow_up_stores_the_answer_before_the_next_turn(
    tmp_path: Path,
) -> None:
    store = Watched(tmp_path / "runs.db")
    agent = Agent("f", model=checked_model(store, ["first", "second"]), policy=_Again())
    runner = Runner(store=store)  # type: ignore[arg-type]
    assert (await runner.run(agent, "go")).output == "second"
    await runner.aclose()
    assert len(store.batches) == 3 and store.batches[1][-1] == "policy_message"


async def test_a_handoff_is_stored_before_the_next_agent_is_asked(tmp_path: Path) -> None:
    store = Watched(tmp_path / "runs.db")
    billing = Agent("billing", model=checked_model(store, ["paid"]))
    triage = Agent(
        "triage",
        model=checked_model(store, [FunctionModel.tool_call("transfer_to_billing")]),
        handoffs=[billing],
    )
    runner = Runner(store=store)  # type: ignore[arg-type]
    assert (await runner.run(triage, "invoice?")).output == "paid"
    await runner.aclose()
    assert len(store.batches) == 3 and "handoff" in store.batches[1]


async def test_a_person_is_asked_only_once_the_answer_is_stored(tmp_path: Path) -> None:
    store = Watched(tmp_path / "runs.db")
    model = FakeModel().add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
    agent = calc(model, store, needs_approval=True)
    asked = []
    runner = Runner(store=store)  # type: ignore[arg-type]
    handle = await runner.start(agent, "1+2?", run_config=RunConfig(interaction_mode="interactive"))
    async for event in handle.events:
        if event.type == "approval_requested":
            asked.append(store.stored("model_response"))
            await handle.approve(event.call_id)  # type: ignore[attr-defined]
    assert (await handle.result()).output == "3"
    await runner.aclose()
    assert asked == [1]


async def test_a_pause_after_the_answer_stores_it_first(tmp_path: Path) -> None:
    store = Watched(tmp_path / "runs.db")
    handles: list[Any] = []

    async def answer(messages: list[Any], info: Any) -> Any:
        await handles[0].pause()  # the loop pauses before it judges this answer
        return "done"

    runner = Runner(store=store)  # type: ignore[arg-type]
    handles.append(await runner.start(Agent("p", model=FunctionModel(answer)), "go"))
    handle = handles[0]
    async for event in handle.events:
        if event.type == "run_paused":
            await asyncio.sleep(0.01)  # the pause's write lands before the wait
            assert store.stored("model_response") == 1
            await handle.resume()
    assert (await handle.result()).output == "done"
    await runner.aclose()


# -- real processes killed with SIGKILL (write_points_app.py) ------------------------------------

APP = Path(__file__).with_name("write_points_app.py")


def _killed_and_resumed(store_url: str, work: Path, kill_at: str) -> list[str]:
    """Run until the kill, resume in another process; the event types stored before it."""
    done = subprocess.run(
        [sys.executable, str(APP), store_url, str(work), kill_at],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["killed"] and report["resumed"] == 0, report
    assert (report["state"], report["output"]) == ("completed", "3")
    return report["stored"]  # type: ignore[no-any-return]


@pytest.mark.allow_blocking
def test_killed_before_the_answer_is_stored_the_model_is_asked_once_more(
    store_url: str, tmp_path: Path
) -> None:
    # killed in a slow output validator: the final answer is not stored yet (it goes with
    # run_finished), so the resumed run asks the model for it once more; the tool, finished
    # and stored, never runs again
    stored = _killed_and_resumed(store_url, tmp_path, "validator")
    assert stored.count("model_response") == 1 and stored[-1] == "tool_call_finished"
    assert (tmp_path / "model.log").read_text().split("\n")[:-1] == ["turn 1", "turn 2", "turn 2"]
    assert (tmp_path / "tool.log").read_text() == "add\n"


@pytest.mark.allow_blocking
def test_killed_in_the_tool_the_model_is_not_asked_again(store_url: str, tmp_path: Path) -> None:
    # killed inside the tool: the answer that asked for it was stored with its start, so the
    # resumed run runs the (idempotent) call again and asks the model only for the next turn
    stored = _killed_and_resumed(store_url, tmp_path, "tool")
    assert stored.count("model_response") == 1 and stored[-1] == "tool_call_started"
    assert (tmp_path / "model.log").read_text().split("\n")[:-1] == ["turn 1", "turn 2"]
    assert (tmp_path / "tool.log").read_text() == "add\nadd\n"


async def test_a_breakpoint_before_a_tool_pauses_with_the_answer_stored(tmp_path: Path) -> None:
    store = Watched(tmp_path / "runs.db")
    model = FakeModel().add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
    runner = Runner(store=store)  # type: ignore[arg-type]
    handle = await runner.start(calc(model), "1+2?", breakpoints=["tool:add"])
    stored_at_pause = []
    async for event in handle.events:
        if event.type == "breakpoint_hit":
            stored_at_pause.append(store.stored("model_response"))
            assert handle.debugger is not None
            await handle.debugger.resume()
    assert (await handle.result()).output == "3"
    await runner.aclose()
    assert stored_at_pause == [1]
