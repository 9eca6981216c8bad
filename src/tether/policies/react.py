"""ReActPolicy: reason and act in a loop until the model answers (the default)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import UserError
from .base import Policy

if TYPE_CHECKING:
    from .._spec import AgentSpec

__all__ = ["ReActPolicy"]


class ReActPolicy(Policy):
    """The model calls tools as it likes until it gives a final answer.

    ``max_iterations`` bounds the model turns (it overrides the agent's ``max_turns``).
    """

    name = "react"

    def __init__(self, max_iterations: int | None = None) -> None:
        if max_iterations is not None and max_iterations < 1:
            raise UserError(f"max_iterations must be at least 1, got {max_iterations}")
        self.max_iterations = max_iterations

    def max_turns(self, agent: AgentSpec) -> int | None:
        """The iteration bound."""
        return self.max_iterations

    def __repr__(self) -> str:
        return f"ReActPolicy(max_iterations={self.max_iterations})"
