"""The event that ends a tool call with its result, through the governance chain on the way out
(PII redaction, sanitizer, truncation): written once for the tool phase, the Runner
(``resolve_deferred``) and subagents continued with their answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..events import ToolCallDeferred, ToolCallFinished
from ..governance.chain import govern_tool_result
from ..tools import tool_output_to_text
from .config import DEFAULT_TOOL_OUTPUT_MAX_CHARS, RunConfig

if TYPE_CHECKING:
    from ..governance.hooks import PolicyHooks

__all__ = ["deferred_result", "governed_result"]


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
    if isinstance(output, BaseException):
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
