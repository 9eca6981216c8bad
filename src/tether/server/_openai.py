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
from ._paused import marker, notice
from ._results import result_json
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


async def _stopped(manager: RunManager, execution: Execution, event: RunFinished) -> dict[str, Any]:
    """The Result JSON of a streamed run at its ``run_finished``."""
    result = event.result or execution.result
    if result is not None:
        return result_json(result)
    return {**await manager.snapshot(execution.run_id), "state": event.state}


def _with_notice(text: str, mark: dict[str, Any] | None) -> str:
    """``text`` and, for a paused run, the notice of what it waits for."""
    if mark is None:
        return text
    return f"{text}\n\n{notice(mark)}" if text else notice(mark)


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
    mark = marker(outcome)
    content = _with_notice(outcome["final_text"], mark)
    completion: dict[str, Any] = {
        "id": f"chatcmpl-{run_id}",
        "object": "chat.completion",
        "created": created,
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": _usage_chat(outcome["usage"]),
    }
    if mark is not None:
        completion["tether"] = mark
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
            mark = marker(await _stopped(manager, execution, event))
            text = _with_notice("" if streamed else event.final_text, mark)
            if mark is not None and streamed:
                text = f"\n\n{text}"
            if text:
                yield chunk({"content": text})
            yield chunk({}, "stop", **({} if mark is None else {"tether": mark}))
            if include_usage and result is not None:
                usage = _usage_chat(result.usage.to_dict())
                yield sse_message({**base, "choices": [], "usage": usage})
            break
    yield b"data: [DONE]\n\n"


# -- Responses ----------------------------------------------------------------------------------


def _response(
    run_id: str,
    model: str,
    created: int,
    status: str,
    text: str | None,
    mark: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Response object; a paused run's (``mark``) is ``incomplete``, with the reason."""
    if mark is not None:
        status = "incomplete"
    output = []
    if text is not None:
        output.append(
            {
                "type": "message",
                "id": f"msg_{run_id}",
                "status": status if status == "incomplete" else "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        )
    answer: dict[str, Any] = {
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
    if mark is not None:
        answer["incomplete_details"] = {"reason": mark["status"]}
        answer["tether"] = mark
    return answer


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
    mark = marker(outcome)
    text = _with_notice(outcome["final_text"], mark)
    answer = _response(execution.run_id, body.model, created, "completed", text, mark)
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
            mark = marker(await _stopped(manager, execution, event))
            more = _with_notice("" if full else event.final_text, mark)
            if more and full:
                more = f"\n\n{more}"
            if more:
                full += more
                yield emit("response.output_text.delta", delta=more, logprobs=[], **where)
            yield emit("response.output_text.done", text=full, logprobs=[], **where)
            done_part = {"type": "output_text", "text": full, "annotations": []}
            yield emit("response.content_part.done", part=done_part, **where)
            final = _response(run_id, model, created, "completed", full, mark)
            yield emit("response.output_item.done", output_index=0, item=final["output"][0])
            result = event.result or execution.result
            if result is not None:
                final["usage"] = _usage_responses(result.usage.to_dict())
            kind = "response.completed" if mark is None else "response.incomplete"
            yield emit(kind, response=final)
            return


def routes() -> list[Route]:
    """The OpenAI-compatible routes."""
    return [
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/responses", responses, methods=["POST"]),
    ]
