"""One-line, human-readable accounts of events (what ``Event.message`` returns)."""

from __future__ import annotations

from typing import Any

__all__ = ["describe"]


def _cost(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


_DESCRIBE: dict[str, Any] = {
    "run_started": lambda e: f"run started: agent {e.agent!r}",
    "turn_started": lambda e: f"turn {e.turn}: asking {e.model or 'the model'} ({e.agent})",
    "text_delta": lambda e: f"text: {e.delta}",
    "reasoning_delta": lambda e: f"reasoning: {e.delta}",
    "tool_call_delta": lambda e: f"tool call {e.tool_name or e.index} streaming",
    "model_response": lambda e: (
        f"model answered (turn {e.turn}, {e.usage.input_tokens} in / "
        f"{e.usage.output_tokens} out tokens)"
    ),
    "model_retry": lambda e: f"retrying {e.model} (attempt {e.attempt}): {e.error}",
    "model_fallback": lambda e: f"{e.from_model} failed, falling back to {e.to_model}",
    "model_cache_hit": lambda e: f"{e.model} answered from the response cache",
    "model_circuit_changed": lambda e: f"circuit of {e.endpoint} is {e.state}",
    "model_throttled": lambda e: f"{e.model} throttled for {e.waited:.2f}s",
    "model_hedged": lambda e: f"{e.model} slow after {e.after:.2f}s: hedged request sent",
    "model_coalesced": lambda e: f"{e.model}: shared an identical request in flight",
    "tool_call_started": lambda e: f"calling tool {e.tool_name!r}",
    "tool_call_finished": lambda e: (
        f"tool {e.tool_name!r} failed: {e.error}"
        if e.error is not None
        else f"tool {e.tool_name!r} finished in {e.latency_ms:.0f} ms"
    ),
    "approval_expired": lambda e: f"the approval of tool {e.tool_name!r} expired ({e.call_id})",
    "approval_requested": lambda e: f"tool {e.tool_name!r} waits for approval ({e.call_id})",
    "tool_args_edited": lambda e: f"arguments of tool {e.tool_name!r} edited ({e.call_id})",
    "breakpoint_hit": lambda e: f"paused at breakpoint {e.breakpoint}",
    "approval_decided": lambda e: (
        f"call {e.call_id} approved"
        if e.approved
        else f"call {e.call_id} rejected: {e.reason or 'no reason given'}"
    ),
    "input_requested": lambda e: f"tool {e.tool_name!r} asks: {e.prompt}",
    "input_provided": lambda e: f"answer given to call {e.call_id}",
    "handoff": lambda e: f"handoff from {e.from_agent!r} to {e.to_agent!r}",
    "guardrail_passed": lambda e: f"{e.kind} guardrail {e.guardrail!r} passed",
    "guardrail_tripped": lambda e: f"{e.kind} guardrail {e.guardrail!r} tripped",
    "subagent_finished": lambda e: f"subagent {e.agent!r} finished ({e.state})",
    "subagent_suspended": lambda e: f"subagent {e.agent!r} waits ({e.state}): call {e.call_id}",
    "policy_decision": lambda e: (
        f"policy: {e.action} {e.tool_name!r}"
        + (f" (rule {e.rule})" if e.rule else " (default)")
        + (f": {e.reason}" if e.reason else "")
    ),
    "progress": lambda e: (
        f"progress {e.progress_percent:.0f}% (turn {e.turn}/{e.max_turns}, cost {_cost(e.cost)})"
    ),
    "run_paused": lambda e: "run paused",
    "run_resumed": lambda e: "run resumed" + (" from its checkpoint" if e.from_checkpoint else ""),
    "run_finished": lambda e: f"run {e.state}" + (f": {e.error}" if e.error else ""),
}


def describe(event: Any) -> str:
    """The human-readable one-liner of ``event`` (what :attr:`Event.message` returns)."""
    render = _DESCRIBE.get(event.type)
    if render is None:
        return str(event.type).replace("_", " ")
    text: str = render(event)
    return text
