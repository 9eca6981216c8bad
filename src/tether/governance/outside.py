"""The governance chain for a tool called outside any run (``tether mcp serve --tools``, where a
client calls an agent's own tools directly): the Runner's hooks hold there as in a run.

A call that a run would hide, refuse or make wait for a person is refused (outside a run there
is nobody to ask: such tools are only run inside runs); the result goes through the same steps
as a run's (PII redaction, sanitizer with secret scrubbing, truncation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .chain import govern_error, govern_tool_args, govern_tool_result

if TYPE_CHECKING:
    from ..context import Context
    from .hooks import PolicyHooks

__all__ = ["govern_direct_call", "govern_direct_error", "govern_direct_result", "may_list"]


def may_list(hooks: PolicyHooks | None, tool_name: str) -> bool:
    """Whether a tool may be offered for direct calls: not hidden by the tool filter, and not
    always gated by the approval gate."""
    if hooks is None:
        return True
    if hooks.tool_filter is not None and not hooks.tool_filter.shows(tool_name):
        return False
    gate = hooks.approval_gate  # a gate on the name alone always asks: not offered
    return (
        gate is None
        or gate.predicate is not None
        or (gate.tools is not None and tool_name not in gate.tools)
    )


def govern_direct_call(
    hooks: PolicyHooks | None, ctx: Context[Any], tool_name: str, args: dict[str, Any], agent: str
) -> tuple[dict[str, Any], str | None]:
    """The call's arguments through step 1, and why it may not run outside a run (None: it
    may): the tool filter, the policy engine and the approval gate, in the chain's order."""
    args = govern_tool_args(hooks, args)
    if hooks is None:
        return args, None
    if hooks.tool_filter is not None and not hooks.tool_filter.permits(ctx, tool_name, args):
        return args, f"Tool {tool_name!r} is not allowed by policy."
    if hooks.policy_engine is not None:
        said = hooks.policy_engine.evaluate(tool_name, args, agent=agent, cost=None)
        if said.action == "deny":
            return args, f"Tool {tool_name!r} is not allowed by policy: {said.reason or 'denied'}"
        if said.action == "require_approval":
            return args, f"Tool {tool_name!r} needs approval: it runs only inside a run."
    gate = hooks.approval_gate
    if gate is not None and gate.requires(ctx, tool_name, args):
        return args, f"Tool {tool_name!r} needs approval: it runs only inside a run."
    return args, None


def govern_direct_result(hooks: PolicyHooks | None, content: str, output: Any) -> tuple[str, Any]:
    """A direct call's result as a run's would reach the model: redacted, sanitized (secrets
    scrubbed), cut to the default size."""
    from ..config import DEFAULT_TOOL_OUTPUT_MAX_CHARS

    content, output, _ = govern_tool_result(
        hooks, content, output, None, sanitize=True, limit=DEFAULT_TOOL_OUTPUT_MAX_CHARS
    )
    return content, output


def govern_direct_error(hooks: PolicyHooks | None, text: str) -> str:
    """A direct call's error text: secrets scrubbed, PII redacted."""
    return govern_error(hooks, text)
