"""Decisions sent to a durable run from outside (approvals, answers, deferred results), and its end.

Both engines deliver the same decision (a dict, so it crosses any engine as plain data):
``{"action": "approve" | "reject" | "respond" | "resolve", "call_id": ..., "reason": ...,
"value": ...}``. :func:`check` refuses one the run is not waiting for (a typed error for the
sender, never a silent loss); :func:`apply` hands it to the run's RunHandle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import TetherError, UserError

if TYPE_CHECKING:
    from ..results import Result
    from ..run.handle import RunHandle

__all__ = ["ACTIONS", "apply", "check", "decision", "finish", "waiting"]

ACTIONS = ("approve", "reject", "respond", "resolve")


def decision(
    action: str, call_id: str, *, reason: str | None = None, value: Any = None
) -> dict[str, Any]:
    """The decision message for ``call_id`` (UserError for an unknown action or call id)."""
    if action not in ACTIONS:
        raise UserError(f"unknown decision {action!r}: use one of {', '.join(ACTIONS)}")
    if not isinstance(call_id, str) or not call_id:
        raise UserError(f"a decision needs the call id it is about, got {call_id!r}")
    return {"action": action, "call_id": call_id, "reason": reason, "value": value}


def waiting(handle: RunHandle) -> dict[str, list[str]]:
    """What ``handle``'s run waits for: call ids by the action that decides them."""
    approvals = handle.pending_approvals
    return {
        "approve": approvals,
        "reject": approvals,
        "respond": handle.pending_inputs,
        "resolve": list(handle.deferred),
    }


def check(pending: dict[str, list[str]], message: Any) -> dict[str, Any]:
    """``message`` if it decides a call the run waits for, else UserError saying why."""
    if not isinstance(message, dict) or message.get("action") not in ACTIONS:
        raise UserError(f"not a tether decision: {message!r}")
    action = message["action"]
    call_id = message.get("call_id")
    if call_id not in pending.get(action, []):
        what = {"respond": "question", "resolve": "deferred call"}.get(action, "approval")
        known = ", ".join(pending.get(action, [])) or "none"
        raise UserError(f"no {what} is pending for call {call_id!r} (pending: {known})")
    return message


async def apply(handle: RunHandle, message: dict[str, Any]) -> None:
    """Hand a checked decision to the run."""
    action, call_id = message["action"], message["call_id"]
    if action == "approve":
        await handle.approve(call_id)
    elif action == "reject":
        await handle.reject(call_id, message.get("reason"))
    elif action == "respond":
        await handle.respond(call_id, message.get("value"))
    else:
        await handle.resolve(call_id, message.get("value"))


async def finish(handle: RunHandle) -> Result[Any]:
    """The run's Result; the error of a failed run is raised, as ``Runner.run`` does."""
    result = await handle.result()
    error = handle.error
    if error is not None:
        if isinstance(error, TetherError):
            error.run_id = result.run_id
            error.result = result
        raise error
    return result
