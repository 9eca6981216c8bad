"""The event that delivers a deferred call's result: written once for the tool phase, the
Runner (``resolve_deferred``) and subagents continued with their answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..events import ToolCallDeferred, ToolCallFinished
from ..governance.chain import govern_tool_result
from ..tools import tool_output_to_text
from .config import DEFAULT_TOOL_OUTPUT_MAX_CHARS, RunConfig

if TYPE_CHECKING:
    from ..governance.hooks import PolicyHooks

__all__ = ["deferred_result"]


def deferred_result(
    call: ToolCallDeferred, output: Any, config: RunConfig, hooks: PolicyHooks | None = None
) -> ToolCallFinished:
    """The event that delivers a deferred call's result (an Exception is its failure), through
    the governance chain like a result the tool returned."""
    limit = config.tool_output_max_chars or DEFAULT_TOOL_OUTPUT_MAX_CHARS
    sanitize = config.sanitize_tool_output is not False
    if isinstance(output, BaseException):
        error: str | None = f"{type(output).__name__}: {output}"
        content, _, error = govern_tool_result(
            hooks,
            f"Tool {call.tool_name!r} failed with {error}",
            None,
            error,
            sanitize=sanitize,
            limit=limit,
        )
        return ToolCallFinished(
            call_id=call.call_id,
            tool_name=call.tool_name,
            args=call.args,
            content=content,
            error=error,
            error_kind="failure",
            agent=call.agent,
        )
    content, output, _ = govern_tool_result(
        hooks, tool_output_to_text(output), output, None, sanitize=sanitize, limit=limit
    )
    return ToolCallFinished(
        call_id=call.call_id,
        tool_name=call.tool_name,
        args=call.args,
        content=content,
        output=output,
        agent=call.agent,
    )
