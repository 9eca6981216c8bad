"""The OpenTelemetry exporter: GenAI semantic conventions, checked with the SDK's in-memory
exporter and with a real OTLP/HTTP collector endpoint served on loopback."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tether import Agent, RunConfig, Runner
from tether.models import FakeModel
from tether.tracing.otel import OtelExporter

from .conftest import calc_agent


def memory_exporter() -> tuple[OtelExporter, InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return OtelExporter(provider), memory


async def test_genai_spans_in_memory() -> None:
    exporter, memory = memory_exporter()
    model = FakeModel("openai:gpt-4o-mini", cost_per_call=0.01)
    model.add_tool_calls([("add", {"a": 1, "b": 2}), ("boom", {"reason": "r"})])
    model.add_response("3")
    result = await Runner(store=None, telemetry=exporter).run(
        calc_agent(model),
        "1+2?",
        run_config=RunConfig(workflow_name="wf", trace_metadata={"tenant": "acme"}),
    )
    spans = {s.name: s for s in memory.get_finished_spans()}
    assert set(spans) == {
        "invoke_agent calc",
        "turn 1",
        "turn 2",
        "chat gpt-4o-mini",  # the GenAI convention: "{operation} {gen_ai.request.model}"
        "execute_tool add",
        "execute_tool boom",
    }
    run = spans["invoke_agent calc"]
    assert run.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert run.attributes["gen_ai.agent.name"] == "calc"
    assert run.attributes["tether.trace_id"] == result.trace_id
    assert run.attributes["tether.workflow_name"] == "wf"
    assert run.attributes["tether.metadata.tenant"] == "acme"
    chats = [s for s in memory.get_finished_spans() if s.name.startswith("chat ")]
    assert len(chats) == 2
    chat = chats[0]
    assert chat.kind == SpanKind.CLIENT
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.request.model"] == "gpt-4o-mini"  # the provider's own name
    assert chat.attributes["gen_ai.provider.name"] == "openai"
    assert chat.attributes["gen_ai.usage.input_tokens"] >= 1
    assert chat.attributes["gen_ai.usage.output_tokens"] >= 1
    assert chat.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    tool = spans["execute_tool add"]
    assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool.attributes["gen_ai.tool.name"] == "add"
    assert tool.attributes["gen_ai.tool.call.arguments"] == '{"a": 1, "b": 2}'
    boom = spans["execute_tool boom"]
    assert boom.status.status_code == StatusCode.ERROR and "boom: r" in boom.status.description
    # one OTel trace, properly nested, with the events' own timestamps
    assert len({s.context.trace_id for s in memory.get_finished_spans()}) == 1
    assert tool.parent.span_id == spans["turn 1"].context.span_id
    assert spans["turn 1"].parent.span_id == run.context.span_id
    assert run.start_time <= chat.start_time <= chat.end_time <= run.end_time


async def test_subagent_spans_join_the_parent_trace() -> None:
    exporter, memory = memory_exporter()
    child = Agent("helper", model=FakeModel().add_response("helped"))
    model = FakeModel().add_tool_call("helper", {"input": "x"}).add_response("done")
    await Runner(store=None, telemetry=exporter).run(
        Agent("boss", model=model, tools=[child.as_tool()]), "go"
    )
    spans = memory.get_finished_spans()
    assert len({s.context.trace_id for s in spans}) == 1
    by_name = {s.name: s for s in spans}
    assert (
        by_name["invoke_agent helper"].parent.span_id
        == by_name["execute_tool helper"].context.span_id
    )


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[ExportTraceServiceRequest]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        type(self).received.append(request)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(b"")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[ExportTraceServiceRequest]]]:
    received: ClassVar[list[ExportTraceServiceRequest]] = []
    handler = type("Collector", (_Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces", received
    server.shutdown()
    server.server_close()


async def test_real_otlp_http_collector(collector: tuple[str, list[Any]]) -> None:
    endpoint, received = collector
    # builds its own provider (OTLP/HTTP, batched); starting its threads is blocking work
    exporter = await asyncio.to_thread(OtelExporter, endpoint=endpoint)
    model = FakeModel("anthropic:claude-x").add_tool_call("add", {"a": 2, "b": 2})
    model.add_response("4")
    await Runner(store=None, telemetry=exporter).run(calc_agent(model), "2+2?")
    assert await asyncio.to_thread(exporter.force_flush)
    await asyncio.to_thread(exporter.shutdown)
    spans = [
        span
        for request in received
        for rs in request.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]
    names = sorted(s.name for s in spans)
    assert names == [
        "chat claude-x",
        "chat claude-x",
        "execute_tool add",
        "invoke_agent calc",
        "turn 1",
        "turn 2",
    ]
    chat = next(s for s in spans if s.name.startswith("chat"))
    attrs = {a.key: a.value for a in chat.attributes}
    assert attrs["gen_ai.operation.name"].string_value == "chat"
    assert attrs["gen_ai.request.model"].string_value == "claude-x"
    assert attrs["gen_ai.provider.name"].string_value == "anthropic"
    assert attrs["gen_ai.usage.input_tokens"].int_value >= 1
    tool = next(s for s in spans if s.name == "execute_tool add")
    assert {a.key: a.value for a in tool.attributes}["gen_ai.tool.name"].string_value == "add"
    resource = {
        a.key: a.value.string_value for a in received[0].resource_spans[0].resource.attributes
    }
    assert resource["service.name"] == "tether"


async def test_finished_runs_are_forgotten() -> None:
    exporter, memory = memory_exporter()
    runner = Runner(store=None, telemetry=exporter)
    for _ in range(3):
        model = FakeModel().add_tool_call("add", {"a": 1, "b": 2}).add_response("3")
        await runner.run(calc_agent(model), "go")
    assert exporter._builder.spans == {} and exporter._builder.runs == {}
    assert exporter._open == {} and len(memory.get_finished_spans()) == 18


async def test_secrets_known_after_the_exporter_was_made_are_scrubbed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An exporter made at import time still scrubs a secret set or registered later (a token
    read from a vault at start-up): from the attributes, the error status and the events."""
    from tether.tracing.redact import forget_secrets, register_secrets

    exporter, memory = memory_exporter()
    monkeypatch.setenv("BILLING_SERVICE_TOKEN", "plain-token-0001")
    register_secrets("vault-value-9999")
    try:
        model = FakeModel().add_tool_call("boom", {"reason": "plain-token-0001 vault-value-9999"})
        model.add_response("done, plain-token-0001")
        await Runner(store=None, telemetry=exporter).run(calc_agent(model), "vault-value-9999")
    finally:
        forget_secrets()
    dumped = "".join(
        f"{dict(span.attributes)}{span.status.description}"
        + "".join(str(dict(e.attributes)) for e in span.events)
        for span in memory.get_finished_spans()
    )
    assert "boom" in dumped and "[secret]" in dumped
    assert "plain-token-0001" not in dumped and "vault-value-9999" not in dumped


async def test_a_run_resumed_elsewhere_has_its_agent_ids_and_nesting(tmp_path: Path) -> None:
    """The process that resumes a run (after an approval, on another replica) exports its
    spans as the run's: named after its agent, with its trace id, the approved call inside
    the turn that asked for it; what the first process exported is not exported again."""

    def build(model: FakeModel) -> Agent:
        agent = Agent("pay", model=model)

        @agent.tool(needs_approval=True)
        def refund(amount: int) -> str:
            """Refund."""
            return "refunded"

        return agent

    store = f"sqlite:///{tmp_path / 'runs.db'}"
    first, first_spans = memory_exporter()
    paused = await Runner(store=store, telemetry=first).run(
        build(FakeModel().add_tool_call("refund", {"amount": 3})), "refund", run_id="r-1"
    )
    assert paused.state == "awaiting_approval"
    later, spans = memory_exporter()
    runner = Runner(store=store, telemetry=later, agents=[build(FakeModel().add_response("ok"))])
    done = await runner.resume("r-1", approvals={paused.pending_approvals[0].call_id: True})
    assert done.state == "completed"
    finished = spans.get_finished_spans()
    by_id = {s.context.span_id: s for s in finished}

    def parent(name: str) -> str | None:
        [span] = [s for s in finished if s.name == name]
        return by_id[span.parent.span_id].name if span.parent else None

    assert sorted(s.name for s in finished) == [
        "chat fake",
        "execute_tool refund",
        "invoke_agent pay",
        "turn 1",
        "turn 2",
    ]
    assert parent("execute_tool refund") == "turn 1" and parent("turn 1") == "invoke_agent pay"
    [run] = [s for s in finished if s.name == "invoke_agent pay"]
    assert run.attributes["gen_ai.agent.name"] == "pay"
    assert run.attributes["tether.trace_id"] == paused.trace_id
    assert run.attributes["tether.state"] == "completed"
    assert len({s.context.trace_id for s in finished}) == 1
    assert "execute_tool refund" not in {s.name for s in first_spans.get_finished_spans()}
