"""A loopback server speaking the OpenAI Chat Completions API (``POST /v1/chat/completions``).

JSON answers are ``chat.completion`` objects; streams are ``chat.completion.chunk`` SSE events:
a role chunk, content deltas, tool calls as indexed deltas (id and name first, then argument
pieces), a finish chunk, a usage chunk when ``stream_options.include_usage`` is set, and
``data: [DONE]``. Usage is the final answer of the whole thing::

    with ChatCompletionsServer() as server:
        server.add_text("hello")
        client = AsyncOpenAI(base_url=server.base_url, api_key="test")
"""

from __future__ import annotations

from typing import Any

from ._base import (
    Delay,
    HTTPError,
    ModelServer,
    RecordedRequest,
    Reset,
    Truncate,
    Turn,
    args_text,
    split,
)

__all__ = [
    "ChatCompletionsServer",
    "Delay",
    "HTTPError",
    "RecordedRequest",
    "Reset",
    "Truncate",
    "Turn",
    "add_tool_responder",
]


class ChatCompletionsServer(ModelServer):
    """Chat Completions wire protocol."""

    path = "/v1/chat/completions"

    def _finish(self, turn: Turn) -> str:
        if turn.finish_reason:
            return turn.finish_reason
        return "tool_calls" if turn.tool_calls else "stop"

    def _usage(self, turn: Turn) -> dict[str, Any]:
        return {
            "prompt_tokens": turn.input_tokens,
            "completion_tokens": turn.output_tokens,
            "total_tokens": turn.input_tokens + turn.output_tokens,
            "prompt_tokens_details": {"cached_tokens": turn.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": turn.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def _model(self, request: RecordedRequest) -> str:
        return str((request.body or {}).get("model", "gpt-4o-mini"))

    def render_json(self, turn: Turn, request: RecordedRequest) -> Any:
        """A ``chat.completion`` object."""
        message: dict[str, Any] = {
            "role": "assistant",
            "content": turn.text,
            "refusal": turn.refusal,
            "annotations": [],
        }
        if turn.reasoning is not None:
            message["reasoning_content"] = turn.reasoning
        if turn.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{self.next_id('c')}",
                    "type": "function",
                    "function": {"name": name, "arguments": args_text(args)},
                }
                for name, args in turn.tool_calls
            ]
        return {
            "id": self.next_id("chatcmpl"),
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": self._model(request),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self._finish(turn),
                }
            ],
            "usage": self._usage(turn),
            "service_tier": "default",
            "system_fingerprint": "fp_test",
        }

    def render_events(self, turn: Turn, request: RecordedRequest) -> list[tuple[str | None, Any]]:
        """``chat.completion.chunk`` events, ending with the usage chunk and ``[DONE]``."""
        cid = self.next_id("chatcmpl")
        model = self._model(request)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> tuple[None, Any]:
            return None, {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": 1_700_000_000,
                "model": model,
                "system_fingerprint": "fp_test",
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }

        events: list[tuple[str | None, Any]] = [
            chunk({"role": "assistant", "content": "", "refusal": None})
        ]
        for piece in split(turn.reasoning or "", turn.pieces):
            events.append(chunk({"reasoning_content": piece}))
        for piece in split(turn.text or "", turn.pieces):
            events.append(chunk({"content": piece}))
        for piece in split(turn.refusal or "", turn.pieces):
            events.append(chunk({"refusal": piece}))
        for index, (name, args) in enumerate(turn.tool_calls):
            call_id = f"call_{self.next_id('c')}"
            events.append(
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": index,
                                "id": call_id,
                                "type": "function",
                                "function": {"name": name, "arguments": ""},
                            }
                        ]
                    }
                )
            )
            for piece in split(args_text(args), 3):
                events.append(
                    chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                )
        events.append(chunk({}, self._finish(turn)))
        options = (request.body or {}).get("stream_options") or {}
        if options.get("include_usage"):
            events.append(
                (
                    None,
                    {
                        "id": cid,
                        "object": "chat.completion.chunk",
                        "created": 1_700_000_000,
                        "model": model,
                        "system_fingerprint": "fp_test",
                        "choices": [],
                        "usage": self._usage(turn),
                    },
                )
            )
        events.append((None, "[DONE]"))
        return events


def add_tool_responder(
    tool: str = "add", args: dict[str, Any] | None = None, answer: str = "3"
) -> Any:
    """A responder for benchmarks: a request without tool results asks for ``tool(args)``;
    one that carries a tool result gets ``answer``. Repeats forever."""
    call_args = args if args is not None else {"a": 1, "b": 2}

    def respond(request: RecordedRequest) -> Turn:
        messages = (request.body or {}).get("messages") or []
        if messages and messages[-1].get("role") == "tool":
            return Turn(text=answer)
        return Turn(tool_calls=[(tool, call_args)])

    return respond
