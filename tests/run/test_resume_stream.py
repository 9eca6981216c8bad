"""``Runner.resume_stream``: a stored run continued as ``resume`` continues it, its events
streamed as ``run_stream`` streams a live run's (text deltas included): after an approval, an
answer, a crash; in a subagent; stopped early; ended already; with no store; in a fresh process
killed mid-stream and resumed again."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _nested_agents import top

from tether import Agent, Context, Message, Runner
from tether.errors import UserError
from tether.events import Event
from tether.models import FunctionModel
from tether.models.testing import AgentInfo
from tether.store import MemoryStore

HERE = Path(__file__).resolve().parent
APP = HERE / "_resume_stream_app.py"


def _mailer(sent: list[str]) -> Agent:
    def answer(messages: list[Message], info: AgentInfo) -> Any:
        results = [r.content for m in messages for r in m.tool_results]
        if not results:
            return FunctionModel.tool_call("send", {"to": "ann"})
        return "mail went out: " + "; ".join(results)

    agent = Agent("mailer", model=FunctionModel(answer))

    @agent.tool(needs_approval=True)
    def send(to: str) -> str:
        """Send a mail."""
        sent.append(to)
        return f"sent to {to}"

    return agent


async def _events(stream: Any) -> list[Event]:
    return [event async for event in stream]


async def test_a_run_paused_for_approval_streams_on_after_it(tmp_path: Path) -> None:
    sent: list[str] = []
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    first = Runner(store=url, telemetry=None)
    live = await _events(first.run_stream(_mailer(sent), "mail ann"))
    paused = live[-1].result  # type: ignore[attr-defined]
    assert paused.state == "awaiting_approval" and sent == []
    [pending] = paused.pending_approvals
    await first.aclose()

    later = Runner(store=url, telemetry=None)  # another Runner on the store: as a new process
    later.register_agent(_mailer(sent))
    events = await _events(later.resume_stream(paused.run_id, approvals={pending.call_id: True}))
    kinds = [e.type for e in events]
    # the decision recorded on resume first, then the run going on, to its end
    assert kinds[:2] == ["approval_decided", "run_resumed"] and kinds[-1] == "run_finished"
    assert "tool_call_finished" in kinds
    deltas = "".join(e.delta for e in events if e.type == "text_delta")  # type: ignore[attr-defined]
    done = events[-1].result  # type: ignore[attr-defined]
    assert (done.state, done.output) == ("completed", "mail went out: sent to ann")
    assert deltas == done.output  # the answer came word by word, as in a live stream
    assert sent == ["ann"]
    assert [e.seq for e in events] == sorted(e.seq for e in events)  # one log, in order
    stored = await later.store.load(paused.run_id)  # type: ignore[union-attr]
    assert stored[-1].type == "run_finished" and stored[-1].seq == events[-1].seq
    # replayed, the run gives the same answer (the streamed resume is one log like any)
    again = await later.replay(paused.run_id, tools="recorded")
    assert again.output == done.output and sent == ["ann"]
    await later.aclose()


async def test_a_run_that_has_ended_yields_its_result_alone() -> None:
    runner = Runner(store=MemoryStore(), telemetry=None)
    agent = Agent("echo", model=FunctionModel(lambda messages, info: "hello there"))
    done = await runner.run(agent, "hi")
    events = await _events(runner.resume_stream(done.run_id))
    [finished] = events
    stored = await runner.store.load(done.run_id)  # type: ignore[union-attr]
    assert finished.type == "run_finished" and finished.seq == stored[-1].seq
    result = finished.result  # type: ignore[attr-defined]
    assert (result.state, result.output, result.run_id) == ("completed", "hello there", done.run_id)
    assert len(await runner.store.load(done.run_id)) == len(stored)  # nothing was appended


async def test_stopping_early_leaves_the_run_resumable_and_its_lease_free(tmp_path: Path) -> None:
    sent: list[str] = []
    runner = Runner(store=f"sqlite:///{tmp_path / 'runs.db'}", telemetry=None)
    agent = runner.register_agent(_mailer(sent))
    paused = await runner.run(agent, "mail ann")
    [pending] = paused.pending_approvals
    stream = runner.resume_stream(paused.run_id, approvals={pending.call_id: True})
    async for event in stream:
        if event.type == "tool_call_finished":
            break  # the consumer goes away before the answer
    await stream.aclose()
    cut = await runner.load_state(paused.run_id)
    assert cut.status == "interrupted" and sent == ["ann"]
    done = await runner.resume(paused.run_id)  # the lease was released: it continues here
    assert (done.state, done.output, sent) == ("completed", "mail went out: sent to ann", ["ann"])


async def test_an_approval_in_a_subagent_streams_on_the_parent() -> None:
    ran: list[str] = []
    runner = Runner(store=MemoryStore(), telemetry=None)
    paused = await runner.run(top(ran, depth=1), "please pay")
    [pending] = paused.pending_approvals
    assert pending.agent_name == "leaf" and ran == []
    events = await _events(runner.resume_stream(paused.run_id, approvals={pending.call_id: True}))
    done = events[-1].result  # type: ignore[attr-defined]
    assert (done.state, done.output) == ("completed", "top heard: leaf got paid 7")
    assert ran == ["pay 7"]
    deltas = "".join(e.delta for e in events if e.type == "text_delta")  # type: ignore[attr-defined]
    assert deltas == done.output  # the parent's own answer, streamed
    assert any(e.type == "subagent_finished" for e in events)


async def test_bad_calls_are_user_errors_raised_when_iterated() -> None:
    sent: list[str] = []
    no_store = Runner(store=None, telemetry=None)
    with pytest.raises(UserError, match="no store"):
        await _events(no_store.resume_stream("some-run"))
    runner = Runner(store=MemoryStore(), telemetry=None)
    with pytest.raises(UserError, match="no run 'missing'"):
        await _events(runner.resume_stream("missing"))
    paused = await runner.run(_mailer(sent), "mail ann")
    with pytest.raises(UserError, match="not"):  # another agent than the run's
        await _events(runner.resume_stream(paused.run_id, agent=Agent("other", model="test")))
    assert sent == []


def _app(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(APP), *args], env=env, capture_output=True, text=True, timeout=60
    )


async def test_killed_mid_stream_in_a_fresh_process_and_streamed_on_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    ledger = tmp_path / "ledger.txt"
    env = {**os.environ, "LEDGER": str(ledger)}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    started = await asyncio.to_thread(_app, url, "start", "r-kill", env=env)
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout)["state"] == "awaiting_approval"
    # approved, then killed (SIGKILL) at the first word of the answer
    killed = await asyncio.to_thread(_app, url, "resume-kill", "r-kill", env=env)
    assert killed.returncode == -9, killed.stderr
    assert ledger.read_text() == "ann\n"  # the approved call ran, and its result was stored
    again = await asyncio.to_thread(_app, url, "resume", "r-kill", env=env)
    assert again.returncode == 0, again.stderr
    outcome = json.loads(again.stdout)
    assert outcome["state"] == "completed"
    assert outcome["output"] == "mail went out: sent to ann"
    assert outcome["deltas"] == outcome["output"]  # streamed again after the crash
    assert ledger.read_text() == "ann\n"  # not run twice


async def test_an_answer_is_streamed_first_and_a_resumed_handle_streams_deltas() -> None:
    def answer(messages: list[Message], info: AgentInfo) -> Any:
        results = [r.content for m in messages for r in m.tool_results]
        return f"you said {results[0]}" if results else FunctionModel.tool_call("ask", {})

    agent = Agent("asker", model=FunctionModel(answer))

    @agent.tool
    async def ask(ctx: Context) -> str:
        """Ask the person."""
        return str(ctx.request_input("which colour?"))

    runner = Runner(store=MemoryStore(), telemetry=None)
    runner.register_agent(agent)
    paused = await runner.run(agent, "go")
    [question] = paused.pending_inputs
    events = await _events(runner.resume_stream(paused.run_id, inputs={question.call_id: "red"}))
    assert [e.type for e in events[:2]] == ["input_provided", "run_resumed"]
    assert events[-1].result.output == "you said red"  # type: ignore[attr-defined]

    sent: list[str] = []
    mailer = runner.register_agent(_mailer(sent))
    waiting = await runner.run(mailer, "mail ann")
    [pending] = waiting.pending_approvals
    handle = await runner.resume(waiting.run_id, approvals={pending.call_id: True}, breakpoints=[])
    seen = [event async for event in handle.events]
    done = await handle.result()
    deltas = "".join(e.delta for e in seen if e.type == "text_delta")  # type: ignore[attr-defined]
    assert (done.state, deltas) == ("completed", done.output)  # as start()'s handle streams
