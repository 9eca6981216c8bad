"""OpenAI Responses API (``openai:<model>``): ``POST {base_url}/responses``.

Reasoning items come back as ReasoningPart with the raw item in ``provider_data`` and are sent
back as they came, as the API needs them beside the function calls they led to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ..errors import ModelProviderError
from ..messages import Part, ReasoningPart, RefusalPart, TextPart, ToolCallPart
from ..usage import Usage
from ._provider import ProviderModel, merge_extra, openai_client, with_hint
from ._stream import StreamParts, stream_cut_short, stream_error
from ._wire import loads
from .base import (
    ModelRequest,
    ModelResponse,
    ModelStreamEvent,
)

__all__ = ["OpenAIResponsesModel"]


class OpenAIResponsesModel(ProviderModel):
    """A model behind the OpenAI Responses API. ``stop`` and ``seed`` have no field there and
    are not sent."""

    path = "/responses"
    default_prefix = "openai"

    def make_client(self, http_client: Any) -> Any:
        """An ``openai.AsyncOpenAI`` client (SDK retries off: tether's runtime retries)."""
        return openai_client(self._api_key, self.base_url, http_client, self.default_headers)

    def explain(self, error: ModelProviderError) -> ModelProviderError:
        """A 404 from a server other than OpenAI's: most likely it has no Responses API."""
        if error.status != 404 or self.base_url is None or "api.openai.com" in self.base_url:
            return error
        return with_hint(
            error,
            f"{self.base_url} has no Responses API ({self.path}); if it speaks Chat Completions "
            f"only (vLLM, llama.cpp, LM Studio, Ollama, most proxies), use "
            f"'openai-chat:{self.model_name}'",
        )

    def build_body(self, request: ModelRequest, stream: bool) -> dict[str, Any]:
        """The Responses request body."""
        items: list[dict[str, Any]] = []
        for message in request.messages:
            role = message.role
            if role == "tool":
                for result in message.tool_results:
                    items.append(
                        {
                            "type": "function_call_output",
                            "call_id": result.call_id,
                            "output": result.content,
                        }
                    )
                continue
            if role != "assistant":
                items.append(
                    {"role": "developer" if role == "system" else role, "content": message.text}
                )
                continue
            text: list[str] = []
            for part in message.parts:
                if isinstance(part, ReasoningPart):
                    if part.provider_data and part.provider_data.get("type") == "reasoning":
                        items.append(part.provider_data)
                elif isinstance(part, TextPart):
                    text.append(part.text)
                elif isinstance(part, RefusalPart):
                    text.append(part.refusal)
                elif isinstance(part, ToolCallPart):
                    if text:
                        items.append({"role": "assistant", "content": "".join(text)})
                        text = []
                    items.append(
                        {
                            "type": "function_call",
                            "call_id": part.call_id,
                            "name": part.name,
                            "arguments": part.arguments or "{}",
                        }
                    )
            if text:
                items.append({"role": "assistant", "content": "".join(text)})
        body: dict[str, Any] = {"model": self.model_name, "input": items}
        if request.instructions:
            body["instructions"] = request.instructions
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                    "strict": t.strict,
                }
                for t in request.tools
            ]
        output = request.output
        if output is not None and output.mode == "native":
            body["text"] = {
                "format": {
                    "type": "json_schema",
                    "name": output.name,
                    "description": output.description,
                    "schema": output.schema,
                    "strict": False,
                }
            }
        s = request.settings
        if s.temperature is not None:
            body["temperature"] = s.temperature
        if s.top_p is not None:
            body["top_p"] = s.top_p
        if s.max_tokens is not None:
            body["max_output_tokens"] = s.max_tokens
        if s.parallel_tool_calls is not None and request.tools:
            body["parallel_tool_calls"] = s.parallel_tool_calls
        if s.tool_choice is not None and request.tools:
            choice = s.tool_choice
            body["tool_choice"] = (
                choice
                if choice in ("auto", "required", "none")
                else {"type": "function", "name": choice}
            )
        if s.reasoning_effort is not None:
            body["reasoning"] = {"effort": s.reasoning_effort, "summary": "auto"}
        if stream:
            body["stream"] = True
        return merge_extra(body, s.extra)

    def _usage(self, raw: Any) -> Usage:
        usage = Usage(requests=1)
        if isinstance(raw, dict):
            usage.input_tokens = raw.get("input_tokens") or 0
            usage.output_tokens = raw.get("output_tokens") or 0
            usage.cached_tokens = (raw.get("input_tokens_details") or {}).get("cached_tokens") or 0
            usage.reasoning_tokens = (raw.get("output_tokens_details") or {}).get(
                "reasoning_tokens"
            ) or 0
        return self.priced(usage)

    def parse_response(self, data: Any) -> ModelResponse:
        """A ``response`` object as a ModelResponse."""
        if not isinstance(data, dict) or not isinstance(data.get("output"), list):
            raise ModelProviderError(
                f"{self.name}: unexpected answer without output", body=data, retryable=False
            )
        if data.get("status") == "failed":
            error = data.get("error") or {}
            raise ModelProviderError(
                f"{self.name}: response failed: {error.get('message')}", body=data, retryable=True
            )
        parts: list[Part] = []
        for item in data["output"]:
            kind = item.get("type")
            if kind == "message":
                for content in item.get("content") or ():
                    if content.get("type") == "output_text":
                        parts.append(TextPart(content.get("text", "")))
                    elif content.get("type") == "refusal":
                        parts.append(RefusalPart(content.get("refusal", "")))
            elif kind == "function_call":
                parts.append(
                    ToolCallPart(
                        item.get("call_id", ""), item.get("name", ""), item.get("arguments", "")
                    )
                )
            elif kind == "reasoning":
                summary = "".join(s.get("text", "") for s in item.get("summary") or ())
                if not summary:
                    summary = "".join(c.get("text", "") for c in item.get("content") or ())
                parts.append(ReasoningPart(summary, provider_data=item))
        finish = "stop"
        if any(isinstance(p, ToolCallPart) for p in parts):
            finish = "tool_calls"
        if data.get("status") == "incomplete":
            reason = (data.get("incomplete_details") or {}).get("reason")
            finish = "length" if reason == "max_output_tokens" else (reason or "incomplete")
        return ModelResponse(
            parts=parts,
            usage=self._usage(data.get("usage")),
            model_name=data.get("model"),
            finish_reason=finish,
            response_id=data.get("id"),
        )

    async def parse_stream(
        self, events: AsyncIterator[tuple[str | None, str]]
    ) -> AsyncIterator[ModelStreamEvent]:
        """Responses stream events as deltas; the final response object gives the result."""
        acc = StreamParts()
        done_items: dict[int, dict[str, Any]] = {}
        async for name, data in events:
            event = loads(data)
            kind = event.get("type") or name
            where = event.get("output_index", 0)
            if kind == "response.output_text.delta":
                yield acc.text(("text", where), event.get("delta", ""))
            elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
                yield acc.reasoning(("reasoning", where), event.get("delta", ""))
            elif kind == "response.output_item.added":
                item = event.get("item") or {}
                if item.get("type") == "function_call":
                    made = acc.tool_call(
                        where,
                        call_id=item.get("call_id"),
                        name=item.get("name"),
                        arguments=item.get("arguments") or "",
                    )
                    if made is not None:
                        yield made
            elif kind == "response.function_call_arguments.delta":
                made = acc.tool_call(where, arguments=event.get("delta", ""))
                if made is not None:
                    yield made
            elif kind == "response.output_item.done":
                done_items[event.get("output_index", len(done_items))] = event.get("item") or {}
            elif kind in ("response.completed", "response.incomplete"):
                response = dict(event.get("response") or {})
                if not response.get("output") and done_items:
                    response["output"] = [done_items[i] for i in sorted(done_items)]
                yield self.parse_response(response)
                return
            elif kind in ("response.failed", "error"):
                payload = (
                    event.get("response", {}).get("error") if kind == "response.failed" else event
                )
                raise stream_error(self.name, (payload or {}).get("message"), event)
        raise stream_cut_short(self.name)
