"""OpenAI-compatible endpoints: ``/v1/models``, ``/v1/chat/completions``, ``/v1/responses``.

``model`` names a served agent; the agent runs on the given messages (or input) with its own
tools, which stay inside the run. Answers use the OpenAI wire format, plain or streamed, so
the official SDKs and OpenAI-compatible UIs work unchanged; the run's id comes back in the
``x-tether-run-id`` header (continue it, e.g. after an approval, through the run API).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..events import RunFinished, TextDeltaEvent
from ._bodies import ChatBody, ResponsesBody
from ._http import ApiError, json_response, read_body, sse_message, sse_response
from ._manager import Execution, RunManager
from ._state import Served, served

__all__ = ["routes"]


async def list_models(request: Request) -> Response:
    """``GET /v1/models``: the served agents, as models."""
    agents = served(request).agents
    return json_response(
        {
            "object": "list",
            "data": [
                {"id": name, "object": "model", "created": 0, "owned_by": "tether"}
                for name in agents
            ],
        }
    )


async def _start(state: Served, model: str, input: Any, tools: list[Any] | None) -> Execution:
    agent = state.agents.get(model)
    if agent is None:
        names = ", ".join(state.agents) or "none"
        raise ApiError(404, "model_not_found", f"no agent named {model!r} (served: {names})")
    if tools:
        raise ApiError(
            422,
            "invalid_request",
            "tools: the agent runs its own tools; client-side tools are not supported here",
        )
    execution, _ = await state.manager.start(agent, input, run_id=None, thread_id=None)
    assert execution is not None
    return execution


async def _finished(manager: RunManager, execution: Execution) -> dict[str, Any]:
    outcome = await manager.outcome(execution)
    if outcome["state"] == "failed":
        # The run happened (its tools may have had effects): the official SDKs retry a 500 on
        # their own unless told not to, which would run the agent again.
        headers = {"x-should-retry": "false", "x-tether-run-id": execution.run_id}
        kind = outcome["error_type"] or "run_failed"
        raise ApiError(500, kind, outcome["error"] or "failed", headers)
    return outcome


def _usage_chat(usage: dict[str, Any]) -> dict[str, Any]:
    prompt, completion = usage["input_tokens"], usage["output_tokens"]
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": usage["cached_tokens"]},
        "completion_tokens_details": {"reasoning_tokens": usage["reasoning_tokens"]},
    }


def _usage_responses(usage: dict[str, Any]) -> dict[str, Any]:
    given, made = usage["input_tokens"], usage["output_tokens"]
    return {
        "input_tokens": given,
        "output_tokens": made,
        "total_tokens": given + made,
        "input_tokens_details": {"cached_tokens": usage["cached_tokens"]},
        "output_tokens_details": {"reasoning_tokens": usage["reasoning_tokens"]},
    }


# -- Chat Completions ---------------------------------------------------------------------------


async def chat_completions(request: Request) -> Response:
    """``POST /v1/chat/completions``: run the agent named by ``model`` on ``messages``."""
    state = served(request)
    body = await read_body(request, ChatBody, state.config.max_body_bytes)
    execution = await _start(state, body.model, body.messages, body.tools)
    run_id = execution.run_id
    headers = {"x-tether-run-id": run_id}
    created = int(time.time())
    if body.stream:
        usage = bool((body.stream_options or {}).get("include_usage"))
        chunks = _chat_chunks(state.manager, execution, body.model, created, usage)
        return sse_response(chunks, headers=headers)
    outcome = await _finished(state.manager, execution)
    completion = {
        "id": f"chatcmpl-{run_id}",
        "object": "chat.completion",
        "created": created,
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": outcome["final_text"]},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": _usage_chat(outcome["usage"]),
    }
    return json_response(completion, headers=headers)


async def _chat_chunks(
    manager: RunManager, execution: Execution, model: str, created: int, include_usage: bool
) -> AsyncIterator[bytes]:
    base = {
        "id": f"chatcmpl-{execution.run_id}",
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return sse_message({**base, "choices": [choice], **extra})

    yield chunk({"role": "assistant", "content": ""})
    streamed = False
    async for event in manager.follow(execution.run_id):
        if isinstance(event, TextDeltaEvent) and event.delta:
            streamed = True
            yield chunk({"content": event.delta})
        elif isinstance(event, RunFinished):
            result = event.result or execution.result
            if event.state == "failed":
                error = {"type": event.error_type or "run_failed", "message": event.error or ""}
                yield sse_message({"error": error})
                break
            if not streamed and event.final_text:
                yield chunk({"content": event.final_text})
            yield chunk({}, "stop")
            if include_usage and result is not None:
                usage = _usage_chat(result.usage.to_dict())
                yield sse_message({**base, "choices": [], "usage": usage})
            break
    yield b"data: [DONE]\n\n"


# -- Responses ----------------------------------------------------------------------------------


def _response(
    run_id: str, model: str, created: int, status: str, text: str | None
) -> dict[str, Any]:
    output = []
    if text is not None:
        output.append(
            {
                "type": "message",
                "id": f"msg_{run_id}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        )
    return {
        "id": f"resp_{run_id}",
        "object": "response",
        "created_at": created,
        "status": status,
        "model": model,
        "output": output,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "parallel_tool_calls": True,
        "temperature": None,
        "tool_choice": "auto",
        "tools": [],
        "top_p": None,
    }


async def responses(request: Request) -> Response:
    """``POST /v1/responses``: run the agent named by ``model`` on ``input``."""
    state = served(request)
    body = await read_body(request, ResponsesBody, state.config.max_body_bytes)
    items: Any = body.input
    if body.instructions:
        given = [{"role": "user", "content": items}] if isinstance(items, str) else list(items)
        items = [{"role": "system", "content": body.instructions}, *given]
    execution = await _start(state, body.model, items, body.tools)
    headers = {"x-tether-run-id": execution.run_id}
    created = int(time.time())
    if body.stream:
        events = _response_events(state.manager, execution, body.model, created)
        return sse_response(events, headers=headers)
    outcome = await _finished(state.manager, execution)
    answer = _response(execution.run_id, body.model, created, "completed", outcome["final_text"])
    answer["usage"] = _usage_responses(outcome["usage"])
    return json_response(answer, headers=headers)


async def _response_events(
    manager: RunManager, execution: Execution, model: str, created: int
) -> AsyncIterator[bytes]:
    run_id = execution.run_id
    number = 0
    item_id = f"msg_{run_id}"

    def emit(kind: str, **data: Any) -> bytes:
        nonlocal number
        number += 1
        return sse_message({"type": kind, "sequence_number": number, **data}, event=kind)

    yield emit("response.created", response=_response(run_id, model, created, "in_progress", None))
    yield emit(
        "response.in_progress", response=_response(run_id, model, created, "in_progress", None)
    )
    item = {
        "type": "message",
        "id": item_id,
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }
    yield emit("response.output_item.added", output_index=0, item=item)
    part = {"type": "output_text", "text": "", "annotations": []}
    where = {"item_id": item_id, "output_index": 0, "content_index": 0}
    yield emit("response.content_part.added", part=part, **where)
    text: list[str] = []
    async for event in manager.follow(run_id):
        if isinstance(event, TextDeltaEvent) and event.delta:
            text.append(event.delta)
            yield emit("response.output_text.delta", delta=event.delta, logprobs=[], **where)
        elif isinstance(event, RunFinished):
            if event.state == "failed":
                failed = _response(run_id, model, created, "failed", None)
                failed["error"] = {"code": event.error_type or "run_failed", "message": event.error}
                yield emit("response.failed", response=failed)
                return
            full = "".join(text)
            if not full and event.final_text:
                full = event.final_text
                yield emit("response.output_text.delta", delta=full, logprobs=[], **where)
            yield emit("response.output_text.done", text=full, logprobs=[], **where)
            done_part = {"type": "output_text", "text": full, "annotations": []}
            yield emit("response.content_part.done", part=done_part, **where)
            final = _response(run_id, model, created, "completed", full)
            yield emit("response.output_item.done", output_index=0, item=final["output"][0])
            result = event.result or execution.result
            if result is not None:
                final["usage"] = _usage_responses(result.usage.to_dict())
            yield emit("response.completed", response=final)
            return


def routes() -> list[Route]:
    """The OpenAI-compatible routes."""
    return [
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/responses", responses, methods=["POST"]),
    ]
