"""The Result JSON of the run API, from a finished Result or a stored run's folded state."""

from __future__ import annotations

from typing import Any

from pydantic_core import to_jsonable_python

from ..governance.approval import args_digest
from ..governance.effects import interrupted_keys
from ..results import Result, RunState

__all__ = ["result_json", "state_json"]


def result_json(result: Result[Any]) -> dict[str, Any]:
    """``run_id, state, output, final_text, usage, pending_approvals, pending_inputs, error,
    error_type`` (plus ``thread_id``, ``deferred``, ``interrupted_calls`` and their idempotency
    keys, ``interrupted_keys``)."""
    return {
        "run_id": result.run_id,
        "state": result.state,
        "thread_id": result.thread_id,
        "output": to_jsonable_python(result.output, fallback=repr),
        "final_text": result.final_text,
        "usage": result.usage.to_dict(),
        "pending_approvals": [
            {
                "call_id": p.call_id,
                "tool_name": p.tool_name,
                "args": _plain(p.args),
                "args_digest": p.args_digest,
            }
            for p in result.pending_approvals
        ],
        "pending_inputs": [
            {"call_id": p.call_id, "tool_name": p.tool_name, "prompt": p.prompt}
            for p in result.pending_inputs
        ],
        "deferred": dict(result.deferred),
        "interrupted_calls": list(result.interrupted_calls),
        "interrupted_keys": dict(result.interrupted_keys),
        "error": result.error,
        "error_type": result.error_type,
    }


def state_json(state: RunState, *, executing: bool = False) -> dict[str, Any]:
    """The same JSON for a run folded from its stored log (state ``running`` while it runs)."""
    status = "running" if executing or not state.finished else state.status
    finished = state.finished_event
    output: Any = state.final_text or None
    if finished is not None and finished.output is not None:
        output = finished.output
    return {
        "run_id": state.run_id,
        "state": status,
        "thread_id": state.thread_id,
        "output": _plain(output),
        "final_text": state.final_text,
        "usage": state.usage.to_dict(),
        "pending_approvals": [
            {
                "call_id": c,
                "tool_name": e.tool_name,
                "args": _plain(e.args),
                "args_digest": args_digest(e.args),
            }
            for c, e in state.pending_approvals.items()
        ],
        "pending_inputs": [
            {"call_id": c, "tool_name": e.tool_name, "prompt": e.prompt}
            for c, e in state.pending_inputs.items()
        ],
        "deferred": {c: d.ticket for c, d in state.deferred.items()},
        "interrupted_calls": list(state.interrupted_calls),
        "interrupted_keys": interrupted_keys(state),
        "error": state.error,
        "error_type": state.error_type,
    }


def _plain(value: Any) -> Any:
    return to_jsonable_python(value, fallback=repr)
