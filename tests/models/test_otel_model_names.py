"""OpenTelemetry model spans carry gen_ai.provider.name and the provider's own model names, for
real providers (loopback servers) whose answers name a dated model."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from servers import ModelServer

from tether import Agent, Runner
from tether.tracing.otel import OtelExporter


def chat_span(spec: str, server: ModelServer) -> dict[str, object]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    runner = Runner(store=None, telemetry=OtelExporter(provider))
    server.add_text("hi")
    agent = Agent("named", model=spec, base_url=server.base_url, api_key="k")
    runner.run_sync(agent, "hello")
    (chat,) = [s for s in memory.get_finished_spans() if s.name.startswith("chat ")]
    return dict(chat.attributes or {})


@pytest.mark.parametrize(
    ("spec", "provider", "requested"),
    [
        ("openai-chat:gpt-4o-mini", "openai", "gpt-4o-mini"),
        ("vllm:Qwen/Qwen2.5-7B", "vllm", "Qwen/Qwen2.5-7B"),
        ("openrouter:openai/gpt-4o", "openrouter", "openai/gpt-4o"),
    ],
)
def test_chat_completions_spans(
    chat_server: ModelServer, spec: str, provider: str, requested: str
) -> None:
    attrs = chat_span(spec, chat_server)
    assert attrs["gen_ai.provider.name"] == provider
    assert attrs["gen_ai.request.model"] == requested
    # the server echoes the requested name back: the response model, without tether's prefix
    assert attrs["gen_ai.response.model"] == requested


def test_responses_and_anthropic_spans(
    responses_server: ModelServer, anthropic_server: ModelServer
) -> None:
    attrs = chat_span("openai:gpt-4o-mini", responses_server)
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini"
    attrs = chat_span("anthropic:claude-haiku-4-5", anthropic_server)
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.request.model"] == "claude-haiku-4-5"
    assert attrs["gen_ai.response.model"] == "claude-haiku-4-5"
