"""A loopback server speaking the Anthropic Messages API (``POST /v1/messages``).

JSON answers are ``message`` objects with thinking, text and tool_use content blocks. Streams are
named SSE events: ``message_start``, per block ``content_block_start`` /
``content_block_delta`` (``thinking_delta`` + ``signature_delta``, ``text_delta``,
``input_json_delta``) / ``content_block_stop``, a ``ping``, ``message_delta`` (stop_reason and
output usage) and ``message_stop``. The client's base URL is the server root (no ``/v1``).
"""

from __future__ import annotations

import json
from typing import Any

from ._base import ModelServer, RecordedRequest, Turn, args_text, split

__all__ = ["AnthropicServer"]


class AnthropicServer(ModelServer):
    """Anthropic Messages wire protocol."""

    path = "/v1/messages"

    @property
    def base_url(self) -> str:
        """The server root, as the anthropic SDK expects it."""
        return f"http://127.0.0.1:{self.port}"

    def error_body(self, status: int, message: str) -> Any:
        """An Anthropic error body."""
        return {"type": "error", "error": {"type": "api_error", "message": message}}

    def _blocks(self, turn: Turn) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        if turn.reasoning is not None:
            blocks.append(
                {
                    "type": "thinking",
                    "thinking": turn.reasoning,
                    "signature": "sig-" + turn.reasoning[:8],
                }
            )
        if turn.text is not None:
            blocks.append({"type": "text", "text": turn.text})
        if turn.refusal is not None and turn.text is None:
            blocks.append({"type": "text", "text": turn.refusal})
        for name, args in turn.tool_calls:
            blocks.append(
                {
                    "type": "tool_use",
                    "id": f"toolu_{self.next_id('t')}",
                    "name": name,
                    "input": args if isinstance(args, dict) else args_text(args),
                }
            )
        return blocks

    def _stop(self, turn: Turn) -> str:
        if turn.finish_reason:
            return turn.finish_reason
        if turn.refusal is not None:
            return "refusal"
        return "tool_use" if turn.tool_calls else "end_turn"

    def _usage(self, turn: Turn, output: int) -> dict[str, Any]:
        return {
            "input_tokens": turn.input_tokens - turn.cached_tokens,
            "cache_read_input_tokens": turn.cached_tokens,
            "cache_creation_input_tokens": 0,
            "output_tokens": output,
        }

    def render_json(self, turn: Turn, request: RecordedRequest) -> Any:
        """A ``message`` object."""
        blocks = self._blocks(turn)
        for block in blocks:
            if block["type"] == "tool_use" and isinstance(block["input"], str):
                block["input"] = {"_raw": block["input"]}  # JSON mode cannot carry broken JSON
        return {
            "id": self.next_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": (request.body or {}).get("model", "claude-sonnet-4-5"),
            "content": blocks,
            "stop_reason": self._stop(turn),
            "stop_sequence": None,
            "usage": self._usage(turn, turn.output_tokens),
        }

    def render_events(self, turn: Turn, request: RecordedRequest) -> list[tuple[str | None, Any]]:
        """The Messages SSE event sequence for ``turn``."""
        events: list[tuple[str | None, Any]] = []

        def emit(kind: str, **data: Any) -> None:
            events.append((kind, {"type": kind, **data}))

        emit(
            "message_start",
            message={
                "id": self.next_id("msg"),
                "type": "message",
                "role": "assistant",
                "model": (request.body or {}).get("model", "claude-sonnet-4-5"),
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": self._usage(turn, 1),
            },
        )
        for index, block in enumerate(self._blocks(turn)):
            if block["type"] == "thinking":
                emit(
                    "content_block_start",
                    index=index,
                    content_block={"type": "thinking", "thinking": "", "signature": ""},
                )
                for piece in split(block["thinking"], turn.pieces):
                    emit(
                        "content_block_delta",
                        index=index,
                        delta={"type": "thinking_delta", "thinking": piece},
                    )
                emit(
                    "content_block_delta",
                    index=index,
                    delta={"type": "signature_delta", "signature": block["signature"]},
                )
            elif block["type"] == "text":
                emit("content_block_start", index=index, content_block={"type": "text", "text": ""})
                if index == 0:
                    emit("ping")
                for piece in split(block["text"], turn.pieces):
                    emit(
                        "content_block_delta",
                        index=index,
                        delta={"type": "text_delta", "text": piece},
                    )
            else:
                emit(
                    "content_block_start",
                    index=index,
                    content_block={
                        "type": "tool_use",
                        "id": block["id"],
                        "name": block["name"],
                        "input": {},
                    },
                )
                raw = (
                    block["input"]
                    if isinstance(block["input"], str)
                    else json.dumps(block["input"])
                )
                for piece in split(raw, 3):
                    emit(
                        "content_block_delta",
                        index=index,
                        delta={"type": "input_json_delta", "partial_json": piece},
                    )
            emit("content_block_stop", index=index)
        emit(
            "message_delta",
            delta={"stop_reason": self._stop(turn), "stop_sequence": None},
            usage={"output_tokens": turn.output_tokens},
        )
        emit("message_stop")
        return events
