"""Replay: recorded model answers served back, exact for multi-turn runs with parallel tools;
the first divergence reported as ReplayDivergence with a diff; tools live or recorded; from the
store or from a JSONL trace file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

import pytest

from tether import Agent, Context, Event, ReplayDivergence, RunConfig, Runner, UserError
from tether.models import FakeModel
from tether.tracing.jsonl import JsonlExporter


def shop_agent(model: FakeModel, stock: dict[str, int], calls: list[str]) -> Agent:
    agent = Agent("shop", model=model)

    @agent.tool
    async def price(item: str) -> float:
        """Price of an item."""
        calls.append(f"price:{item}")
        await asyncio.sleep(0.01 if item == "apple" else 0)  # finish out of order
        return {"apple": 1.5, "pear": 2.0}[item]

    @agent.tool
    def in_stock(item: str) -> int:
        """Units in stock."""
        calls.append(f"stock:{item}")
        return stock[item]

    return agent


def script() -> FakeModel:
    model = FakeModel(cost_per_call=0.001)
    model.add_tool_calls(
        [("price", {"item": "apple"}), ("price", {"item": "pear"}), ("in_stock", {"item": "apple"})]
    )
    model.add_tool_calls([("in_stock", {"item": "pear"}), ("price", {"item": "apple"})])
    model.add_response("apples: 1.5 (3 left), pears: 2.0 (5 left)")
    return model


async def record(runner: Runner, stock: dict[str, int]) -> tuple[str, Agent]:
    agent = shop_agent(script(), stock, [])
    runner.register_agent(agent)
    result = await runner.run(agent, "what do apples and pears cost?")
    assert result.turns == 3
    return result.run_id, agent


async def test_replay_of_a_multi_turn_run_with_parallel_tools_is_exact() -> None:
    runner = Runner(store="memory://", telemetry=None)
    run_id, _ = await record(runner, {"apple": 3, "pear": 5})
    original = await runner.store.load(run_id)  # type: ignore[union-attr]
    calls: list[str] = []
    replay_agent = shop_agent(FakeModel("unused"), {"apple": 3, "pear": 5}, calls)
    result = await runner.replay(run_id, agent=replay_agent)
    assert result.state == "completed" and result.turns == 3
    assert result.final_text == "apples: 1.5 (3 left), pears: 2.0 (5 left)"
    assert sorted(calls) == [
        "price:apple",
        "price:apple",
        "price:pear",
        "stock:apple",
        "stock:pear",
    ]  # tools really ran again
    replayed = await runner.store.load(result.run_id)  # type: ignore[union-attr]
    assert [m for m in result.messages] == [m for m in (await runner.load_state(run_id)).messages]
    kinds = [e.type for e in original if e.type != "progress"]
    assert [e.type for e in replayed if e.type != "progress"] == kinds
    assert result.usage.cost == pytest.approx(0.003)  # the recorded usage is served back


async def test_a_changed_tool_result_is_the_first_divergence() -> None:
    runner = Runner(store="memory://", telemetry=None)
    run_id, _ = await record(runner, {"apple": 3, "pear": 5})
    changed = shop_agent(FakeModel(), {"apple": 3, "pear": 9}, [])
    with pytest.raises(ReplayDivergence) as caught:
        await runner.replay(run_id, agent=changed)
    assert caught.value.turn == 3
    diff = caught.value.diff
    assert "--- recorded" in diff and "+++ replayed" in diff
    assert (
        '-[4] tool tool_result: {"call_id": "call_2_0", "name": "in_stock", "content": "5"' in diff
    )
    assert (
        '+[4] tool tool_result: {"call_id": "call_2_0", "name": "in_stock", "content": "9"' in diff
    )


async def test_recorded_tools_are_served_without_running() -> None:
    runner = Runner(store="memory://", telemetry=None)
    run_id, _ = await record(runner, {"apple": 3, "pear": 5})
    calls: list[str] = []
    changed = shop_agent(FakeModel(), {"apple": 0, "pear": 0}, calls)
    result = await runner.replay(run_id, agent=changed, tools="recorded")
    assert calls == [] and result.state == "completed"
    assert sorted(r.output for r in result.tool_executions) == [1.5, 1.5, 2.0, 3, 5]
    # in the order the recorded calls finished (apple's price came last in turn 1), as live
    recorded = (await runner.load_state(run_id)).tool_executions
    assert [r.output for r in result.tool_executions] == [r.output for r in recorded]


async def test_a_recording_that_ends_early_diverges_at_the_next_turn() -> None:
    runner = Runner(store="memory://", telemetry=None)
    run_id, agent = await record(runner, {"apple": 3, "pear": 5})
    events = await runner.store.load(run_id)  # type: ignore[union-attr]
    last_turn = max(i for i, e in enumerate(events) if e.type == "turn_started")
    cut = Runner(store="memory://", telemetry=None, agents=[agent])
    await cut.store.append(run_id, events[:last_turn])  # type: ignore[union-attr]
    with pytest.raises(ReplayDivergence) as caught:
        await cut.replay(run_id)
    assert caught.value.turn == 3
    assert "the recording ends after 2 model response(s)" in caught.value.diff


async def test_replay_from_a_jsonl_trace_file(tmp_path: Path) -> None:
    exporter = JsonlExporter(tmp_path)
    runner = Runner(store=None, telemetry=exporter)
    run_id, agent = await record(runner, {"apple": 3, "pear": 5})
    await exporter.drain()
    # by id, found in the runner's JSONL directory
    result = await runner.replay(run_id)
    assert result.turns == 3 and result.state == "completed"
    # by path: a trace file kept next to the tests is a regression test
    fresh = Runner(store=None, telemetry=None, agents=[agent])
    again = await fresh.replay(str(tmp_path / f"{run_id}.jsonl"), tools="recorded")
    assert again.final_text == result.final_text


async def test_replay_errors_are_clear(tmp_path: Path) -> None:
    runner = Runner(store="memory://", telemetry=JsonlExporter(tmp_path))
    with pytest.raises(UserError, match="no recorded run 'nope'"):
        await runner.replay("nope")
    with pytest.raises(UserError, match="invalid trace id"):
        await runner.replay("../../etc/passwd")
    with pytest.raises(UserError, match="tools must be 'live' or 'recorded'"):
        await runner.replay("x", tools="sometimes")  # type: ignore[arg-type]
    # the agent that made the run must be known (the recorder knows it; another runner
    # sharing the store does not until it is registered)
    recorder = Runner(store="memory://", telemetry=None)
    result = await recorder.run(shop_agent(script(), {"apple": 3, "pear": 5}, []), "q")
    assert recorder.store is not None
    stranger = Runner(store=recorder.store, telemetry=None)
    with pytest.raises(UserError, match=r"register it with runner\.register_agent"):
        await stranger.replay(result.run_id)


async def test_a_redacted_trace_cannot_be_replayed(tmp_path: Path) -> None:
    exporter = JsonlExporter(tmp_path)
    runner = Runner(store=None, telemetry=exporter)
    agent = shop_agent(script(), {"apple": 3, "pear": 5}, [])
    runner.register_agent(agent)
    result = await runner.run(agent, "q", run_config=RunConfig(trace_include_sensitive_data=False))
    await exporter.drain()
    with pytest.raises(UserError, match="trace_include_sensitive_data=False"):
        await runner.replay(result.run_id)


async def test_replay_across_a_handoff() -> None:
    def agents(answer: str) -> tuple[Agent, Agent]:
        billing = Agent(
            "billing",
            model=FakeModel().add_tool_call("refund", {"order": "A1"}).add_response("refunded"),
        )

        @billing.tool
        def refund(order: str) -> str:
            """Refund an order."""
            return answer

        triage = Agent(
            "triage", model=FakeModel().add_tool_call("transfer_to_billing"), handoffs=[billing]
        )
        return triage, billing

    triage, billing = agents("ok: A1")
    runner = Runner(store="memory://", telemetry=None, agents=[triage, billing])
    recorded = await runner.run(triage, "refund A1")
    assert recorded.last_agent == "billing"
    again = await runner.replay(recorded.run_id)
    assert again.last_agent == "billing" and again.final_text == "refunded"
    triage2, billing2 = agents("refused: A1")
    other = Runner(store=runner.store, telemetry=None, agents=[triage2, billing2])
    with pytest.raises(ReplayDivergence) as caught:
        await other.replay(recorded.run_id)
    assert caught.value.turn == 3 and "refused: A1" in caught.value.diff


async def test_replay_of_a_run_with_an_approval_serves_the_decided_call() -> None:
    def bank(sent: list[str]) -> Agent:
        model = FakeModel().add_tool_call("transfer", {"amount": 500}).add_response("sent")
        agent = Agent("bank", model=model)

        @agent.tool(needs_approval=True)
        def transfer(amount: int) -> str:
            """Send money."""
            sent.append(f"{amount}")
            return f"sent {amount}"

        return agent

    sent: list[str] = []
    runner = Runner(store="memory://", telemetry=None)
    agent = runner.register_agent(bank(sent))
    paused = await runner.run(agent, "send 500")
    assert paused.state == "awaiting_approval"
    [pending] = paused.pending_approvals
    done = await runner.resume(paused.run_id, approvals={pending.call_id: True})
    assert done.final_text == "sent" and sent == ["500"]
    replayed = await runner.replay(paused.run_id, agent=bank(sent))
    assert replayed.state == "completed" and replayed.final_text == "sent"
    assert sent == ["500"]  # the approved transfer was not made a second time


async def test_a_replayed_run_whose_approval_was_rejected_is_degraded_as_the_original() -> None:
    model = FakeModel().add_tool_call("transfer", {"amount": 500}).add_response("not sent")
    agent = Agent("bank", model=model)

    @agent.tool(needs_approval=True)
    def transfer(amount: int) -> str:
        """Send money."""
        return f"sent {amount}"

    runner = Runner(store="memory://", telemetry=None)
    paused = await runner.run(agent, "send 500")
    [pending] = paused.pending_approvals
    done = await runner.resume(paused.run_id, agent, {pending.call_id: "too much"})
    assert done.state == "degraded"
    replayed = await runner.replay(paused.run_id, agent=agent)
    assert (replayed.state, replayed.final_text) == ("degraded", "not sent")
    assert replayed.degraded_reasons == done.degraded_reasons


# -- what is sent to the model is compared, not only the transcript --------------------------


def _greeter(model: FakeModel, instructions: str = "Be brief.", **kwargs: object) -> Agent:
    agent = Agent("greeter", model=model, instructions=instructions, **kwargs)  # type: ignore[arg-type]

    @agent.tool
    def lookup(name: str) -> str:
        """Look a name up."""
        return f"{name} is known"

    return agent


def _greeter_script() -> FakeModel:
    return FakeModel().add_tool_call("lookup", {"name": "ana"}).add_response("hello ana")


async def test_changed_instructions_diverge_naming_them() -> None:
    runner = Runner(store="memory://", telemetry=None)
    done = await runner.run(_greeter(_greeter_script()), "greet ana")
    with pytest.raises(ReplayDivergence, match=r"differs in: instructions") as info:
        await runner.replay(done.run_id, agent=_greeter(FakeModel(), "Be verbose."))
    assert info.value.turn == 1 and "Be verbose." in info.value.diff


async def test_a_changed_tool_schema_diverges_naming_the_tools() -> None:
    runner = Runner(store="memory://", telemetry=None)
    done = await runner.run(_greeter(_greeter_script()), "greet ana")
    changed = Agent("greeter", model=FakeModel(), instructions="Be brief.")

    @changed.tool
    def lookup(name: str, exact: bool) -> str:
        """Look a name up."""
        return f"{name} is known"

    with pytest.raises(ReplayDivergence, match=r"differs in: tools"):
        await runner.replay(done.run_id, agent=changed)


async def test_an_added_history_policy_diverges_naming_the_messages() -> None:
    from tether import HistorySlidingWindow

    runner = Runner(store="memory://", telemetry=None)
    done = await runner.run(_greeter(_greeter_script()), "greet ana")
    windowed = _greeter(FakeModel(), history=HistorySlidingWindow(1, keep_first_user=False))
    with pytest.raises(ReplayDivergence, match=r"differs in: messages") as info:
        await runner.replay(done.run_id, agent=windowed)
    assert info.value.turn == 2  # the first request had one message: the window kept it


async def test_a_run_with_a_run_config_policy_replays_without_divergence() -> None:
    from tether.policies import ReActPolicy

    runner = Runner(store="memory://", telemetry=None)
    config = RunConfig(policy=ReActPolicy(), model_settings=None)
    done = await runner.run(_greeter(_greeter_script()), "greet ana", run_config=config)
    replayed = await runner.replay(done.run_id, agent=_greeter(FakeModel()), run_config=config)
    assert replayed.output == "hello ana"
    # without it, the replay says what to pass again rather than diverging
    with pytest.raises(UserError, match=r"policy= \(a 'react' policy\)"):
        await runner.replay(done.run_id, agent=_greeter(FakeModel()))


async def test_a_changed_output_schema_or_model_settings_diverges_naming_it() -> None:
    from pydantic import BaseModel

    from tether import ModelSettings

    class Greeting(BaseModel):
        text: str

    runner = Runner(store="memory://", telemetry=None)
    done = await runner.run(_greeter(_greeter_script()), "greet ana")
    native = _greeter(FakeModel(), output=Greeting, output_mode="native")
    with pytest.raises(ReplayDivergence, match=r"differs in: output"):
        await runner.replay(done.run_id, agent=native)
    warmer = _greeter(FakeModel(), model_settings=ModelSettings(temperature=0.9))
    with pytest.raises(ReplayDivergence, match=r"differs in: settings"):
        await runner.replay(done.run_id, agent=warmer)


# -- calls served from the record leave in the replayed log what they left in the live one ---


def _bank_with_a_helper() -> Agent:
    helper = Agent("helper", model=FakeModel().add_response("42"))
    model = (
        FakeModel()
        .add_tool_call("transfer", {"amount": 5})
        .add_tool_call("helper", {"input": "what is it?"})
        .add_response("done")
    )
    bank = Agent("bank", model=model, tools=[helper.as_tool()])

    @bank.tool(needs_approval=True)
    def transfer(amount: int) -> str:
        """Send money."""
        return f"sent {amount}"

    return bank


def _comparable(events: list[Event]) -> list[dict[str, object]]:
    """The events without what differs between any two runs of one script: ids, positions,
    times and durations, the replay's own start settings, and the replaying model's name."""
    out: list[dict[str, object]] = []
    for event in events:
        data = {k: v for k, v in event.to_dict().items() if k not in ("run_id", "seq", "at")}
        data.pop("latency_ms", None)
        if event.type == "run_started":
            data = {"type": event.type, "agent": data["agent"], "input": data["input"]}
        elif event.type == "turn_started":
            data.pop("model")  # "replay": the recorded names are on each model_response
        out.append(data)
    return out


@pytest.mark.parametrize("tools", ["recorded", "live"])
async def test_a_replay_logs_an_approved_call_and_a_subagent_call_as_the_live_run_did(
    tools: Literal["recorded", "live"],
) -> None:
    runner = Runner(store="memory://", telemetry=None)
    agent = runner.register_agent(_bank_with_a_helper())
    handle = await runner.start(agent, "go", run_config=RunConfig(interaction_mode="interactive"))
    async for event in handle.events:
        if event.type == "approval_requested":
            await handle.approve(event.call_id)  # type: ignore[attr-defined]
    live = await handle.result()
    assert (live.state, live.final_text) == ("completed", "done")
    replayed = await runner.replay(live.run_id, agent=_bank_with_a_helper(), tools=tools)
    assert runner.store is not None
    live_log = await runner.store.load(live.run_id)
    replayed_log = await runner.store.load(replayed.run_id)
    kinds = [e.type for e in live_log]
    for kind in ("approval_requested", "approval_decided", "subagent_finished"):
        assert kind in kinds
    assert kinds.count("tool_call_started") == 2
    assert _comparable(replayed_log) == _comparable(live_log)
    assert replayed.usage == live.usage  # the helper's usage is counted, as it was live
    assert [r.agent_name for r in replayed.subagent_executions] == ["helper"]


async def test_a_thread_run_replays_in_its_thread_and_leaves_the_thread_as_it_is() -> None:
    """The replayed tools see the recorded run's thread (ctx.thread_id, so ctx.memory's scope),
    and the replay does not write the thread, which may have gone on since."""

    def agent_of(model: FakeModel) -> Agent:
        agent = Agent("threaded", model=model)

        @agent.tool
        def where(ctx: Context[None]) -> str:
            """The conversation this call is part of."""
            return f"thread {ctx.thread_id}"

        return agent

    model = FakeModel().add_tool_call("where").add_response("first")
    model.add_tool_call("where").add_response("second")
    runner = Runner(store="memory://", telemetry=None)
    first = await runner.run(agent_of(model), "one", thread_id="t-1")
    await runner.run(agent_of(model), "two", thread_id="t-1")
    thread = await runner.store.load_thread("t-1")  # type: ignore[union-attr]
    replayed = await runner.replay(first.run_id, agent=agent_of(FakeModel("unused")))
    assert replayed.output == "first" and replayed.thread_id == "t-1"
    assert replayed.tool_executions[0].output == "thread t-1"
    assert await runner.store.load_thread("t-1") == thread  # type: ignore[union-attr]
    assert len(thread) == 8
