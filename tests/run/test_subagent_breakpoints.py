"""Breakpoints reach a subagent's own run: a ``tool:`` breakpoint on the subagent's tool pauses
inside the child's run (checkpointed there), the pause is told on the parent's handle and
steered by its debugger, survives a SIGKILL at the pause (a fresh process resumes the parent,
and pauses there again when asked to), and does not fire under replay. And ``runner.resume``
takes ``breakpoints=``: the resumed run pauses at them, behind a handle."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import pytest
from _debug_app import boss, build, spawn

from tether import Agent, Runner
from tether.errors import UserError
from tether.events import BreakpointHit
from tether.models import FunctionModel
from tether.run.handle import RunHandle
from tether.store.lease import RunLeaseHeld


async def _steer(
    handle: RunHandle, edit: dict[str, Any] | None = None, asked: list[Any] | None = None
) -> list[BreakpointHit]:
    """Go through the handle's events, resuming at each pause (editing the call once), and
    approving what is asked (noted in ``asked``)."""
    hits: list[BreakpointHit] = []
    async for event in handle.events:
        if event.type == "approval_requested" and asked is not None:
            asked.append(event.args)  # type: ignore[attr-defined]
            await handle.approve(event.call_id)  # type: ignore[attr-defined]
        if isinstance(event, BreakpointHit):
            hits.append(event)
            debugger = handle.debugger
            assert debugger is not None and debugger.paused is event
            if edit is not None and len(hits) == 1:
                await debugger.edit_args(edit)
            await debugger.resume()
    return hits


async def test_a_tool_breakpoint_pauses_inside_the_subagents_run() -> None:
    sent: list[int] = []
    runner = Runner(store="memory://", telemetry=None)
    store = runner.store
    assert store is not None
    handle = await runner.start(boss(sent), "pay the bill", breakpoints=["tool:transfer"])
    hits = 0
    async for event in handle.events:
        if event.type != "breakpoint_hit":
            continue
        hits += 1
        assert isinstance(event, BreakpointHit)
        debugger = handle.debugger
        assert debugger is not None and debugger.paused is event
        child = event.run_id
        assert child != handle.run_id and event.tool_name == "transfer"
        snap = debugger.snapshot()  # the paused run: the subagent's
        assert (snap["run_id"], snap["parent_run_id"], snap["agent"]) == (
            child,
            handle.run_id,
            "banker",
        )
        assert snap["open_calls"][0]["args"] == {"amount": 500}
        # a real pause: the child's log so far is stored, its tool not started, nothing sent
        types = [e.type for e in await store.load(child)]
        assert "model_response" in types and "tool_call_started" not in types
        assert sent == []
        await debugger.edit_args({"amount": 5})  # logged in the child's own log
        edits = [e for e in await store.load(child) if e.type == "tool_args_edited"]
        assert [e.args for e in edits] == [{"amount": 5}]  # type: ignore[attr-defined]
        await debugger.resume()
    result = await handle.result()
    assert hits == 1 and sent == [5]
    assert (result.state, result.output) == ("completed", "boss heard: bank says: sent 5")
    [sub] = result.subagent_executions
    child_log = await store.load(sub.run_id)
    assert [e.args for e in child_log if e.type == "tool_call_started"] == [{"amount": 5}]  # type: ignore[attr-defined]
    parent_log = [e.type for e in await store.load(handle.run_id)]
    assert "breakpoint_hit" not in parent_log  # pauses are not history
    await runner.aclose()


async def test_step_at_the_parents_breakpoint_goes_into_the_subagent() -> None:
    runner = Runner(store=None, telemetry=None)
    handle = await runner.start(boss(), "pay the bill", breakpoints=["tool:bank"])
    where: list[tuple[str, str, bool]] = []
    async for event in handle.events:
        if isinstance(event, BreakpointHit):
            where.append((event.breakpoint, event.trigger, event.run_id == handle.run_id))
            debugger = handle.debugger
            assert debugger is not None
            child_calls = event.tool_name == "transfer"
            await (debugger.resume() if child_calls or len(where) > 8 else debugger.step())
    result = await handle.result()
    assert result.output == "boss heard: bank says: sent 500"
    assert where[0] == ("tool:bank", "tool_call", True)  # the parent's own call first
    assert ("step", "run_started", False) in where  # then into the child's run, step by step
    assert ("step", "tool_call", False) in where  # up to its tool call


@pytest.mark.parametrize("how", ["quit", "cancel"])
async def test_quit_at_a_subagents_pause_cancels_the_whole_run(how: str) -> None:
    sent: list[int] = []
    runner = Runner(store="memory://", telemetry=None)
    handle = await runner.start(boss(sent), "pay the bill", breakpoints=["tool:transfer"])
    child = ""
    async for event in handle.events:
        if event.type == "breakpoint_hit":
            assert handle.debugger is not None
            child = event.run_id
            await (handle.debugger.quit() if how == "quit" else handle.cancel())
    result = await handle.result()
    assert result.state == "cancelled" and sent == []
    assert runner.store is not None
    [end] = [e for e in await runner.store.load(child) if e.type == "run_finished"]
    assert end.state == "cancelled"  # type: ignore[attr-defined]
    assert handle.debugger is not None and handle.debugger.paused is None
    await runner.aclose()


async def test_breakpoints_do_not_fire_under_replay() -> None:
    runner = Runner(store="memory://", telemetry=None)
    handle = await runner.start(boss(), "pay the bill", breakpoints=["tool:transfer"])
    assert len(await _steer(handle, {"amount": 5})) == 1
    recorded = await handle.result()
    replayed = await runner.replay(recorded.trace_id or recorded.run_id)  # would wait if paused
    assert replayed.state == "completed"
    await runner.aclose()


# -- runner.resume(..., breakpoints=...) ---------------------------------------------------------


async def test_resume_with_breakpoints_pauses_the_resumed_run() -> None:
    sent: list[int] = []
    runner = Runner(store="memory://", telemetry=None)
    agent = build(True, sent)  # transfer needs approval: the headless run stops before it
    stopped = await runner.run(agent, "pay the bill")
    assert stopped.state == "awaiting_approval"
    [pending] = stopped.pending_approvals
    with pytest.raises(UserError, match="must be tool:NAME"):
        await runner.resume(stopped.run_id, approvals={pending.call_id: True}, breakpoints=["x"])
    assert runner.store is not None
    assert not [e for e in await runner.store.load(stopped.run_id) if e.type == "approval_decided"]
    handle = await runner.resume(
        stopped.run_id, approvals={pending.call_id: True}, breakpoints=["tool:transfer"]
    )
    assert isinstance(handle, RunHandle) and handle.run_id == stopped.run_id
    asked: list[Any] = []
    hits = await _steer(handle, {"amount": 7}, asked)
    assert [(h.breakpoint, h.call_id) for h in hits] == [("tool:transfer", pending.call_id)]
    edits = [e for e in await runner.store.load(stopped.run_id) if e.type == "tool_args_edited"]
    assert [(e.previous, e.args) for e in edits] == [({"amount": 500}, {"amount": 7})]  # type: ignore[attr-defined]
    assert asked == [{"amount": 7}]  # the edited call is approved again, asked on the handle
    result = await handle.result()
    assert (result.state, result.output, sent) == ("completed", "bank says: sent 7", [7])
    finished = await runner.resume(result.run_id, breakpoints=["tool:transfer"])
    assert (await finished.result()).output == "bank says: sent 7" and finished.done()
    await runner.aclose()


# -- a SIGKILL at a subagent's pause -------------------------------------------------------------


def _killed(ledger: Path, *args: str) -> dict[str, str]:
    """Run ``_debug_app.py ARGS`` to its pause, SIGKILL it there: what it printed."""
    with spawn(*args, ledger=ledger) as paused:
        try:
            assert paused.stdout is not None and paused.stderr is not None
            line = paused.stdout.readline()  # printed once the edit returned, still paused
            assert line, paused.stderr.read()
            ids: dict[str, str] = json.loads(line)
            paused.send_signal(signal.SIGKILL)
            paused.wait(timeout=30)
        finally:
            if paused.poll() is None:
                paused.kill()
    assert paused.returncode == -signal.SIGKILL and not ledger.exists()
    return ids


@pytest.mark.allow_blocking
@pytest.mark.parametrize("again", [True, False], ids=["pauses-again", "no-breakpoints"])
async def test_a_subagents_pause_survives_a_sigkill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, again: bool
) -> None:
    store, ledger = f"sqlite:///{tmp_path / 'runs.db'}", tmp_path / "ledger.txt"
    ids = _killed(ledger, "pause-sub", store)
    monkeypatch.setenv("DEBUG_LEDGER", str(ledger))
    runner = Runner(store=store, telemetry=None)
    runner.register_agent(boss())
    if again:
        handle = await runner.resume(ids["run_id"], breakpoints=["tool:transfer"])
        hits = await _steer(handle)
        result = await handle.result()
        # paused again inside the child's stored run, at the call as edited before the crash
        assert [(h.run_id, h.tool_name, h.args) for h in hits] == [
            (ids["child"], "transfer", {"amount": 5})
        ]
    else:
        result = await runner.resume(ids["run_id"])  # no breakpoints: it does not pause
    assert (result.state, result.output) == ("completed", "boss heard: bank says: sent 5")
    assert ledger.read_text().splitlines() == ["5"]  # run once, as edited
    [sub] = result.subagent_executions
    assert sub.run_id == ids["child"]  # the child's own run continued, not a new one
    finished = await runner.resume(ids["run_id"])  # finished: nothing runs again
    assert finished.output == result.output and ledger.read_text().splitlines() == ["5"]
    await runner.aclose()


async def test_subagents_side_by_side_pause_one_at_a_time() -> None:
    sent: list[int] = []

    def both(messages: list[Any], info: Any) -> Any:
        if messages[-1].role == "user":
            return FunctionModel.tool_calls([("bank", {"input": "1"}), ("vault", {"input": "2"})])
        return "both done"

    tools = [build(False, sent).as_tool("bank"), build(False, sent).as_tool("vault")]
    parent = Agent("twins", model=FunctionModel(both), tools=tools)
    runner = Runner(store="memory://", telemetry=None)
    handle = await runner.start(parent, "pay twice", breakpoints=["tool:transfer"])
    paused: list[str] = []
    async for event in handle.events:
        if isinstance(event, BreakpointHit):  # the second told only once the first moved on
            debugger = handle.debugger
            assert debugger is not None and debugger.paused is event
            paused.append(event.run_id)
            await debugger.edit_args({"amount": len(paused)})  # each edit to its own pause
            await debugger.resume()
    result = await handle.result()
    assert result.state == "completed" and sorted(sent) == [1, 2]
    assert len(set(paused)) == 2  # two children's runs, each paused once
    store = runner.store
    assert store is not None
    for amount, run_id in enumerate(paused, 1):
        ran = [e.args for e in await store.load(run_id) if e.type == "tool_call_started"]  # type: ignore[attr-defined]
        assert ran == [{"amount": amount}]
    await runner.aclose()


async def test_a_resumed_handle_holds_the_runs_lease_until_it_stops(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    runner, other = Runner(store=url, telemetry=None), Runner(store=url, telemetry=None)
    stopped = await runner.run(build(True), "pay the bill")
    [call] = stopped.pending_approvals
    handle = await runner.resume(
        stopped.run_id, approvals={call.call_id: True}, breakpoints=["tool:transfer"]
    )
    async for event in handle.events:
        if event.type == "breakpoint_hit":  # paused: another process may not take the run
            with pytest.raises(RunLeaseHeld):
                await other.resume(stopped.run_id, build(True))
            assert handle.debugger is not None
            await handle.debugger.resume()
    assert (await handle.result()).output == "bank says: sent 500"
    assert (await other.resume(stopped.run_id, build(True))).output == "bank says: sent 500"
    await runner.aclose()
    await other.aclose()


@pytest.mark.allow_blocking
async def test_a_top_runs_pause_killed_pauses_again_when_resumed_under_breakpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, ledger = f"sqlite:///{tmp_path / 'runs.db'}", tmp_path / "ledger.txt"
    run_id = _killed(ledger, "pause", store, "0")["run_id"]  # paused after the edit
    monkeypatch.setenv("DEBUG_LEDGER", str(ledger))
    runner = Runner(store=store, telemetry=None)
    runner.register_agent(build(False))
    handle = await runner.resume(run_id, breakpoints=["tool:transfer"])
    hits = await _steer(handle)
    assert [(h.run_id, h.args) for h in hits] == [(run_id, {"amount": 5})]
    assert (await handle.result()).output == "bank says: sent 5"
    assert ledger.read_text().splitlines() == ["5"]
    await runner.aclose()


async def test_a_parents_pause_waits_while_its_subagent_is_paused() -> None:
    """The parent's own breakpoint (an event of a call beside the subagent's) comes while the
    child is paused: it is told once the child's pause is over, and is then the one paused."""
    gate = asyncio.Event()

    def both(messages: list[Any], info: Any) -> Any:
        if messages[-1].role == "user":
            return FunctionModel.tool_calls([("bank", {"input": "pay"}), ("note", {})])
        return "noted and paid"

    parent = Agent("clerk", model=FunctionModel(both), tools=[build(False).as_tool("bank")])

    @parent.tool
    async def note() -> str:
        """Take a note (once the test lets it)."""
        await gate.wait()
        return "noted"

    runner = Runner(store="memory://", telemetry=None)
    wanted = ["tool:transfer", "event:tool_call_finished"]
    handle = await runner.start(parent, "pay and note", breakpoints=wanted)
    seen: list[tuple[str, bool, bool]] = []
    async for event in handle.events:
        if isinstance(event, BreakpointHit):
            debugger = handle.debugger
            assert debugger is not None
            seen.append((event.breakpoint, event.run_id == handle.run_id, debugger.paused is event))
            if event.tool_name == "transfer":  # the child paused: now the note finishes
                gate.set()
                for _ in range(50):  # the parent's loop runs on to its own breakpoint
                    await asyncio.sleep(0)
            await debugger.resume()
    assert (await handle.result()).output == "noted and paid"
    assert seen[0] == ("tool:transfer", False, True)
    assert ("event:tool_call_finished", True, True) in seen
    assert all(paused for _, _, paused in seen)  # each hit told while it is the pause
