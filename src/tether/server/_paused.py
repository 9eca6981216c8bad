"""What the OpenAI-compatible endpoints say about a run that stopped to wait for a person.

A run that ends ``awaiting_approval``, ``awaiting_input``, ``awaiting_deferred`` or
``interrupted`` is not done: the answer's text says what it waits for and how to continue it
through the run API, and :func:`marker` is the same as data (``tether`` in a Chat Completion,
``incomplete_details`` and ``tether`` in a Response).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["PAUSED", "marker", "notice"]

#: The run states that wait for a person (or a result from outside) to go on.
PAUSED = frozenset({"awaiting_approval", "awaiting_input", "awaiting_deferred", "interrupted"})


def _pending(outcome: dict[str, Any]) -> list[dict[str, Any]]:
    base = f"/v1/runs/{outcome['run_id']}"
    pending: list[dict[str, Any]] = []
    for p in outcome["pending_approvals"]:
        pending.append(
            {"kind": "approval", **_without(p, "args_digest"), "path": f"{base}/approvals"}
        )
    for p in outcome["pending_inputs"]:
        pending.append({"kind": "input", **p, "path": f"{base}/inputs"})
    for call_id, ticket in outcome["deferred"].items():
        pending.append(
            {"kind": "deferred", "call_id": call_id, "ticket": ticket, "path": f"{base}/deferred"}
        )
    for call_id in outcome["interrupted_calls"]:
        pending.append({"kind": "interrupted", "call_id": call_id, "path": f"{base}/approvals"})
    return pending


def _without(item: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != key}


def marker(outcome: dict[str, Any]) -> dict[str, Any] | None:
    """``{"run_id", "status", "pending": [{"kind", "call_id", ..., "path"}]}`` for a paused run
    (``None`` for any other): each pending call with the run API path that continues it."""
    if outcome["state"] not in PAUSED:
        return None
    return {"run_id": outcome["run_id"], "status": outcome["state"], "pending": _pending(outcome)}


def _line(item: dict[str, Any]) -> str:
    call, path = item["call_id"], item["path"]
    if item["kind"] == "approval":
        args = json.dumps(item["args"], default=repr)
        return (
            f"- approval of {item['tool_name']}({args}) (call {call}): POST {path} "
            f'{{"call_id": "{call}", "approved": true}} (or false to reject)'
        )
    if item["kind"] == "input":
        return (
            f"- an answer to {json.dumps(item['prompt'])} from {item['tool_name']} "
            f'(call {call}): POST {path} {{"call_id": "{call}", "value": ...}}'
        )
    if item["kind"] == "deferred":
        return (
            f"- the result of deferred call {call} (ticket {item['ticket']}): "
            f'POST {path} {{"call_id": "{call}", "output": ...}}'
        )
    return (
        f"- a decision on call {call}, cut short before its result was known: POST {path} "
        f'{{"call_id": "{call}", "approved": true}} to run it again (false to skip it)'
    )


def notice(mark: dict[str, Any]) -> str:
    """The text a person reads: the run waits, for what, and how to continue it."""
    run_id, status = mark["run_id"], mark["status"]
    lines = [f"[tether] Run {run_id} is paused ({status}) and waits for:"]
    lines += [_line(item) for item in mark["pending"]]
    if not mark["pending"]:
        lines.append(f"- nothing named: POST /v1/runs/{run_id}/resume continues it")
    lines.append(f"The run's state: GET /v1/runs/{run_id}.")
    return "\n".join(lines)
