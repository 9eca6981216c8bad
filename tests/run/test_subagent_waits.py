"""A subagent that stops to wait (approval, input, deferred result) makes its parent wait: the
parent's stream, handle and Result show what is asked, and answering the parent runs the
child's tool once and finishes both, with a store or without, nested, restarted and replayed."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _nested_agents import top

from tether import Runner
from tether.context import idempotency_key
from tether.store import MemoryStore

HERE = Path(__file__).resolve().parent


async def test_an_approval_in_a_subagent_surfaces_on_the_parent_and_runs_once() -> None:
    ran: list[str] = []
    store = MemoryStore()
    runner = Runner(store=store, telemetry=None)
    paused = await runner.run(top(ran, depth=1), "please pay")
    assert paused.state == "awaiting_approval" and ran == []
    [pending] = paused.pending_approvals
    assert (pending.tool_name, pending.args, pending.agent_name) == ("pay", {"amount": 7}, "leaf")
    # the child's own run is in the store, waiting; the parent's log says it waits on it
    log = await store.load(paused.run_id)
    [waits] = [e for e in log if e.type == "subagent_suspended"]
    child = await store.run_info(waits.child_run_id)  # type: ignore[attr-defined]
    [listed] = paused.subagent_executions  # the waiting child, with its run id
    assert (listed.agent_name, listed.state, listed.run_id) == (
        "leaf",
        "awaiting_approval",
        waits.child_run_id,  # type: ignore[attr-defined]
    )
    assert child is not None and child.status == "awaiting_approval"
    assert child.parent_run_id == paused.run_id

    done = await runner.resume(paused.run_id, approvals={pending.call_id: True})
    assert (done.state, done.output) == ("completed", "top heard: leaf got paid 7")
    assert ran == ["pay 7"]
    assert done.usage.requests == 4  # two of the top's, two of the leaf's: each once
    [sub] = done.subagent_executions
    assert (sub.agent_name, sub.state, sub.run_id) == ("leaf", "completed", child.run_id)
    finished = await store.run_info(child.run_id)
    assert finished is not None and finished.status == "completed"
    again = await runner.resume(paused.run_id)  # a finished run: its Result, nothing re-run
    assert again.output == done.output and ran == ["pay 7"]


async def test_nested_two_deep_resumed_by_a_fresh_process_from_sqlite(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    ledger = tmp_path / "ledger.txt"
    runner = Runner(store=store, telemetry=None)
    paused = await runner.run(top(), "please pay")
    [pending] = paused.pending_approvals
    assert paused.state == "awaiting_approval" and pending.agent_name == "leaf"
    await runner.aclose()
    env = {**os.environ, "NESTED_LEDGER": str(ledger)}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    args = [sys.executable, str(HERE / "_nested_agents.py"), store, paused.run_id]
    done = await asyncio.to_thread(
        subprocess.run,
        [*args, pending.call_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["state"] == "completed"
    assert outcome["output"] == "top heard: mid heard: leaf got paid 7"
    assert outcome["paths"] == [["leaf", "top/mid"], ["mid", "top"], ["pay", "top/mid/leaf"]]
    assert ledger.read_text().splitlines() == ["pay 7"]
    # all three runs are finished in the store
    reopened = Runner(store=store, telemetry=None)
    assert reopened.store is not None
    states = [i.status for i in await reopened.store.list_runs()]
    assert sorted(states) == ["completed"] * 3
    await reopened.aclose()


async def test_the_parent_stream_and_handle_see_it_without_a_store() -> None:
    ran: list[str] = []
    runner = Runner(store=None, telemetry=None)
    streamed = [e async for e in runner.run_stream(top(ran), "please pay")]
    asked = [e for e in streamed if e.type == "approval_requested"]
    assert [e.tool_name for e in asked] == ["pay"]  # type: ignore[attr-defined]
    result = streamed[-1].result  # type: ignore[attr-defined]
    assert result.state == "awaiting_approval"
    assert [p.call_id for p in result.pending_approvals] == [asked[0].call_id]  # type: ignore[attr-defined]

    handle = await runner.start(top(ran), "please pay")
    async for event in handle.events:
        if event.type == "approval_requested":
            assert handle.status == "awaiting_approval"
            assert handle.pending_approvals == [event.call_id]  # type: ignore[attr-defined]
            await handle.approve(event.call_id)  # type: ignore[attr-defined]
    done = await handle.result()
    assert (done.state, done.output) == ("completed", "top heard: mid heard: leaf got paid 7")
    assert ran == ["pay 7"]


async def test_a_question_in_a_subagent_is_answered_on_the_parent() -> None:
    ran: list[str] = []
    runner = Runner(store=MemoryStore(), telemetry=None)
    paused = await runner.run(top(ran), "please ask")
    assert paused.state == "awaiting_input"
    [question] = paused.pending_inputs
    assert (question.prompt, question.agent_name) == ("Which colour?", "leaf")
    done = await runner.resume(paused.run_id, inputs={question.call_id: "red"})
    assert done.output == "top heard: mid heard: leaf got colour red"
    assert ran == ["ask red"]

    handle = await Runner(store=None, telemetry=None).start(top(ran), "please ask")
    async for event in handle.events:
        if event.type == "input_requested":
            assert handle.status == "awaiting_input"
            await handle.respond(event.call_id, "blue")  # type: ignore[attr-defined]
    assert (await handle.result()).output == "top heard: mid heard: leaf got colour blue"


async def test_a_deferred_call_in_a_subagent_is_delivered_to_the_parent() -> None:
    ran: list[str] = []
    runner = Runner(store=MemoryStore(), telemetry=None)
    paused = await runner.run(top(ran), "please render")
    assert paused.state == "awaiting_deferred"
    [(call_id, ticket)] = paused.deferred.items()
    assert ticket == "job-1"
    done = await runner.resolve_deferred(paused.run_id, call_id, "240 frames")
    assert (done.state, done.output) == ("completed", "top heard: mid heard: leaf got 240 frames")
    assert ran == ["render"]  # the tool ran once; its result came from outside
    failed = await runner.run(top(), "please render")
    broken = await runner.resolve_deferred(
        failed.run_id, next(iter(failed.deferred)), RuntimeError("render farm down")
    )
    assert "render farm down" in (broken.output or "") and broken.state == "degraded"

    handle = await Runner(store=None, telemetry=None).start(top(), "please render")
    async for event in handle.events:
        if event.type == "tool_call_deferred":
            assert handle.deferred == {event.call_id: "job-1"}  # type: ignore[attr-defined]
            await handle.resolve(event.call_id, "12 frames")  # type: ignore[attr-defined]
    assert (await handle.result()).output == "top heard: mid heard: leaf got 12 frames"


async def test_a_rejection_reaches_the_subagent_and_degrades_both() -> None:
    ran: list[str] = []
    runner = Runner(store=MemoryStore(), telemetry=None)
    paused = await runner.run(top(ran), "please pay")
    call_id = paused.pending_approvals[0].call_id
    done = await runner.resume(paused.run_id, approvals={call_id: "too much"})
    assert ran == [] and done.state == "degraded"
    assert done.output == "top heard: mid heard: leaf got The call was rejected: too much"
    assert any("subagent 'mid' was degraded" in r for r in done.degraded_reasons)


async def test_a_resumed_parent_replays_from_its_record() -> None:
    ran: list[str] = []
    store = MemoryStore()
    runner = Runner(store=store, telemetry=None)
    paused = await runner.run(top(ran), "please pay")
    # replayed while it waits: it waits the same, its subagents served from their logs
    waiting = await runner.replay(paused.run_id, agent=top(ran))
    assert waiting.state == "awaiting_approval"
    assert waiting.pending_approvals == paused.pending_approvals
    assert len(await store.list_runs()) == 4  # the replay; no subagent ran again
    done = await runner.resume(paused.run_id, approvals={paused.pending_approvals[0].call_id: True})
    replayed = await runner.replay(done.run_id, agent=top(ran))
    assert (replayed.state, replayed.output) == ("completed", done.output)
    assert ran == ["pay 7"]  # the subagent call was served from the record


async def test_an_edited_approval_reaches_the_subagent_call() -> None:
    from tether.governance import Approval

    ran: list[str] = []
    runner = Runner(store=MemoryStore(), telemetry=None)
    paused = await runner.run(top(ran), "please pay")
    call_id = paused.pending_approvals[0].call_id
    done = await runner.resume(paused.run_id, approvals={call_id: Approval(args={"amount": 3})})
    assert (done.state, ran) == ("completed", ["pay 3"])
    assert done.output == "top heard: mid heard: leaf got paid 3"


async def test_a_parent_stopped_mid_call_ends_the_child_run_too() -> None:
    import asyncio

    from tether import Agent, RunConfig
    from tether.models import FakeModel

    entered = asyncio.Event()

    def build() -> Agent:
        child = Agent("child", model=FakeModel().add_tool_call("wait", {}).add_response("x"))

        @child.tool
        async def wait() -> str:
            """Wait long."""
            entered.set()
            await asyncio.sleep(30)
            return "waited"

        top_model = FakeModel().add_tool_call("child", {"input": "go"}).add_response("done")
        return Agent("top", model=top_model, tools=[child.as_tool()])

    store = MemoryStore()
    runner = Runner(store=store, telemetry=None)
    timed = await runner.run(build(), "go", run_config=RunConfig(timeout=0.2))
    assert (timed.state, timed.error_type) == ("interrupted", "RunTimeout")
    entered.clear()
    handle = await runner.start(build(), "go")
    await entered.wait()
    await handle.cancel()
    assert (await handle.result()).error_type == "RunCancelled"
    children = [i for i in await store.list_runs() if i.parent_run_id is not None]
    assert sorted(i.status for i in children) == ["cancelled", "interrupted"]
    for child in children:
        [finished] = [e for e in await store.load(child.run_id) if e.type == "run_finished"]
        assert finished.error_type in ("RunTimeout", "RunCancelled")  # type: ignore[attr-defined]
        assert finished.interrupted_calls  # type: ignore[attr-defined]  # its tool was cut


async def test_the_trace_cost_equals_the_result_while_waiting_and_after() -> None:
    from tether import Agent
    from tether.models import FakeModel
    from tether.tracing.spans import build_trace

    captured: list[object] = []

    class Keep:
        def on_event(self, event: object) -> None:
            captured.append(event)

        async def flush(self, run_id: str) -> None:
            return None

    leaf_model = FakeModel(cost_per_call=0.1).add_tool_call("pay", {"amount": 1})
    leaf = Agent("leaf", model=leaf_model.add_response("paid"))

    @leaf.tool(needs_approval=True)
    def pay(amount: int) -> str:
        """Pay."""
        return "paid"

    top_model = FakeModel(cost_per_call=0.2).add_tool_call("leaf", {"input": "pay"})
    top_agent = Agent("top", model=top_model.add_response("done"), tools=[leaf.as_tool()])
    runner = Runner(store=MemoryStore(), telemetry=Keep())
    paused = await runner.run(top_agent, "pay")
    assert paused.usage.cost == pytest.approx(0.3)
    assert build_trace(captured).cost == pytest.approx(0.3)  # type: ignore[arg-type]
    call_id = paused.pending_approvals[0].call_id
    done = await runner.resume(paused.run_id, approvals={call_id: True})
    assert done.usage.cost == pytest.approx(0.6)  # each model call counted once
    assert build_trace(captured).cost == pytest.approx(0.6)  # type: ignore[arg-type]


@pytest.mark.parametrize("tool", ["hold_again", "hold"])
async def test_a_crash_inside_a_nested_subagent_continues_the_stored_child(
    tmp_path: Path, tool: str
) -> None:
    import signal

    store = f"sqlite:///{tmp_path / 'runs.db'}"
    marker = tmp_path / "marker"
    env = {**os.environ, "NESTED_MARKER": str(marker), "NESTED_LEDGER": str(tmp_path / "led")}
    script = [sys.executable, str(HERE / "_nested_agents.py"), "start", store, "crashed"]
    process = subprocess.Popen([*script, f"please {tool}"], env=env)  # noqa: ASYNC220
    try:
        for _ in range(600):  # until the leaf's tool runs, then SIGKILL the process
            if marker.exists() or process.poll() is not None:
                break
            await asyncio.sleep(0.05)
        assert marker.exists(), "the run did not reach the leaf's tool"
        process.send_signal(signal.SIGKILL)
    finally:
        await asyncio.to_thread(process.wait)
    ran: list[str] = []
    runner = Runner(store=store, telemetry=None)
    resumed = await runner.resume("crashed", top(ran))
    if tool == "hold":  # not idempotent: the person decides, on the top run
        assert resumed.state == "interrupted"
        [cut] = resumed.interrupted_calls
        assert cut.count(".") == 2 and ran == []  # top call . mid call . leaf call
        # the key is the one the leaf's tool had: of the leaf's own run and call
        assert runner.store is not None
        (leaf_run,) = [i for i in await runner.store.list_runs() if i.agent == "leaf"]
        expected = idempotency_key(leaf_run.run_id, cut.rsplit(".", 1)[1])
        assert resumed.interrupted_keys == {cut: expected}
        resumed = await runner.resume("crashed", top(ran), approvals={cut: True})
    assert (resumed.state, resumed.output) == (
        "completed",
        f"top heard: mid heard: leaf got held{' again' if tool == 'hold_again' else ''}",
    )
    assert ran == [tool]  # run again once, in the continued leaf run
    assert runner.store is not None
    runs = await runner.store.list_runs()
    assert sorted(i.status for i in runs) == ["completed"] * 3  # no orphan left running
    await runner.aclose()


async def test_two_waiting_subagents_of_one_turn_are_decided_one_at_a_time() -> None:
    from _nested_agents import leaf

    from tether import Agent
    from tether.models import FakeModel

    ran: list[str] = []
    boss_model = FakeModel().add_tool_calls(
        [("leaf", {"input": "please pay"}), ("leaf", {"input": "please pay"})]
    )
    boss = Agent("boss", model=boss_model.add_response("both paid"), tools=[leaf(ran).as_tool()])
    runner = Runner(store=MemoryStore(), telemetry=None)
    paused = await runner.run(boss, "pay twice")
    first, second = (p.call_id for p in paused.pending_approvals)
    assert first.split(".")[0] != second.split(".")[0]  # one per call of the boss
    half = await runner.resume(paused.run_id, approvals={first: True})
    assert half.state == "awaiting_approval" and ran == ["pay 7"]
    assert [p.call_id for p in half.pending_approvals] == [second]
    done = await runner.resume(paused.run_id, approvals={second: "not twice"})
    assert (done.state, done.output, ran) == ("degraded", "both paid", ["pay 7"])
    assert sorted(s.state for s in done.subagent_executions) == ["completed", "degraded"]


async def test_an_unanswered_subagent_approval_times_out_on_the_parent_handle() -> None:
    from tether import RunConfig

    ran: list[str] = []
    runner = Runner(store=None, telemetry=None)
    config = RunConfig(approval_timeout=0.1)
    handle = await runner.start(top(ran), "please pay", run_config=config)
    done = await handle.result()  # nobody answers: the wait ends as a rejection
    assert (done.state, ran) == ("degraded", [])
    assert (
        done.output
        == "top heard: mid heard: leaf got The call was rejected: no decision within 0.1s"
    )


async def test_an_edit_given_on_the_parent_handle_reaches_the_subagent_call() -> None:
    ran: list[str] = []
    handle = await Runner(store=None, telemetry=None).start(top(ran), "please pay")
    async for event in handle.events:
        if event.type == "approval_requested":
            await handle.approve(event.call_id, args={"amount": 2})  # type: ignore[attr-defined]
    done = await handle.result()
    assert (done.state, ran) == ("completed", ["pay 2"])


async def test_deciding_on_a_nested_child_run_directly_points_to_the_top_run() -> None:
    from tether import UserError
    from tether.cli._ops import apply_decision

    store = MemoryStore()
    runner = Runner(store=store, telemetry=None)
    paused = await runner.run(top(), "please pay")
    [asked] = paused.pending_approvals
    [leaf_run] = [i for i in await store.list_runs() if i.agent == "leaf"]
    leaf_state = await runner.load_state(leaf_run.run_id)
    [theirs] = leaf_state.pending_approvals
    with pytest.raises(UserError, match=rf"run '{paused.run_id}' waits on: .*'{asked.call_id}'"):
        await apply_decision(runner, leaf_run.run_id, theirs, approved=True, resume=False)
    # runner.resume on the child's run is refused the same way (the parent would wait on)
    with pytest.raises(UserError, match=rf"run '{paused.run_id}' waits on: .*'{asked.call_id}'"):
        await runner.resume(leaf_run.run_id, approvals={theirs: True})
    assert (await runner.load_state(leaf_run.run_id)).status == "awaiting_approval"
    done = await runner.resume(paused.run_id, approvals={asked.call_id: True})
    assert done.state == "completed"


async def test_a_wrong_call_id_names_the_ids_the_parent_waits_for() -> None:
    from tether import UserError

    runner = Runner(store=MemoryStore(), telemetry=None)
    paused = await runner.run(top(), "please pay")
    [pending] = paused.pending_approvals
    theirs = pending.call_id.rsplit(".", 1)[-1]  # the leaf's own id, not the parent's
    with pytest.raises(UserError, match=rf"\(pending: {pending.call_id}\)"):
        await runner.resume(paused.run_id, approvals={theirs: True})
