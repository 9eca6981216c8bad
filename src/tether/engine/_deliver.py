"""The event that ends a tool call with its result, through the governance chain on the way out
(PII redaction, sanitizer, truncation), and the answers an interactive run waits for on its
handle (a decision, an input, a deferred result): written once for the tool phase, the Runner
(``resolve_deferred``) and subagents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import DEFAULT_TOOL_OUTPUT_MAX_CHARS, RunConfig
from ..events import Event, InputProvided, ToolCallDeferred, ToolCallFinished
from ..governance._decisions import decision_events
from ..governance.approval import Approval
from ..governance.chain import govern_answer, govern_tool_result
from ..tools import tool_output_to_text

if TYPE_CHECKING:
    from ..governance.hooks import PolicyHooks
    from ._wiring import RunWiring

__all__ = ["answer", "decision", "deferred_result", "governed_result"]


def governed_result(
    call: ToolCallFinished, config: RunConfig, hooks: PolicyHooks | None
) -> ToolCallFinished:
    """``call`` with its content, output and error through the governance chain (its output
    kept only when the call succeeded)."""
    content, output, error = govern_tool_result(
        hooks,
        call.content,
        call.output,
        call.error,
        sanitize=config.sanitize_tool_output is not False,
        limit=config.tool_output_max_chars or DEFAULT_TOOL_OUTPUT_MAX_CHARS,
    )
    call.content, call.error = content, error
    call.output = output if call.error_kind is None else None
    return call


def deferred_result(
    call: ToolCallDeferred, output: Any, config: RunConfig, hooks: PolicyHooks | None = None
) -> ToolCallFinished:
    """The event that delivers a deferred call's result (an Exception is its failure), through
    the governance chain like a result the tool returned."""
    error: str | None = None
    kind: str | None = None
    if isinstance(output, BaseException):  # its text is scrubbed by governed_result
        error, kind = f"{type(output).__name__}: {output}", "failure"
        content, output = f"Tool {call.tool_name!r} failed with {error}", None
    else:
        content = tool_output_to_text(output)
    ended = ToolCallFinished(
        call_id=call.call_id,
        tool_name=call.tool_name,
        args=call.args,
        content=content,
        output=output,
        error=error,
        error_kind=kind,
        agent=call.agent,
    )
    return governed_result(ended, config, hooks)


async def decision(s: RunWiring, call_id: str) -> tuple[Approval, list[Event]]:
    """Wait for a person's decision on ``call_id``: it, and the events that record it."""
    control = s.control
    assert control is not None
    approved, why = await control.wait_decision(call_id, s.config.approval_timeout)
    edit = control.edit_of(call_id) if approved else None  # handle.approve(args=...)
    given = Approval(approved=approved, reason=why, args=edit)
    return given, decision_events(s.state, call_id, given, s.tool_named, hooks=s.hooks)


async def answer(s: RunWiring, call_id: str) -> Event:
    """Wait for the input ``call_id`` asked a person for, or else its deferred result."""
    control = s.control
    assert control is not None
    if call_id in s.state.pending_inputs:
        given = await control.wait_input(call_id)
        return InputProvided(call_id=call_id, value=govern_answer(s.hooks, given))
    output = await control.wait_deferred(call_id)
    return deferred_result(s.state.deferred[call_id], output, s.config, s.hooks)
