"""Anthropic Messages API (``anthropic:<model>``), through the official ``anthropic`` SDK
(extra ``tether[anthropic]``, imported only when a request is made).

Thinking blocks come back as ReasoningPart with their signature and are sent back unchanged, as
the API requires within a tool-use turn. Tool results travel as ``tool_result`` blocks of a user
message; consecutive messages of one role are merged, as the API wants roles to alternate.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from ..errors import ModelProviderError, UserError
from ..messages import Part, ReasoningPart, RefusalPart, TextPart, ToolCallPart
from ..usage import Usage
from ._provider import ProviderModel, merge_extra, normalize_finish
from ._stream import StreamParts, stream_cut_short, stream_error
from ._wire import NO_KEY, loads
from .base import (
    ModelRequest,
    ModelResponse,
    ModelStreamEvent,
)

__all__ = ["DEFAULT_MAX_TOKENS", "AnthropicModel"]

#: The Messages API requires max_tokens; this is sent when the settings leave it unset.
DEFAULT_MAX_TOKENS = 4096
_EFFORT = {"minimal": "low", "low": "low", "medium": "medium", "high": "high"}


class AnthropicModel(ProviderModel):
    """A Claude model behind the Messages API (``POST {base_url}/v1/messages``)."""

    path = "/v1/messages"
    default_prefix = "anthropic"

    def make_client(self, http_client: Any) -> Any:
        """An ``anthropic.AsyncAnthropic`` client (SDK retries off: tether's runtime retries)."""
        try:
            import anthropic
        except ImportError:
            raise UserError(
                'anthropic: models need the anthropic SDK: pip install "tether[anthropic]"'
            ) from None
        return anthropic.AsyncAnthropic(
            api_key=self._api_key or NO_KEY,  # never the SDK's own look-up in the environment
            base_url=self.base_url,
            max_retries=0,
            http_client=http_client,
            default_headers=self.default_headers,
        )

    def build_body(self, request: ModelRequest, stream: bool) -> dict[str, Any]:
        """The Messages request body."""
        system: list[str] = [request.instructions] if request.instructions else []
        messages: list[dict[str, Any]] = []

        def add(role: str, blocks: list[dict[str, Any]]) -> None:
            if not blocks:
                return
            if messages and messages[-1]["role"] == role:
                messages[-1]["content"].extend(blocks)
            else:
                messages.append({"role": role, "content": blocks})

        for message in request.messages:
            if message.role == "system":
                system.append(message.text)
            elif message.role == "tool":
                add(
                    "user",
                    [
                        {
                            "type": "tool_result",
                            "tool_use_id": r.call_id,
                            "content": r.content,
                            **({"is_error": True} if r.is_error else {}),
                        }
                        for r in message.tool_results
                    ],
                )
            elif message.role == "user":
                add("user", [{"type": "text", "text": message.text}])
            else:
                add("assistant", [b for p in message.parts if (b := _block(p)) is not None])
        body: dict[str, Any] = {
            "model": self.model_name,
            "max_tokens": request.settings.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": messages,
        }
        if system:
            body["system"] = "\n\n".join(system)
        if request.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
        s = request.settings
        output_config: dict[str, Any] = {}
        output = request.output
        if output is not None and output.mode == "native":
            output_config["format"] = {"type": "json_schema", "schema": _strict(output.schema)}
        if s.reasoning_effort is not None:
            output_config["effort"] = _EFFORT[s.reasoning_effort]
        if output_config:
            body["output_config"] = output_config
        if s.temperature is not None:
            body["temperature"] = s.temperature
        if s.top_p is not None:
            body["top_p"] = s.top_p
        if s.stop is not None:
            body["stop_sequences"] = list(s.stop)
        if request.tools and (s.tool_choice is not None or s.parallel_tool_calls is False):
            choice = s.tool_choice or "auto"
            wire: dict[str, Any] = {
                "auto": {"type": "auto"},
                "required": {"type": "any"},
                "none": {"type": "none"},
            }.get(choice, {"type": "tool", "name": choice})
            if s.parallel_tool_calls is False and wire["type"] != "none":
                wire["disable_parallel_tool_use"] = True
            body["tool_choice"] = wire
        if stream:
            body["stream"] = True
        return merge_extra(body, s.extra)

    def _usage(self, raw: Any, output_tokens: int | None = None) -> Usage:
        usage = Usage(requests=1)
        written = 0
        if isinstance(raw, dict):
            cached = raw.get("cache_read_input_tokens") or 0
            written = raw.get("cache_creation_input_tokens") or 0
            usage.input_tokens = (raw.get("input_tokens") or 0) + cached + written
            usage.cached_tokens = cached
            usage.output_tokens = raw.get("output_tokens") or 0
        if output_tokens is not None:
            usage.output_tokens = output_tokens
        return self.priced(usage, written)

    def _parts(self, blocks: list[dict[str, Any]], stop: str | None) -> list[Part]:
        parts: list[Part] = []
        for block in blocks:
            kind = block.get("type")
            if kind == "text":
                parts.append(TextPart(block.get("text", "")))
            elif kind == "tool_use":
                raw = block.get("input")
                args = raw if isinstance(raw, str) else json.dumps(raw if raw is not None else {})
                parts.append(ToolCallPart(block.get("id", ""), block.get("name", ""), args))
            elif kind == "thinking":
                parts.append(
                    ReasoningPart(
                        block.get("thinking", ""), signature=block.get("signature") or None
                    )
                )
            elif kind == "redacted_thinking":
                parts.append(ReasoningPart("", provider_data=block))
        return _refused(parts, stop)

    def parse_response(self, data: Any) -> ModelResponse:
        """A ``message`` object as a ModelResponse."""
        if not isinstance(data, dict) or not isinstance(data.get("content"), list):
            raise ModelProviderError(
                f"{self.name}: unexpected answer without content", body=data, retryable=False
            )
        stop = data.get("stop_reason")
        return ModelResponse(
            parts=self._parts(data["content"], stop),
            usage=self._usage(data.get("usage")),
            model_name=data.get("model"),
            finish_reason=normalize_finish(stop),
            response_id=data.get("id"),
        )

    async def parse_stream(
        self, events: AsyncIterator[tuple[str | None, str]]
    ) -> AsyncIterator[ModelStreamEvent]:
        """Messages stream events as deltas, then the ModelResponse."""
        acc = StreamParts(empty_arguments="{}")
        message: dict[str, Any] = {}
        stop: str | None = None
        output_tokens: int | None = None
        finished = False
        async for name, data in events:
            if finished:
                continue
            event = loads(data)
            kind = event.get("type") or name
            if kind == "content_block_delta":
                index = event.get("index", 0)
                delta = event.get("delta") or {}
                dtype = delta.get("type")
                if dtype == "text_delta":
                    yield acc.text(index, delta.get("text", ""))
                elif dtype == "input_json_delta" and acc.call_index(index) is not None:
                    made = acc.tool_call(index, arguments=delta.get("partial_json", ""))
                    if made is not None:
                        yield made
                elif dtype == "thinking_delta":
                    yield acc.reasoning(index, delta.get("thinking", ""))
                elif dtype == "signature_delta":
                    acc.signature(index, delta.get("signature", ""))
            elif kind == "content_block_start":
                index = event.get("index", 0)
                block = event.get("content_block") or {}
                btype = block.get("type")
                if btype == "text":
                    acc.text(index, block.get("text") or "")
                elif btype == "thinking":
                    acc.reasoning(index, block.get("thinking") or "")
                    if block.get("signature"):
                        acc.signature(index, block["signature"])
                elif btype == "redacted_thinking":
                    acc.opaque_reasoning(index, dict(block))
                elif btype == "tool_use":
                    made = acc.tool_call(index, call_id=block.get("id"), name=block.get("name"))
                    if made is not None:
                        yield made
            elif kind == "message_start":
                message = event.get("message") or {}
            elif kind == "message_delta":
                stop = (event.get("delta") or {}).get("stop_reason") or stop
                usage = event.get("usage") or {}
                if usage.get("output_tokens") is not None:
                    output_tokens = usage["output_tokens"]
            elif kind == "message_stop":
                finished = True
                continue  # read the body to its end so the connection goes back to the pool
            elif kind == "error":
                error = event.get("error") or {}
                raise stream_error(self.name, error.get("message"), event)
        if not finished:
            raise stream_cut_short(self.name)
        yield ModelResponse(
            parts=_refused(acc.parts(), stop),
            usage=self._usage(message.get("usage"), output_tokens),
            model_name=message.get("model"),
            finish_reason=normalize_finish(stop),
            response_id=message.get("id"),
        )


def _refused(parts: list[Part], stop: str | None) -> list[Part]:
    """A refusal's text parts as one RefusalPart (Anthropic says so only in ``stop_reason``)."""
    if stop != "refusal":
        return parts
    said = "".join(p.text for p in parts if isinstance(p, TextPart))
    kept: list[Part] = [p for p in parts if not isinstance(p, TextPart)]
    kept.append(RefusalPart(said or "The model declined to answer."))
    return kept


#: id(schema) -> (schema, its strict form): output schemas are built once per agent.
_STRICT: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` as the Messages API's JSON outputs take it, by the official SDK's own
    ``transform_schema`` (objects closed with ``additionalProperties: false``; keywords the
    API does not support, such as ``minimum`` or ``pattern``, moved into the description; the
    run still validates the answer against the full schema). As it is on SDKs without it."""
    found = _STRICT.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1]
    try:
        from anthropic import transform_schema
    except ImportError:  # anthropic < 0.72
        return schema
    try:
        strict: dict[str, Any] = transform_schema(schema)
    except (ValueError, TypeError, KeyError):  # a schema it cannot read: sent as it is
        strict = schema
    if len(_STRICT) >= 256:
        _STRICT.clear()
    _STRICT[id(schema)] = (schema, strict)
    return strict


def _block(part: Part) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text} if part.text else None
    if isinstance(part, ToolCallPart):
        try:
            args = json.loads(part.arguments) if part.arguments.strip() else {}
        except (ValueError, RecursionError):  # refused as the tool's arguments already
            args = {}
        return {
            "type": "tool_use",
            "id": part.call_id,
            "name": part.name,
            "input": args if isinstance(args, dict) else {},
        }
    if isinstance(part, ReasoningPart):
        if part.provider_data and part.provider_data.get("type") == "redacted_thinking":
            return part.provider_data
        if part.signature:
            return {"type": "thinking", "thinking": part.text, "signature": part.signature}
        return None
    if isinstance(part, RefusalPart):
        return {"type": "text", "text": part.refusal}
    return None
