"""PlanExecutePolicy: write a plan first, then carry it out with the tools."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..models.base import ModelSettings
from .base import Policy

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..results import RunState

__all__ = ["PlanExecutePolicy"]

_NO_TOOLS = ModelSettings(tool_choice="none")


class PlanExecutePolicy(Policy):
    """The first turn writes a numbered plan (no tools); the run then executes it, ReAct style.

    The plan stays in the transcript, so every later turn (and the trace) shows it.
    """

    name = "plan_execute"

    def __init__(
        self,
        plan_instructions: str = (
            "Before acting, write a short numbered plan of the steps you will take. "
            "Do not call tools and do not answer yet."
        ),
        execute_message: str = (
            "Now carry out the plan step by step, using the tools, then give the final answer."
        ),
    ) -> None:
        self.plan_instructions = plan_instructions
        self.execute_message = execute_message

    def _planning(self, state: RunState) -> bool:
        return not any(m.role == "assistant" for m in state.messages[state.new_from :])

    def settings(self, state: RunState, agent: AgentSpec) -> ModelSettings | None:
        """No tools while planning."""
        return _NO_TOOLS if self._planning(state) else None

    def instructions(self, state: RunState, agent: AgentSpec) -> str | None:
        """Ask for the plan on the first turn."""
        return self.plan_instructions if self._planning(state) else None

    def follow_up(self, state: RunState, agent: AgentSpec, answer: str) -> str | None:
        """The first answer is the plan: ask for its execution."""
        assistants = [m for m in state.messages[state.new_from :] if m.role == "assistant"]
        return self.execute_message if len(assistants) == 1 else None
