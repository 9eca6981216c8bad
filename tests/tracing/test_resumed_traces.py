"""A resumed run's JSONL trace holds its whole log: what a SIGKILLed process still held in memory
(the exporter writes a run's events when it ends), and the decisions a resume records in the store
without running them through the loop (an approval). Its spans nest as the run went: the calls
that waited run in the turn that asked for them, and an approval lasts until its decision."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tether import Agent, RunConfig, Runner
from tether.models import FakeModel
from tether.tracing.files import load_trace, read_events
from tether.tracing.jsonl import JsonlExporter

ROOT = Path(__file__).resolve().parents[2]

WORKER = textwrap.dedent(
    """
    import os, signal, sys
    from tether import Agent, RunConfig, Runner
    from tether.models import FakeModel
    from tether.tracing.jsonl import JsonlExporter

    model = FakeModel(cost_per_call=0.001)
    model.add_tool_call("slow", {"n": 1}).add_tool_call("slow", {"n": 2}).add_response("done")
    agent = Agent("worker", model=model)

    @agent.tool
    def slow(n: int) -> str:
        "Step n."
        if n == 2:
            os.kill(os.getpid(), signal.SIGKILL)  # mid-run: the trace is still in memory
        return f"step {n}"

    runner = Runner(store=sys.argv[1], telemetry=JsonlExporter(sys.argv[2]))
    runner.run_sync(agent, "go", run_id="crashed", run_config=RunConfig(trace_id="tr-crashed"))
    """
)


def _worker_agent() -> Agent:
    agent = Agent("worker", model=FakeModel(cost_per_call=0.001).add_response("done"))

    @agent.tool
    def slow(n: int) -> str:
        """Step n."""
        return f"step {n}"

    return agent


async def test_a_run_killed_mid_run_has_its_whole_trace_once_resumed(tmp_path: Path) -> None:
    store, traces = f"sqlite:///{tmp_path / 'runs.db'}", tmp_path / "traces"
    script = tmp_path / "worker.py"
    await asyncio.to_thread(script.write_text, WORKER)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(script), store, str(traces)],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr

    runner = Runner(store=store, telemetry=JsonlExporter(traces), agents=[_worker_agent()])
    result = await runner.resume("crashed")
    assert result.run_id == "crashed" and result.trace_id == "tr-crashed"
    trace = await asyncio.to_thread(load_trace, traces, "tr-crashed")
    assert trace.agent == "worker" and trace.state == result.state
    assert trace.cost == result.usage.cost == pytest.approx(0.002)  # two model calls made
    events = await asyncio.to_thread(read_events, traces / "tr-crashed.jsonl")
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs)) and events[0].type == "run_started"
    tools = [s.attributes["args"] for _, s in trace.walk() if s.kind == "tool"]
    assert tools[0] == {"n": 1}  # the step done before the crash is in the trace


async def test_an_approval_decided_on_resume_is_in_the_trace(tmp_path: Path) -> None:
    def build(model: FakeModel) -> Agent:
        agent = Agent("pay", model=model)

        @agent.tool(needs_approval=True)
        def refund(amount: int) -> str:
            """Refund."""
            return f"refunded {amount}"

        return agent

    store = f"sqlite:///{tmp_path / 'runs.db'}"
    first = Runner(store=store, telemetry=JsonlExporter(tmp_path))
    paused = await first.run(build(FakeModel().add_tool_call("refund", {"amount": 5})), "refund")
    assert paused.state == "awaiting_approval"
    later = Runner(
        store=store,
        telemetry=JsonlExporter(tmp_path),
        agents=[build(FakeModel().add_response("refunded"))],
    )
    call = paused.pending_approvals[0].call_id
    done = await later.resume(paused.run_id, approvals={call: "not today"})
    assert done.state == "degraded"  # a denied approval
    events = await asyncio.to_thread(read_events, tmp_path / f"{paused.trace_id}.jsonl")
    decided = [e for e in events if e.type == "approval_decided"]
    assert len(decided) == 1 and decided[0].reason == "not today"  # type: ignore[attr-defined]
    assert [e.seq for e in events] == sorted({e.seq for e in events})
    trace = await asyncio.to_thread(load_trace, tmp_path, paused.trace_id)
    [turn_1, _turn_2] = trace.roots[0].children
    kinds = {child.kind: child for child in turn_1.children}
    assert {"model", "approval", "tool"} <= set(kinds)  # the rejected call is in its turn
    approval = kinds["approval"]
    assert approval.attributes["approved"] is False
    assert approval.end == decided[0].at


async def test_a_redacted_resumed_trace_stays_redacted(tmp_path: Path) -> None:
    def build(model: FakeModel) -> Agent:
        agent = Agent("pay", model=model)

        @agent.tool(needs_approval=True)
        def refund(iban: str) -> str:
            """Refund."""
            return "ok"

        return agent

    store = f"sqlite:///{tmp_path / 'runs.db'}"
    private = RunConfig(trace_include_sensitive_data=False)
    first = Runner(store=store, telemetry=None)  # nothing written while the run started
    paused = await first.run(
        build(FakeModel().add_tool_call("refund", {"iban": "DE-secret-iban"})),
        "refund to DE-secret-iban",
        run_config=private,
    )
    later = Runner(
        store=store,
        telemetry=JsonlExporter(tmp_path),
        agents=[build(FakeModel().add_response("x"))],
    )
    call = paused.pending_approvals[0].call_id
    await later.resume(paused.run_id, approvals={call: True})
    text = await asyncio.to_thread((tmp_path / f"{paused.trace_id}.jsonl").read_text)
    assert '"run_started"' in text and "DE-secret-iban" not in text and "[redacted]" in text


async def test_a_call_that_waited_is_one_span_across_the_resume(tmp_path: Path) -> None:
    """A subagent whose tool waited for approval: the parent's call to it is one span, from
    the call to its end after the resume, with the child's run inside (not a span closed at
    the pause and another opened by the resume)."""

    def build(parent_model: FakeModel, child_model: FakeModel) -> list[Agent]:
        child = Agent("refunder", model=child_model)

        @child.tool(needs_approval=True)
        def refund(amount: int) -> str:
            """Refund."""
            return f"refunded {amount}"

        return [Agent("front", model=parent_model, tools=[child.as_tool()]), child]

    store = f"sqlite:///{tmp_path / 'runs.db'}"
    front, _child = build(
        FakeModel().add_tool_call("refunder", {"input": "refund 5"}),
        FakeModel().add_tool_call("refund", {"amount": 5}),
    )
    paused = await Runner(store=store, telemetry=JsonlExporter(tmp_path)).run(front, "go")
    assert paused.state == "awaiting_approval"
    agents = build(FakeModel().add_response("all done"), FakeModel().add_response("refunded"))
    later = Runner(store=store, telemetry=JsonlExporter(tmp_path), agents=agents)
    call = paused.pending_approvals[0].call_id
    assert (await later.resume(paused.run_id, approvals={call: True})).state == "completed"
    trace = await asyncio.to_thread(load_trace, tmp_path, paused.trace_id)
    turn_1 = trace.roots[0].children[0]
    calls = [span for span in turn_1.children if span.kind in ("tool", "subagent")]
    assert [(span.kind, span.name) for span in calls] == [("subagent", "subagent refunder")]
    [child_run] = calls[0].children
    assert child_run.kind == "run" and child_run.status == "ok"
    assert calls[0].end is not None and calls[0].end >= child_run.end  # type: ignore[operator]


async def test_the_console_draws_a_resumed_run_whole(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from tether.tracing.console import ConsoleExporter

    def build(model: FakeModel) -> Agent:
        agent = Agent("pay", model=model)

        @agent.tool(needs_approval=True)
        def refund(amount: int) -> str:
            """Refund."""
            return "refunded"

        return agent

    store = f"sqlite:///{tmp_path / 'runs.db'}"
    paused = await Runner(store=store, telemetry=None).run(
        build(FakeModel().add_tool_call("refund", {"amount": 3})), "refund"
    )
    out = io.StringIO()
    later = Runner(
        store=store,
        telemetry=ConsoleExporter(Console(file=out, width=200, color_system=None)),
        agents=[build(FakeModel().add_response("done"))],
    )
    await later.resume(paused.run_id, approvals={paused.pending_approvals[0].call_id: True})
    text = out.getvalue()
    assert "run pay" in text and "turn 1" in text and "tool refund" in text
    assert "(resumed)" not in text
