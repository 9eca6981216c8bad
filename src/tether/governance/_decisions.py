"""What a person's decisions on pending calls become in the log, and whether a recorded decision
still holds for the call the run is about to make (the same arguments, not lapsed)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import EditRejected, StaleApproval
from ..events import ApprovalDecided, ApprovalExpired, Event, ToolArgsEdited
from .approval import Approval, args_digest, as_approval, expired
from .chain import govern_tool_args

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..results import RunState
    from ..tools import Tool
    from .hooks import PolicyHooks

__all__ = ["AgentRegistry", "decision_events", "decision_holds", "lapsed", "runner_tool"]


class AgentRegistry(Protocol):
    """Agents by name (a ``tether.Runner`` is one)."""

    def get_agent(self, name: str) -> AgentSpec | None:
        """The registered agent called ``name``, or None."""


ToolLookup = Callable[[str, str], "Tool[Any] | None"]


def decision_events(
    state: RunState,
    call_id: str,
    verdict: Any,
    find_tool: ToolLookup,
    now: float | None = None,
    hooks: PolicyHooks | None = None,
) -> list[Event]:
    """The events recording ``verdict`` on ``call_id``: a ``tool_args_edited`` when the person
    edited the arguments (validated against the tool's schema first), then the
    ``approval_decided`` bound to the digest of the arguments approved, with its expiry.

    An edit goes through step 1 of the chain as the model's arguments do (``hooks``: under
    ``PIIRedactionHook(redact_tool_args=True)`` redacted), so the log holds what the tool will
    get and the approval is bound to it (bound to the raw edit, the run would ask again)."""
    decision: Approval = as_approval(call_id, verdict)
    when = time.time() if now is None else now
    asked = state.pending_approvals.get(call_id)
    shown = asked.args if asked is not None else _started_args(state, call_id)
    if (
        decision.approved
        and decision.args_digest is not None
        and decision.args_digest != args_digest(shown)
    ):
        raise StaleApproval(
            f"call {call_id!r} is pending with other arguments than those the decision was "
            "made for (its args_digest differs): look at the pending call again and decide anew"
        )
    events: list[Event] = []
    approved_args = shown
    if decision.args is not None:
        if asked is None:
            raise EditRejected(
                f"call {call_id!r} already started before the run stopped: its arguments "
                "cannot be edited, only approved to run again or rejected"
            )
        edited = govern_tool_args(hooks, dict(decision.args))
        found = find_tool(asked.agent, asked.tool_name)
        if found is not None:
            from ..tools import ToolArgumentsError

            try:
                found.validate_args(edited)
            except ToolArgumentsError as exc:
                raise EditRejected(
                    f"the edited arguments for call {call_id!r} do not fit tool "
                    f"{asked.tool_name!r}: {exc.message}"
                ) from None
        if edited != shown:
            events.append(
                ToolArgsEdited(
                    call_id=call_id,
                    tool_name=asked.tool_name,
                    args=edited,
                    previous=shown,
                    agent=asked.agent,
                )
            )
        approved_args = edited
    events.append(
        ApprovalDecided(
            call_id=call_id,
            approved=decision.approved,
            reason=None if decision.approved else decision.reason,
            args_digest=args_digest(approved_args) if approved_args is not None else None,
            expires_at=decision.deadline(when),
        )
    )
    return events


def _started_args(state: RunState, call_id: str) -> Any:
    started = state.started.get(call_id)
    return started.args if started is not None else None


def decision_holds(state: RunState, call_id: str, args: Any) -> bool:
    """Whether the decision recorded for ``call_id`` was made for exactly ``args`` (a decision
    with nothing to compare, as on a call a crash cut short in an old log, holds)."""
    digest = state.decided_digests.get(call_id)
    if digest is None and call_id in state.decided_args:
        digest = args_digest(state.decided_args[call_id])
    return digest is None or digest == args_digest(args)


def lapsed(state: RunState, call_id: str, tool_name: str, agent: str) -> ApprovalExpired | None:
    """The ``approval_expired`` event for an approval of ``call_id`` past its expiry, or None."""
    decision = state.decisions.get(call_id)
    if decision is None or not decision.approved or not expired(decision.expires_at):
        return None
    assert decision.expires_at is not None
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(decision.expires_at))
    return ApprovalExpired(
        call_id=call_id,
        tool_name=tool_name,
        expires_at=decision.expires_at,
        message=(
            f"the approval of call {call_id!r} to {tool_name!r} expired at {stamp} before the "
            "call ran: it needs a new approval"
        ),
        agent=agent,
    )


def runner_tool(runner: AgentRegistry) -> ToolLookup:
    """A tool lookup by the agents registered with ``runner`` (for checks outside a run)."""

    def find(agent_name: str, tool_name: str) -> Tool[Any] | None:
        agent = runner.get_agent(agent_name)
        return agent.get_tool(tool_name) if agent is not None else None

    return find
