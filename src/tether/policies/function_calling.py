"""FunctionCallingPolicy: the model acts only through function calls, the answer included."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..models.base import ModelSettings
from ..output import OutputSchema
from .base import Policy

if TYPE_CHECKING:
    from .._spec import AgentSpec
    from ..results import RunState

__all__ = ["FunctionCallingPolicy"]

_REQUIRED = ModelSettings(tool_choice="required")


class FunctionCallingPolicy(Policy):
    """Strict function calling: every turn must call a tool (``tool_choice="required"``), and
    the final answer is a call too (the ``final_result`` tool; for text agents it takes the
    answer as ``{"response": "..."}``). Free text never ends the run."""

    name = "function_calling"

    def __init__(self) -> None:
        self._schema = OutputSchema(str, "tool")

    def output_schema(self, agent: AgentSpec) -> OutputSchema | None:
        """A final-answer tool for agents without structured output."""
        return self._schema

    def settings(self, state: RunState, agent: AgentSpec) -> ModelSettings | None:
        """Every turn must call a tool."""
        return _REQUIRED
