"""OpenAI Chat Completions (``openai-chat:<model>``), and every server that speaks it
(OpenRouter, Ollama, vLLM, llama.cpp, LM Studio) through ``base_url``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from ..errors import ModelProviderError
from ..messages import Part, ReasoningPart, RefusalPart, TextPart, ToolCallPart
from ..usage import Usage
from ._provider import ProviderModel, merge_extra, normalize_finish, openai_client
from ._stream import PartKind, StreamParts, stream_cut_short, stream_error
from ._wire import loads
from .base import (
    ModelRequest,
    ModelResponse,
    ModelStreamEvent,
)

__all__ = ["OpenAIChatModel"]

# Parts of a Chat Completions answer, as the non-streamed message orders them.
_ORDER: tuple[PartKind, ...] = ("reasoning", "text", "refusal", "tool_call")


class OpenAIChatModel(ProviderModel):
    """A model behind the Chat Completions API (``POST {base_url}/chat/completions``).

    ``transport="aiohttp"`` (the default when aiohttp is installed: extra ``tether[aiohttp]``)
    posts tether's own request bytes on an aiohttp session; ``transport="httpx"`` sends on the
    ``openai`` SDK's httpx client, at about twice the CPU per request.
    """

    path = "/chat/completions"
    default_prefix = "openai-chat"

    @property
    def _official(self) -> bool:
        return self.provider == "openai-chat" and (
            self.base_url is None or "api.openai.com" in self.base_url
        )

    def make_client(self, http_client: Any) -> Any:
        """An ``openai.AsyncOpenAI`` client (SDK retries off: tether's runtime retries)."""
        return openai_client(self._api_key, self.base_url, http_client, self.default_headers)

    # -- request -------------------------------------------------------------------------------

    def build_body(self, request: ModelRequest, stream: bool) -> dict[str, Any]:
        """The Chat Completions request body."""
        messages: list[dict[str, Any]] = []
        if request.instructions:
            messages.append({"role": "system", "content": request.instructions})
        for message in request.messages:
            role = message.role
            if role == "tool":
                for result in message.tool_results:
                    messages.append(
                        {"role": "tool", "tool_call_id": result.call_id, "content": result.content}
                    )
            elif role == "assistant":
                out: dict[str, Any] = {"role": "assistant", "content": message.text or None}
                refusal = next(
                    (p.refusal for p in message.parts if isinstance(p, RefusalPart)), None
                )
                if refusal is not None:
                    out["refusal"] = refusal
                calls = message.tool_calls
                if calls:
                    out["tool_calls"] = [
                        {
                            "id": c.call_id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments or "{}"},
                        }
                        for c in calls
                    ]
                messages.append(out)
            else:
                messages.append({"role": role, "content": message.text})
        body: dict[str, Any] = {"model": self.model_name, "messages": messages}
        if request.tools:
            tools = []
            for spec in request.tools:
                function: dict[str, Any] = {
                    "name": spec.name,
                    "description": spec.description,
                    "parameters": spec.parameters,
                }
                if spec.strict:
                    function["strict"] = True
                tools.append({"type": "function", "function": function})
            body["tools"] = tools
        output = request.output
        if output is not None and output.mode == "native":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": output.name,
                    "description": output.description,
                    "schema": output.schema,
                },
            }
        s = request.settings
        if s.temperature is not None:
            body["temperature"] = s.temperature
        if s.top_p is not None:
            body["top_p"] = s.top_p
        if s.max_tokens is not None:
            # OpenAI itself wants the newer name; compatible servers know max_tokens.
            key = "max_completion_tokens" if self._official else "max_tokens"
            body[key] = s.max_tokens
        if s.stop is not None:
            body["stop"] = list(s.stop)
        if s.seed is not None:
            body["seed"] = s.seed
        if s.parallel_tool_calls is not None and request.tools:
            body["parallel_tool_calls"] = s.parallel_tool_calls
        if s.tool_choice is not None and request.tools:
            choice = s.tool_choice
            body["tool_choice"] = (
                choice
                if choice in ("auto", "required", "none")
                else {"type": "function", "function": {"name": choice}}
            )
        if s.reasoning_effort is not None:
            body["reasoning_effort"] = s.reasoning_effort
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return merge_extra(body, s.extra)

    # -- response ------------------------------------------------------------------------------

    def _usage(self, raw: Any) -> Usage:
        usage = Usage(requests=1)
        if isinstance(raw, dict):
            usage.input_tokens = raw.get("prompt_tokens") or 0
            usage.output_tokens = raw.get("completion_tokens") or 0
            details = raw.get("prompt_tokens_details") or {}
            usage.cached_tokens = details.get("cached_tokens") or 0
            details = raw.get("completion_tokens_details") or {}
            usage.reasoning_tokens = details.get("reasoning_tokens") or 0
        return self.priced(usage)

    def parse_response(self, data: Any) -> ModelResponse:
        """A ``chat.completion`` object as a ModelResponse."""
        try:
            choice = data["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError):
            raise ModelProviderError(
                f"{self.name}: unexpected answer without choices", body=data, retryable=False
            ) from None
        parts: list[Part] = []
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            parts.append(ReasoningPart(reasoning))
        content = message.get("content")
        if content:
            parts.append(TextPart(_text_of(content)))
        if message.get("refusal"):
            parts.append(RefusalPart(message["refusal"]))
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            arguments = function.get("arguments") or ""
            if isinstance(arguments, dict):  # some compatible servers send an object
                arguments = json.dumps(arguments)
            parts.append(ToolCallPart(call.get("id") or "", function.get("name") or "", arguments))
        return ModelResponse(
            parts=parts,
            usage=self._usage(data.get("usage")),
            model_name=data.get("model"),
            finish_reason=normalize_finish(choice.get("finish_reason")),
            response_id=data.get("id"),
        )

    async def parse_stream(
        self, events: AsyncIterator[tuple[str | None, str]]
    ) -> AsyncIterator[ModelStreamEvent]:
        """``chat.completion.chunk`` events as deltas, then the ModelResponse."""
        acc = StreamParts()
        unindexed, unindexed_id = 0, None  # tool-call deltas without an index
        usage_raw: Any = None
        finish: str | None = None
        response_id = model_name = None
        done = False
        async for _, data in events:
            if done:
                continue
            if data == "[DONE]":
                done = True
                continue  # read the body to its end so the connection goes back to the pool
            chunk = loads(data)
            if "error" in chunk and "choices" not in chunk:
                error = chunk["error"]
                message = error.get("message") if isinstance(error, dict) else str(error)
                raise stream_error(self.name, message, chunk)
            if not response_id:
                response_id = chunk.get("id")
            if not model_name:
                model_name = chunk.get("model")
            usage = chunk.get("usage")
            if usage:
                usage_raw = usage
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta")
                if delta:
                    if "reasoning_content" in delta or "reasoning" in delta:
                        piece = delta.get("reasoning_content") or delta.get("reasoning")
                        if isinstance(piece, str) and piece:
                            yield acc.reasoning("r", piece)
                    piece = delta.get("content")
                    if piece:
                        yield acc.text("t", _text_of(piece))
                    piece = delta.get("refusal")
                    if piece:
                        acc.refusal("x", piece)
                    for call in delta.get("tool_calls") or ():
                        function = call.get("function") or {}
                        index = call.get("index")
                        if index is None:  # some compatible servers send no index: a new
                            call_id = call.get("id")  # id starts a new call
                            if call_id and call_id != unindexed_id:
                                unindexed, unindexed_id = unindexed + 1, call_id
                            key: tuple[str, Any] = ("unindexed", unindexed)
                        else:
                            key = ("call", index)
                        made = acc.tool_call(
                            key,
                            call_id=call.get("id"),
                            name=function.get("name"),
                            arguments=function.get("arguments") or "",
                        )
                        if made is not None:
                            yield made
                reason = choice.get("finish_reason")
                if reason:
                    finish = reason
        if not done and finish is None:
            raise stream_cut_short(self.name)
        parts = acc.parts(_ORDER)
        yield ModelResponse(
            parts=parts,
            usage=self._usage(usage_raw),
            model_name=model_name,
            finish_reason=normalize_finish(finish),
            response_id=response_id,
        )


def _text_of(content: Any) -> Any:
    """Message content as text: a string, or the text of a list of content parts (some
    compatible servers answer ``[{"type": "text", "text": ...}]``); anything else as it is
    (the frame refuses what is not text)."""
    if content.__class__ is list:
        return "".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return content
