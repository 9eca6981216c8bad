"""The dashboard's store routes: runs, one run's live log, and approval decisions.

- ``GET /api/runs?state=&agent=&limit=``: the stored runs (state, agent, cost, pending calls).
- ``GET /api/runs/{run_id}``: one run: state, usage, answer, pending approvals, its events.
- ``GET /api/runs/{run_id}/stream``: Server-Sent Events, the run again each time its log
  grows, until it has ended.
- ``POST /api/runs/{run_id}/approvals/{call_id}`` with ``{"approved": bool, "reason": str}``
  (and, to approve, optional ``args`` edited, ``expires_in`` seconds, ``args_digest`` shown):
  decide a pending call through the same code as ``tether runs approve`` (the decision is
  recorded, then the run is continued in the background when its agent can be loaded).

Writes take JSON only and refuse another site's ``Origin``, so a web page cannot post here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ..errors import EditRejected, StaleApproval, TetherError, UserError
from ..tracing.redact import scrub_secrets
from ._http import IdRoute, error

if TYPE_CHECKING:
    from ..run.runner import Runner
    from ..store import Store

__all__ = ["run_routes"]

_FINAL = ("completed", "failed", "degraded", "cancelled", "interrupted")
_MAX_ID = 200


def _json(data: Any, status: int = 200) -> Response:
    body = scrub_secrets(json.dumps(data, default=repr, ensure_ascii=False))
    return Response(body, status_code=status, media_type="application/json")


def _run_id(request: Request, key: str = "run_id") -> str:
    value = str(request.path_params[key])
    if not value or len(value) > _MAX_ID or any(c.isspace() for c in value):
        raise UserError(f"invalid {key.replace('_', ' ')} {value[:40]!r}")
    return value


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not sent by a browser page (curl, scripts)
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


async def _describe(store: Store, run_id: str) -> dict[str, Any]:
    from ..cli._ops import agent_spec_of, load_run, pending_of

    events, state = await load_run(store, run_id)
    return {
        "run_id": run_id,
        "agent": state.agent_name,
        "state": state.status,
        "thread_id": state.thread_id,
        "turns": state.turn,
        "usage": state.usage.to_dict(),
        "final_text": state.final_text,
        "error": state.error,
        "degraded_reasons": state.degraded_reasons,
        "pending_approvals": pending_of(state),
        "resumable_here": agent_spec_of(state) is not None,
        "last_seq": state.seq,
        "events": [e.to_dict() for e in events],
    }


def run_routes(
    store_of: Callable[[], Store | None],
    runner_of: Callable[[], Runner],
    *,
    poll_interval: float,
    tasks: set[asyncio.Task[Any]],
) -> list[Route]:
    """The routes above, over the store ``store_of()`` returns (None: no store configured)."""

    def need_store() -> Store:
        store = store_of()
        if store is None:
            raise UserError("the dashboard was started without a store (--store URL)")
        return store

    async def runs(request: Request) -> Response:
        from ..cli._ops import list_rows

        params = request.query_params
        try:
            limit = int(params.get("limit") or 100)
            rows = await list_rows(
                need_store(),
                state=params.get("state") or None,
                agent=params.get("agent") or None,
                limit=limit,
            )
        except ValueError:
            return error("limit must be a whole number", 400)
        except UserError as exc:
            return error(str(exc), 400)
        return _json({"runs": [r.to_dict() for r in rows]})

    async def run(request: Request) -> Response:
        try:
            return _json(await _describe(need_store(), _run_id(request)))
        except UserError as exc:
            status = 404 if str(exc).startswith("no run") else 400
            return error(str(exc), status)

    async def run_stream(request: Request) -> Response:
        try:
            store = need_store()
            run_id = _run_id(request)
        except UserError as exc:
            return error(str(exc), 400)

        async def events() -> AsyncIterator[bytes]:
            seen: int | None = None
            while not await request.is_disconnected():
                info = await store.run_info(run_id)
                if info is not None:
                    described = await _describe(store, run_id)
                    if described["last_seq"] != seen:
                        seen = described["last_seq"]
                        body = scrub_secrets(json.dumps(described, default=repr))
                        yield f"event: run\ndata: {body}\n\n".encode()
                    if described["state"] in _FINAL:
                        return
                await asyncio.sleep(poll_interval)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    async def decide(request: Request) -> Response:
        from ..cli._ops import apply_decision, check_decision, load_run

        if not _same_origin(request):
            return error("cross-site requests are refused", 403)
        if not request.headers.get("content-type", "").startswith("application/json"):
            return error("send the decision as application/json", 415)
        try:
            body = await request.json()
        except ValueError:
            return error("the body is not JSON", 400)
        if not isinstance(body, dict) or not isinstance(body.get("approved"), bool):
            return error('send {"approved": true|false, "reason": "..."}', 400)
        reason = body.get("reason")
        if reason is not None and not isinstance(reason, str):
            return error("reason must be a string", 400)
        problem = _option_problem(body)
        if problem is not None:
            return error(problem, 400)
        try:
            store = need_store()
            run_id = _run_id(request)
            call_id = _run_id(request, "call_id")
            _events, state = await load_run(store, run_id)
            check_decision(state, call_id)
        except UserError as exc:
            status = 404 if str(exc).startswith("no run") else 409
            return error(str(exc), status)
        runner = runner_of()
        from ..cli._ops import agent_spec_of

        resumes = agent_spec_of(state) is not None
        recorded: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def act() -> None:
            try:
                await apply_decision(
                    runner,
                    run_id,
                    call_id,
                    approved=body["approved"],
                    reason=reason,
                    resume=resumes,
                    on_recorded=lambda: _settle(recorded),
                    args=body.get("args"),
                    expires_in=body.get("expires_in"),
                    args_digest=body.get("args_digest"),
                )
            except Exception as exc:  # reported to the request if it is still waiting
                if not recorded.done():
                    recorded.set_exception(exc)

        task = asyncio.create_task(act(), name=f"tether-ui-decide-{run_id}")
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        try:
            await recorded  # the decision is in the log; the run goes on in the background
        except StaleApproval as exc:  # the call changed since the page showed it
            return error(str(exc), 409)
        except EditRejected as exc:  # the edit does not fit the tool, or the call started
            return error(str(exc), 422)
        except TetherError as exc:  # e.g. another process decided first
            return error(str(exc), 409)
        except Exception as exc:
            return error(f"{type(exc).__name__}: {exc}", 500)
        verdict = "approved" if body["approved"] else "rejected"
        return _json({"call_id": call_id, "decision": verdict, "resuming": resumes}, 202)

    return [
        Route("/api/runs", runs),
        IdRoute("/api/runs/{run_id}", run),
        IdRoute("/api/runs/{run_id}/stream", run_stream),
        IdRoute("/api/runs/{run_id}/approvals/{call_id}", decide, methods=["POST"]),
    ]


def _option_problem(body: dict[str, Any]) -> str | None:
    """What is wrong with a decision's optional fields (an edit, an expiry, the digest of the
    arguments shown), or None."""
    args, expires_in, digest = body.get("args"), body.get("expires_in"), body.get("args_digest")
    if args is not None and not isinstance(args, dict):
        return "args must be a JSON object (the call's edited arguments)"
    if expires_in is not None and (
        isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or expires_in <= 0
    ):
        return "expires_in must be a positive number of seconds"
    if digest is not None and (not isinstance(digest, str) or len(digest) > 64):
        return "args_digest must be the pending call's args_digest (a string)"
    return None


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
