"""The governance judgment of one tool call: run it, reject it, or ask a person, from the policy
engine's verdict, the tool filter, the approval gate and a decision already in the log (one that
holds, was given for other arguments, or lapsed). The tool phase only acts on the verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..events import ApprovalRequested, Event, PolicyDecision
from ._decisions import decision_holds, lapsed

if TYPE_CHECKING:
    from ..context import Context
    from ..messages import ToolCallPart
    from ..results import RunState
    from ..tools import Tool
    from .hooks import PolicyHooks

__all__ = ["Verdict", "judge"]


@dataclass(slots=True)
class Verdict:
    """What to do with a call: ``run`` it, ``reject`` it (policy: ``text`` goes to the model),
    treat it as ``denied`` by a person (``text`` is their reason), or ``ask`` for approval.
    ``events`` are logged first (the policy decision, an expired approval, the request)."""

    action: Literal["run", "reject", "denied", "ask"]
    events: list[Event] = field(default_factory=list)
    text: str = ""


async def judge(
    st: RunState,
    hooks: PolicyHooks | None,
    ctx: Context[Any],
    call: ToolCallPart,
    found: Tool[Any],
    args: dict[str, Any],
    agent: str,
) -> Verdict:
    """Judge ``call`` (to ``found`` with ``args``) made by ``agent`` in the run ``st`` is of."""
    call_id, name = call.call_id, call.name
    tool_filter = hooks.tool_filter if hooks is not None else None
    if tool_filter is not None and not tool_filter.permits(ctx, name, args):
        return Verdict("reject", text=f"Tool {name!r} is not allowed by policy; do without it.")
    engine = hooks.policy_engine if hooks is not None else None
    events: list[Event] = []
    # An approval holds for the exact arguments it was asked for: a call under the same id
    # with other arguments (a reused id, a changed replay) is judged and asked about anew.
    live = st.decisions.get(call_id) if call_id not in st.spent_decisions else None
    rebound = live is not None and not decision_holds(st, call_id, args)
    if rebound and args != (sent := _sent(call)):  # approved as given, before step 1 redacted it
        rebound = not decision_holds(st, call_id, sent)  # (a decision recorded without hooks)
    # A call already waiting for (or given) a person's decision, or started before a crash,
    # was judged when it was first triaged: its verdict is in the log already.
    pending = call_id in st.pending_approvals
    judged = pending or (live is not None and not rebound) or call_id in st.started
    by_policy = engine is not None and pending
    if engine is not None and not judged:
        said = engine.evaluate(name, args, agent=agent, cost=ctx.usage.cost)
        action, reason = said.action, said.reason
        events.append(
            PolicyDecision(
                call_id=call_id,
                tool_name=name,
                action=action,
                rule=said.rule,
                reason=reason,
                agent=agent,
            )
        )
        if action == "deny":
            return Verdict("reject", events, reason or "not allowed by policy")
        by_policy = action == "require_approval"
    decision = None if live is not None and live.approved and rebound else live
    if decision is not None and not decision.approved:
        return Verdict("denied", events, decision.reason or "no reason given")
    gone = lapsed(st, call_id, name, agent) if decision is not None else None
    if gone is not None:  # an approval not used in time is spent: ask again
        return Verdict("ask", [*events, gone, _asking(call_id, name, args, agent)])
    gate = hooks.approval_gate if hooks is not None else None
    if decision is None and (found.needs_approval is not False or gate is not None or by_policy):
        needed = by_policy or (gate is not None and gate.requires(ctx, name, args))
        if needed or await found.requires_approval(ctx, args):
            if not pending:  # asked before: the request is in the log already
                events.append(_asking(call_id, name, args, agent))
            return Verdict("ask", events)
    return Verdict("run", events)


def _sent(call: ToolCallPart) -> Any:
    """The call's arguments as sent (or as a person edited them), before the chain's step 1."""
    try:
        return call.args_dict()
    except ValueError:
        return None


def _asking(call_id: str, name: str, args: dict[str, Any], agent: str) -> ApprovalRequested:
    # made only when a call is asked about (not for each call that runs)
    return ApprovalRequested(call_id=call_id, tool_name=name, args=args, agent=agent)
