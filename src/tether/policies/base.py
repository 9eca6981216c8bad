"""Policy: how an agent proceeds through the loop (limits, tools, settings, follow-ups).

A policy never runs a loop of its own: the one loop asks it at a few points (its extra tools,
per-turn settings and instructions, what to do with a text answer, a model of its own), and
everything it decides is recorded in the run's event log like any other step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..models.base import Model, ModelSettings
    from ..output import OutputSchema
    from ..results import RunState
    from ..tools import Tool

__all__ = ["Policy"]


class Policy:
    """Base policy: the plain ReAct loop. Override the hooks a policy needs."""

    name = "react"

    def max_turns(self, agent: AgentSpec) -> int | None:
        """The turn limit this policy sets (None: the agent's)."""
        return None

    def tools(self, agent: AgentSpec) -> list[Tool[Any]]:
        """Tools the policy adds to the agent's own."""
        return []

    def output_schema(self, agent: AgentSpec) -> OutputSchema | None:
        """An output schema when the agent has none (e.g. a forced final-answer tool)."""
        return None

    def settings(self, state: RunState, agent: AgentSpec) -> ModelSettings | None:
        """Settings for the coming model turn, merged over the agent's and the run's."""
        return None

    def instructions(self, state: RunState, agent: AgentSpec) -> str | None:
        """Extra instructions for the coming model turn."""
        return None

    def follow_up(self, state: RunState, agent: AgentSpec, answer: str) -> str | None:
        """A message that continues the run instead of accepting ``answer`` as final."""
        return None

    def model(self, agent: AgentSpec) -> Model | None:
        """A model that replaces the agent's (e.g. a graph router)."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
