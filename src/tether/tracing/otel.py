"""OtelExporter: runs as OpenTelemetry spans following the GenAI semantic conventions.

Needs the ``otel`` extra (``pip install "tether[otel]"``). Span names and attributes follow the
OpenTelemetry GenAI conventions: ``invoke_agent {agent}`` for a run, ``chat {model}`` for a model
call and ``execute_tool {tool}`` for a tool call, with ``gen_ai.operation.name``,
``gen_ai.request.model``, ``gen_ai.usage.input_tokens`` / ``output_tokens``,
``gen_ai.tool.name`` and friends; tether's own ids go under ``tether.*``. Spans start and end as
the events arrive, with the events' own timestamps.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..errors import UserError
from ..events import Event
from .redact import env_secrets, scrub_secrets
from .spans import Span, SpanBuilder

__all__ = ["OtelExporter"]

_OPERATION = {
    "run": "invoke_agent",
    "model": "chat",
    "tool": "execute_tool",
    "subagent": "execute_tool",
}


def _import_otel() -> Any:
    try:
        from opentelemetry import trace
    except ImportError as exc:  # pragma: no cover - the extra is installed in the test env
        raise UserError(
            "telemetry='otel' needs OpenTelemetry: pip install \"tether[otel]\""
        ) from exc
    return trace


# tether's model-string prefixes as OpenTelemetry's well-known gen_ai.provider.name values
# (others, e.g. ollama, openrouter, vllm, are the prefix itself).
_PROVIDER_NAMES = {"openai": "openai", "openai-chat": "openai", "anthropic": "anthropic"}


def _split_model(model: str) -> tuple[str | None, str]:
    """``"openai-chat:gpt-4o"`` -> ("openai", "gpt-4o"): the provider and its own model name."""
    prefix, sep, name = model.partition(":")
    if not sep or not name:
        return None, model
    return _PROVIDER_NAMES.get(prefix, prefix), name


class OtelExporter:
    """Sends spans to an OpenTelemetry tracer.

    ``tracer_provider``: the SDK TracerProvider to use. Without one, the global provider is used
    when the application configured one; otherwise the exporter builds its own, sending OTLP over
    HTTP to ``endpoint`` (default: the standard ``OTEL_EXPORTER_OTLP_*`` environment variables,
    else ``http://localhost:4318/v1/traces``) with a batching processor.
    ``capture_content`` (default True) records prompts, outputs, tool arguments and results as
    attributes; ``RunConfig(trace_include_sensitive_data=False)`` redacts them in any case.
    """

    def __init__(
        self,
        tracer_provider: Any = None,
        *,
        endpoint: str | None = None,
        capture_content: bool = True,
    ) -> None:
        trace = _import_otel()
        if tracer_provider is None:
            current = trace.get_tracer_provider()
            if hasattr(current, "add_span_processor"):
                tracer_provider = current
            else:
                tracer_provider = self._own_provider(endpoint)
        self.provider = tracer_provider
        self.tracer = tracer_provider.get_tracer("tether")
        self.capture_content = capture_content
        self._trace = trace
        self._builder = SpanBuilder()
        self._open: dict[str, Any] = {}
        self._requested: dict[str, str] = {}
        self._secrets = env_secrets()

    @staticmethod
    def _own_provider(endpoint: str | None) -> Any:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": "tether"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        return provider

    def on_event(self, event: Event) -> None:
        """Start and end OpenTelemetry spans as the event opens and closes tether spans."""
        if not event.durable:
            return
        for action, span in self._builder.feed(event):
            if action == "start":
                self._start(span)
            else:
                self._end(span)

    def backfill(self, events: Sequence[Event]) -> None:
        """A run is resumed here with its stored log: fold it in without exporting the spans
        of what was done before (another process exported those), so the resumed run's spans
        carry its agent, ids and settings and nest in the turn that was going; the spans still
        open in the log (a crash cut the run short) start again now."""
        durable = [event for event in events if event.durable]
        if not durable or durable[0].run_id in self._builder.runs:
            return  # nothing stored, or this exporter follows the run already
        run_id = durable[0].run_id
        for event in durable:
            self._builder.feed(event)
        for span in list(self._builder.spans.values()):
            if span.run_id == run_id and span.end is None and span.span_id not in self._open:
                self._start(span)

    def _start(self, span: Span) -> None:
        trace = self._trace
        parent = self._open.get(span.parent_id) if span.parent_id else None
        context = trace.set_span_in_context(parent) if parent is not None else None
        kind = trace.SpanKind.CLIENT if span.kind == "model" else trace.SpanKind.INTERNAL
        otel_span = self.tracer.start_span(
            self._name(span), context=context, kind=kind, start_time=int(span.start * 1e9)
        )
        self._open[span.span_id] = otel_span
        if span.kind == "model":  # the model asked for (the response may name another)
            self._requested[span.span_id] = str(span.attributes.get("model", ""))

    def _name(self, span: Span) -> str:
        attrs = span.attributes
        if span.kind == "run":
            return f"invoke_agent {attrs.get('agent') or span.name.removeprefix('run ')}"
        if span.kind == "model":  # "{operation} {gen_ai.request.model}": the provider's name
            return f"chat {_split_model(str(attrs.get('model', '')))[1]}".strip()
        if span.kind in ("tool", "subagent"):
            return f"execute_tool {attrs.get('tool_name', '')}".strip()
        return span.name

    def _content(self, value: Any) -> str:
        text = value if isinstance(value, str) else json.dumps(value, default=repr)
        return scrub_secrets(text, self._secrets)

    def _attributes(self, span: Span) -> dict[str, Any]:
        a = span.attributes
        out: dict[str, Any] = {"tether.span.kind": span.kind, "tether.run_id": span.run_id}
        operation = _OPERATION.get(span.kind)
        if operation is not None:
            out["gen_ai.operation.name"] = operation
        if a.get("agent"):
            out["gen_ai.agent.name"] = a["agent"]
        if span.kind == "run":
            for key in (
                "trace_id",
                "workflow_name",
                "group_id",
                "parent_run_id",
                "state",
                "error_type",
            ):
                if a.get(key) is not None:
                    out[f"tether.{key}"] = str(a[key])
            if a.get("thread_id"):
                out["gen_ai.conversation.id"] = a["thread_id"]
            for key, value in (a.get("metadata") or {}).items():
                out[f"tether.metadata.{key}"] = self._content(value)
            usage = a.get("usage") or {}
            self._usage(out, usage)
            if self.capture_content and a.get("input") is not None:
                out["gen_ai.input.messages"] = self._content(a["input"])
            if self.capture_content and a.get("final_text") is not None:
                out["gen_ai.output.messages"] = self._content(a["final_text"])
        elif span.kind == "model":
            answered = str(a.get("model", ""))
            provider, requested = _split_model(self._requested.pop(span.span_id, "") or answered)
            out["gen_ai.request.model"] = requested
            answered_provider, answered_name = _split_model(answered)
            out["gen_ai.response.model"] = answered_name if answered_provider else answered
            if provider:
                out["gen_ai.provider.name"] = provider
            self._usage(out, a.get("usage") or {})
            if a.get("finish_reason"):
                out["gen_ai.response.finish_reasons"] = [str(a["finish_reason"])]
            if a.get("response_id"):
                out["gen_ai.response.id"] = str(a["response_id"])
            if self.capture_content and a.get("output") is not None:
                out["gen_ai.output.messages"] = self._content(a["output"])
        elif span.kind in ("tool", "subagent"):
            out["gen_ai.tool.name"] = str(a.get("tool_name", ""))
            out["gen_ai.tool.call.id"] = str(a.get("call_id", ""))
            out["gen_ai.tool.type"] = "function"
            if self.capture_content:
                if a.get("args") is not None:
                    out["gen_ai.tool.call.arguments"] = self._content(a["args"])
                if a.get("content") is not None:
                    out["gen_ai.tool.call.result"] = self._content(a["content"])
            if a.get("child_run_id"):
                out["tether.child_run_id"] = str(a["child_run_id"])
        elif span.kind == "handoff":
            out["tether.handoff.from"] = str(a.get("from_agent", ""))
            out["tether.handoff.to"] = str(a.get("to_agent", ""))
        elif span.kind == "guardrail":
            out["tether.guardrail.name"] = str(a.get("guardrail", ""))
            out["tether.guardrail.kind"] = str(a.get("guardrail_kind", ""))
        elif span.kind == "turn":
            out["tether.turn"] = int(a.get("turn", 0))
        return out

    @staticmethod
    def _usage(out: dict[str, Any], usage: dict[str, Any]) -> None:
        if not usage:
            return
        out["gen_ai.usage.input_tokens"] = int(usage.get("input_tokens", 0))
        out["gen_ai.usage.output_tokens"] = int(usage.get("output_tokens", 0))
        if usage.get("cost") is not None:
            out["tether.usage.cost_usd"] = float(usage["cost"])

    def _end(self, span: Span) -> None:
        otel_span = self._open.pop(span.span_id, None)
        if otel_span is None:
            return
        # The secrets as they are now (cached while the environment is unchanged): a token
        # set or registered after this exporter was made is scrubbed too.
        self._secrets = env_secrets()
        if span.kind == "subagent":
            otel_span.update_name(self._name(span))
        otel_span.set_attributes(self._attributes(span))
        if span.status == "error":
            from opentelemetry.trace import Status, StatusCode

            error = scrub_secrets(span.error or "error", self._secrets)
            otel_span.set_status(Status(StatusCode.ERROR, error))
            otel_span.set_attribute(
                "error.type",
                str(
                    span.attributes.get("error_type")
                    or span.attributes.get("error_kind")
                    or "error"
                ),
            )
        otel_span.end(end_time=int((span.end or span.start) * 1e9))

    async def flush(self, run_id: str) -> None:
        """Forget the finished run (spans are exported by the provider's processor)."""
        self._builder.forget(run_id)

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        """Export buffered spans now (blocking: call it off the event loop)."""
        return bool(self.provider.force_flush(timeout_millis))

    def shutdown(self) -> None:
        """Shut down a provider this exporter built itself (blocking)."""
        self.provider.shutdown()
