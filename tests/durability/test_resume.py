"""Resume guarantees, each tested on SQLite and PostgreSQL, with a fresh Runner and store for
every "process" so nothing but the store carries over.

A crash is simulated in-process by raising ``Crash`` from a tool or a model. It is a
``GeneratorExit``, the one BaseException an async tool's call lets through (the close of its
coroutine) and the loop does not catch, so the run stops where it is, as a dead process's does;
any other BaseException of a tool's fails only that call. tests/durability/test_crash.py kills
real processes instead.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import pytest

from tether import Agent, Message, Runner, UserError
from tether.models import FakeModel, FunctionModel
from tether.models.testing import AgentInfo
from tether.store import RunLeaseHeld


class Crash(GeneratorExit):
    """The process dies here."""


class World:
    """Side effects of the tools, and where to crash."""

    def __init__(self) -> None:
        self.runs: Counter[str] = Counter()
        self.crash_in: set[str] = set()

    def touch(self, what: str) -> None:
        self.runs[what] += 1
        if what in self.crash_in:
            self.crash_in.discard(what)
            raise Crash(what)


def make_agent(model: Any, world: World, *, needs_approval: bool = False) -> Agent:
    agent = Agent("worker", model=model)

    @agent.tool(idempotent=True)
    async def fetch(key: str) -> str:
        """Read a value (safe to repeat)."""
        world.touch(f"fetch:{key}")
        return f"value of {key}"

    @agent.tool(needs_approval=needs_approval)
    async def pay(amount: int) -> str:
        """Pay (must not happen twice)."""
        world.touch(f"pay:{amount}")
        return f"paid {amount}"

    return agent


async def crashed(runner: Runner, agent: Agent, prompt: str = "go", **kw: Any) -> str:
    """Run until the simulated crash; return the run id."""
    with pytest.raises(Crash):
        await runner.run(agent, prompt, run_id="run-1", **kw)
    await runner.aclose()
    return "run-1"


def transcript(messages: list[Message]) -> list[tuple[str, str]]:
    out = []
    for m in messages:
        for p in m.parts:
            out.append((m.role, json.dumps(getattr(p, "__dict__", None) or repr(p), default=str)))
    return out


async def test_a_recorded_model_response_is_never_requested_again(store_url: str) -> None:
    world = World()
    first = FakeModel().add_tool_calls([("fetch", {"key": "a"}), ("fetch", {"key": "b"})])
    world.crash_in.add("fetch:b")
    await crashed(Runner(store=store_url), make_agent(first, world))
    first.assert_exhausted()

    second = FakeModel().add_response("done")  # only the answer after the tools is left
    runner = Runner(store=store_url)
    result = await runner.resume("run-1", make_agent(second, world))
    await runner.aclose()
    assert result.state == "completed" and result.output == "done"
    assert len(second.requests) == 1
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    # fetch:a finished before the crash and is not run again; fetch:b (idempotent) is re-run
    assert world.runs == {"fetch:a": 1, "fetch:b": 2}
    assert [r.tool_call_id for r in result.tool_executions] == ["call_1_0", "call_1_1"]


async def test_a_model_response_is_stored_with_the_first_action_on_it(store_url: str) -> None:
    # The crash happens after the model answered, before any tool started (in an approval
    # predicate, an in-process judgment): the answer is not stored yet (it goes to the store
    # with the calls' tool_call_started), so the resumed run asks the model again, once, and
    # the tool still runs once.
    world = World()

    def approve_pay(ctx: Any, args: dict[str, Any]) -> bool:
        world.touch("predicate")
        return False

    def agent_for(model: Any) -> Agent:
        agent = Agent("worker", model=model)

        @agent.tool(needs_approval=approve_pay)
        async def pay(amount: int) -> str:
            """Pay."""
            world.touch("pay")
            return "paid"

        return agent

    world.crash_in.add("predicate")
    await crashed(
        Runner(store=store_url), agent_for(FakeModel().add_tool_call("pay", {"amount": 3}))
    )
    runner = Runner(store=store_url)
    stored = await runner.store.load("run-1")  # type: ignore[union-attr]
    assert [e.type for e in stored] == ["run_started"]
    again = FakeModel().add_tool_call("pay", {"amount": 3}).add_response("ok")
    result = await runner.resume("run-1", agent_for(again))
    await runner.aclose()
    assert result.state == "completed" and len(again.requests) == 2
    assert world.runs == {"predicate": 2, "pay": 1}


async def test_a_finished_tool_call_is_never_executed_again(store_url: str) -> None:
    world = World()
    model = FakeModel().add_tool_call("pay", {"amount": 5}).add_tool_call("fetch", {"key": "x"})
    world.crash_in.add("fetch:x")
    await crashed(Runner(store=store_url), make_agent(model, world))
    runner = Runner(store=store_url)
    result = await runner.resume("run-1", make_agent(FakeModel().add_response("fine"), world))
    await runner.aclose()
    assert result.state == "completed"
    assert world.runs == {"pay:5": 1, "fetch:x": 2}


async def test_a_cut_short_call_that_is_not_idempotent_interrupts_the_run(store_url: str) -> None:
    world = World()
    world.crash_in.add("pay:7")
    await crashed(
        Runner(store=store_url), make_agent(FakeModel().add_tool_call("pay", {"amount": 7}), world)
    )

    model = FakeModel()
    runner = Runner(store=store_url)
    result = await runner.resume("run-1", make_agent(model, world))
    assert result.state == "interrupted"
    assert result.interrupted_calls == ["call_1_0"]
    assert result.error is not None and "call_1_0" in result.error and "idempotent" in result.error
    assert world.runs == {"pay:7": 1} and model.requests == []
    info = await runner.store.run_info("run-1")  # type: ignore[union-attr]
    assert info is not None and info.status == "interrupted"
    await runner.aclose()

    # Resuming without a decision changes nothing: it stays interrupted, the call is not run.
    runner = Runner(store=store_url)
    again = await runner.resume("run-1", make_agent(model, world))
    assert again.state == "interrupted" and world.runs == {"pay:7": 1}
    await runner.aclose()

    # A person decides to run it again.
    model.add_response("paid it")
    runner = Runner(store=store_url)
    done = await runner.resume("run-1", make_agent(model, world), approvals={"call_1_0": True})
    await runner.aclose()
    assert done.state == "completed" and done.output == "paid it"
    assert world.runs == {"pay:7": 2}
    assert done.messages[-2].tool_results[0].content == "paid 7"


async def test_a_cut_short_call_can_be_rejected_with_a_reason(store_url: str) -> None:
    world = World()
    world.crash_in.add("pay:7")
    await crashed(
        Runner(store=store_url), make_agent(FakeModel().add_tool_call("pay", {"amount": 7}), world)
    )
    model = FakeModel().add_response("understood")
    runner = Runner(store=store_url)
    done = await runner.resume(
        "run-1", make_agent(model, world), approvals={"call_1_0": "it already went through"}
    )
    await runner.aclose()
    assert done.state == "completed" and world.runs == {"pay:7": 1}
    result_part = done.messages[-2].tool_results[0]
    assert result_part.is_error and "it already went through" in result_part.content
    assert "it already went through" in model.requests[0].messages[-1].tool_results[0].content


async def test_an_approval_is_spent_by_the_call_it_started(store_url: str) -> None:
    # Approved, started, crashed: the approval does not cover running it a second time.
    world = World()
    agent_model = FakeModel().add_tool_call("pay", {"amount": 9})
    runner = Runner(store=store_url)
    paused = await runner.run(make_agent(agent_model, world, needs_approval=True), "go", run_id="r")
    assert paused.state == "awaiting_approval"
    assert [p.call_id for p in paused.pending_approvals] == ["call_1_0"]
    await runner.aclose()

    world.crash_in.add("pay:9")
    runner = Runner(store=store_url)
    with pytest.raises(Crash):
        await runner.resume(
            "r", make_agent(FakeModel(), world, needs_approval=True), approvals={"call_1_0": True}
        )
    await runner.aclose()

    runner = Runner(store=store_url)
    cut = await runner.resume("r", make_agent(FakeModel(), world, needs_approval=True))
    await runner.aclose()
    assert cut.state == "interrupted" and cut.interrupted_calls == ["call_1_0"]
    assert world.runs == {"pay:9": 1}


async def test_resuming_a_completed_run_returns_its_result(store_url: str) -> None:
    world = World()
    model = FakeModel().add_tool_call("fetch", {"key": "k"}).add_response("all good")
    runner = Runner(store=store_url)
    first = await runner.run(make_agent(model, world), "go", run_id="r")
    await runner.aclose()
    untouched = FakeModel()
    runner = Runner(store=store_url)
    again = await runner.resume("r", make_agent(untouched, world))
    await runner.aclose()
    assert again.state == "completed" and again.output == "all good"
    assert transcript(again.messages) == transcript(first.messages)
    assert again.usage.requests == first.usage.requests == 2
    assert untouched.requests == [] and world.runs == {"fetch:k": 1}


async def test_a_crash_in_the_model_call_asks_it_again(store_url: str) -> None:
    world = World()
    asked: list[int] = []

    def answer(messages: list[Message], info: AgentInfo) -> Any:
        turn = sum(m.role == "assistant" for m in messages) + 1
        asked.append(turn)
        if turn == 2 and asked.count(2) == 1:
            raise Crash("model")
        return FunctionModel.tool_call("fetch", {"key": "z"}) if turn == 1 else "answer"

    await crashed(Runner(store=store_url), make_agent(FunctionModel(answer), world))
    runner = Runner(store=store_url)
    result = await runner.resume("run-1", make_agent(FunctionModel(answer), world))
    await runner.aclose()
    assert result.output == "answer"
    assert asked == [1, 2, 2]  # turn 1 was recorded; turn 2 never answered, so asked again
    assert world.runs == {"fetch:z": 1}


async def test_resume_errors_name_the_fix(store_url: str) -> None:
    runner = Runner(store=store_url)
    with pytest.raises(UserError, match="no run 'missing'"):
        await runner.resume("missing", make_agent(FakeModel(), World()))
    world = World()
    paused = await runner.run(
        make_agent(FakeModel().add_tool_call("pay", {"amount": 1}), world, needs_approval=True),
        "go",
        run_id="r",
    )
    assert paused.state == "awaiting_approval"
    with pytest.raises(UserError, match="no pending approval or cut-short call 'nope'"):
        await runner.resume("r", make_agent(FakeModel(), world), approvals={"nope": True})
    with pytest.raises(UserError, match="already used by a run"):
        await runner.run(make_agent(FakeModel(), world), "again", run_id="r")
    other = Agent("someone-else", model=FakeModel())
    with pytest.raises(UserError, match="was started by agent 'worker'"):
        await runner.resume("r", other)
    await runner.aclose()


async def test_resume_needs_a_store() -> None:
    with pytest.raises(UserError, match="has no store"):
        await Runner(store=None).resume("x")


async def test_two_processes_resuming_one_run_leave_one_consistent_log(store_url: str) -> None:
    # Two resumers race. Each resume takes the run's lease in the store: the loser gets
    # RunLeaseHeld before it reads the log (or, once the winner is done, the finished run's
    # Result), so it never takes the winner's running call for one a crash cut short.
    world = World()
    world.crash_in.add("fetch:a")
    await crashed(
        Runner(store=store_url), make_agent(FakeModel().add_tool_call("fetch", {"key": "a"}), world)
    )
    runners = [Runner(store=store_url), Runner(store=store_url)]
    outcomes = await asyncio.gather(
        *(r.resume("run-1", make_agent(FakeModel().add_response("ok"), world)) for r in runners),
        return_exceptions=True,
    )
    for runner in runners:
        await runner.aclose()
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, RunLeaseHeld), outcome
            assert "is being executed by another process" in str(outcome)
        else:
            assert outcome.state == "completed" and outcome.output == "ok"
    runner = Runner(store=store_url)
    events = await runner.store.load("run-1")  # type: ignore[union-attr]
    state = await runner.load_state("run-1")
    await runner.aclose()
    assert state.status == "completed"
    assert [e.seq for e in events] == sorted({e.seq for e in events})
    assert sum(e.type == "run_finished" and e.state == "completed" for e in events) == 1  # type: ignore[attr-defined]
    assert sum(e.type == "tool_call_finished" for e in events) == 1
    assert world.runs["fetch:a"] == 2  # the crashed attempt and the winner's: never a third
