"""A loopback server speaking the OpenAI Responses API (``POST /v1/responses``).

JSON answers are ``response`` objects whose ``output`` holds reasoning, message and
function_call items. Streams are named SSE events: ``response.created``,
``response.in_progress``, then per item ``response.output_item.added``, its deltas
(``response.reasoning_summary_text.delta``, ``response.content_part.added`` /
``response.output_text.delta`` / ``response.output_text.done`` / ``response.content_part.done``,
``response.refusal.delta``, ``response.function_call_arguments.delta`` / ``.done``) and
``response.output_item.done``, and finally ``response.completed`` with the whole response.
Every event carries a ``sequence_number``.
"""

from __future__ import annotations

from typing import Any

from ._base import ModelServer, RecordedRequest, Turn, args_text, split

__all__ = ["ResponsesServer"]


class ResponsesServer(ModelServer):
    """Responses API wire protocol."""

    path = "/v1/responses"

    def _items(self, turn: Turn) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if turn.reasoning is not None:
            items.append(
                {
                    "id": self.next_id("rs"),
                    "type": "reasoning",
                    "summary": [{"type": "summary_text", "text": turn.reasoning}],
                    "encrypted_content": "enc-" + turn.reasoning[:8],
                }
            )
        content: list[dict[str, Any]] = []
        if turn.text is not None:
            content.append(
                {"type": "output_text", "text": turn.text, "annotations": [], "logprobs": []}
            )
        if turn.refusal is not None:
            content.append({"type": "refusal", "refusal": turn.refusal})
        if content:
            items.append(
                {
                    "id": self.next_id("msg"),
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": content,
                }
            )
        for name, args in turn.tool_calls:
            items.append(
                {
                    "id": self.next_id("fc"),
                    "type": "function_call",
                    "status": "completed",
                    "call_id": f"call_{self.next_id('c')}",
                    "name": name,
                    "arguments": args_text(args),
                }
            )
        return items

    def _response(
        self,
        turn: Turn,
        request: RecordedRequest,
        output: list[dict[str, Any]],
        status: str,
        rid: str,
    ) -> dict[str, Any]:
        body = request.body or {}
        incomplete = None
        if turn.finish_reason == "max_output_tokens" and status != "in_progress":
            status = "incomplete"
            incomplete = {"reason": "max_output_tokens"}
        return {
            "id": rid,
            "object": "response",
            "created_at": 1_700_000_000,
            "status": status,
            "error": None,
            "incomplete_details": incomplete,
            "instructions": body.get("instructions"),
            "model": body.get("model", "gpt-4o-mini"),
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": None
            if status == "in_progress"
            else {
                "input_tokens": turn.input_tokens,
                "input_tokens_details": {"cached_tokens": turn.cached_tokens},
                "output_tokens": turn.output_tokens,
                "output_tokens_details": {"reasoning_tokens": turn.reasoning_tokens},
                "total_tokens": turn.input_tokens + turn.output_tokens,
            },
        }

    def render_json(self, turn: Turn, request: RecordedRequest) -> Any:
        """A completed ``response`` object."""
        return self._response(turn, request, self._items(turn), "completed", self.next_id("resp"))

    def render_events(self, turn: Turn, request: RecordedRequest) -> list[tuple[str | None, Any]]:
        """The Responses SSE event sequence for ``turn``."""
        rid = self.next_id("resp")
        items = self._items(turn)
        events: list[tuple[str | None, Any]] = []

        def emit(kind: str, **data: Any) -> None:
            events.append((kind, {"type": kind, "sequence_number": len(events), **data}))

        started = self._response(turn, request, [], "in_progress", rid)
        emit("response.created", response=started)
        emit("response.in_progress", response=started)
        for index, item in enumerate(items):
            iid = item["id"]
            if item["type"] == "reasoning":
                emit("response.output_item.added", output_index=index, item={**item, "summary": []})
                emit(
                    "response.reasoning_summary_part.added",
                    item_id=iid,
                    output_index=index,
                    summary_index=0,
                    part={"type": "summary_text", "text": ""},
                )
                text = item["summary"][0]["text"]
                for piece in split(text, turn.pieces):
                    emit(
                        "response.reasoning_summary_text.delta",
                        item_id=iid,
                        output_index=index,
                        summary_index=0,
                        delta=piece,
                    )
                emit(
                    "response.reasoning_summary_text.done",
                    item_id=iid,
                    output_index=index,
                    summary_index=0,
                    text=text,
                )
            elif item["type"] == "message":
                emit(
                    "response.output_item.added",
                    output_index=index,
                    item={**item, "status": "in_progress", "content": []},
                )
                for cindex, part in enumerate(item["content"]):
                    if part["type"] == "output_text":
                        emit(
                            "response.content_part.added",
                            item_id=iid,
                            output_index=index,
                            content_index=cindex,
                            part={**part, "text": ""},
                        )
                        for piece in split(part["text"], turn.pieces):
                            emit(
                                "response.output_text.delta",
                                item_id=iid,
                                output_index=index,
                                content_index=cindex,
                                delta=piece,
                                logprobs=[],
                            )
                        emit(
                            "response.output_text.done",
                            item_id=iid,
                            output_index=index,
                            content_index=cindex,
                            text=part["text"],
                            logprobs=[],
                        )
                    else:
                        emit(
                            "response.content_part.added",
                            item_id=iid,
                            output_index=index,
                            content_index=cindex,
                            part={**part, "refusal": ""},
                        )
                        for piece in split(part["refusal"], turn.pieces):
                            emit(
                                "response.refusal.delta",
                                item_id=iid,
                                output_index=index,
                                content_index=cindex,
                                delta=piece,
                            )
                        emit(
                            "response.refusal.done",
                            item_id=iid,
                            output_index=index,
                            content_index=cindex,
                            refusal=part["refusal"],
                        )
                    emit(
                        "response.content_part.done",
                        item_id=iid,
                        output_index=index,
                        content_index=cindex,
                        part=part,
                    )
            else:
                emit(
                    "response.output_item.added",
                    output_index=index,
                    item={**item, "arguments": "", "status": "in_progress"},
                )
                for piece in split(item["arguments"], 3):
                    emit(
                        "response.function_call_arguments.delta",
                        item_id=iid,
                        output_index=index,
                        delta=piece,
                    )
                emit(
                    "response.function_call_arguments.done",
                    item_id=iid,
                    output_index=index,
                    arguments=item["arguments"],
                )
            emit("response.output_item.done", output_index=index, item=item)
        final = self._response(turn, request, items, "completed", rid)
        kind = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
        emit(kind, response=final)
        return events
