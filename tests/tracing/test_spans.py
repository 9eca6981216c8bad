"""Span trees derived from the event log: single agent, parallel tools, handoffs, errors,
guardrails and subagents."""

from __future__ import annotations

import contextlib

import pytest

from tether import (
    Agent,
    InputGuardrailTripwireTriggered,
    ModelProviderError,
    RunConfig,
    Runner,
    input_guardrail,
)
from tether.models import FakeModel
from tether.tracing.spans import SpanBuilder, Trace, build_trace

from .conftest import Capture, calc_agent


def shape(trace: Trace) -> list[tuple[int, str, str]]:
    return [(depth, span.kind, span.name) for depth, span in trace.walk()]


async def run_traced(agent: Agent, prompt: str = "go", **kwargs: object) -> tuple[Trace, Capture]:
    capture = Capture()
    runner = Runner(store=None, telemetry=capture)
    with contextlib.suppress(Exception):  # failed runs are traced too
        await runner.run(agent, prompt, **kwargs)  # type: ignore[arg-type]
    return build_trace(capture.events), capture


async def test_single_agent_tree_timings_usage_and_ids() -> None:
    model = FakeModel(cost_per_call=0.002).add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
    config = RunConfig(
        workflow_name="checkout",
        group_id="g-1",
        trace_metadata={"user": "u7"},
        trace_id="trace_custom",
    )
    trace, capture = await run_traced(calc_agent(model), run_config=config)
    assert shape(trace) == [
        (0, "run", "run calc"),
        (1, "turn", "turn 1"),
        (2, "model", "model fake"),
        (2, "tool", "tool add"),
        (1, "turn", "turn 2"),
        (2, "model", "model fake"),
    ]
    assert trace.trace_id == "trace_custom"
    assert (trace.workflow_name, trace.group_id, trace.metadata) == (
        "checkout",
        "g-1",
        {"user": "u7"},
    )
    assert trace.state == "completed" and trace.errors == 0 and trace.tools == ["add"]
    assert trace.usage["requests"] == 2 and trace.cost == pytest.approx(0.004)
    for _depth, span in trace.walk():
        assert span.status == "ok" and span.end is not None and span.duration_ms is not None
        assert span.duration_ms >= 0
    run = trace.roots[0]
    turn1, turn2 = run.children
    assert run.start <= turn1.start <= turn1.end <= turn2.start <= turn2.end <= run.end  # type: ignore[operator]
    model_span, tool = turn1.children
    assert model_span.attributes["usage"]["cost"] == pytest.approx(0.002)
    assert model_span.attributes["input"][0]["parts"][0]["text"] == "go"
    assert model_span.attributes["tool_calls"] == ["add"]
    assert tool.attributes["args"] == {"a": 1, "b": 2} and tool.attributes["output"] == 3
    assert run.attributes["final_text"] == "3"
    assert run.attributes["usage"]["requests"] == 2
    assert capture.flushed == [run.run_id]


async def test_parallel_tools_are_siblings_under_their_turn() -> None:
    model = FakeModel()
    model.add_tool_calls(
        [("add", {"a": 1, "b": 2}), ("add", {"a": 3, "b": 4}), ("add", {"a": 5, "b": 6})]
    ).add_response("done")
    trace, _ = await run_traced(calc_agent(model))
    turn1 = trace.roots[0].children[0]
    tools = [s for s in turn1.children if s.kind == "tool"]
    assert [s.attributes["output"] for s in tools] == [3, 7, 11]
    assert len({s.attributes["call_id"] for s in tools}) == 3


async def test_handoff_span_and_the_next_agent_turn() -> None:
    billing = Agent("billing", model=FakeModel().add_response("refund sent"))
    triage_model = FakeModel().add_tool_call("transfer_to_billing")
    triage = Agent("triage", model=triage_model, handoffs=[billing])
    trace, _ = await run_traced(triage)
    kinds = shape(trace)
    assert (2, "handoff", "handoff triage → billing") in kinds
    turns = [s for _d, s in trace.walk() if s.kind == "turn"]
    assert [t.attributes["agent"] for t in turns] == ["triage", "billing"]
    assert not any(s.kind == "tool" for _d, s in trace.walk())  # the transfer is the handoff
    handoff = next(s for _d, s in trace.walk() if s.kind == "handoff")
    assert handoff.attributes["result"] == "Transferred to billing."


async def test_errors_mark_their_spans() -> None:
    model = FakeModel().add_tool_call("boom", {"reason": "disk"})
    model.add_error(ModelProviderError("upstream broke", status=500, retryable=False))
    trace, _ = await run_traced(calc_agent(model))
    assert trace.state == "failed"
    failed = {(s.kind, s.name): s for _d, s in trace.walk() if s.status == "error"}
    assert set(failed) == {
        ("run", "run calc"),
        ("tool", "tool boom"),
        ("model", "model fake"),
        ("turn", "turn 1"),
        ("turn", "turn 2"),
    }
    assert "ValueError: boom: disk" in (failed[("tool", "tool boom")].error or "")
    assert "upstream broke" in (failed[("model", "model fake")].error or "")
    assert trace.errors == 5


async def test_guardrail_span() -> None:
    @input_guardrail
    def no_secrets(ctx: object, text: str) -> bool:
        return "password" in text

    agent = Agent("guarded", model=FakeModel(), input_guardrails=[no_secrets])
    capture = Capture()
    with pytest.raises(InputGuardrailTripwireTriggered):
        await Runner(store=None, telemetry=capture).run(agent, "my password is x")
    trace = build_trace(capture.events)
    guard = next(s for _d, s in trace.walk() if s.kind == "guardrail")
    assert guard.name == "guardrail no_secrets" and guard.status == "error"
    assert guard.attributes["guardrail_kind"] == "input"


async def test_subagent_run_is_nested_in_the_parent_trace() -> None:
    child = Agent("translator", model=FakeModel().add_response("bonjour"))
    parent_model = FakeModel().add_tool_call("translate", {"input": "hello"}).add_response("ok")
    parent = Agent("boss", model=parent_model, tools=[child.as_tool(name="translate")])
    capture = Capture()
    result = await Runner(store=None, telemetry=capture).run(parent, "translate hello")
    assert len({e.run_id for e in capture.events}) == 2
    trace = build_trace(capture.events)
    assert [r.kind for r in trace.roots] == ["run"]
    sub = next(s for _d, s in trace.walk() if s.kind == "subagent")
    assert sub.name == "subagent translator"
    assert [c.kind for c in sub.children] == ["run"]
    child_run = sub.children[0]
    assert child_run.attributes["parent_run_id"] == result.run_id
    assert child_run.attributes["trace_id"] == result.trace_id  # one trace for both runs
    assert trace.usage["requests"] == 3


def test_live_builder_reports_starts_and_ends_in_order() -> None:
    async def go() -> list[str]:
        model = FakeModel().add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
        capture = Capture()
        await Runner(store=None, telemetry=capture).run(calc_agent(model), "go")
        builder = SpanBuilder()
        log = []
        for event in capture.events:
            log.extend(f"{action} {span.kind}" for action, span in builder.feed(event))
        return log

    import asyncio

    assert asyncio.run(go()) == [
        "start run",
        "start turn",
        "start model",
        "end model",
        "start tool",
        "end tool",
        "end turn",
        "start turn",
        "start model",
        "end model",
        "end turn",
        "end run",
    ]


class _PartlyPriced:
    """A model whose first answer has a known price and whose second has none."""

    name = "partly-priced"

    def __init__(self) -> None:
        self.calls = 0

    async def request(self, request: object) -> object:
        from tether.messages import TextPart, ToolCallPart
        from tether.models.base import ModelResponse
        from tether.usage import Usage

        self.calls += 1
        if self.calls == 1:
            call = ToolCallPart("c1", "add", '{"a": 1, "b": 2}')
            return ModelResponse([call], usage=Usage(requests=1, cost=0.5))
        return ModelResponse([TextPart("3")], usage=Usage(requests=1, cost=None))

    def stream(self, request: object) -> object:
        raise NotImplementedError


async def test_trace_cost_is_the_result_cost_and_unknown_when_a_price_is() -> None:
    capture = Capture()
    runner = Runner(store=None, telemetry=capture)
    agent = calc_agent(_PartlyPriced())  # type: ignore[arg-type]
    result = await runner.run(agent, "go")
    trace = build_trace(capture.events)
    assert result.usage.cost is None  # a partial sum would understate what was spent
    assert trace.cost is None and trace.usage["cost"] is None
    assert trace.usage["requests"] == result.usage.requests == 2
    # known prices: the same figure on both sides
    capture = Capture()
    model = FakeModel(cost_per_call=0.25).add_tool_call("add", {"a": 1, "b": 2})
    result = await Runner(store=None, telemetry=capture).run(
        calc_agent(model.add_response("3")), "go"
    )
    assert build_trace(capture.events).cost == result.usage.cost == pytest.approx(0.5)
