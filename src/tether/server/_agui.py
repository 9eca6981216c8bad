"""AG-UI: ``POST /v1/ag-ui/{agent}`` streams a run as AG-UI events (the ``ag-ui-protocol`` types).

The body is a ``RunAgentInput``. Its messages are the run's input (front ends send the whole
conversation each time), its ``runId`` is the tether run id (a repeated id replays that run).
A run that needs an approval or a person's answer ends with ``RUN_FINISHED`` whose outcome is
an interrupt per pending call (``id`` = ``<run_id>/<call_id>``); the front end continues by
posting a ``RunAgentInput`` with ``resume`` entries: ``status: "resolved"`` approves (or, for a
question, answers with ``payload``), ``"cancelled"`` rejects (``payload.reason`` optional).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ag_ui.core import BaseEvent as AgUiEvent
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..events import Event, ModelResponseEvent, RunFinished, TextDeltaEvent, ToolCallFinished
from ..messages import TextPart, ToolCallPart
from ..results import RunState
from ._bodies import AgUiBody
from ._http import ApiError, read_body, sse_response
from ._manager import RunManager
from ._state import served

if TYPE_CHECKING:
    from ag_ui.core import BaseEvent as AgUiEvent
    from ag_ui.encoder import EventEncoder

__all__ = ["routes", "to_input"]


def to_input(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """AG-UI messages as tether input items (OpenAI-style dicts)."""
    items: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        role = message.get("role")
        content = message.get("content")
        if role == "tool":
            call_id = message.get("toolCallId")
            if not isinstance(call_id, str):
                raise ApiError(422, "invalid_request", f"messages.{index}: toolCallId is required")
            output = content if isinstance(content, str) else json.dumps(content)
            items.append({"type": "function_call_output", "call_id": call_id, "output": output})
        elif role in ("user", "system", "developer", "assistant"):
            item: dict[str, Any] = {"role": "system" if role == "developer" else role}
            item["content"] = content if isinstance(content, str) else ""
            if role == "assistant" and message.get("toolCalls"):
                item["tool_calls"] = message["toolCalls"]
            items.append(item)
        elif role in ("activity", "reasoning"):
            continue  # display-only messages of the front end
        else:
            raise ApiError(422, "invalid_request", f"messages.{index}: unknown role {role!r}")
    return items


async def run_agent(request: Request) -> Response:
    """``POST /v1/ag-ui/{agent}``: run (or resume) the agent, streaming AG-UI events."""
    state = served(request)
    body = await read_body(request, AgUiBody, state.config.max_body_bytes)
    name = request.path_params["agent"]
    agent = state.agents.get(name)
    if agent is None:
        raise ApiError(404, "agent_not_found", f"no agent named {name!r} is served here")
    manager = state.manager
    from ag_ui.encoder import EventEncoder  # the protocol package loads slowly: on first use

    encoder = EventEncoder(accept=request.headers.get("accept") or "text/event-stream")
    if body.resume:
        run_id, after = await _resume(manager, body.resume)
    else:
        items = to_input(body.messages)
        if not items:
            raise ApiError(422, "invalid_request", "messages: give at least one message")
        _, run_id = await manager.start(agent, items, run_id=body.run_id, thread_id=None)
        after = 0
    stream = _stream(manager, run_id, after, body)
    return sse_response(_encoded(encoder, stream), headers={"x-tether-run-id": run_id})


async def _resume(manager: RunManager, entries: list[Any]) -> tuple[str, int]:
    approvals: dict[str, bool | str] = {}
    inputs: dict[str, Any] = {}
    run_ids: set[str] = set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("interruptId"), str):
            raise ApiError(422, "invalid_request", f"resume.{index}: interruptId is required")
        run_id, _, call_id = entry["interruptId"].rpartition("/")
        if not run_id or entry.get("status") not in ("resolved", "cancelled"):
            raise ApiError(
                422, "invalid_request", f"resume.{index}: not an interrupt of this server"
            )
        run_ids.add(run_id)
        payload = entry.get("payload")
        if entry["status"] == "cancelled":
            reason = payload.get("reason") if isinstance(payload, dict) else None
            approvals[call_id] = reason if isinstance(reason, str) and reason else "rejected"
        else:
            approvals[call_id] = True
            inputs[call_id] = payload
    if len(run_ids) != 1:
        raise ApiError(422, "invalid_request", "resume: every entry must belong to one run")
    (run_id,) = run_ids

    def check(state: RunState) -> None:
        for call_id in approvals:
            known = (
                call_id in state.pending_approvals
                or call_id in state.pending_inputs
                or call_id in state.interrupted_calls
            )
            if not known:
                raise ApiError(409, "conflict", f"nothing is pending for call {call_id!r}")

    chosen: dict[str, Any] = {}

    def decisions() -> dict[str, Any]:
        state = chosen["state"]
        asked = {c: v for c, v in inputs.items() if c in state.pending_inputs}
        decided = {c: v for c, v in approvals.items() if c not in asked}
        return {"approvals": decided or None, "inputs": asked or None}

    def streamed() -> AsyncIterator[Event]:  # its text streamed on, as a new run's
        return manager.runner.resume_stream(run_id, **decisions())

    state = await manager.load(run_id)
    chosen["state"] = state
    await manager.continue_run(run_id, check, None, streamed)
    return run_id, state.seq


async def _encoded(encoder: EventEncoder, events: AsyncIterator[AgUiEvent]) -> AsyncIterator[bytes]:
    async for event in events:
        yield encoder.encode(event).encode()


async def _stream(
    manager: RunManager, run_id: str, after: int, body: AgUiBody
) -> AsyncIterator[AgUiEvent]:
    from ag_ui.core import (
        RunStartedEvent,
        StateSnapshotEvent,
        TextMessageEndEvent,
        TextMessageStartEvent,
    )

    thread_id, agui_run = body.thread_id, body.run_id
    yield RunStartedEvent(thread_id=thread_id, run_id=agui_run)
    open_message: str | None = None
    streamed_turns: set[int] = set()
    async for event in manager.follow(run_id, after):
        for out in _translate(event, run_id, streamed_turns, open_message):
            if isinstance(out, TextMessageStartEvent):
                open_message = out.message_id
            elif isinstance(out, TextMessageEndEvent):
                open_message = None
            yield out
        if isinstance(event, RunFinished):
            if open_message is not None:
                yield TextMessageEndEvent(message_id=open_message)
            state = await manager.load(run_id)
            shared = body.state if isinstance(body.state, dict) else {}
            snapshot = {**shared, "tether": _summary(state)}
            yield StateSnapshotEvent(snapshot=snapshot)
            yield _finish(event, state, thread_id, agui_run, run_id)
            return


def _translate(
    event: Event, run_id: str, streamed: set[int], open_message: str | None
) -> list[AgUiEvent]:
    from ag_ui.core import (
        TextMessageContentEvent,
        TextMessageEndEvent,
        TextMessageStartEvent,
        ToolCallArgsEvent,
        ToolCallEndEvent,
        ToolCallResultEvent,
        ToolCallStartEvent,
    )

    out: list[AgUiEvent] = []
    if isinstance(event, TextDeltaEvent) and event.delta:
        turn = getattr(event, "turn", 0)
        streamed.add(turn)
        if open_message is None:
            out.append(TextMessageStartEvent(message_id=f"{run_id}-{turn}", role="assistant"))
            open_message = f"{run_id}-{turn}"
        out.append(TextMessageContentEvent(message_id=open_message, delta=event.delta))
    elif isinstance(event, ModelResponseEvent):
        text = "".join(p.text for p in event.parts if isinstance(p, TextPart))
        if text and event.turn not in streamed and open_message is None:
            message_id = f"{run_id}-{event.turn}"
            out.append(TextMessageStartEvent(message_id=message_id, role="assistant"))
            out.append(TextMessageContentEvent(message_id=message_id, delta=text))
            open_message = message_id
        if open_message is not None:
            out.append(TextMessageEndEvent(message_id=open_message))
        for part in event.parts:
            if isinstance(part, ToolCallPart):
                out.append(
                    ToolCallStartEvent(
                        tool_call_id=part.call_id,
                        tool_call_name=part.name,
                        parent_message_id=f"{run_id}-{event.turn}",
                    )
                )
                if part.arguments:
                    out.append(ToolCallArgsEvent(tool_call_id=part.call_id, delta=part.arguments))
                out.append(ToolCallEndEvent(tool_call_id=part.call_id))
    elif isinstance(event, ToolCallFinished):
        out.append(
            ToolCallResultEvent(
                message_id=f"{run_id}-result-{event.call_id}",
                tool_call_id=event.call_id,
                content=event.content,
                role="tool",
            )
        )
    return out


def _summary(state: RunState) -> dict[str, Any]:
    return {"run_id": state.run_id, "state": state.status, "usage": state.usage.to_dict()}


def _finish(
    event: RunFinished, state: RunState, thread_id: str, agui_run: str, run_id: str
) -> AgUiEvent:
    from ag_ui.core import (
        Interrupt,
        RunErrorEvent,
        RunFinishedCancelledOutcome,
        RunFinishedEvent,
        RunFinishedInterruptOutcome,
        RunFinishedSuccessOutcome,
    )

    if event.state == "failed":
        return RunErrorEvent(message=event.error or "the run failed", code=event.error_type)
    interrupts = [
        Interrupt(
            id=f"{run_id}/{call_id}",
            reason="approval_required",
            tool_call_id=call_id,
            message=f"approve the call to {ask.tool_name}?",
            metadata={"tool_name": ask.tool_name, "args": ask.args},
        )
        for call_id, ask in state.pending_approvals.items()
    ]
    interrupts += [
        Interrupt(
            id=f"{run_id}/{call_id}",
            reason="input_required",
            tool_call_id=call_id,
            message=ask.prompt,
            metadata={"tool_name": ask.tool_name},
        )
        for call_id, ask in state.pending_inputs.items()
    ]
    outcome: Any
    if interrupts:
        outcome = RunFinishedInterruptOutcome(interrupts=interrupts)
    elif event.state == "cancelled":
        outcome = RunFinishedCancelledOutcome()
    else:
        outcome = RunFinishedSuccessOutcome()
    result = {"output": event.output, "final_text": event.final_text, "state": event.state}
    return RunFinishedEvent(thread_id=thread_id, run_id=agui_run, result=result, outcome=outcome)


def routes() -> list[Route]:
    """The AG-UI route."""
    return [Route("/v1/ag-ui/{agent}", run_agent, methods=["POST"])]
