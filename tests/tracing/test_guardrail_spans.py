"""Every guardrail that runs is in the log (``guardrail_passed`` or ``guardrail_tripped``), so
the trace folded from it, a JSONL file included, has a span for each check, passed or not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import BaseModel

from tether import (
    Agent,
    Context,
    GuardrailResult,
    OutputGuardrailTripwireTriggered,
    RunConfig,
    Runner,
    input_guardrail,
    output_guardrail,
)
from tether.models import FakeModel
from tether.tracing.files import load_trace
from tether.tracing.jsonl import JsonlExporter


@input_guardrail
def polite(ctx: Context[None], text: str) -> GuardrailResult:
    return GuardrailResult("idiot" in text, info={"checked": len(text)})


@output_guardrail
async def short(ctx: Context[None], output: object) -> bool:
    await asyncio.sleep(0)
    return len(str(output)) > 40


@output_guardrail
def no_refunds(ctx: Context[None], output: object) -> GuardrailResult:
    return GuardrailResult("refund" in str(output), info={"word": "refund"})


def guardrail_spans(trace: object) -> list[tuple[str, str, str, str]]:
    """(parent kind, name, kind of guardrail, status) of each guardrail span, in order."""
    spans = {s.span_id: s for _d, s in trace.walk()}  # type: ignore[attr-defined]
    return [
        (spans[s.parent_id].kind, s.name, s.attributes["guardrail_kind"], s.status)
        for s in spans.values()
        if s.kind == "guardrail"
    ]


async def test_passing_guardrails_are_spans_of_the_jsonl_trace(tmp_path: Path) -> None:
    agent = Agent(
        "desk",
        model=FakeModel().add_response("all good"),
        input_guardrails=[polite],
        output_guardrails=[short, no_refunds],
    )
    exporter = JsonlExporter(tmp_path)
    result = await Runner(store=None, telemetry=exporter).run(agent, "hello there")
    assert result.final_text == "all good"
    await exporter.drain()
    trace = await asyncio.to_thread(load_trace, tmp_path, result.trace_id)
    assert guardrail_spans(trace) == [
        ("run", "guardrail polite", "input", "ok"),  # before the first turn
        ("turn", "guardrail short", "output", "ok"),
        ("turn", "guardrail no_refunds", "output", "ok"),
    ]
    first = next(s for _d, s in trace.walk() if s.name == "guardrail polite")
    assert first.attributes["info"] == {"checked": 11}
    assert first.end is not None and first.end >= first.start
    assert trace.errors == 0


async def test_a_pass_then_a_trip_are_both_in_the_log_and_the_trace() -> None:
    agent = Agent(
        "desk",
        model=FakeModel().add_response("here is your refund"),
        output_guardrails=[short, no_refunds],
    )
    runner = Runner(store="memory://", telemetry=None)
    with pytest.raises(OutputGuardrailTripwireTriggered):
        await runner.run(agent, "money back?", run_id="r-trip")
    stored = await runner.store.load("r-trip")
    checks = [(e.type, e.guardrail) for e in stored if e.type.startswith("guardrail")]  # type: ignore[attr-defined]
    assert checks == [("guardrail_passed", "short"), ("guardrail_tripped", "no_refunds")]
    tripped = stored[-2]  # how long the tripping check took is in the log too (format 6)
    assert tripped.type == "guardrail_tripped" and isinstance(tripped.latency_ms, float)  # type: ignore[attr-defined]
    assert tripped.latency_ms >= 0.0  # type: ignore[attr-defined]
    from tether.tracing.spans import build_trace

    trace = build_trace(stored)
    assert guardrail_spans(trace) == [
        ("turn", "guardrail short", "output", "ok"),
        ("turn", "guardrail no_refunds", "output", "error"),
    ]
    span = next(s for _d, s in trace.walk() if s.name == "guardrail no_refunds")
    assert span.attributes["latency_ms"] == tripped.latency_ms  # type: ignore[attr-defined]
    assert span.start == pytest.approx(tripped.at - tripped.latency_ms / 1000)  # type: ignore[attr-defined]


class Answer(BaseModel):
    text: str


async def test_streamed_and_structured_runs_log_their_passes() -> None:
    model = FakeModel().add_tool_call("final_result", {"text": "ok"})
    agent = Agent(
        "desk",
        model=model,
        output=Answer,
        input_guardrails=[polite],
        output_guardrails=[short],
    )
    events = [e async for e in agent.run_stream("hi")]
    passed = [e for e in events if e.type == "guardrail_passed"]
    assert [(e.kind, e.guardrail) for e in passed] == [("input", "polite"), ("output", "short")]  # type: ignore[attr-defined]
    assert events[-1].result.output == Answer(text="ok")  # type: ignore[attr-defined]
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


async def test_a_passing_guardrails_info_is_redacted_with_sensitive_data_off(
    tmp_path: Path,
) -> None:
    @input_guardrail
    def quoting(ctx: Context[None], text: str) -> GuardrailResult:
        return GuardrailResult(False, info={"saw": text})

    agent = Agent("desk", model=FakeModel().add_response("fine"), input_guardrails=[quoting])
    exporter = JsonlExporter(tmp_path)
    config = RunConfig(trace_include_sensitive_data=False)
    result = await Runner(store=None, telemetry=exporter).run(
        agent, "secret-text-42", run_config=config
    )
    await exporter.drain()
    path = exporter.trace_file(result.trace_id)
    written = await asyncio.to_thread(path.read_text)
    assert "guardrail_passed" in written and "secret-text-42" not in written
    assert result.final_text == "fine"
