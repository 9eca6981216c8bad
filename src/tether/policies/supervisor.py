"""SupervisorPolicy: one agent delegates to worker agents and combines their answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import UserError
from .base import Policy

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..results import RunState
    from ..tools import Tool

__all__ = ["SupervisorPolicy"]


class SupervisorPolicy(Policy):
    """The agent supervises ``workers``: each is offered as a tool that runs it as a subagent
    (its run nested in the supervisor's, recorded in ``result.subagent_executions``)."""

    name = "supervisor"

    def __init__(self, workers: Sequence[AgentSpec], *, max_turns: int | None = None) -> None:
        if not workers:
            raise UserError("SupervisorPolicy needs at least one worker agent")
        self.workers = list(workers)
        self._max_turns = max_turns
        self._tools: list[Tool[Any]] = [w.as_tool(name=_tool_name(w.name)) for w in self.workers]

    def max_turns(self, agent: AgentSpec) -> int | None:
        """The supervisor's turn bound, when given."""
        return self._max_turns

    def tools(self, agent: AgentSpec) -> list[Tool[Any]]:
        """One delegation tool per worker."""
        return self._tools

    def instructions(self, state: RunState, agent: AgentSpec) -> str | None:
        """Tell the supervisor who it can delegate to."""
        names = ", ".join(t.name for t in self._tools)
        return (
            f"You supervise other agents. Delegate sub-tasks by calling their tools ({names}) "
            "with an `input` that states the task fully, then combine their answers."
        )


def _tool_name(agent_name: str) -> str:
    import re

    return "ask_" + (re.sub(r"[^a-zA-Z0-9_-]", "_", agent_name).lower() or "worker")
