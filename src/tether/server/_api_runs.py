"""The run API: ``/v1/agents``, ``/v1/runs...`` (JSON or SSE) and ``/v1/threads/{id}``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

from pydantic_core import to_jsonable_python
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import StaleApproval, UserError
from ..events import Event
from ..governance._decisions import decision_events, runner_tool
from ..governance.approval import Approval
from ..messages import message_to_dict
from ..results import RunState
from ._bodies import ApprovalBody, ControlBody, DeferredBody, InputBody, RunBody
from ._http import ApiError, json_response, read_body, sse_message, sse_response
from ._manager import RunManager
from ._state import served

__all__ = ["event_sse", "routes"]


def event_sse(event: Event) -> bytes:
    """One event as an SSE message: ``id`` its seq, ``event`` its type, ``data`` its JSON."""
    data = to_jsonable_python(event.to_dict(), fallback=repr)
    return sse_message(data, event=event.type, id=event.seq)


async def _sse_events(manager: RunManager, run_id: str, after: int) -> AsyncIterator[bytes]:
    async for event in manager.follow(run_id, after):
        yield event_sse(event)


def _events_response(manager: RunManager, run_id: str, after: int) -> Response:
    return sse_response(_sse_events(manager, run_id, after), headers={"x-tether-run-id": run_id})


async def list_agents(request: Request) -> Response:
    """``GET /v1/agents``: the served agents, their descriptions and tools."""
    agents = served(request).agents
    return json_response(
        {
            "agents": [
                {
                    "name": a.name,
                    "description": a.description,
                    "tools": sorted(a.tools_map),
                }
                for a in agents.values()
            ]
        }
    )


async def create_run(request: Request) -> Response:
    """``POST /v1/runs``: plain (the Result), streamed (SSE) or in the background (202).

    With both ``stream`` and ``background``, the events are streamed: a streamed run always goes
    on in the background when its client goes away.
    """
    state = served(request)
    body = await read_body(request, RunBody, state.config.max_body_bytes)
    manager = state.manager
    if body.agent not in state.agents:
        raise ApiError(404, "agent_not_found", f"no agent named {body.agent!r} is served here")
    agent = state.agents[body.agent]
    execution, run_id = await manager.start(
        agent, body.input, run_id=body.run_id, thread_id=body.thread_id, stream=body.stream
    )
    headers = {"x-tether-run-id": run_id}
    if body.stream:
        return _events_response(manager, run_id, 0)
    if body.background:
        snapshot = await _snapshot_or_running(manager, run_id, execution is not None)
        return json_response({"run_id": run_id, "state": snapshot}, 202, headers)
    if execution is None:  # that run already exists: it may still run on another replica
        return json_response(await manager.stopped(run_id), headers=headers)
    return json_response(await manager.outcome(execution), headers=headers)


async def _snapshot_or_running(manager: RunManager, run_id: str, new: bool) -> str:
    if new:
        return "running"
    snapshot = await manager.snapshot(run_id)
    state: str = snapshot["state"]
    return state


async def get_run(request: Request) -> Response:
    """``GET /v1/runs/{run_id}``: the Result JSON as it stands."""
    manager = served(request).manager
    return json_response(await manager.snapshot(request.path_params["run_id"]))


async def run_events(request: Request) -> Response:
    """``GET /v1/runs/{run_id}/events``: the log so far, then live events (``Last-Event-ID``)."""
    manager = served(request).manager
    run_id = request.path_params["run_id"]
    raw = request.headers.get("last-event-id", "").strip()
    if raw and not raw.isdigit():
        raise ApiError(400, "invalid_last_event_id", "Last-Event-ID must be an event's seq")
    after = int(raw) if raw else 0
    await manager.load(run_id)  # 404 before the stream starts
    return _events_response(manager, run_id, after)


async def _continue(
    request: Request,
    body_model: type[Any],
    check: Callable[[RunState, Any], None],
    step: Callable[[Any, str, Any], Awaitable[Any]] | None = None,
    decisions: Callable[[Any], dict[str, Any]] | None = None,
) -> Response:
    """Continue the run: ``runner.resume(run_id, **decisions(body))`` (streamed here when the
    body asks for a stream and runs execute in this process), or ``step`` (deferred results)."""
    state = served(request)
    body = await read_body(request, body_model, state.config.max_body_bytes)
    run_id = request.path_params["run_id"]
    runner = state.manager.executor  # this process, or Ray workers (--engine ray)
    streamed: Callable[[], AsyncIterator[Event]] | None = None
    if decisions is not None:  # (made once check() has accepted the body)
        decide = decisions
        step = _resuming(decide)
        if body.stream and runner is state.runner:  # its deltas too, as a new run's stream

            def streamed() -> AsyncIterator[Event]:
                return state.runner.resume_stream(run_id, **decide(body))

    assert step is not None
    whole = None if streamed is not None else partial(step, runner, run_id, body)
    execution, before = await state.manager.continue_run(
        run_id, lambda st: check(st, body), whole, streamed
    )
    if body.stream:
        return _events_response(state.manager, run_id, before.seq)
    return json_response(
        await state.manager.outcome(execution), headers={"x-tether-run-id": run_id}
    )


def _resuming(
    decisions: Callable[[Any], dict[str, Any]],
) -> Callable[[Any, str, Any], Awaitable[Any]]:
    """The step that resumes the run with the body's ``decisions`` (keywords of resume)."""

    async def step(runner: Any, run_id: str, body: Any) -> Any:
        return await runner.resume(run_id, **decisions(body))

    return step


def _check_approval(state: RunState, body: ApprovalBody) -> None:
    if body.call_id not in state.pending_approvals and body.call_id not in state.interrupted_calls:
        pending = ", ".join([*state.pending_approvals, *state.interrupted_calls]) or "none"
        raise ApiError(
            409,
            "conflict",
            f"no approval is pending for call {body.call_id!r} (pending: {pending})",
        )


def _check_input(state: RunState, body: InputBody) -> None:
    if body.call_id not in state.pending_inputs:
        pending = ", ".join(state.pending_inputs) or "none"
        raise ApiError(
            409,
            "conflict",
            f"no question is pending for call {body.call_id!r} (pending: {pending})",
        )


def _check_deferred(state: RunState, body: DeferredBody) -> None:
    if body.call_id not in state.deferred:
        waiting = ", ".join(state.deferred) or "none"
        raise ApiError(
            409, "conflict", f"no deferred call {body.call_id!r} is waiting (waiting: {waiting})"
        )


def _check_resume(state: RunState, body: ControlBody) -> None:
    if state.finished and state.status in ("completed", "cancelled", "degraded"):
        raise ApiError(409, "conflict", f"run {state.run_id!r} has ended ({state.status})")


async def approve(request: Request) -> Response:
    """``POST /v1/runs/{run_id}/approvals``: approve or reject a pending call, then go on."""

    runner = served(request).runner

    def check(state: RunState, body: ApprovalBody) -> None:
        _check_approval(state, body)
        try:  # an edit that does not fit the tool, or a bad expiry, is refused before the lease
            decision_events(
                state, body.call_id, _verdict(body), runner_tool(runner), hooks=runner.policy_hooks
            )
        except StaleApproval as exc:  # the call changed since the client read it: a conflict
            raise ApiError(409, "conflict", str(exc)) from None
        except UserError as exc:  # the request's own values are wrong
            raise ApiError(422, "invalid_request", str(exc)) from None

    def decisions(body: ApprovalBody) -> dict[str, Any]:
        return {"approvals": {body.call_id: _verdict(body)}}

    return await _continue(request, ApprovalBody, check, decisions=decisions)


def _verdict(body: ApprovalBody) -> Approval:
    return Approval(
        approved=body.approved,
        reason=None if body.approved else (body.reason or "rejected"),
        args=body.args,
        expires_at=body.expires_at,
        expires_in=body.expires_in,
        args_digest=body.args_digest,
    )


async def provide_input(request: Request) -> Response:
    """``POST /v1/runs/{run_id}/inputs``: answer a tool's question, then go on."""

    def decisions(body: InputBody) -> dict[str, Any]:
        return {"inputs": {body.call_id: body.value}}

    return await _continue(request, InputBody, _check_input, decisions=decisions)


async def deliver_deferred(request: Request) -> Response:
    """``POST /v1/runs/{run_id}/deferred``: deliver a deferred call's result."""

    async def step(runner: Any, run_id: str, body: DeferredBody) -> Any:
        return await runner.resolve_deferred(run_id, body.call_id, body.output)

    return await _continue(request, DeferredBody, _check_deferred, step)


async def resume(request: Request) -> Response:
    """``POST /v1/runs/{run_id}/resume``: continue a stopped run from its checkpoint."""

    return await _continue(request, ControlBody, _check_resume, decisions=lambda body: {})


async def cancel(request: Request) -> Response:
    """``POST /v1/runs/{run_id}/cancel``: end the run as ``cancelled``."""
    state = served(request)
    body = await read_body(request, ControlBody, state.config.max_body_bytes)
    run_id = request.path_params["run_id"]
    before = await state.manager.load(run_id)
    await state.manager.cancel(run_id)
    if body.stream:
        return _events_response(state.manager, run_id, before.seq)
    return json_response(await state.manager.snapshot(run_id))


async def get_thread(request: Request) -> Response:
    """``GET /v1/threads/{thread_id}``: the thread's messages (``role``, ``content``: the text,
    ``parts``: all of it, tool calls and results included)."""
    state = served(request)
    thread_id = request.path_params["thread_id"]
    messages = await state.manager.store.load_thread(thread_id)
    if not messages:
        raise ApiError(404, "thread_not_found", f"no thread {thread_id!r}")
    # each message's text as ``content`` too, as chat APIs (and their clients) read it
    listed = [{**message_to_dict(m), "content": m.text} for m in messages]
    return json_response({"thread_id": thread_id, "messages": listed})


def routes() -> list[Route]:
    """The run API's routes."""
    return [
        Route("/v1/agents", list_agents, methods=["GET"]),
        Route("/v1/runs", create_run, methods=["POST"]),
        Route("/v1/runs/{run_id}", get_run, methods=["GET"]),
        Route("/v1/runs/{run_id}/events", run_events, methods=["GET"]),
        Route("/v1/runs/{run_id}/approvals", approve, methods=["POST"]),
        Route("/v1/runs/{run_id}/inputs", provide_input, methods=["POST"]),
        Route("/v1/runs/{run_id}/deferred", deliver_deferred, methods=["POST"]),
        Route("/v1/runs/{run_id}/cancel", cancel, methods=["POST"]),
        Route("/v1/runs/{run_id}/resume", resume, methods=["POST"]),
        Route("/v1/threads/{thread_id}", get_thread, methods=["GET"]),
    ]
